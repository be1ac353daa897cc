package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// IO is what a command gets to talk to the user: Out for its output, Ctx
// (cancelled when the user presses Ctrl-C while the command runs, for tail -f
// and the like) and the wizard widgets below, which read answers through the
// session's Editor.
//
// Every widget prints an empty line and then the question, as the appliance
// does before each question block. An invalid answer prints exactly one
// reason line and asks the same question again; it never reaches the command.
// Ctrl-C (and Ctrl-D on a terminal) returns ErrInterrupt and the end of
// input io.EOF: the command must return that error at once, leaving the
// configuration untouched. A refused answer marks the session as failed
// for a batch exit status, as does IO.Fail.
type IO struct {
	Out io.Writer
	Ctx context.Context

	ed    Editor
	words *completion
	st    *Outcome
}

// completion holds the words tab completion offers while a widget waits for
// an answer. The editor's completer runs on its own goroutine, hence the lock.
type completion struct {
	mu     sync.Mutex
	words  []string
	wizard bool // a widget is asking: offer words, not command names
}

func (c *completion) set(words []string) {
	c.mu.Lock()
	c.words, c.wizard = words, true
	c.mu.Unlock()
}

func (c *completion) reset() {
	c.mu.Lock()
	c.words, c.wizard = nil, false
	c.mu.Unlock()
}

func (c *completion) get() ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.words, c.wizard
}

// NewIO returns an IO that reads answers through ed and writes to out. Run
// builds one per command; commands' own tests can use it with a PlainEditor.
func NewIO(ctx context.Context, ed Editor, out io.Writer) *IO {
	return &IO{Out: out, Ctx: ctx, ed: ed, words: &completion{}, st: &Outcome{}}
}

// Fail records that the command failed although it returns nil (it has
// printed why itself): a batch session then exits with ExitFailed.
func (io *IO) Fail() {
	io.st.Failed = true
}

// Interactive reports whether a person at a terminal is answering, as
// opposed to a script on a pipe. Commands that would wait for Ctrl-C (tail
// following a log) do so only then: in a script nothing would ever stop
// them.
func (io *IO) Interactive() bool {
	t, ok := io.ed.(terminal)
	return ok && t.Interactive()
}

// Printf writes formatted output to the session.
func (io *IO) Printf(format string, a ...any) {
	fmt.Fprintf(io.Out, format, a...)
}

// ReadLine reads one raw line (untrimmed, no completion words), for input
// that is data rather than an answer, such as a pasted configuration file.
//
// A line longer than the editor's limit is an error wrapping
// ErrLineTooLong; Ctrl-D on a terminal is an io.EOF (ErrCtrlD), like the
// end of a pipe.
func (io *IO) ReadLine(prompt string) (string, error) {
	io.flush()
	if d, ok := io.ed.(interface{ ReadData(string) (string, error) }); ok {
		return d.ReadData(prompt)
	}
	return io.ed.ReadLine(prompt)
}

// flush writes out what the escaping writer holds back before a prompt.
func (io *IO) flush() {
	if f, ok := io.Out.(interface{ Flush() error }); ok {
		f.Flush()
	}
}

// read asks one question and returns the trimmed answer, offering words to
// tab completion meanwhile. A secret answer is read without echo, history
// or completion where the editor can (SecretReader).
//
// Ctrl-D on a terminal abandons the questions as Ctrl-C does: it means "end
// of input" only at the command prompt. A line too long is refused like
// any invalid answer: the reason, then the question again.
func (io *IO) read(prompt string, words []string) (string, error) {
	return io.readAnswer(prompt, words, false)
}

func (io *IO) readAnswer(prompt string, words []string, secret bool) (string, error) {
	io.words.set(words)
	defer io.words.reset()
	for {
		io.flush()
		var line string
		var err error
		if s, ok := io.ed.(SecretReader); ok && secret {
			line, err = s.ReadSecret(prompt)
		} else {
			line, err = io.ed.ReadLine(prompt)
		}
		switch {
		case errors.Is(err, ErrCtrlD):
			return "", ErrInterrupt
		case errors.Is(err, ErrLineTooLong):
			io.reason(err)
			continue
		case err != nil:
			return "", err
		}
		return strings.TrimSpace(line), nil
	}
}

// reason prints the one-line reason an answer was refused. In a script a
// refused answer is a failure: the next line is read as a new answer to the
// same question, not what the script meant.
func (io *IO) reason(err error) {
	io.st.Failed = true
	fmt.Fprintln(io.Out, err.Error())
}

// Op is one entry of an operation menu.
type Op struct {
	Name, Desc string // Desc is a sentence: "Create a new entry."
}

