package shell

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"esa/shell/shelltest"
)

// TestTerminalEditor drives the readline editor through a pipe, the way an
// SSH channel with a pty feeds it (no local tty needed): tab completion of a
// command name and of a menu keyword, Ctrl-C abandoning a wizard with no
// change, history saved to the file, and Ctrl-D ending the session.
func TestTerminalEditor(t *testing.T) {
	t.Parallel()
	keys, typing := io.Pipe()
	screen := &shelltest.Screen{}
	history := filepath.Join(t.TempDir(), "history")
	ed, err := NewTerminalEditor(keys, screen, nil, history)
	if err != nil {
		t.Fatal(err)
	}
	s := &demoSession{}
	exited := 0
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{
			Editor:   ed,
			Out:      screen,
			Prompt:   demoPrompt,
			Commands: s.commands(),
			OnExit:   func(*IO) bool { exited++; return true },
		})
	}()
	type key struct{ typed, waitText string }
	steps := []key{
		{"", "esa.example.com> "},
		// "demo" + Tab completes to "demoedit ".
		{"demo\t\r", "Choose the operation you want to perform:"},
		// "NE" + Tab completes the menu keyword; the wizard starts.
		{"NE\t\r", "Enter the hostname of the entry."},
		{"mail.example.com\r", "Enter the domain it serves."},
		// Ctrl-C abandons the wizard: back at the prompt, nothing added.
		{"\x03", "esa.example.com> "},
		{"demoedit\r", "There are currently 0 entries configured."},
		{"\r", "esa.example.com> "},
	}
	prompts := 0
	for _, k := range steps {
		if k.typed != "" {
			if _, err := typing.Write([]byte(k.typed)); err != nil {
				t.Fatal(err)
			}
		}
		if k.waitText == "esa.example.com> " {
			prompts++
			screen.WaitFor(t, k.waitText, prompts)
		} else {
			screen.WaitFor(t, k.waitText, 1)
		}
	}
	typing.Write([]byte{4}) // Ctrl-D on an empty line
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl-D did not end the session; screen:\n%q", screen.String())
	}
	ed.Close()
	if len(s.entries) != 0 || exited != 1 {
		t.Errorf("entries %v, OnExit ran %d times; want none and once", s.entries, exited)
	}
	if got := screen.String(); !strings.Contains(got, "^C") || strings.Count(got, "There are currently 0 entries configured.") != 2 {
		t.Errorf("screen does not show the interrupted wizard and the unchanged table:\n%q", got)
	}
	data, err := os.ReadFile(history)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "demoedit") {
		t.Errorf("history file %q lacks the commands typed", data)
	}
}

func TestTerminalCompleter(t *testing.T) {
	t.Parallel()
	e := &terminalEditor{}
	if got, n := e.Do([]rune("x"), 1); got != nil || n != 0 {
		t.Errorf("without a completer got %q, %d", got, n)
	}
	var asked string
	e.SetComplete(func(line string) []string {
		asked = line
		return []string{"destconfig", "delivernow", "dnsconfig", "DELETE"}
	})
	got, n := e.Do([]rune("help de ignored"), 7)
	// The rest is written in the case of what was typed: "de" gives
	// "delete", not "deLETE".
	want := [][]rune{[]rune("stconfig "), []rune("livernow "), []rune("lete ")}
	if asked != "help de" || n != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("Do = %q, %d (asked %q); want %q, 2", got, n, asked, want)
	}
}
