package shell

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestInterruptCancelsCommand checks that SIGINT while a command runs
// cancels only that command's context, that the REPL treats the cancellation
// as an interrupt (a newline, no error line), and that the next command gets
// a fresh context.
func TestInterruptCancelsCommand(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 1)
	started := make(chan struct{})
	var nextErr error = errors.New("check did not run")
	cmds := []Command{
		{Name: "wait", Run: func(io *IO, _ []string) error {
			close(started)
			<-io.Ctx.Done()
			return io.Ctx.Err()
		}},
		{Name: "check", Run: func(io *IO, _ []string) error {
			nextErr = io.Ctx.Err()
			io.Printf("checked\n")
			return nil
		}},
	}
	go func() {
		<-started
		sigs <- os.Interrupt
	}()
	var out bytes.Buffer
	err := Run(context.Background(), Config{
		Editor:     NewPlainEditor(strings.NewReader("wait\ncheck\n"), &out),
		Out:        &out,
		Commands:   cmds,
		Interrupts: sigs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if nextErr != nil {
		t.Errorf("the command after the interrupt got a done context: %v", nextErr)
	}
	if want := "> wait\n\n> check\nchecked\n> \n"; out.String() != want {
		t.Errorf("screen %q, want %q", out.String(), want)
	}
}

// TestStaleInterruptIgnored checks that a Ctrl-C pressed while no command
// ran does not cancel the next command.
func TestStaleInterruptIgnored(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 1)
	sigs <- os.Interrupt
	var ctxErr error = errors.New("did not run")
	var out bytes.Buffer
	Run(context.Background(), Config{
		Editor: NewPlainEditor(strings.NewReader("check\n"), &out),
		Out:    &out,
		Commands: []Command{{Name: "check", Run: func(io *IO, _ []string) error {
			ctxErr = io.Ctx.Err()
			return nil
		}}},
		Interrupts: sigs,
	})
	if ctxErr != nil {
		t.Errorf("command context: %v", ctxErr)
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := Run(ctx, Config{Editor: NewPlainEditor(strings.NewReader("help\n"), &out), Out: &out}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	broken := errors.New("broken pipe")
	ed := &scriptEditor{answers: []string{"", "help"}, end: broken}
	if err := Run(context.Background(), Config{Editor: ed, Out: &out}); !errors.Is(err, broken) {
		t.Errorf("editor failure: got %v", err)
	}
	// Ctrl-C at the prompt gives a new prompt; OnExit runs once at the end.
	exits := 0
	ed = &scriptEditor{answers: []string{"x"}}
	var prompts int
	err := Run(context.Background(), Config{
		Editor: &interruptFirst{Editor: ed},
		Out:    &out,
		Prompt: func() string { prompts++; return "> " },
		OnExit: func(*IO) bool { exits++; return true },
	})
	if err != nil || exits != 1 || prompts != 3 {
		t.Errorf("got err %v, %d exits, %d prompts; want nil, 1, 3", err, exits, prompts)
	}
}

// interruptFirst returns ErrInterrupt on its first read.
type interruptFirst struct {
	Editor
	done bool
}

func (e *interruptFirst) ReadLine(p string) (string, error) {
	if !e.done {
		e.done = true
		return "", ErrInterrupt
	}
	return e.Editor.ReadLine(p)
}

// completingEditor captures the completer Run installs.
type completingEditor struct {
	scriptEditor
	complete func(string) []string
	during   map[string][]string // line -> candidates, asked while reading
}

func (e *completingEditor) SetComplete(f func(string) []string) { e.complete = f }

func (e *completingEditor) ReadLine(p string) (string, error) {
	for line := range e.during {
		e.during[line] = e.complete(line)
	}
	return e.scriptEditor.ReadLine(p)
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	s := &demoSession{}
	ed := &completingEditor{}
	Run(context.Background(), Config{Editor: ed, Out: io.Discard, Commands: s.commands()})
	names := []string{"demoedit", "echo", "fail", "wait", "passwd", "boom", "help", "quit", "exit"}
	keywords := []string{"NEW", "DELETE", "PRINT", "SETUP"}
	tests := []struct {
		line string
		want []string
	}{
		{"", names},
		{"de", names},
		{"demoedit ", keywords},
		{"DEMOEDIT n", keywords},
		{"demoedit new ", keywords},
		{"help ", names},
		{"help de", names},
		{"help demoedit ", nil},
		{"nosuch ", nil},
	}
	for _, tt := range tests {
		if got := ed.complete(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("complete(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
	// Inside a wizard the question's words replace command completion.
	ed = &completingEditor{
		scriptEditor: scriptEditor{answers: []string{"demoedit", "setup"}},
		during:       map[string][]string{"": nil},
	}
	Run(context.Background(), Config{Editor: ed, Out: io.Discard, Commands: s.commands()})
	if got, want := ed.during[""], []string{"EXPORT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("at the SETUP menu completion offers %q, want %q", got, want)
	}
}

func BenchmarkRunToFirstPrompt(b *testing.B) {
	s := &demoSession{}
	cmds := s.commands()
	for b.Loop() {
		Run(context.Background(), Config{
			Editor:   NewPlainEditor(strings.NewReader(""), io.Discard),
			Out:      io.Discard,
			Prompt:   demoPrompt,
			Commands: cmds,
		})
	}
}

// TestAudit: every non-blank command line reaches Audit with its prompt,
// including unknown commands and lines that do not split; blank lines and
// wizard answers do not.
func TestAudit(t *testing.T) {
	t.Parallel()
	var got []string
	var out bytes.Buffer
	ask := Command{Name: "ask", Run: func(io *IO, _ []string) error {
		_, err := io.Ask("Name?", "", nil)
		return err
	}}
	Run(context.Background(), Config{
		Editor:   NewPlainEditor(strings.NewReader("ask\nwizard answer\n\n   \nnosuch 'x\nquit\n"), &out),
		Out:      &out,
		Prompt:   func() string { return "esa.example.com> " },
		Commands: []Command{ask},
		Audit:    func(prompt, line string) { got = append(got, prompt+"|"+line) },
	})
	want := []string{"esa.example.com> |ask", "esa.example.com> |nosuch 'x", "esa.example.com> |quit"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audited %q, want %q", got, want)
	}
}

// An SSH exec request runs its one command line without a prompt, takes
// the command's answers from the input, and reports like a batch session.
func TestRunCommandOnce(t *testing.T) {
	var asked []string
	cmds := []Command{
		{Name: "hello", Summary: "s", Help: "h", Run: func(io *IO, args []string) error {
			io.Printf("hello %v\n", args)
			return nil
		}},
		{Name: "ask", Summary: "s", Help: "h", Run: func(io *IO, args []string) error {
			a, err := io.Ask("Name?", "x", nil)
			asked = append(asked, a)
			return err
		}},
		{Name: "fail", Summary: "s", Help: "h", Run: func(io *IO, args []string) error { return errors.New("Error: no") }},
	}
	run := func(line, input string) (string, Outcome, []string) {
		var out bytes.Buffer
		var audit []string
		st, err := RunOutcome(context.Background(), Config{
			Editor: NewPlainEditor(strings.NewReader(input), &out), Out: &out, Commands: cmds, Command: line,
			Prompt: func() string { return "host> " },
			Audit:  func(p, l string) { audit = append(audit, p+"|"+l) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), st, audit
	}
	if out, st, audit := run("hello 'a b' c", ""); out != "hello [a b c]\n" || st.ExitCode() != ExitOK || len(audit) != 1 || audit[0] != "|hello 'a b' c" {
		t.Fatalf("%q %+v %v", out, st, audit)
	}
	if out, st, _ := run("ask", "bob\n"); !strings.Contains(out, "Name?") || st.ExitCode() != ExitOK || asked[0] != "bob" {
		t.Fatalf("%q %+v %v", out, st, asked)
	}
	if _, st, _ := run("ask", ""); st.ExitCode() != ExitWizardEOF {
		t.Fatalf("ask without answers: %+v", st)
	}
	if out, st, _ := run("fail", ""); out != "Error: no\n" || st.ExitCode() != ExitFailed {
		t.Fatalf("%q %+v", out, st)
	}
	if out, st, _ := run("nosuch", ""); out != "Unknown command: nosuch\n" || st.ExitCode() != ExitFailed {
		t.Fatalf("%q %+v", out, st)
	}
}
