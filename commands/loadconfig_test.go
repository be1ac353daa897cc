package commands

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"esa/shell"
	"esa/store"
)

// pasteReader is a paste of n lines of width bytes, then the "." line and
// then rest, generated as it is read so a test of a huge paste holds none
// of it in memory itself.
type pasteReader struct {
	line      []byte
	n         int
	off       int
	restBytes *strings.Reader
}

func newPaste(n, width int, rest string) *pasteReader {
	l := make([]byte, width)
	for i := range l {
		l[i] = 'x'
	}
	l[width-1] = '\n'
	copy(l, "<!-- ")
	copy(l[width-5:], "-->\n")
	return &pasteReader{line: l, n: n, restBytes: strings.NewReader(".\n" + rest)}
}

func (p *pasteReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return p.restBytes.Read(b)
	}
	k := copy(b, p.line[p.off:])
	p.off += k
	if p.off == len(p.line) {
		p.off = 0
		p.n--
	}
	return k, nil
}

// TestPasteBounded (issue 12 item 18): a paste past the size limit is
// refused after being read to its "." line, keeping nothing past the limit;
// the line after it is read as the next command, not swallowed or run as
// part of the paste.
func TestPasteBounded(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	in := bufio.NewReader(newPaste(8*limit/1024, 1024, "after\n"))
	ed := shell.NewPlainEditor(in, io.Discard)
	io_ := shell.NewIO(context.Background(), ed, io.Discard)
	text, err := pasteConfig(io_, limit)
	if !errors.Is(err, errPasteTooLarge) || text != "" {
		t.Fatalf("got %d bytes, %v; want errPasteTooLarge and nothing kept", len(text), err)
	}
	next, err := ed.ReadLine("")
	if err != nil || next != "after" {
		t.Fatalf("line after the paste: %q %v", next, err)
	}
	// Within the limit the text comes back whole.
	ed = shell.NewPlainEditor(newPaste(10, 100, ""), io.Discard)
	text, err = pasteConfig(shell.NewIO(context.Background(), ed, io.Discard), limit)
	if err != nil || len(text) != 1000 {
		t.Fatalf("small paste: %d bytes, %v", len(text), err)
	}
}

// TestPasteTooLargeScreen: the whole loadconfig screen for a paste past
// store.MaxConfigSize, and the next command still runs.
func TestPasteTooLargeScreen(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	in := io.MultiReader(strings.NewReader("loadconfig\n\n"), newPaste(store.MaxConfigSize/4096+10, 4096, "sethostname after.example.com\n"))
	var out strings.Builder
	shell.Run(context.Background(), shell.Config{
		Editor: shell.NewPlainEditor(in, io.Discard), Out: &out, Prompt: Prompt(env), Commands: Table(env), OnExit: OnExit(env),
	})
	if !strings.Contains(out.String(), "\nError: the pasted configuration is larger than 16777216 bytes, too large for a configuration file; nothing was loaded.\n") {
		t.Errorf("screen:\n%s", out.String())
	}
	if got := env.Session.Config().System.Hostname; got != "after.example.com" {
		t.Errorf("the command after the paste did not run: hostname %q", got)
	}
}

// BenchmarkPaste150MB: memory for a 150 MB paste; maxRSS-MB is the whole
// process's peak (run alone: go test -run ^$ -bench Paste150MB).
func BenchmarkPaste150MB(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ed := shell.NewPlainEditor(newPaste(150<<20/1024, 1024, ""), io.Discard)
		if _, err := pasteConfig(shell.NewIO(context.Background(), ed, io.Discard), store.MaxConfigSize); !errors.Is(err, errPasteTooLarge) {
			b.Fatal(err)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxRSS-MB")
	}
}

// TestPasteInterrupted (issue 12 item 8): Ctrl-C in the middle of a paste
// abandons loadconfig; nothing is loaded.
func TestPasteInterrupted(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var out strings.Builder
	ed := &keysEditor{out: &out, keys: []string{"loadconfig", "1", "<config>", "^C", "quit"}}
	if err := shell.Run(context.Background(), shell.Config{
		Editor: ed, Out: &out, Prompt: Prompt(env), Commands: Table(env), OnExit: OnExit(env),
	}); err != nil {
		t.Fatal(err)
	}
	if env.Session.Pending() || strings.Contains(out.String(), "Parsing failed") {
		t.Fatalf("interrupted paste was parsed:\n%s", out.String())
	}
}

