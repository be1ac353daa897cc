package shell

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/chzyer/readline"
)

// MaxTerminalLine is the longest line the terminal editor accepts at the
// command prompt. readline redraws the whole line on every keystroke, so a
// line of n characters costs O(n²): 4,000 pasted characters took 1.3 s of
// CPU and 9 MB of redraw, 10 KB about 20 s. Keystrokes past the limit are
// turned into a no-op key (they never reach the line buffer, so they cost
// nothing) and the line is refused with ErrLineTooLong when Enter comes.
// No command line of the appliance is near this long. Data lines (a pasted
// configuration, IO.ReadLine) may be longer: dataTerminalLine.
const MaxTerminalLine = 1024

// dataTerminalLine is the limit for lines that are data rather than
// commands, read through IO.ReadLine (a configuration pasted at loadconfig).
const dataTerminalLine = 8192

// terminalEditor is the Editor for people at a terminal: line editing,
// history and tab completion come from chzyer/readline.
type terminalEditor struct {
	rl      *readline.Instance
	in      io.Closer
	history *historyFile // nil: in-memory history only

	mu       sync.Mutex
	complete func(line string) []string
	// Key filter state; the filter and the listener run on readline's
	// input goroutine, ReadLine on the session's.
	limit    int    // of the line being read
	length   int    // of readline's line buffer after the last key
	overflow bool   // keys were dropped from the line being typed
	ended    []bool // overflow of each line ended by Enter, not yet returned
	secret   bool   // reading a secret: keys go to secretBuf, not readline
	secretB  []rune // the secret typed so far
	closed   bool   // the input ended (not Ctrl-D)
	gate     *keyGate
	// reading, when set, is raised while a line is read (see intrFilter).
	reading *atomic.Bool
}

// keyGate drops the keys of an over-long line before readline reads them.
// The filter turns the keys past the limit into no-ops, but each still
// costs readline two copies of the line; once the filter has seen the line
// overflow, the gate discards the printable bytes that follow until the
// line ends (CR, LF, Ctrl-C, Ctrl-D), so a pasted megabyte costs nothing.
// Only what readline has not read ahead yet (it buffers 4 KiB) is dropped
// here; the filter handles the rest.
type keyGate struct {
	r       io.ReadCloser
	discard atomic.Bool
}

func (g *keyGate) Close() error { return g.r.Close() }

func (g *keyGate) Read(p []byte) (int, error) {
	for {
		n, err := g.r.Read(p)
		if !g.discard.Load() || n == 0 {
			return n, err
		}
		kept := 0
		for i := 0; i < n; i++ {
			c := p[i]
			if g.discard.Load() {
				switch {
				case c == '\r' || c == '\n' || c == readline.CharInterrupt || c == readline.CharDelete:
					g.discard.Store(false)
				case c >= ' ' || c == readline.CharTab:
					continue
				}
			}
			p[kept] = c
			kept++
		}
		if kept > 0 || err != nil {
			return kept, err
		}
	}
}

// NewTerminalEditor returns a readline-backed Editor reading keystrokes from in
// and drawing on out. complete returns the candidate words for the last word
// of line (the text left of the cursor); the editor keeps those that start
// with what was typed, ignoring case. historyFile may be "" for an in-memory
// history only; the file is kept mode 0600 (an existing one is made so) and
// receives only the command lines Run gives it (AddHistory), never wizard
// answers.
//
// When in is a local terminal the editor switches it to raw mode while a line
// is read. Any other stream (an SSH channel with a pty) is taken to be a
// terminal already in raw mode on the far side, 80 columns wide.
func NewTerminalEditor(in io.ReadCloser, out io.Writer, complete func(line string) []string, historyFile string) (Editor, error) {
	return newTerminalEditor(in, out, complete, historyFile, nil)
}

