package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Command is one entry of the command table. The table is data: dispatch,
// `help`, `help NAME` and tab completion all read it (STYLE.md item 5).
type Command struct {
	Name, Summary, Help string // Summary: one line for `help`; Help: text for `help NAME`
	// Keywords are the menu keywords tab completion offers after the name.
	Keywords []string
	// Run executes the command. args are the words after the command name,
	// already unquoted by Split. Returning ErrInterrupt (Ctrl-C in a wizard)
	// or io.EOF (input ended in a wizard) must leave the configuration
	// unchanged; any other error is printed to the user as one line.
	Run func(io *IO, args []string) error
}

// Config is what Run needs for one session.
type Config struct {
	Editor   Editor
	Out      io.Writer
	Prompt   func() string // e.g. "esa.example.com> "; nil gives "> "
	Commands []Command
	// OnExit runs on quit, exit and end of input; returning false stays at
	// the prompt (e.g. the user chose to keep uncommitted changes). When the
	// input ends while OnExit asks its questions, Run ends anyway: nothing
	// more can be read.
	OnExit func(io *IO) bool
	// Interrupts, if set, delivers SIGINT while a command runs (the terminal
	// is out of raw mode then, so Ctrl-C arrives as a signal); it cancels the
	// command's IO.Ctx. Signals arriving between commands are discarded.
	Interrupts <-chan os.Signal
	// Audit, if set, is told every non-blank line typed at the command
	// prompt, with the prompt it answered, before the line runs: the
	// appliance's CLI audit log records each command (ESA-CLI §5.2, "CLI
	// Audit Logs"). Wizard answers and pasted data are not command lines and
	// are not reported.
	Audit func(prompt, line string)
	// Pending, if set, tells whether the session has uncommitted changes;
	// a session whose input ends with some is reported in the Outcome.
	Pending func() bool
	// Notices, if set, is asked after each command line for lines the
	// session must see at once (log lines that could not be written
	// because of what it just did).
	Notices func() []string
	// Command, if set, is the one command line the session runs (an SSH
	// exec request: `ssh admin@host status`). No prompt is shown; the line
	// is audited and run, its questions read their answers from Editor,
	// and the session then ends as at the end of input.
	Command string
}

// MaxCommandLine is the longest command line Run runs; a longer one is
// refused whole, nothing run. It bounds what a command parses (a grep
// pattern, a name) and matches the terminal editor's limit.
const MaxCommandLine = MaxTerminalLine

// errExit is returned by the quit and exit built-ins.
var errExit = errors.New("exit")

type repl struct {
	c     Config
	out   *escaper
	st    Outcome
	ed    *eofEditor
	comp  *completion
	cmds  []Command // c.Commands plus the built-ins they do not override
	width int       // of the longest command name, for `help`
}

// eofEditor remembers whether the input has ended, so that Run can tell an
// OnExit that answered "stay" from one that could no longer read anything.
type eofEditor struct {
	Editor
	eof bool
}

// Prompts are escaped like the output: a question's default can be
// stored text (a directory, a name).
func (e *eofEditor) ReadLine(prompt string) (string, error) {
	return e.note(e.Editor.ReadLine(Escape(prompt)))
}

func (e *eofEditor) note(line string, err error) (string, error) {
	// Ctrl-D is an io.EOF too, but the input goes on.
	if errors.Is(err, io.EOF) && !errors.Is(err, ErrCtrlD) {
		e.eof = true
	}
	return line, err
}

// ReadSecret passes SecretReader on; an editor without it reads the
// secret as a line.
func (e *eofEditor) ReadSecret(prompt string) (string, error) {
	if s, ok := e.Editor.(SecretReader); ok {
		return e.note(s.ReadSecret(Escape(prompt)))
	}
	return e.ReadLine(prompt)
}

// ReadData reads a line of data, which the terminal editor allows to be
// longer than a command line.
func (e *eofEditor) ReadData(prompt string) (string, error) {
	if d, ok := e.Editor.(interface{ ReadData(string) (string, error) }); ok {
		return e.note(d.ReadData(Escape(prompt)))
	}
	return e.ReadLine(prompt)
}

func (e *eofEditor) Interactive() bool {
	t, ok := e.Editor.(terminal)
	return ok && t.Interactive()
}

