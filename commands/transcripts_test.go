package commands

import (
	"testing"

	"esa/store"
)

// transcript is one golden transcript's setup (nil: the factory
// configuration) and its check of the configuration the session leaves.
type transcript struct {
	setup func(t *testing.T, env *Env)
	check func(t *testing.T, env *Env)
}

// transcripts lists every transcript of ours in testdata/transcripts, by
// base name.
var transcripts = map[string]transcript{
	"logconfig_new_manual": {check: func(t *testing.T, env *Env) {
		s := findLog(t, env.Store.Committed(), "audit_copy")
		want := store.LogSubscription{Name: "audit_copy", Type: store.LogTypeCLI, Level: store.LevelDebug,
			Retrieval: store.RetrievalManual, Filename: "audit.log", MaxSize: 1 << 20, MaxFiles: 5,
			AlertOnRemove: true, RolloverInterval: 7200}
		if s != want {
			t.Errorf("committed log:\n got %+v\nwant %+v", s, want)
		}
	}},
	"logconfig_invalid": {check: func(t *testing.T, env *Env) {
		// The input ended in the middle of the wizard: nothing may change.
		if env.Session.Pending() {
			t.Errorf("abandoned wizard left pending changes in %v", env.Session.Changed())
		}
	}},
	"logconfig_edit_delete": {check: func(t *testing.T, env *Env) {
		c := env.Session.Config()
		s := findLog(t, c, "mail_logs")
		if s.Level != store.LevelDebug || s.Retrieval != store.RetrievalSyslog || s.Host != "loghost.example.com" ||
			s.Protocol != "TCP" || s.Facility != "mail" {
			t.Errorf("edited mail_logs = %+v", s)
		}
		for _, s := range c.Logs.Subscriptions {
			if s.Name == "config_history" {
				t.Errorf("config_history was not deleted")
			}
		}
		if len(c.Logs.Subscriptions) != 3 {
			t.Errorf("%d logs, want 3", len(c.Logs.Subscriptions))
		}
	}},
	"logconfig_push": {check: func(t *testing.T, env *Env) {
		c := env.Store.Committed()
		ftp := findLog(t, c, "ftp_push")
		if ftp.Retrieval != store.RetrievalFTP || ftp.Passphrase != "s3cret" || ftp.User != "logs" || ftp.MaxWait != 600 {
			t.Errorf("ftp_push = %+v", ftp)
		}
		scp := findLog(t, c, "scp_push")
		if scp.Retrieval != store.RetrievalSCP || scp.Port != 2222 || scp.Protocol != "SSH2" || !scp.HostKeyCheck || scp.Passphrase != "" {
			t.Errorf("scp_push = %+v", scp)
		}
	}},
	"logconfig_refused": {check: func(t *testing.T, env *Env) {
		c := env.Session.Config()
		if h := c.Logs.Headers; len(h) != 2 || h[0] != "Subject" || h[1] != "X-Mailer" {
			t.Errorf("headers %q", h)
		}
		if s := findLog(t, c, "remote_sys"); s.Host != "2001:db8::514" || s.Protocol != "TCP" || s.Facility != "mail" {
			t.Errorf("remote_sys = %+v", s)
		}
		if s := findLog(t, c, "hidden"); s.Filename != "mail.hidden" || s.MaxSize != 1<<20 || s.MaxFiles != 1000 {
			t.Errorf("hidden = %+v", s)
		}
	}},
	"logconfig_setup": {check: func(t *testing.T, env *Env) {
		l := env.Store.Committed().Logs
		if l.MetricsFrequency != 120 || l.LogMessageID || !l.LogSubject || l.LogRemoteReply {
			t.Errorf("setup = %+v", l)
		}
		if len(l.Headers) != 2 || l.Headers[0] != "X-Mailer" || l.Headers[1] != "X-Spam-Status" {
			t.Errorf("headers = %q", l.Headers)
		}
	}},
}

func findLog(t *testing.T, c store.Config, name string) store.LogSubscription {
	t.Helper()
	for _, s := range c.Logs.Subscriptions {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no log %q in %+v", name, c.Logs.Subscriptions)
	return store.LogSubscription{}
}
