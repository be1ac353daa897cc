package shell

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitOut(t *testing.T, out *syncBuf, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q in %q", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Over an SSH pty, Ctrl-C typed while a command runs cancels that command
// (the far terminal is raw, so no SIGINT exists); the next prompt is clean,
// and Ctrl-C at a wizard question still abandons the wizard.
func TestRemoteTerminalCtrlC(t *testing.T) {
	inR, inW := io.Pipe()
	out := &syncBuf{}
	intr := make(chan os.Signal, 1)
	width := 80
	var resized func()
	ed, err := NewRemoteTerminalEditor(inR, out, RemoteTerminal{
		Width:      func() int { return width },
		Resized:    func(f func()) { resized = f },
		Interrupts: intr,
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	started := make(chan struct{}, 1)
	cmds := []Command{
		{Name: "wait", Summary: "s", Help: "h", Run: func(io *IO, _ []string) error {
			started <- struct{}{}
			<-io.Ctx.Done()
			return io.Ctx.Err()
		}},
		{Name: "ask", Summary: "s", Help: "h", Run: func(io *IO, _ []string) error {
			_, err := io.Ask("Question?", "", nil)
			return err
		}},
	}
	done := make(chan Outcome, 1)
	go func() {
		st, _ := RunOutcome(context.Background(), Config{Editor: ed, Out: out, Commands: cmds, Interrupts: intr,
			Prompt: func() string { return "esa> " }})
		done <- st
	}()
	waitOut(t, out, "esa> ")
	io.WriteString(inW, "wait\r")
	<-started
	io.WriteString(inW, "\x03")
	select {
	case <-done:
		t.Fatal("the session ended")
	case <-time.After(50 * time.Millisecond):
	}
	// The command returned (interrupted) and a new prompt came.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "esa> ") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no prompt after the interrupt: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(inW, "ask\r")
	waitOut(t, out, "Question?")
	io.WriteString(inW, "\x03")
	for strings.Count(out.String(), "esa> ") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl-C at a question did not abandon it: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resized == nil {
		t.Fatal("the editor did not register for window changes")
	}
	width = 132
	resized()
	io.WriteString(inW, "quit\r")
	select {
	case st := <-done:
		if st.ExitCode() != ExitOK {
			t.Fatalf("%+v", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("quit did not end the session")
	}
}