// Menu shows an operation menu (ESA-CLI.md §0.1):
//
//	Choose the operation you want to perform:
//	- NEW - Create a new entry.
//	[]>
//
// and returns the chosen keyword upper-cased. The keyword is matched without
// regard to case. An empty answer returns "", which means "climb one level".
func (io *IO) Menu(ops []Op) (string, error) {
	names := make([]string, len(ops))
	var b strings.Builder
	b.WriteString("\nChoose the operation you want to perform:\n")
	for i, op := range ops {
		names[i] = op.Name
		fmt.Fprintf(&b, "- %s - %s\n", op.Name, op.Desc)
	}
	for {
		io.Printf("%s", b.String())
		a, err := io.read("[]> ", names)
		if err != nil || a == "" {
			return "", err
		}
		for _, op := range ops {
			if strings.EqualFold(a, op.Name) {
				return strings.ToUpper(op.Name), nil
			}
		}
		io.reason(fmt.Errorf("Unknown option %q.", a))
	}
}

// Ask asks a free-text question: the question on its own line, then
// "[def]> ". Enter takes def; with no default an answer is required. v (may be
// nil) checks and normalizes the answer, and the default too.
func (io *IO) Ask(question, def string, v Validator) (string, error) {
	return io.ask(question, def, v, false)
}

// AskOptional is Ask where an empty answer is allowed: Enter takes def, and
// when def is "" it returns "" without consulting v.
func (io *IO) AskOptional(question, def string, v Validator) (string, error) {
	return io.ask(question, def, v, true)
}

// AskSecret is Ask for a passphrase: the answer is read without echo on a
// terminal (and not echoed by the plain editor either), never enters the
// history, and tab completion offers nothing. def is shown as it is, so a
// caller offering to keep a stored secret shows a mask, never the secret.
func (io *IO) AskSecret(question, def string, v Validator) (string, error) {
	return io.askSecret(question, def, v, false, true)
}

func (io *IO) ask(question, def string, v Validator, optional bool) (string, error) {
	return io.askSecret(question, def, v, optional, false)
}

func (io *IO) askSecret(question, def string, v Validator, optional, secret bool) (string, error) {
	for {
		io.Printf("\n%s\n", question)
		a, err := io.readAnswer("["+def+"]> ", nil, secret)
		if err != nil {
			return "", err
		}
		if a == "" {
			a = def
		}
		if a == "" {
			if optional {
				return "", nil
			}
			io.reason(errEmpty)
			continue
		}
		if v == nil {
			return a, nil
		}
		n, err := v(a)
		if err == nil {
			return n, nil
		}
		io.reason(err)
	}
}

// YesNo asks "question [Y]> " (or [N]) on one line and accepts y, yes, n, no
// in any case; Enter takes def.
func (io *IO) YesNo(question string, def bool) (bool, error) {
	d := "N"
	if def {
		d = "Y"
	}
	for {
		io.Printf("\n")
		a, err := io.read(question+" ["+d+"]> ", []string{"yes", "no"})
		if err != nil {
			return false, err
		}
		switch strings.ToLower(a) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		io.reason(errors.New("Please answer yes or no."))
	}
}

// Choose asks the user to pick one of choices from a numbered list:
//
//	question
//	1. First
//	2. Second
//	[def]>
//
// It returns the 1-based number picked; def is 1-based too, 0 for no default.
func (io *IO) Choose(question string, choices []string, def int) (int, error) {
	d := ""
	if def > 0 {
		d = strconv.Itoa(def)
	}
	v := IntRange(1, len(choices))
	for {
		io.Printf("\n%s\n", question)
		for i, c := range choices {
			io.Printf("%d. %s\n", i+1, c)
		}
		a, err := io.read("["+d+"]> ", nil)
		if err != nil {
			return 0, err
		}
		if a == "" {
			a = d
		}
		if a == "" {
			io.reason(errEmpty)
			continue
		}
		n, err := v(a)
		if err != nil {
			io.reason(err)
			continue
		}
		return strconv.Atoi(n)
	}
}

// Int asks for an integer from min to max; Enter takes def.
func (io *IO) Int(question string, def, min, max int) (int, error) {
	a, err := io.Ask(question, strconv.Itoa(def), IntRange(min, max))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(a)
}

// Select picks one of names, which the command has just listed with numbers,
// by its number or its name (SARF's "name or number" prompts). It returns the
// 0-based index, or -1 for an empty answer. A name matches exactly first, then
// without regard to case if that is unambiguous.
func (io *IO) Select(question string, names []string) (int, error) {
	for {
		io.Printf("\n%s\n", question)
		a, err := io.read("[]> ", names)
		if err != nil {
			return 0, err
		}
		if a == "" {
			return -1, nil
		}
		if i := pick(a, names); i >= 0 {
			return i, nil
		}
		io.reason(fmt.Errorf("Value must be an integer from 1 to %d or one of the names listed.", len(names)))
	}
}

func pick(a string, names []string) int {
	if n, err := strconv.Atoi(a); err == nil {
		if n >= 1 && n <= len(names) {
			return n - 1
		}
		return -1
	}
	for i, name := range names {
		if name == a {
			return i
		}
	}
	found := -1
	for i, name := range names {
		if strings.EqualFold(name, a) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}
