package shell

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chzyer/readline"
)

// terminalEditor is the Editor for people at a terminal: line editing,
// history and tab completion come from chzyer/readline.
type terminalEditor struct {
	rl *readline.Instance
	in io.Closer

	mu       sync.Mutex
	complete func(line string) []string
}

// NewTerminalEditor returns a readline-backed Editor reading keystrokes from in
// and drawing on out. complete returns the candidate words for the last word
// of line (the text left of the cursor); the editor keeps those that start
// with what was typed, ignoring case. historyFile may be "" for an in-memory
// history only.
//
// When in is a local terminal the editor switches it to raw mode while a line
// is read. Any other stream (an SSH channel with a pty) is taken to be a
// terminal already in raw mode on the far side, 80 columns wide.
func NewTerminalEditor(in io.ReadCloser, out io.Writer, complete func(line string) []string, historyFile string) (Editor, error) {
	e := &terminalEditor{in: in, complete: complete}
	cfg := &readline.Config{
		Stdin:        in,
		Stdout:       out,
		Stderr:       out,
		HistoryFile:  historyFile,
		AutoComplete: e,
		// Ctrl-D ends the line with a bare newline: the screen then reads like
		// a piped session ending (see NewPlainEditor).
		EOFPrompt: "\n",
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
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, err
	}
	e.rl = rl
	return e, nil
}

func (e *terminalEditor) ReadLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	line, err := e.rl.Readline()
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case err != nil:
		return "", err
	}
	return line, nil
}

// Close stops the editor and closes its input: readline keeps a goroutine
// reading the input, which only a closed input ends.
func (e *terminalEditor) Close() error {
	err := e.rl.Close()
	if cerr := e.in.Close(); err == nil {
		err = cerr
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
// word. Matching ignores case because every keyword of the shell does.
func (e *terminalEditor) Do(line []rune, pos int) ([][]rune, int) {
	e.mu.Lock()
	complete := e.complete
	e.mu.Unlock()
	if complete == nil {
		return nil, 0
	}
	left := string(line[:pos])
	word := left[strings.LastIndexAny(left, " \t")+1:]
	var out [][]rune
	for _, c := range complete(left) {
		if len(c) >= len(word) && strings.EqualFold(c[:len(word)], word) {
			out = append(out, []rune(c[len(word):]+" "))
		}
	}
	return out, utf8.RuneCountInString(word)
}
