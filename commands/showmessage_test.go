package commands

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"esa/delivery/queue"
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

// TestShowmessageGatewayMessage: a message the gateway made itself (a
// bounce report: no listener, ICID 0, no remote address or HELO) shows
// None for each field it does not have, never an empty value with a
// trailing space; a connection without a reverse host name still shows
// "unknown".
func TestShowmessageGatewayMessage(t *testing.T) {
	t.Parallel()
	q, err := queue.Open(filepath.Join(t.TempDir(), "queue"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	for _, env := range []queue.Envelope{
		{From: "", Recipients: []string{"alice@example.org"}, Received: clock},
		{ICID: 7, Listener: "IncomingMail", RemoteIP: "192.0.2.1", HELO: "h.example", From: "a@example.org", Recipients: []string{"b@example.com"}, Received: clock},
	} {
		mid, err := q.IDs().Next(queue.MID)
		if err != nil {
			t.Fatal(err)
		}
		w, err := q.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("Subject: report\r\n\r\nbody\r\n"))
		env.MID = mid
		if err := w.Commit(env); err != nil {
			t.Fatal(err)
		}
	}
	show := func(mid uint64) string {
		var out bytes.Buffer
		io := shell.NewIO(context.Background(), shell.NewPlainEditor(strings.NewReader(""), &out), &out)
		if err := showMessage(io, q, mid); err != nil {
			t.Fatalf("showmessage %d: %v", mid, err)
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.TrimRight(l, " \t") != l {
				t.Errorf("showmessage %d: trailing space in %q", mid, l)
			}
		}
		return out.String()
	}
	out := show(1)
	for _, label := range []string{"ICID:", "Listener:", "Remote IP:", "Remote Host:", "HELO:", "Sender Group:", "Policy:"} {
		if want := "\n" + label + strings.Repeat(" ", 16-len(label)) + "None\n"; !strings.Contains(out, want) {
			t.Errorf("the bounce report's %s is not None:\n%s", label, out)
		}
	}
	if !strings.Contains(out, "\nFrom:           <>\n") {
		t.Errorf("the null sender is not shown as <>:\n%s", out)
	}
	out = show(2)
	for _, want := range []string{"\nICID:           7\n", "\nRemote IP:      192.0.2.1\n", "\nRemote Host:    unknown\n", "\nHELO:           h.example\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("a received message lacks %q:\n%s", want, out)
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