// Run is the read-eval loop: it prints the prompt, reads a line, splits it
// and runs the command whose name matches the first word (ignoring case).
// Built-ins: help [NAME], quit, exit. It returns nil when the session ends
// normally, ctx.Err() when ctx is done (checked before each prompt), or the
// editor's error if reading fails.
//
// Everything the commands print goes through an escaping writer (see
// Escape): no stored text can drive the terminal.
func Run(ctx context.Context, c Config) error {
	_, err := RunOutcome(ctx, c)
	return err
}

// RunOutcome is Run, also reporting what went wrong on the way, for a batch
// session's exit status (Outcome.ExitCode).
func RunOutcome(ctx context.Context, c Config) (Outcome, error) {
	r, err := run(ctx, c)
	r.out.Flush()
	return r.st, err
}

func run(ctx context.Context, c Config) (*repl, error) {
	if c.Prompt == nil {
		c.Prompt = func() string { return "> " }
	}
	esc := NewEscaper(c.Out).(*escaper)
	c.Out = esc
	r := &repl{c: c, out: esc, ed: &eofEditor{Editor: c.Editor}, comp: &completion{}}
	r.cmds = append(r.cmds, c.Commands...)
	for _, b := range r.builtins() {
		if r.lookup(b.Name) == nil {
			r.cmds = append(r.cmds, b)
		}
	}
	for _, cmd := range r.cmds {
		r.width = max(r.width, len(cmd.Name))
	}
	if cc, ok := c.Editor.(Completing); ok {
		cc.SetComplete(r.complete)
	}
	if c.Command != "" {
		return r, r.once(ctx, c.Command)
	}
	for {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.out.Flush()
		prompt := c.Prompt()
		line, err := r.ed.ReadLine(prompt)
		switch {
		case errors.Is(err, ErrInterrupt):
			continue
		case errors.Is(err, ErrLineTooLong):
			r.st.Failed = true
			fmt.Fprintln(c.Out, err)
			continue
		case errors.Is(err, io.EOF):
			if r.leave(ctx) {
				return r, nil
			}
			continue
		case err != nil:
			return r, err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(line) > MaxCommandLine && utf8.RuneCountInString(line) > MaxCommandLine {
			r.st.Failed = true
			fmt.Fprintf(c.Out, "Error: the command line is longer than %d characters; nothing was run.\n", MaxCommandLine)
			continue
		}
		if h, ok := c.Editor.(historian); ok {
			h.AddHistory(line)
		}
		if c.Audit != nil {
			c.Audit(prompt, line)
		}
		end := r.line(ctx, line)
		r.notices()
		if end {
			return r, nil
		}
	}
}

// once runs the single command line of Config.Command.
func (r *repl) once(ctx context.Context, line string) error {
	if len(line) > MaxCommandLine && utf8.RuneCountInString(line) > MaxCommandLine {
		r.st.Failed = true
		fmt.Fprintf(r.c.Out, "Error: the command line is longer than %d characters; nothing was run.\n", MaxCommandLine)
		return nil
	}
	if r.c.Audit != nil {
		r.c.Audit("", line)
	}
	if end := r.line(ctx, line); !end {
		r.notices()
		// The session ends here, as a script's input would: pending
		// changes are lost and reported like a batch session's.
		r.ed.eof = true
		r.leave(ctx)
	}
	r.out.Flush()
	return nil
}

// line runs one command line and reports whether the session ends.
func (r *repl) line(ctx context.Context, line string) bool {
	words, err := Split(line)
	if err != nil {
		r.st.Failed = true
		fmt.Fprintln(r.c.Out, err)
		return false
	}
	if len(words) == 0 {
		return false
	}
	cmd := r.lookup(words[0])
	if cmd == nil {
		r.st.Failed = true
		fmt.Fprintf(r.c.Out, "Unknown command: %s\n", words[0])
		return false
	}
	err = r.run(ctx, cmd, words[1:])
	switch {
	case err == nil:
	case errors.Is(err, ErrInterrupt):
		fmt.Fprintln(r.c.Out)
	case errors.Is(err, errExit):
		return r.leave(ctx)
	case errors.Is(err, io.EOF):
		// The input ended while the command asked its questions.
		r.st.WizardEOF = true
		return r.leave(ctx)
	default:
		r.st.Failed = true
		fmt.Fprintln(r.c.Out, err)
	}
	return false
}

func (r *repl) notices() {
	if r.c.Notices == nil {
		return
	}
	for _, n := range r.c.Notices() {
		fmt.Fprintln(r.c.Out, n)
	}
}

func (r *repl) lookup(name string) *Command {
	for i := range r.cmds {
		if strings.EqualFold(r.cmds[i].Name, name) {
			return &r.cmds[i]
		}
	}
	return nil
}

func (r *repl) newIO(ctx context.Context) *IO {
	return &IO{Out: r.c.Out, Ctx: ctx, ed: r.ed, words: r.comp, st: &r.st}
}

// run executes one command with a context that Ctrl-C (a signal on
// Interrupts) cancels. A command that stops because of that cancellation is
// treated like one interrupted in a wizard.
func (r *repl) run(ctx context.Context, cmd *Command, args []string) (err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var interrupted atomic.Bool
	if r.c.Interrupts != nil {
		for drained := false; !drained; {
			select {
			case <-r.c.Interrupts:
			default:
				drained = true
			}
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-r.c.Interrupts:
				interrupted.Store(true)
				cancel()
			case <-done:
			}
		}()
	}
	defer func() {
		// A bug in one command must not end the administrator's session.
		if p := recover(); p != nil {
			err = fmt.Errorf("Internal error in %s: %v", cmd.Name, p)
		}
		if err != nil && interrupted.Load() && errors.Is(err, context.Canceled) {
			err = ErrInterrupt
		}
	}()
	return cmd.Run(r.newIO(cctx), args)
}

