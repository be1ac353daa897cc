package commands

import (
	"context"
	"strings"
	"testing"

	"esa/shell"
)

// keysEditor plays typed lines; "^C" stands for Ctrl-C at that question.
// Like a terminal, it echoes the prompt and the answer ("^C" for Ctrl-C).
type keysEditor struct {
	keys []string
	out  *strings.Builder
}

func (e *keysEditor) ReadLine(prompt string) (string, error) {
	e.out.WriteString(prompt)
	if len(e.keys) == 0 {
		e.out.WriteString("\n")
		return "", context.Canceled
	}
	k := e.keys[0]
	e.keys = e.keys[1:]
	e.out.WriteString(k + "\n")
	if k == "^C" {
		return "", shell.ErrInterrupt
	}
	return k, nil
}

func (e *keysEditor) Close() error { return nil }

// TestCtrlC: Ctrl-C in the middle of a logconfig EDIT changes nothing (the
// earlier pending host name stays, mail_logs keeps its name); Ctrl-C at the
// uncommitted-changes question of quit stays in the session and, as after an
// abandoned wizard, leaves an empty line before the prompt.
func TestCtrlC(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var out strings.Builder
	ed := &keysEditor{out: &out, keys: []string{
		"sethostname a.example.com", "logconfig", "edit", "2", "renamed", "^C",
		"quit", "^C", "quit", "y",
	}}
	err := shell.Run(context.Background(), shell.Config{
		Editor: ed, Out: &out, Prompt: Prompt(env), Commands: Table(env), OnExit: OnExit(env),
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	c := env.Session.Config()
	if c.System.Hostname != "a.example.com" {
		t.Errorf("pending host name %q lost", c.System.Hostname)
	}
	if findLog(t, c, "mail_logs").Name != "mail_logs" {
		t.Errorf("interrupted EDIT changed the logs: %+v", c.Logs.Subscriptions)
	}
	if changed := env.Session.Changed(); len(changed) != 1 || changed[0] != "system" {
		t.Errorf("changed tables %v, want [system]", changed)
	}
	for _, want := range []string{
		"[3]> ^C\n\nesa.example.com> quit\n",
		"without committing? [N]> ^C\n\nesa.example.com> quit\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("screen lacks %q:\n%s", want, out.String())
		}
	}
}
