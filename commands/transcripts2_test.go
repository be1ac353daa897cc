package commands

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"esa/store"
)

// The configuration-model transcripts: commit, clearchanges, rollbackconfig,
// save/show/loadconfig, sethostname, quit, and the read-only commands.
func init() {
	for name, tc := range map[string]transcript{
		"commit":              {check: hostnameIs("mail1.example.com", false)},
		"commit_nothing":      {},
		"commit_conflict":     {setup: conflictingCommit, check: hostnameIs("other.example.com", true)},
		"clearchanges":        {check: hostnameIs("esa.example.com", false)},
		"clear":               {check: hostnameIs("esa.example.com", false)},
		"rollbackconfig":      {setup: twoCommits, check: hostnameIs("first.example.com", false)},
		"rollbackconfig_args": {setup: twoCommits, check: hostnameIs("second.example.com", true)},
		"saveconfig":          {},
		"showconfig":          {setup: ftpLog},
		"logconfig_edit_push_manual": {setup: ftpLog, check: func(t *testing.T, env *Env) {
			s := findLog(t, env.Store.Committed(), "ftp_push")
			want := store.LogSubscription{Name: "ftp_push", Type: store.LogTypeSystem, Level: store.LevelInfo,
				Retrieval: store.RetrievalManual, Filename: "ftp.log", MaxSize: 10485760, MaxFiles: 10}
			if s != want {
				t.Errorf("committed log:\n got %+v\nwant %+v", s, want)
			}
		}},
		"logconfig_edit_ftp_keep": {setup: ftpLog, check: func(t *testing.T, env *Env) {
			s := findLog(t, env.Store.Committed(), "ftp_push")
			if s.Passphrase != "s3cret" || s.Host != "ftp.example.com" || s.Retrieval != store.RetrievalFTP {
				t.Errorf("committed log after taking every default: %+v", s)
			}
		}},
		"loadconfig_file": {setup: savedFile, check: hostnameIs("saved.example.com", false)},
		"loadconfig_broken": {setup: brokenFile, check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("a broken file left pending changes in %v", env.Session.Changed())
			}
		}},
		"loadconfig_missing": {},
		"loadconfig_incomplete": {check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("an incomplete file left pending changes in %v", env.Session.Changed())
			}
		}},
		"loadconfig_refused":  {setup: hostileFiles, check: hostnameIs("esa.example.com", false)},
		"sethostname_invalid": {check: pendingHostname("mail2.example.com")},
		"loadconfig_paste":    {check: hostnameIs("pasted.example.com", false)},
		"sethostname":         {check: hostnameIs("mail2.example.com", false)},
		"grep_cli_audit":      {},
		"status":              {},
		"status_detail":       {},
		"version":             {},
		"quit_pending":        {check: hostnameIs("esa.example.com", true)},
		"quit_eof":            {check: hostnameIs("esa.example.com", true)},
	} {
		transcripts[name] = tc
	}
}

// hostnameIs checks the committed host name and whether changes are still
// pending.
func hostnameIs(want string, pending bool) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		t.Helper()
		if got := env.Store.Committed().System.Hostname; got != want {
			t.Errorf("committed hostname %q, want %q", got, want)
		}
		if env.Session.Pending() != pending {
			t.Errorf("pending = %v, want %v", env.Session.Pending(), pending)
		}
	}
}

func setHostname(t *testing.T, ss *store.Session, name string) {
	t.Helper()
	if err := ss.Update(func(c *store.Config) error { c.System.Hostname = name; return nil }); err != nil {
		t.Fatal(err)
	}
}

// conflictingCommit leaves a pending host name in the test's session, then
// commits another one from a second session: the test's commit must be
// refused.
func conflictingCommit(t *testing.T, env *Env) {
	setHostname(t, env.Session, "mine.example.com")
	other := env.Store.NewSession("operator")
	setHostname(t, other, "other.example.com")
	if _, err := other.Commit("from another session", false); err != nil {
		t.Fatal(err)
	}
}

func twoCommits(t *testing.T, env *Env) {
	for _, h := range []string{"first.example.com", "second.example.com"} {
		ss := env.Store.NewSession("admin")
		setHostname(t, ss, h)
		if _, err := ss.Commit("set "+h, true); err != nil {
			t.Fatal(err)
		}
	}
}

func ftpLog(t *testing.T, env *Env) {
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, store.LogSubscription{
			Name: "ftp_push", Type: store.LogTypeSystem, Level: store.LevelInfo, Retrieval: store.RetrievalFTP,
			Filename: "system.log", MaxSize: 10485760, MaxFiles: 10, Host: "ftp.example.com", User: "logs",
			Passphrase: "s3cret", Directory: "/logs", MaxWait: 3600,
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("ftp", false); err != nil {
		t.Fatal(err)
	}
}

func savedFile(t *testing.T, env *Env) {
	c := env.Store.Committed()
	c.System.Hostname = "saved.example.com"
	text, err := env.Store.MarshalConfig(c, store.PlainSecrets)
	if err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, env, "saved.xml", string(text))
}

// brokenFile is a saved configuration with an invalid host name on a known
// line.
func brokenFile(t *testing.T, env *Env) {
	text, err := env.Store.MarshalConfig(env.Store.Committed(), store.PlainSecrets)
	if err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, env, "broken.xml", stringsReplace(string(text), "<hostname>esa.example.com</hostname>", "<hostname>bad_host!</hostname>"))
}

// hostileFiles plants, in the configuration directory, a symbolic link to a
// file outside it whose first line must never reach the screen, a FIFO with
// no writer (reading it would hang) and a directory.
func hostileFiles(t *testing.T, env *Env) {
	outside := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(outside, []byte("root:$6$never-shown:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := env.Store.ConfigDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link-out.xml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.xml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
}

// pendingHostname checks the session's pending host name.
func pendingHostname(want string) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		if got := env.Session.Config().System.Hostname; got != want {
			t.Errorf("pending hostname %q, want %q", got, want)
		}
	}
}
