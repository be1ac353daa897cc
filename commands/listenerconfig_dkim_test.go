package commands

import (
	"testing"

	"esa/store/mailflow"
)

func init() {
	transcripts["listenerconfig_dkim"] = transcript{setup: oneListener, check: checkDKIMOn}
}

// checkDKIMOn: the DEFAULT policy verifies DKIM with the DEFAULT profile,
// and every policy inherits it.
func checkDKIMOn(t *testing.T, env *Env) {
	t.Helper()
	h := findListener(t, env.Store.Committed(), "IncomingMail").HAT
	for _, p := range []string{"", "ACCEPTED", "THROTTLED"} {
		if got := h.Effective(p).DKIM; got != (mailflow.DKIMSettings{Enabled: true, Profile: "DEFAULT"}) {
			t.Errorf("%q DKIM settings %+v", p, got)
		}
	}
}
