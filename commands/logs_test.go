package commands

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/shell"
	"esa/store"
)

func init() {
	transcripts["grep"] = transcript{setup: mailLines}
	transcripts["grep_interactive"] = transcript{setup: mailLines}
	transcripts["tail"] = transcript{setup: mailLines}
}

// mailLines writes mail_logs lines in two files: the first one rolled over,
// the second current.
func mailLines(t *testing.T, env *Env) {
	t.Helper()
	l := env.Logs.Logger(store.LogTypeMail)
	l.Info("Start MID 1 ICID 1")
	l.Info("MID 1 ICID 1 From: <alice@example.com>")
	l.Info("MID 1 ICID 1 RID 0 To: <bob@example.org>")
	if err := env.Logs.RollOver("mail_logs"); err != nil {
		t.Fatal(err)
	}
	l.Info("Start MID 2 ICID 2")
	l.Warning("MID 2 ICID 2 from: <carol@example.net> rejected")
	l.Info("Message finished MID 2 done")
}

// syncBuffer is a screen written by a following tail while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTailFollow: tail -f prints lines written after it started and stops
// at Ctrl-C (SIGINT forwarded to the shell), back at the prompt.
func TestTailFollow(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	mailLines(t, env)
	out := &syncBuffer{}
	intr := make(chan os.Signal, 1)
	done := make(chan error, 1)
	in, inw := ioPipe()
	go func() {
		done <- shell.Run(context.Background(), shell.Config{
			Editor: shell.NewPlainEditor(in, out), Out: out, Prompt: Prompt(env),
			Commands: Table(env), OnExit: OnExit(env), Interrupts: intr,
		})
	}()
	inw.Write([]byte("tail -f mail_logs\n"))
	waitFor(t, out, "Message finished MID 2 done")
	env.Logs.Logger(store.LogTypeMail).Info("Start MID 3 ICID 3")
	waitFor(t, out, "Start MID 3 ICID 3")
	intr <- os.Interrupt
	waitFor(t, out, "\nesa.example.com> ")
	inw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never appeared; screen:\n%s", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ioPipe() (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	return r, w
}
