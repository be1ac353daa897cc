package commands

import (
	"context"
	goio "io"
	"strings"
	"testing"
	"time"

	"esa/shell"
	"esa/shell/shelltest"
	"esa/store"
)

func init() {
	transcripts["commit_control_chars"] = transcript{check: func(t *testing.T, env *Env) {
		// Stored as typed; only the screen escapes it.
		if c := env.Store.Committed(); !strings.Contains(c.System.Hostname, "mail1") {
			t.Errorf("not committed: %+v", c.System)
		}
	}}
	transcripts["tail_control_chars"] = transcript{setup: func(t *testing.T, env *Env) {
		env.Logs.Logger(store.LogTypeMail).Info("MID 7 Subject: \x1b]0;owned\x07\x1b[2J\u009b31m")
	}}
	transcripts["tail_lists_committed"] = transcript{check: func(t *testing.T, env *Env) {
		findLog(t, env.Session.Config(), "pending_logs")
	}}
}

// TestCompletionOffersWhatIsAccepted: the words Tab offers after a command
// name (Keywords) are arguments the command accepts: running it with each
// is not refused. logconfig and dnsconfig take no arguments, so their menu
// keywords are offered only at their menus.
func TestCompletionOffersWhatIsAccepted(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	for _, c := range Table(env) {
		for _, kw := range c.Keywords {
			var out strings.Builder
			io := shell.NewIO(context.Background(), shell.NewPlainEditor(strings.NewReader(""), &out), &out)
			err := c.Run(io, []string{kw})
			if err != nil && strings.Contains(err.Error(), "Invalid arguments") || strings.Contains(out.String(), "Invalid arguments") {
				t.Errorf("Tab offers %q after %s, which refuses it: %v %s", kw, c.Name, err, out.String())
			}
		}
		if (c.Name == "logconfig" || c.Name == "dnsconfig") && len(c.Keywords) > 0 {
			t.Errorf("%s offers %q after its name but takes no arguments", c.Name, c.Keywords)
		}
	}
}

// TestCtrlDAtExitQuestion: on a terminal, Ctrl-D at the prompt with
// uncommitted changes asks the question, and Ctrl-D there takes its
// default (stay): the session goes on with the changes. Ctrl-D inside a
// wizard abandons it and the session goes on too.
func TestCtrlDAtExitQuestion(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	keys, typing := goio.Pipe()
	screen := &shelltest.Screen{}
	ed, err := shell.NewTerminalEditor(keys, screen, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	done := make(chan error, 1)
	go func() {
		done <- shell.Run(context.Background(), shell.Config{
			Editor: ed, Out: screen, Prompt: Prompt(env), Commands: Table(env), OnExit: OnExit(env),
		})
	}()
	p := "esa.example.com> "
	screen.WaitFor(t, p, 1)
	typing.Write([]byte("sethostname mail1.example.com\r"))
	screen.WaitFor(t, p, 2)
	typing.Write([]byte("logconfig\r"))
	screen.WaitFor(t, "[]> ", 1)
	typing.Write([]byte{4}) // Ctrl-D in the wizard
	screen.WaitFor(t, p, 3)
	typing.Write([]byte{4}) // Ctrl-D at the prompt
	screen.WaitFor(t, "Do you want to exit without committing? [N]> ", 1)
	typing.Write([]byte{4}) // Ctrl-D at the question: N
	screen.WaitFor(t, p, 4)
	if !env.Session.Pending() {
		t.Fatal("the pending change was lost")
	}
	typing.Write([]byte("version\r"))
	screen.WaitFor(t, "Current Version", 1)
	typing.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the end of input did not end the session:\n%q", screen.String())
	}
}
