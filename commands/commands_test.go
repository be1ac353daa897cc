package commands

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"esa/shell"
	"esa/shell/shelltest"
	"esa/store"
	"esa/store/logs"
	"esa/store/users"
)

// clock is the fixed time every transcript sees.
var clock = time.Date(2026, time.March, 4, 10, 20, 30, 0, time.UTC)

// newEnv opens a real store and log manager in a temporary directory with
// the fixed clock, as cmd/esa does.
func newEnv(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	now := func() time.Time { return clock }
	st, err := store.Open(dir, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	lm := logs.NewManager(filepath.Join(dir, "logs"), now)
	if err := lm.Apply(st.Committed().Logs); err != nil {
		t.Fatal(err)
	}
	cancel := st.OnCommit(func(c store.Change) { lm.Apply(c.Config.Logs) })
	st.SetHistoryLog(lm.Logger(store.LogTypeConfig))
	t.Cleanup(func() {
		cancel()
		lm.Close()
		st.Close()
	})
	return &Env{
		Store:   st,
		Session: st.NewSession("admin"),
		Logs:    lm,
		Now:     now,
		Started: clock.Add(-(26*time.Hour + 3*time.Minute + 7*time.Second)),
		Version: "1.0.0-test",
		User:    "admin",
		PID:     4242,
		Role:    users.Administrator,
	}
}

// session runs one whole shell session over env, as a piped esa does. The
// Go release in version's output is replaced by "GOVERSION" so transcripts
// do not depend on the toolchain.
func session(env *Env) func(in io.Reader, out io.Writer) {
	return func(in io.Reader, out io.Writer) {
		var buf bytes.Buffer
		shell.Run(context.Background(), shell.Config{
			Editor:   shell.NewPlainEditor(in, &buf),
			Out:      &buf,
			Prompt:   Prompt(env),
			Commands: Table(env),
			OnExit:   OnExit(env),
			Audit:    Audit(env),
		})
		io.WriteString(out, strings.ReplaceAll(buf.String(), runtime.Version(), "GOVERSION"))
	}
}

// run replays one transcript of testdata/transcripts over a fresh env and
// returns the env for checks of the resulting configuration.
func run(t *testing.T, name string, setup func(t *testing.T, env *Env)) *Env {
	t.Helper()
	env := newEnv(t)
	if setup != nil {
		setup(t, env)
	}
	shelltest.Check(t, filepath.Join("..", "testdata", "transcripts", name+".txt"), session(env))
	return env
}

// othersTranscripts are transcripts other packages replay: the shell's own
// and the DNS/DANE commands', which need a resolver.
func othersTranscript(base string) bool {
	for _, p := range []string{"shell_", "dane", "tls", "dns"} {
		if strings.HasPrefix(base, p) {
			return true
		}
	}
	return false
}

// TestEveryCommandDocumented: every command in the table has a summary, a
// help text and at least one golden transcript named after it (STYLE.md §5).
func TestEveryCommandDocumented(t *testing.T) {
	t.Parallel()
	env := &Env{}
	for _, c := range Table(env) {
		if c.Summary == "" || c.Help == "" {
			t.Errorf("%s: missing Summary or Help", c.Name)
		}
		// One style for `help`: summaries without a final period, as the
		// appliance lists them; help texts start with the synopsis line.
		if strings.HasSuffix(c.Summary, ".") {
			t.Errorf("%s: summary %q ends with a period", c.Name, c.Summary)
		}
		if first, _, _ := strings.Cut(c.Help, "\n"); !strings.HasPrefix(first, c.Name) {
			t.Errorf("%s: help does not start with its synopsis: %q", c.Name, first)
		}
		a, _ := filepath.Glob(filepath.Join("..", "testdata", "transcripts", c.Name+".txt"))
		b, _ := filepath.Glob(filepath.Join("..", "testdata", "transcripts", c.Name+"_*.txt"))
		if len(a)+len(b) == 0 {
			t.Errorf("%s: no transcript testdata/transcripts/%s[_*].txt", c.Name, c.Name)
		}
	}
}

// TestAllTranscriptsReplayed makes sure no transcript of ours sits in
// testdata/transcripts without a test replaying it.
func TestAllTranscriptsReplayed(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "transcripts", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".txt")
		if othersTranscript(base) {
			continue
		}
		if _, ok := transcripts[base]; !ok {
			t.Errorf("%s is not replayed by TestTranscripts", f)
		}
	}
}

func TestTranscripts(t *testing.T) {
	t.Parallel()
	for name, tc := range transcripts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := run(t, name, tc.setup)
			if tc.check != nil {
				tc.check(t, env)
			}
		})
	}
}

// writeFile writes name into the store's configuration directory.
func writeConfigFile(t *testing.T, env *Env, name, text string) {
	t.Helper()
	if err := os.MkdirAll(env.Store.ConfigDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.Store.ConfigDir(), name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func stringsReplace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("stringsReplace: " + old + " not found")
	}
	return strings.Replace(s, old, new, 1)
}

// script runs one session over env with input and returns its screen.
func script(env *Env, input string) string {
	var out strings.Builder
	session(env)(strings.NewReader(input), &out)
	return out.String()
}

// TestSaveLoadRoundTrip: a configuration saved with encrypted passphrases
// and loaded back after other changes shows exactly as before; a file with
// masked passphrases is refused.
func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	ftpLog(t, env)
	before := script(env, "showconfig\n3\n")
	if !strings.Contains(before, "<passphrase>s3cret</passphrase>") {
		t.Fatalf("plain showconfig does not show the passphrase:\n%s", before)
	}

	saved := script(env, "saveconfig\n2\n")
	m := regexp.MustCompile(`The file (\S+\.xml) has been saved in the configuration directory\.`).FindStringSubmatch(saved)
	if m == nil {
		t.Fatalf("saveconfig:\n%s", saved)
	}
	changed := script(env, "sethostname changed.example.com\nlogconfig\ndelete\n5\ny\n\ncommit\n\nn\n")
	if !strings.Contains(changed, "Changes committed:") || script(env, "showconfig\n3\n") == before {
		t.Fatalf("the change between save and load did not happen:\n%s", changed)
	}
	loaded := script(env, "loadconfig "+m[1]+"\ncommit\nrestore\nn\n")
	if !strings.Contains(loaded, "Values have been loaded.") || !strings.Contains(loaded, "Changes committed:") {
		t.Fatalf("loadconfig:\n%s", loaded)
	}
	if after := script(env, "showconfig\n3\n"); after != before {
		t.Errorf("showconfig after the round trip differs:\n%s", shelltest.Diff(before, after))
	}

	masked := script(env, "saveconfig\n1\n")
	m = regexp.MustCompile(`The file (\S+\.xml) has been saved`).FindStringSubmatch(masked)
	if m == nil {
		t.Fatalf("saveconfig:\n%s", masked)
	}
	refused := script(env, "loadconfig "+m[1]+"\n")
	if !strings.Contains(refused, "Parsing failed.") || env.Session.Pending() {
		t.Errorf("a file with masked passphrases was not refused:\n%s", refused)
	}
}