// newTerminalEditor builds the editor; adjust, if set, changes readline's
// configuration last (NewRemoteTerminalEditor's size and mode doors).
func newTerminalEditor(in io.ReadCloser, out io.Writer, complete func(line string) []string, historyFile string, adjust func(*readline.Config)) (Editor, error) {
	e := &terminalEditor{in: in, complete: complete, limit: MaxTerminalLine, gate: &keyGate{r: in}}
	cfg := &readline.Config{
		Stdin:        e.gate,
		Stdout:       out,
		Stderr:       out,
		AutoComplete: e,
		// History is kept by AddHistory: readline would otherwise record
		// every line read, wizard answers and passphrases included.
		DisableAutoSaveHistory: true,
		HistoryLimit:           historyLimit,
		// Ctrl-D ends the line with a bare newline: the screen then reads like
		// a piped session ending (see NewPlainEditor).
		EOFPrompt:           "\n",
		FuncFilterInputRune: e.filter,
		Listener:            e,
	}
	if f, ok := in.(*os.File); ok && IsTerminal(f) {
		fd := int(f.Fd())
		var state *readline.State
		cfg.FuncIsTerminal = func() bool { return true }
		cfg.FuncMakeRaw = func() error {
			s, err := readline.MakeRaw(fd)
			state = s
			return err
		}
		cfg.FuncExitRaw = func() error {
			if state == nil {
				return nil
			}
			return readline.Restore(fd, state)
		}
		cfg.FuncGetWidth = func() int {
			if w, _, err := readline.GetSize(fd); err == nil && w > 0 {
				return w
			}
			return 80
		}
	} else {
		cfg.FuncIsTerminal = func() bool { return true }
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
		cfg.FuncGetWidth = func() int { return 80 }
		cfg.FuncOnWidthChanged = func(func()) {}
	}
	if adjust != nil {
		adjust(cfg)
	}
	var lines []string
	if historyFile != "" {
		h, err := openHistory(historyFile)
		if err != nil {
			return nil, err
		}
		e.history = h
		lines = h.lines
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		rl.SaveHistory(l)
	}
	e.rl = rl
	return e, nil
}

// filter sees every key before readline does (readline's input goroutine).
func (e *terminalEditor) filter(r rune) (rune, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch r {
	case 0: // readline's mark for the end of the input
		e.closed = true
		return r, true
	case readline.CharEnter, readline.CharCtrlJ:
		e.ended = append(e.ended, e.overflow)
		e.overflow, e.length = false, 0
		return r, true
	case readline.CharInterrupt, readline.CharDelete:
		if r == readline.CharInterrupt || e.length == 0 {
			e.overflow = false
			e.secretB = e.secretB[:0]
		}
		return r, true
	}
	if insertsControl(r) {
		// readline would insert the raw character into the line, draw it
		// as it is and keep it in the history, where it would reach the
		// next administrator's terminal: a no-op key instead.
		return readline.CharBell, true
	}
	if e.secret {
		// The secret never enters readline's buffer: nothing is drawn,
		// not even its length, and nothing can reach the history.
		switch {
		case r == readline.CharBackspace || r == readline.CharCtrlH:
			if n := len(e.secretB); n > 0 {
				e.secretB = e.secretB[:n-1]
			}
		case r == readline.CharCtrlU:
			e.secretB = e.secretB[:0]
		case r >= ' ' && r != 0x7f && len(e.secretB) < e.limit:
			e.secretB = append(e.secretB, r)
		}
		return readline.CharBell, true
	}
	if r >= ' ' && r != readline.CharBackspace && e.length >= e.limit {
		// CharBell is a key readline does nothing with: no redraw.
		e.overflow = true
		e.gate.discard.Store(true)
		return readline.CharBell, true
	}
	return r, true
}