// TestWizardAndFileAgree (issue 12 item 6): each value a logconfig,
// dnsconfig or sethostname question refuses is refused by the store's
// validator too when it arrives by file, and the other way round.
func TestWizardAndFileAgree(t *testing.T) {
	t.Parallel()
	base := store.Defaults()
	sub := func(edit func(s *store.LogSubscription)) store.Config {
		c := base.Clone()
		s := store.LogSubscription{Name: "x", Type: store.LogTypeSystem, Level: store.LevelInfo, Retrieval: store.RetrievalFTP,
			Filename: "x.log", MaxSize: 10485760, MaxFiles: 10, Host: "h.example.com", User: "u", Passphrase: "p",
			Directory: "/d", MaxWait: 60}
		edit(&s)
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, s)
		return c
	}
	for _, tc := range []struct {
		answer string
		wizard func(string) (string, error)
		file   store.Config
	}{
		{"1", parseSize, sub(func(s *store.LogSubscription) { s.MaxSize = 1 })},
		{"10241m", parseSize, sub(func(s *store.LogSubscription) { s.MaxSize = 10241 << 20 })},
		{"100000", shell.IntRange(1, store.MaxLogFiles), sub(func(s *store.LogSubscription) { s.MaxFiles = 100000 })},
		{".hidden", logFilename, sub(func(s *store.LogSubscription) { s.Filename = ".hidden" })},
		{"a b", logFilename, sub(func(s *store.LogSubscription) { s.Filename = "a b" })},
		{strings.Repeat("f", store.MaxLogFilename+1), logFilename, sub(func(s *store.LogSubscription) { s.Filename = strings.Repeat("f", store.MaxLogFilename+1) })},
		{"367d", parseDuration, sub(func(s *store.LogSubscription) { s.MaxWait = 367 * 86400 })},
		{"/logs\x1b[2J", singleLine, sub(func(s *store.LogSubscription) { s.Directory = "/logs\x1b[2J" })},
		{"us\ter", singleLine, sub(func(s *store.LogSubscription) { s.User = "us\ter" })},
		{"bad_host!", hostOrAddress, sub(func(s *store.LogSubscription) { s.Host = "bad_host!" })},
		{"Subject, subject", headerList, func() store.Config {
			c := base.Clone()
			c.Logs.Headers = []string{"Subject", "subject"}
			return c
		}()},
		{"99999999", shell.IntRange(0, store.MaxResolverPriority), func() store.Config {
			c := base.Clone()
			c.DNS.Resolvers = []store.DNSResolver{{Address: "192.0.2.1", Priority: 99999999}}
			return c
		}()},
		{"192.0.2.1", fqdn, func() store.Config { c := base.Clone(); c.System.Hostname = "192.0.2.1"; return c }()},
		{"mail", fqdn, func() store.Config { c := base.Clone(); c.System.Hostname = "mail"; return c }()},
		{"mail.example.123", fqdn, func() store.Config { c := base.Clone(); c.System.Hostname = "mail.example.123"; return c }()},
	} {
		if _, err := tc.wizard(tc.answer); err == nil {
			t.Errorf("the question accepts %q", tc.answer)
		}
		if err := store.Validate(tc.file); err == nil {
			t.Errorf("the store accepts what the question refuses (%q)", tc.answer)
		}
	}
	// And what the questions accept, the store accepts.
	for _, tc := range []struct {
		answer string
		wizard func(string) (string, error)
		apply  func(c *store.Config, v string)
	}{
		{"10k", parseSize, func(c *store.Config, v string) { c.Logs.Subscriptions[0].MaxSize = atoi64(v) }},
		{"10240m", parseSize, func(c *store.Config, v string) { c.Logs.Subscriptions[0].MaxSize = atoi64(v) }},
		{strings.Repeat("f", store.MaxLogFilename), logFilename, func(c *store.Config, v string) { c.Logs.Subscriptions[0].Filename = v }},
		{"Mail.Example.COM", fqdn, func(c *store.Config, v string) { c.System.Hostname = v }},
		{"X-Mailer, Subject", headerList, func(c *store.Config, v string) { c.Logs.Headers = strings.Split(v, ", ") }},
	} {
		v, err := tc.wizard(tc.answer)
		if err != nil {
			t.Errorf("the question refuses %q: %v", tc.answer, err)
			continue
		}
		c := base.Clone()
		tc.apply(&c, v)
		if err := store.Validate(c); err != nil {
			t.Errorf("the store refuses %q (%q) that the question accepts: %v", tc.answer, v, err)
		}
	}
}

func atoi64(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestRefusalsFailTheScript: a refused loadconfig, sethostname or status
// argument marks the session failed, so a batch esa exits non-zero; a
// successful load does not.
func TestRefusalsFailTheScript(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		failed bool
	}{
		{"loadconfig ../x\n", true},
		{"loadconfig absent.xml\n", true},
		{"loadconfig\n\n<config/>\n.\n", true},
		{"sethostname 192.0.2.1\n", true},
		{"status everything\n", true},
		{"loadconfig saved.xml\n", false},
	} {
		env := newEnv(t)
		savedFile(t, env)
		o, err := shell.RunOutcome(context.Background(), shell.Config{
			Editor: shell.NewPlainEditor(strings.NewReader(tc.in), io.Discard), Out: io.Discard,
			Prompt: Prompt(env), Commands: Table(env),
		})
		if err != nil || o.Failed != tc.failed {
			t.Errorf("%q: failed = %v (%v), want %v", tc.in, o.Failed, err, tc.failed)
		}
	}
}