// leave runs OnExit and reports whether the session ends. A session that
// ends because its input ended, with changes pending, is Uncommitted; one
// whose user answered that the changes may go is not.
func (r *repl) leave(ctx context.Context) bool {
	inputEnded := r.ed.eof
	end := true
	if r.c.OnExit != nil {
		r.ed.eof = false
		end = r.c.OnExit(r.newIO(ctx)) || r.ed.eof
		inputEnded = inputEnded || r.ed.eof
	}
	if end && inputEnded && r.c.Pending != nil && r.c.Pending() {
		r.st.Uncommitted = true
	}
	return end
}

func (r *repl) builtins() []Command {
	bye := func(*IO, []string) error { return errExit }
	return []Command{
		{
			Name:    "help",
			Summary: "Help for commands",
			Help:    "help [NAME]\n\nList every command with a one-line summary; with NAME, describe that command.",
			Run:     r.help,
		},
		{Name: "quit", Summary: "Exit the CLI", Help: "quit (alias exit)\n\nLeave the command line session.", Run: bye},
		{Name: "exit", Summary: "Exit the CLI", Help: "exit (alias quit)\n\nLeave the command line session.", Run: bye},
	}
}

func (r *repl) help(io *IO, args []string) error {
	switch len(args) {
	case 0:
		cmds := append([]Command(nil), r.cmds...)
		sort.Slice(cmds, func(i, j int) bool { return strings.ToLower(cmds[i].Name) < strings.ToLower(cmds[j].Name) })
		for _, cmd := range cmds {
			io.Printf("%-*s  %s\n", r.width, cmd.Name, cmd.Summary)
		}
	case 1:
		cmd := r.lookup(args[0])
		if cmd == nil {
			io.Printf("Unknown command: %s\n", args[0])
			return nil
		}
		text := cmd.Help
		if text == "" {
			text = cmd.Summary
		}
		io.Printf("%s\n", strings.TrimRight(text, "\n"))
	default:
		io.Printf("Invalid arguments when processing: help takes at most one command name.\n")
	}
	return nil
}

// complete is the REPL's tab completion: the words a wizard question offers
// while one is asked; at the prompt, command names for the first word, and
// the command's Keywords (command names after help) for later words.
func (r *repl) complete(line string) []string {
	if words, wizard := r.comp.get(); wizard {
		return words
	}
	fields := strings.Fields(line)
	typing := len(fields) // index of the word being typed
	if typing > 0 && !strings.ContainsAny(line[len(line)-1:], " \t") {
		typing--
	}
	if typing == 0 {
		names := make([]string, len(r.cmds))
		for i, cmd := range r.cmds {
			names[i] = cmd.Name
		}
		return names
	}
	if strings.EqualFold(fields[0], "help") {
		if typing == 1 {
			return r.complete("")
		}
		return nil
	}
	if cmd := r.lookup(fields[0]); cmd != nil {
		return cmd.Keywords
	}
	return nil
}
