package shell

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"esa/shell/shelltest"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"plain text\n", "plain text\n"},
		{"tab\tand newline\n", "tab\tand newline\n"},
		{"\x1b[2J\x1b]0;owned\x07", `\x1b[2J\x1b]0;owned\x07`},
		{"crlf\r\n", "crlf\r\n"},
		{"over\rwrite", `over\x0dwrite`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \xc2\x9b31m`},
		{"lone \x9b byte", `lone \x9b byte`},
		{"Grüße, 日本", "Grüße, 日本"},
		{"back\\slash", "back\\slash"},
		{"nul\x00", `nul\x00`},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		var b bytes.Buffer
		w := NewEscaper(&b)
		io.WriteString(w, c.in)
		w.(*escaper).Flush()
		if b.String() != c.want {
			t.Errorf("escaper(%q) = %q, want %q", c.in, b.String(), c.want)
		}
	}
}

// TestEscaperSplitWrites: however a text is cut into writes (a CRLF or a
// UTF-8 sequence across two writes), the screen is the same as for one
// write.
func TestEscaperSplitWrites(t *testing.T) {
	t.Parallel()
	text := "a\r\nb\rc日\u009b\x1bé\r"
	want := Escape(text)
	for i := 0; i <= len(text); i++ {
		var b bytes.Buffer
		w := NewEscaper(&b).(*escaper)
		io.WriteString(w, text[:i])
		io.WriteString(w, text[i:])
		w.Flush()
		if b.String() != want {
			t.Errorf("split at %d: %q, want %q", i, b.String(), want)
		}
	}
}

// checkScreenSafe fails unless s is free of everything that could drive a
// terminal.
func checkScreenSafe(t *testing.T, in, s string) {
	t.Helper()
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, size) && !(r == '\r' && strings.HasPrefix(s[i+1:], "\n")) {
			t.Fatalf("escaping %q left %q at %d: %q", in, r, i, s)
		}
		i += size
	}
}

func FuzzEscape(f *testing.F) {
	f.Add([]byte("\x1b[31mred\x1b[0m\r\n"), 3)
	f.Add([]byte("\xc2\x9b\xe6\x97\xa5\r"), 1)
	f.Add([]byte("ok\n"), 0)
	f.Fuzz(func(t *testing.T, p []byte, cut int) {
		whole := Escape(string(p))
		checkScreenSafe(t, string(p), whole)
		if cut < 0 {
			cut = -cut
		}
		if len(p) > 0 {
			cut %= len(p) + 1
		} else {
			cut = 0
		}
		var b bytes.Buffer
		w := NewEscaper(&b).(*escaper)
		w.Write(p[:cut])
		w.Write(p[cut:])
		w.Flush()
		if b.String() != whole {
			t.Fatalf("split at %d: %q, whole: %q", cut, b.String(), whole)
		}
	})
}

func TestQuoteSingle(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"commit", "'commit'"},
		{"esa.example.com> ", "'esa.example.com> '"},
		{"x'; prompt was 'root# ", `'x\'; prompt was \'root# '`},
		{`a\b`, `'a\\b'`},
		{"\x1b[2Jtab\t", `'\x1b[2Jtab\x09'`},
	}
	for _, c := range cases {
		if got := QuoteSingle(c.in); got != c.want {
			t.Errorf("QuoteSingle(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestOutputEscaped: what a command prints reaches the screen escaped,
// whatever the command forgot.
func TestOutputEscaped(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := &demoSession{}
	err := Run(context.Background(), Config{
		Editor:   NewPlainEditor(strings.NewReader("echo \"\x1b]0;owned\x07\" 'a\rb'\n"), &out),
		Out:      &out,
		Prompt:   demoPrompt,
		Commands: s.commands(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `esa.example.com> echo "\x1b]0;owned\x07" 'a\x0db'` + "\n" + `[\x1b]0;owned\x07][a\x0db]` + "\nesa.example.com> \n"
	if out.String() != want {
		t.Fatalf("screen %q, want %q", out.String(), want)
	}
}

// TestOutcome: what a batch session's exit status is made of.
func TestOutcome(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, input string
		pending     bool
		want        int
	}{
		{"all good", lines("echo hi", "help echo"), false, ExitOK},
		{"unknown command", lines("nosuch", "echo hi"), false, ExitFailed},
		{"command error", lines("fail"), false, ExitFailed},
		{"panic", lines("boom"), false, ExitFailed},
		{"unbalanced quote", lines("echo 'x"), false, ExitFailed},
		{"refused answer", lines("demoedit", "NEW", "bad_host!", "mail.example.com", "example.com", "192.0.2.1", "", "", "", "", "", "", ""), false, ExitFailed},
		{"unknown menu option", lines("demoedit", "FROB", ""), false, ExitFailed},
		{"wizard finished", lines("demoedit", "NEW", "mail.example.com", "example.com", "192.0.2.1", "", "", "", "", "", ""), false, ExitOK},
		{"input ends in a wizard", lines("demoedit", "NEW", "mail.example.com"), false, ExitWizardEOF},
		{"truncated wizard beats a failure", lines("nosuch", "demoedit", "NEW"), true, ExitWizardEOF},
		{"pending at end of input", lines("echo hi"), true, ExitUncommitted},
		{"pending, exit, input ends at the question", lines("exit"), true, ExitUncommitted},
		{"pending, exit confirmed", lines("exit", "y"), true, ExitOK},
		{"failure beats pending", lines("fail"), true, ExitFailed},
		{"too long a command line", lines("echo " + strings.Repeat("x", MaxCommandLine)), false, ExitFailed},
	}
	for _, c := range cases {
		var out bytes.Buffer
		s := &demoSession{}
		o, err := RunOutcome(context.Background(), Config{
			Editor:   NewPlainEditor(strings.NewReader(c.input), &out),
			Out:      &out,
			Prompt:   demoPrompt,
			Commands: s.commands(),
			OnExit: func(io *IO) bool {
				if !c.pending {
					return true
				}
				leave, err := io.YesNo("You have uncommitted changes. Do you want to exit without committing?", false)
				return err == nil && leave
			},
			Pending: func() bool { return c.pending },
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := o.ExitCode(); got != c.want {
			t.Errorf("%s: exit code %d (%+v), want %d; screen:\n%s", c.name, got, o, c.want, out.String())
		}
	}
}

// TestCommandLineLimit: a command line over the limit runs nothing; the
// plain editor drops a line over its own limit whole and reads on.
func TestCommandLineLimit(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := &demoSession{}
	long := "echo " + strings.Repeat("y", MaxCommandLine)
	huge := strings.Repeat("z", 3*MaxLineLength)
	err := Run(context.Background(), Config{
		Editor:   NewPlainEditor(strings.NewReader(lines(long, huge, "echo after")), &out),
		Out:      &out,
		Prompt:   demoPrompt,
		Commands: s.commands(),
	})
	if err != nil {
		t.Fatal(err)
	}
	screen := out.String()
	if strings.Contains(screen, "[yyy") {
		t.Errorf("the over-long command line ran")
	}
	if !strings.Contains(screen, "Error: the command line is longer than 1024 characters; nothing was run.\n") {
		t.Errorf("no error for the over-long command line:\n%.300s", screen)
	}
	if strings.Contains(screen, "zzz") || !strings.Contains(screen, "Error: the line is longer than 65536 characters and was ignored.\n") {
		t.Errorf("the plain editor kept or echoed the huge line")
	}
	if !strings.Contains(screen, "[after]") {
		t.Errorf("reading stopped after the long lines")
	}
}

// terminalSession runs the demo session on a terminal editor fed through a
// pipe (an SSH channel with a pty, as far as readline knows).
type terminalSession struct {
	t      *testing.T
	typing *io.PipeWriter
	screen *shelltest.Screen
	done   chan error
	ed     Editor
}

func newTerminalSession(t *testing.T, history string, onExit func(*IO) bool) *terminalSession {
	keys, typing := io.Pipe()
	screen := &shelltest.Screen{}
	ed, err := NewTerminalEditor(keys, screen, nil, history)
	if err != nil {
		t.Fatal(err)
	}
	ts := &terminalSession{t: t, typing: typing, screen: screen, done: make(chan error, 1), ed: ed}
	s := &demoSession{}
	go func() {
		ts.done <- Run(context.Background(), Config{
			Editor: ed, Out: screen, Prompt: demoPrompt, Commands: s.commands(), OnExit: onExit,
		})
	}()
	t.Cleanup(func() {
		typing.Close()
		ed.Close()
	})
	return ts
}

// step types keys and waits until text has appeared count times.
func (ts *terminalSession) step(keys, text string, count int) {
	ts.t.Helper()
	if keys != "" {
		if _, err := ts.typing.Write([]byte(keys)); err != nil {
			ts.t.Fatal(err)
		}
	}
	ts.screen.WaitFor(ts.t, text, count)
}

func (ts *terminalSession) end() {
	ts.t.Helper()
	select {
	case err := <-ts.done:
		if err != nil {
			ts.t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		ts.t.Fatalf("the session did not end; screen:\n%q", ts.screen.String())
	}
}

// TestHistoryHoldsOnlyCommandLines: wizard answers and passphrases never
// reach the history file (nor Up at the prompt); the file is 0600, an
// existing world-readable one included; the passphrase is not on the
// screen.
func TestHistoryHoldsOnlyCommandLines(t *testing.T) {
	t.Parallel()
	history := filepath.Join(t.TempDir(), "cli_history")
	if err := os.WriteFile(history, []byte("echo old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := newTerminalSession(t, history, func(*IO) bool { return true })
	p := "esa.example.com> "
	ts.step("", p, 1)
	ts.step("demoedit\r", "[]> ", 1)
	ts.step("NEW\r", "Enter the hostname of the entry.", 1)
	ts.step("answer.example.com\r", "Enter the domain it serves.", 1)
	ts.step("\x03", p, 2) // Ctrl-C
	ts.step("passwd\r", "Enter the passphrase:", 1)
	ts.step("hunter2\r", "Got 7 characters.", 1)
	ts.step("", p, 3)
	// Up recalls the last command line, not the passphrase.
	ts.step("\x1b[A\r", "Enter the passphrase:", 2)
	ts.step("\x03", p, 4)
	ts.step("\x04", "\n", 1)
	ts.end()

	data, err := os.ReadFile(history)
	if err != nil {
		t.Fatal(err)
	}
	if want := "echo old\ndemoedit\npasswd\npasswd\n"; string(data) != want {
		t.Errorf("history file %q, want %q", data, want)
	}
	st, err := os.Stat(history)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v, want 0600", st.Mode().Perm())
	}
	if screen := ts.screen.String(); strings.Contains(screen, "hunter2") || strings.Contains(screen, "*******") {
		t.Errorf("the passphrase (or its length) was shown:\n%q", screen)
	}
}

// TestPlainSecretNotEchoed: a piped session does not echo a passphrase.
func TestPlainSecretNotEchoed(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := &demoSession{}
	Run(context.Background(), Config{
		Editor: NewPlainEditor(strings.NewReader(lines("passwd", "hunter2")), &out),
		Out:    &out, Prompt: demoPrompt, Commands: s.commands(),
	})
	want := "esa.example.com> passwd\n\nEnter the passphrase:\n[]> \nGot 7 characters.\nesa.example.com> \n"
	if out.String() != want {
		t.Errorf("screen %q, want %q", out.String(), want)
	}
}

// TestCtrlDInWizard: on a terminal Ctrl-D abandons a wizard like Ctrl-C and
// the session goes on; at the exit question it takes the default (stay);
// the input really ending still ends the session.
func TestCtrlDInWizard(t *testing.T) {
	t.Parallel()
	asked := 0
	ts := newTerminalSession(t, "", func(io *IO) bool {
		asked++
		leave, err := io.YesNo("Do you want to exit without committing?", false)
		if errors.Is(err, ErrInterrupt) {
			io.Printf("\n")
		}
		return err == nil && leave
	})
	p := "esa.example.com> "
	ts.step("", p, 1)
	ts.step("demoedit\r", "[]> ", 1)
	ts.step("NEW\r", "Enter the hostname of the entry.", 1)
	ts.step("\x04", p, 2)
	ts.step("echo still here\r", "[still][here]", 1)
	ts.step("", p, 3)
	ts.step("\x04", "Do you want to exit without committing? [N]> ", 1)
	ts.step("\x04", p, 4)
	ts.typing.Close()
	ts.end()
	if asked != 2 {
		t.Errorf("exit question asked %d times, want 2 (Ctrl-D, then the end of input)", asked)
	}
}

// TestTerminalLongLine: a 10 KB line typed at the prompt costs no more
// than a line at the limit: the keys past it never reach readline's
// buffer, so nothing is redrawn for them, and the line is refused. (Before,
// readline redrew the whole line for every key: about 55 MB of output and
// 20 s for 10 KB.)
func TestTerminalLongLine(t *testing.T) {
	t.Parallel()
	keys, typing := io.Pipe()
	var out countingWriter
	ed, err := NewTerminalEditor(keys, &out, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	go typing.Write([]byte(strings.Repeat("x", 10<<10) + "\r" + "short\r"))
	_, err = ed.ReadLine("> ")
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("ReadLine of 10 KB: %v, want ErrLineTooLong", err)
	}
	if line, err := ed.ReadLine("> "); err != nil || line != "short" {
		t.Fatalf("next line %q, %v", line, err)
	}
	// At most the redraws of a line growing to the limit (n²/2 bytes
	// plus prompts and cursor moves).
	if limit := int64(MaxTerminalLine*MaxTerminalLine) * 2; out.n.Load() > limit {
		t.Errorf("%d bytes drawn for the long line, want at most %d", out.n.Load(), limit)
	}
}

func BenchmarkTerminalLongLine(b *testing.B) {
	line := []byte(strings.Repeat("x", 10<<10) + "\r")
	for b.Loop() {
		keys, typing := io.Pipe()
		ed, err := NewTerminalEditor(keys, io.Discard, nil, "")
		if err != nil {
			b.Fatal(err)
		}
		go typing.Write(line)
		ed.ReadLine("> ")
		ed.Close()
	}
}

// countingWriter counts what readline draws, from its own goroutine.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// FuzzReadLimited: whatever a pipe or SSH channel sends, the plain
// editor's reader returns each line of at most limit bytes as it is, and
// drops each longer one whole (ErrLineTooLong), keeping in step with the
// input's lines.
func FuzzReadLimited(f *testing.F) {
	f.Add([]byte("short\nline\n"), 4)
	f.Add([]byte(strings.Repeat("x", 100)+"\nnext\n"), 16)
	f.Add([]byte("no newline at the end"), 8)
	f.Add([]byte("\n\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		limit = 1 + abs(limit)%64
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		want := strings.SplitAfter(string(data), "\n")
		if want[len(want)-1] == "" {
			want = want[:len(want)-1]
		}
		for i := 0; ; i++ {
			line, err := readLimited(r, limit)
			if err == io.EOF && line == "" {
				if i != len(want) {
					t.Fatalf("ended after %d lines, want %d", i, len(want))
				}
				return
			}
			if i >= len(want) {
				t.Fatalf("line %d %q beyond the input's %d lines", i, line, len(want))
			}
			switch {
			case errors.Is(err, ErrLineTooLong):
				if len(strings.TrimSuffix(want[i], "\n")) <= limit {
					t.Fatalf("line %d %q refused with limit %d", i, want[i], limit)
				}
			case err != nil && err != io.EOF:
				t.Fatal(err)
			default:
				if len(strings.TrimSuffix(line, "\n")) > limit {
					t.Fatalf("line %d %q longer than %d accepted", i, line, limit)
				}
				if line != want[i] {
					t.Fatalf("line %d = %q, want %q", i, line, want[i])
				}
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestTerminalControlKeys: control characters readline has no binding for
// never enter the line (nor the screen, nor the history), and a history
// file line holding terminal controls (planted by someone else) is never
// recalled.
func TestTerminalControlKeys(t *testing.T) {
	t.Parallel()
	history := filepath.Join(t.TempDir(), "cli_history")
	if err := os.WriteFile(history, []byte("echo \x1b[2Jplanted\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTerminalSession(t, history, func(*IO) bool { return true })
	p := "esa.example.com> "
	ts.step("", p, 1)
	ts.step("echo a\x16b\x1cc\r", "[abc]", 1)
	ts.step("", p, 2)
	ts.step("\x1b[A\x1b[A\r", "[abc]", 2) // Up twice: only one line to recall
	ts.step("", p, 3)
	ts.step("\x04", "\n", 1)
	ts.end()
	if screen := ts.screen.String(); strings.ContainsAny(screen, "\x16\x1c") || strings.Contains(screen, "planted") {
		t.Errorf("a control character or the planted line reached the screen:\n%q", screen)
	}
	data, _ := os.ReadFile(history)
	if want := "echo \x1b[2Jplanted\necho abc\necho abc\n"; string(data) != want {
		t.Errorf("history %q, want %q", data, want)
	}
}

// TestPromptEscaped: a question whose default is stored text with terminal
// controls shows it escaped; Enter still takes the stored value.
func TestPromptEscaped(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var got string
	cmds := []Command{{Name: "ask", Run: func(io *IO, _ []string) error {
		var err error
		got, err = io.Ask("Directory:", "/var/\x1b[2Jlog", nil)
		return err
	}}}
	Run(context.Background(), Config{Editor: NewPlainEditor(strings.NewReader("ask\n\n"), &out), Out: &out, Commands: cmds})
	if want := "> ask\n\nDirectory:\n[/var/\\x1b[2Jlog]> \n> \n"; out.String() != want {
		t.Errorf("screen %q, want %q", out.String(), want)
	}
	if got != "/var/\x1b[2Jlog" {
		t.Errorf("Enter took %q", got)
	}
}