// insertsControl reports whether r is a control character readline has no
// binding for, which it would insert into the line as text: Ctrl-O, Ctrl-Q,
// Ctrl-V, Ctrl-X, Ctrl-\ to Ctrl-_ and the C1 controls.
func insertsControl(r rune) bool {
	switch {
	case r == 15, r == 17, r == 22, r == 24, r >= 28 && r < 32:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// OnChange implements readline.Listener: it learns the line's length after
// every key, for filter.
func (e *terminalEditor) OnChange(line []rune, _ int, _ rune) ([]rune, int, bool) {
	e.mu.Lock()
	e.length = len(line)
	e.mu.Unlock()
	return nil, 0, false
}

func (e *terminalEditor) ReadLine(prompt string) (string, error) {
	return e.read(prompt, MaxTerminalLine, false)
}

// ReadData reads a line of data (IO.ReadLine), which may be longer than a
// command.
func (e *terminalEditor) ReadData(prompt string) (string, error) {
	return e.read(prompt, dataTerminalLine, false)
}

// ReadSecret implements SecretReader: nothing typed is drawn.
func (e *terminalEditor) ReadSecret(prompt string) (string, error) {
	return e.read(prompt, MaxTerminalLine, true)
}

func (e *terminalEditor) read(prompt string, limit int, secret bool) (string, error) {
	e.mu.Lock()
	if e.closed {
		// readline's input goroutine has ended: it would never answer.
		e.mu.Unlock()
		return "", io.EOF
	}
	e.limit, e.secret, e.secretB = limit, secret, e.secretB[:0]
	e.mu.Unlock()
	e.rl.SetPrompt(prompt)
	if e.reading != nil {
		e.reading.Store(true)
		defer e.reading.Store(false)
	}
	line, err := e.rl.Readline()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secret = false
	secretLine := string(e.secretB)
	e.secretB = e.secretB[:0]
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case errors.Is(err, io.EOF) && !e.closed:
		return "", ErrCtrlD
	case err != nil:
		return "", err
	}
	over := false
	if len(e.ended) > 0 {
		over = e.ended[0]
		e.ended = e.ended[1:]
	}
	if over || utf8.RuneCountInString(line) > limit {
		return "", lineTooLong(limit)
	}
	if secret {
		return secretLine, nil
	}
	return line, nil
}

// AddHistory implements historian.
func (e *terminalEditor) AddHistory(line string) {
	// A line with control characters (pasted, since the keys are
	// filtered) is not recalled: Up would draw it raw.
	if strings.TrimSpace(line) == "" || needsEscaping(line) {
		return
	}
	e.rl.SaveHistory(line)
	if e.history != nil {
		e.history.add(line)
	}
}

// Interactive implements terminal.
func (e *terminalEditor) Interactive() bool { return true }

// Close stops the editor and closes its input: readline keeps a goroutine
// reading the input, which only a closed input ends.
func (e *terminalEditor) Close() error {
	err := e.rl.Close()
	if cerr := e.in.Close(); err == nil {
		err = cerr
	}
	if e.history != nil {
		if herr := e.history.close(); err == nil {
			err = herr
		}
	}
	return err
}

// SetComplete implements Completing.
func (e *terminalEditor) SetComplete(complete func(line string) []string) {
	e.mu.Lock()
	e.complete = complete
	e.mu.Unlock()
}

// Do implements readline.AutoCompleter: it returns the untyped rest of every
// candidate that starts with the word under the cursor, and the length of that
// word. Matching ignores case because every keyword of the shell does; the
// rest is written in the case of what was typed (ne → new, NE → NEW), since
// readline cannot change the letters already on the line.
func (e *terminalEditor) Do(line []rune, pos int) ([][]rune, int) {
	e.mu.Lock()
	complete := e.complete
	secret := e.secret
	e.mu.Unlock()
	if complete == nil || secret {
		return nil, 0
	}
	left := string(line[:pos])
	word := left[strings.LastIndexAny(left, " \t")+1:]
	var out [][]rune
	for _, c := range complete(left) {
		if len(c) >= len(word) && strings.EqualFold(c[:len(word)], word) {
			out = append(out, []rune(inCaseOf(word, c[len(word):])+" "))
		}
	}
	return out, utf8.RuneCountInString(word)
}

// inCaseOf writes rest in the case of typed: lower case when typed has
// letters and all are lower case, upper case when all are upper case, as
// it is otherwise (nothing typed, or mixed case).
func inCaseOf(typed, rest string) string {
	lower, upper := false, false
	for _, r := range typed {
		lower = lower || unicode.IsLower(r)
		upper = upper || unicode.IsUpper(r)
	}
	switch {
	case lower && !upper:
		return strings.ToLower(rest)
	case upper && !lower:
		return strings.ToUpper(rest)
	}
	return rest
}
