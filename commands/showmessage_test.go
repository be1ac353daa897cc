package commands

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"esa/shell"
)

// TestShowmessageExitStatus: in a batch session, a MID that is not in the
// queue fails the session with exit status 3 (shell.ExitFailed), as does a
// queue command in a shell not attached to a daemon; showing a queued
// message succeeds.
func TestShowmessageExitStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		input  string
		daemon bool
		want   int
	}{
		{"showmessage 1\n", true, shell.ExitOK},
		{"showmessage 99\n", true, shell.ExitFailed},
		{"showmessage\n99\n", true, shell.ExitFailed},
		{"showmessage 1\n", false, shell.ExitFailed},
		{"workqueue status\n", false, shell.ExitFailed},
		{"workqueue status\n", true, shell.ExitOK},
	} {
		env := newEnv(t)
		if c.daemon {
			withQueue(t, env)
		}
		var out strings.Builder
		o, err := shell.RunOutcome(context.Background(), shell.Config{
			Editor: shell.NewPlainEditor(strings.NewReader(c.input), &out), Out: &out,
			Prompt: Prompt(env), Commands: Table(env),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := o.ExitCode(); got != c.want {
			t.Errorf("%q (daemon %v): exit status %d, want %d:\n%s", c.input, c.daemon, got, c.want, out.String())
		}
	}
}

// FuzzPrintHeader: showmessage's header reader, fed any stored message,
// prints exactly the non-empty lines before the first empty line (without
// their line ends), stops reading at the size bound, and never fails on
// bytes alone. The reference splits the whole input at once.
func FuzzPrintHeader(f *testing.F) {
	for _, m := range testMessages {
		f.Add([]byte(m.env.Prepend + m.body))
	}
	f.Add([]byte("A: b\r\n\r\nbody\r\n"))
	f.Add([]byte("A: b\n\nbody"))
	f.Add([]byte("no end of line"))
	f.Add([]byte("\r\r\nX: y\r\n\r\n"))
	f.Add([]byte("\x00\x1b[2J\n\n"))
	f.Add(bytes.Repeat([]byte("X-Long: header with no end\r\n"), 10000)) // past the bound
	f.Fuzz(func(t *testing.T, msg []byte) {
		var out bytes.Buffer
		io := shell.NewIO(context.Background(), shell.NewPlainEditor(strings.NewReader(""), &out), &out)
		if err := printHeader(io, bytes.NewReader(msg), 1); err != nil {
			t.Fatalf("printHeader: %v", err)
		}
		in := msg
		truncated := len(in) >= maxShownHeader
		if truncated {
			in = in[:maxShownHeader]
		}
		var want strings.Builder
		lines := strings.SplitAfter(string(in), "\n")
		for i, l := range lines {
			complete := strings.HasSuffix(l, "\n")
			l = strings.TrimRight(l, "\r\n")
			if l == "" && complete {
				truncated = false // the header ended within the bound
				break
			}
			if l != "" {
				want.WriteString(l + "\n")
			}
			if i == len(lines)-1 && truncated {
				want.WriteString("(The header is longer than 256 KiB; the rest is not shown.)\n")
			}
		}
		if out.String() != want.String() {
			t.Errorf("printed %q, want %q", out.String(), want.String())
		}
	})
}
