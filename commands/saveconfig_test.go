package commands

import (
	"context"
	"os"
	"strings"
	"testing"

	"esa/shell"
)

// TestSaveconfigError: a save the system refuses is reported in one line
// with the system's reason, without internal paths, and the session goes
// on.
func TestSaveconfigError(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	dir := env.Store.ConfigDir()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil { // a file where the folder should be
		t.Fatal(err)
	}
	var out strings.Builder
	shell.Run(context.Background(), shell.Config{
		Editor: shell.NewPlainEditor(strings.NewReader("saveconfig\n1\nversion\n"), &out), Out: &out,
		Prompt: Prompt(env), Commands: Table(env),
	})
	if !strings.Contains(out.String(), "\nError: the configuration could not be saved: not a directory.\n") {
		t.Errorf("screen:\n%s", out.String())
	}
	if strings.Contains(out.String(), env.Store.Dir()) {
		t.Errorf("the error shows an internal path:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "> version\n") {
		t.Errorf("the session did not go on:\n%s", out.String())
	}
}
