package commands

import (
	"os"
	"path/filepath"
	"testing"

	"esa/auth/filter"
	"esa/delivery/smtpd"
	"esa/store"
	"esa/store/filters"
	"esa/store/mailflow"
)

// traceFilters are what the trace transcripts run: one of the seed's
// filters shapes (a stamped subject) and a quarantine.
const traceFilters = `urgent-to-quarantine:
if (subject == "(?i)urgent") {
    quarantine("Policy");
    strip-header("Subject");
    insert-header("Subject", "[SUSPECT] $Subject");
}
`

// withTraceGateway commits a public listener and a message filter, and
// gives the session the trace of a real listener server (no DNS checks are
// enabled, so nothing leaves the process).
func withTraceGateway(t *testing.T, env *Env) {
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		l := mailflow.NewListener("IncomingMail", mailflow.Public, "192.0.2.1", 25)
		l.RAT = []mailflow.RATEntry{{Pattern: "example.com", Action: mailflow.ActAccept}, {Pattern: "ALL", Action: mailflow.ActReject}}
		c.Listeners.Listeners = append(c.Listeners.Listeners, l)
		c.Filters.Filters = []filters.Filter{{Name: "urgent-to-quarantine", Active: true, Script: traceFilters}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("trace setup", false); err != nil {
		t.Fatal(err)
	}
	fs, err := filter.Parse(traceFilters)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtpd.New(smtpd.Options{Now: env.Now, Filters: func() ([]*filter.Filter, filter.Env) { return fs, filter.Env{} }})
	env.Trace = srv.Trace
	msg := "From: Alice <alice@sender.example>\nTo: bob@example.com\nSubject: Lunch\n\nSee you.\n"
	if err := os.WriteFile(filepath.Join(env.Store.ConfigDir(), "lunch.eml"), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func init() {
	transcripts["trace"] = transcript{setup: withTraceGateway}
	transcripts["trace_file"] = transcript{setup: withTraceGateway}
	transcripts["trace_offline"] = transcript{}
}
