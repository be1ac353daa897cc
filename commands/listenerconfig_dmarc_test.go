package commands

import (
	"testing"

	"esa/store"
	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

func init() {
	transcripts["listenerconfig_dmarc"] = transcript{setup: oneListenerStrictDMARC, check: checkDMARCOn}
}

// oneListenerStrictDMARC is one public listener and a second DMARC
// verification profile, STRICT, committed.
func oneListenerStrictDMARC(t *testing.T, env *Env) {
	oneListener(t, env)
	if err := env.Session.Update(func(c *store.Config) error {
		c.DMARC.Profiles = append(c.DMARC.Profiles, dmarcconf.NewProfile("STRICT"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Session.Commit("strict dmarc", false); err != nil {
		t.Fatal(err)
	}
}

// checkDMARCOn: DEFAULT signs and verifies DMARC with STRICT and reports;
// THROTTLED inherits that; ACCEPTED overrides signing off and DMARC with
// the DEFAULT profile and no reports.
func checkDMARCOn(t *testing.T, env *Env) {
	t.Helper()
	h := findListener(t, env.Store.Committed(), "IncomingMail").HAT
	for _, c := range []struct {
		policy  string
		signing bool
		dmarc   mailflow.DMARCSettings
	}{
		{"", true, mailflow.DMARCSettings{Enabled: true, Profile: "STRICT", Reports: true}},
		{"THROTTLED", true, mailflow.DMARCSettings{Enabled: true, Profile: "STRICT", Reports: true}},
		{"ACCEPTED", false, mailflow.DMARCSettings{Enabled: true, Profile: "DEFAULT", Reports: false}},
	} {
		l := h.Effective(c.policy)
		if l.DKIMSigning != c.signing || l.DMARC != c.dmarc {
			t.Errorf("%q: signing %v, DMARC %+v; want %v, %+v", c.policy, l.DKIMSigning, l.DMARC, c.signing, c.dmarc)
		}
	}
}
