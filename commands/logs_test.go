package commands

import (
	"context"
	"os"
	"testing"

	"esa/shell"
	"esa/shell/shelltest"
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

// TestTailFollow: tail -f prints lines written after it started and stops
// at Ctrl-C (SIGINT forwarded to the shell), back at the prompt.
func TestTailFollow(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	mailLines(t, env)
	out := &shelltest.Screen{}
	intr := make(chan os.Signal, 1)
	done := make(chan error, 1)
	in, inw := ioPipe()
	go func() {
		done <- shell.Run(context.Background(), shell.Config{
			Editor: ttyEditor{shell.NewPlainEditor(in, out)}, Out: out, Prompt: Prompt(env),
			Commands: Table(env), OnExit: OnExit(env), Interrupts: intr,
		})
	}()
	inw.Write([]byte("tail -f mail_logs\n"))
	out.WaitFor(t, "Message finished MID 2 done", 1)
	env.Logs.Logger(store.LogTypeMail).Info("Start MID 3 ICID 3")
	out.WaitFor(t, "Start MID 3 ICID 3", 1)
	intr <- os.Interrupt
	out.WaitFor(t, "\nesa.example.com> ", 1)
	inw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// ttyEditor is a plain editor that says a person is at a terminal
// (shell.IO.Interactive): tail follows only there.
type ttyEditor struct{ shell.Editor }

func (ttyEditor) Interactive() bool { return true }

func ioPipe() (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	return r, w
}
