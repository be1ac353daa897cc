package store

import (
	"strings"
	"testing"

	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

// TestDMARCTable: the dmarc table's cross-table rules. A profile a
// mail-flow policy names (dmarc_profile) cannot be deleted, a policy
// cannot name a profile that does not exist, and a profile cannot send
// messages to a quarantine that does not exist, nor can that quarantine be
// deleted while a profile uses it.
func TestDMARCTable(t *testing.T) {
	s := openDir(t, t.TempDir())
	ss := s.NewSession("admin")
	if err := ss.Update(func(c *Config) error {
		strict := dmarcconf.NewProfile("STRICT")
		c.DMARC.Profiles = append(c.DMARC.Profiles, strict)
		l := mailflow.NewListener("In", mailflow.Public, "127.0.0.1", 25)
		l.HAT.Policies = append(l.HAT.Policies, mailflow.Policy{Name: "STRICT", Action: "ACCEPT",
			Params: []mailflow.Param{{Key: "dmarc_verify", Value: "on"}, {Key: "dmarc_profile", Value: "STRICT"}}})
		c.Listeners.Listeners = append(c.Listeners.Listeners, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"delete in use", func(c *Config) { c.DMARC.Profiles = c.DMARC.Profiles[:1] }, `"STRICT" is used by a mail-flow policy`},
		{"policy names a missing profile", func(c *Config) {
			c.Listeners.Listeners[0].HAT.Default = append(c.Listeners.Listeners[0].HAT.Default, mailflow.Param{Key: "dmarc_profile", Value: "NOPE"})
		}, `"NOPE" is used by a mail-flow policy`},
		{"missing quarantine", func(c *Config) { c.DMARC.Profiles[1].QuarantineQuarantine = "Nowhere" }, `profile STRICT sends messages to the quarantine "Nowhere", which does not exist`},
		{"quarantine in use deleted", func(c *Config) { c.Quarantines.Quarantines = nil }, `DMARC verification profile DEFAULT sends messages to the quarantine "Policy", which does not exist`},
		{"DEFAULT deleted", func(c *Config) {
			c.DMARC.Profiles = c.DMARC.Profiles[1:]
		}, "DEFAULT profile is missing"},
	} {
		err := ss.Update(func(cfg *Config) error { c.change(cfg); return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if err := ss.Update(func(c *Config) error {
		c.Listeners.Listeners[0].HAT.Policies = c.Listeners.Listeners[0].HAT.Policies[:len(c.Listeners.Listeners[0].HAT.Policies)-1]
		c.DMARC.Profiles = c.DMARC.Profiles[:1]
		return nil
	}); err != nil {
		t.Fatalf("deleting a profile no longer in use: %v", err)
	}
}
