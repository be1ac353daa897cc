package commands

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"esa/store"
	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

// The dmarcconfig transcripts; each check reads the committed (or
// pending) table, so a screen that looks right but stores the wrong thing
// fails.
func init() {
	for name, tc := range map[string]transcript{
		"dmarcconfig_profiles": {check: checkDMARCProfiles},
		"dmarcconfig_in_use":   {setup: dmarcInUse, check: checkDMARCInUse},
		"dmarcconfig_import_export": {setup: dmarcFiles, check: func(t *testing.T, env *Env) {
			ps := env.Store.Committed().DMARC.Profiles
			if len(ps) != 2 || ps[0].Name != "DEFAULT" || ps[0].QuarantineAction != dmarcconf.ActionNone || ps[1].Name != "IMPORTED" || ps[1].RejectAction != dmarcconf.ActionQuarantine {
				t.Fatalf("imported profiles %+v", ps)
			}
			exported, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "again.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if string(exported) != dmarcconf.Format(ps) {
				t.Errorf("export after import:\n%s", exported)
			}
			first, _ := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "dmarc.txt"))
			if string(first) != dmarcconf.Format(dmarcconf.Factory().Profiles) {
				t.Errorf("factory export:\n%s", first)
			}
		}},
		"dmarcconfig_setup": {check: func(t *testing.T, env *Env) {
			want := dmarcconf.Settings{
				ReportTime: "07:30", ErrorReports: true, Entity: "reports.example.com",
				Contact: "Call the postmaster at +1 555 0100", ReturnAddress: "dmarc-reports@example.com",
				CopyTo:          []string{"dmarc@example.com", "copy@example.net"},
				BypassAddresses: nil,
				BypassHeaders:   []string{"X-Forwarded-By", "X-Mailing-List", "List-Unsubscribe"},
				Rules:           dmarcconf.RulesRFC7489,
			}
			if got := env.Store.Committed().DMARC.Settings; !reflect.DeepEqual(got, want) {
				t.Errorf("settings\n got %+v\nwant %+v", got, want)
			}
		}},
		"dmarcconfig_eof": {check: nothingPending},
	} {
		transcripts[name] = tc
	}
}

// checkDMARCProfiles: after CLEAR only DEFAULT (factory values) and the
// profile made after it, KEEP, are committed.
func checkDMARCProfiles(t *testing.T, env *Env) {
	t.Helper()
	ps := env.Store.Committed().DMARC.Profiles
	keep := dmarcconf.NewProfile("KEEP")
	keep.RejectAction, keep.RejectQuarantine = dmarcconf.ActionNone, ""
	keep.QuarantineAction, keep.QuarantineQuarantine = dmarcconf.ActionQuarantine, "Policy"
	want := []dmarcconf.Profile{dmarcconf.NewProfile("DEFAULT"), keep}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("profiles\n got %+v\nwant %+v", ps, want)
	}
}

// dmarcInUse commits a STRICT profile that the ACCEPTED policy of a
// listener uses.
func dmarcInUse(t *testing.T, env *Env) {
	l := incoming()
	for i := range l.HAT.Policies {
		if l.HAT.Policies[i].Name == "ACCEPTED" {
			l.HAT.Policies[i].Params = append(l.HAT.Policies[i].Params,
				mailflow.Param{Key: "dmarc_verify", Value: "on"}, mailflow.Param{Key: "dmarc_profile", Value: "STRICT"})
		}
	}
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Listeners.Listeners = []mailflow.Listener{l}
		c.DMARC.Profiles = append(c.DMARC.Profiles, dmarcconf.NewProfile("STRICT"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("strict in use", false); err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, env, "nostrict.txt", "name=DEFAULT\n")
}

func checkDMARCInUse(t *testing.T, env *Env) {
	t.Helper()
	nothingPending(t, env)
	if d := env.Session.Config().DMARC; d.Profile("STRICT") == nil {
		t.Error("STRICT is gone")
	}
}

// dmarcFiles writes the import files of dmarcconfig_import_export.
func dmarcFiles(t *testing.T, env *Env) {
	writeConfigFile(t, env, "bad.txt", "# one bad line\nname=DEFAULT\nreject_code=450\n")
	writeConfigFile(t, env, "nodefault.txt", "name=ONLY\n")
	writeConfigFile(t, env, "noquarantine.txt", "name=DEFAULT\n\nname=Q\nreject_action=quarantine\nreject_quarantine=Nowhere\n")
	writeConfigFile(t, env, "good.txt", "name=DEFAULT\nquarantine_action=none\n\nname=IMPORTED\nreject_action=quarantine\nreject_quarantine=Policy\n")
}
