package commands

import (
	"strings"
	"testing"

	"esa/store"
	"esa/store/dmarcconf"
	"esa/store/domainkeys"
	"esa/store/mailflow"
)

func init() {
	transcripts["listenerconfig_dmarc"] = transcript{setup: oneListenerStrictDMARC, check: checkDMARCOn}
}

// oneListenerStrictDMARC is one public listener, a second DMARC
// verification profile, STRICT, and a second DKIM verification profile,
// STRICT-DKIM, committed.
func oneListenerStrictDMARC(t *testing.T, env *Env) {
	oneListener(t, env)
	if err := env.Session.Update(func(c *store.Config) error {
		c.DMARC.Profiles = append(c.DMARC.Profiles, dmarcconf.NewProfile("STRICT"))
		v := domainkeys.DefaultVerification()
		v.Name = "STRICT-DKIM"
		c.DomainKeys.Verification = append(c.DomainKeys.Verification, v)
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
		if l.DKIM != (mailflow.DKIMSettings{Enabled: true, Profile: "STRICT-DKIM"}) {
			t.Errorf("%q: DKIM %+v", c.policy, l.DKIM)
		}
		if l.DKIMSigning != c.signing || l.DMARC != c.dmarc {
			t.Errorf("%q: signing %v, DMARC %+v; want %v, %+v", c.policy, l.DKIMSigning, l.DMARC, c.signing, c.dmarc)
		}
	}
}

// TestDMARCProfilesPending: HOSTACCESS offers the profiles of the
// session's pending dmarcconfig table, so a profile made and not yet
// committed can be chosen, and both commit together.
func TestDMARCProfilesPending(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	oneListener(t, env)
	in := "dmarcconfig\nprofiles\nnew\nFRESH\n\n\n\n\n\n\n\n\n\n" +
		"listenerconfig\nedit\n1\nhostaccess\ndefault\n" + strings.Repeat("\n", 14) + "\n\n\ny\n2\n\n\n\n\n" +
		"commit\nboth\n\n"
	out := script(env, in)
	if !strings.Contains(out, "Select the DMARC verification profile to use:\n1. DEFAULT\n2. FRESH\n[1]> 2\n") || !strings.Contains(out, "Changes committed:") {
		t.Fatalf("the pending profile was not offered or not committed:\n%s", out)
	}
	c := env.Store.Committed()
	if d := c.DMARC; d.Profile("FRESH") == nil {
		t.Fatal("FRESH not committed")
	}
	h := findListener(t, c, "IncomingMail").HAT
	if got := h.Effective("").DMARC; got != (mailflow.DMARCSettings{Enabled: true, Profile: "FRESH"}) {
		t.Fatalf("DEFAULT policy DMARC %+v", got)
	}
}
