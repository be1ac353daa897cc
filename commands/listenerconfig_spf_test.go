package commands

import (
	"reflect"
	"testing"

	"esa/store/mailflow"
)

// spfWant is the appliance's SPF settings with changes.
func spfWant(change func(s *mailflow.SPFSettings)) mailflow.SPFSettings {
	h := mailflow.PublicHAT()
	s := h.Effective("").SPF
	change(&s)
	return s
}

func checkSPF(t *testing.T, env *Env, policy string, want mailflow.SPFSettings) {
	t.Helper()
	h := findListener(t, env.Store.Committed(), "IncomingMail").HAT
	if got := h.Effective(policy).SPF; !reflect.DeepEqual(got, want) {
		t.Errorf("%q SPF settings:\n got %+v\nwant %+v", policy, got, want)
	}
}

func checkSPFOnly(t *testing.T, env *Env) {
	want := spfWant(func(s *mailflow.SPFSettings) {
		s.Enabled, s.Level = true, "spf_only"
		s.HELOReject = []string{"SoftFail", "Fail", "TempError", "PermError"}
	})
	checkSPF(t, env, "", want)
	checkSPF(t, env, "ACCEPTED", want)
}

func checkSPFCompatible(t *testing.T, env *Env) {
	checkSPF(t, env, "", spfWant(func(s *mailflow.SPFSettings) {
		s.Enabled, s.HELOCheck, s.DowngradePRA = true, false, true
		s.MailFromReject = []string{"Fail", "PermError"}
		s.PRAReject = []string{"Neutral", "SoftFail", "Fail", "TempError", "PermError"}
		s.RejectCode, s.RejectText, s.PublisherText = 554, "#5.7.1 Go away.", false
		s.DeferCode, s.DeferText, s.Timeout = 421, "#4.7.0 Try later.", 10
	}))
}

// The strict DEFAULT holds for every policy but ACCEPTED, which turned
// verification off for itself.
func checkSPFStrict(t *testing.T, env *Env) {
	strict := spfWant(func(s *mailflow.SPFSettings) {
		s.Enabled, s.Level = true, "sidf_strict"
		s.PRAReject = []string{"None", "Neutral", "Fail", "PermError"}
	})
	checkSPF(t, env, "", strict)
	checkSPF(t, env, "THROTTLED", strict)
	off := strict
	off.Enabled = false
	checkSPF(t, env, "ACCEPTED", off)
}
