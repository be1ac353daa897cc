package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esa/store"
)

// TestCommitOnDamagedStoreThenExit: config.db damaged under a running
// session (every page after the two meta pages zeroed, as a failing disk
// would) makes commit report the damaged file, and the session still ends:
// before, bbolt's panic escaped Session.Commit with the session locked, the
// shell caught it, and exit blocked forever (issue 12 item 15).
func TestCommitOnDamagedStoreThenExit(t *testing.T) {
	env := newEnv(t)
	if err := env.Session.Update(func(c *store.Config) error { c.System.Hostname = "damaged.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(env.Store.Dir(), "config.db")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	const metaPages = 2 * 4096
	if _, err := f.WriteAt(make([]byte, st.Size()-metaPages), metaPages); err != nil {
		t.Fatal(err)
	}
	f.Close()

	done := make(chan string, 1)
	go func() {
		var out bytes.Buffer
		session(env)(strings.NewReader("commit\n\nn\nexit\n"), &out)
		done <- out.String()
	}()
	var out string
	select {
	case out = <-done:
	case <-time.After(20 * time.Second): // a hang is the bug, not slowness
		t.Fatal("the session hangs after a commit on a damaged store")
	}
	if want := path + " is damaged: "; !strings.Contains(out, want) {
		t.Fatalf("commit did not report %q:\n%s", want, out)
	}
	if strings.Contains(out, "Changes committed") {
		t.Fatalf("commit claimed success:\n%s", out)
	}
	if !env.Session.Pending() {
		t.Fatal("the failed commit dropped the session's changes")
	}
}
