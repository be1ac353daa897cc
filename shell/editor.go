package shell

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/chzyer/readline"
)

// ErrInterrupt is returned by an Editor when the user presses Ctrl-C while a
// line is being read. A wizard that gets it abandons its questions and leaves
// the configuration untouched; at the top-level prompt it just gives a new
// prompt.
var ErrInterrupt = errors.New("interrupted")

// Editor reads one line of input after writing a prompt. It returns io.EOF at
// the end of input (end of a pipe, Ctrl-D on an empty terminal line) and
// ErrInterrupt on Ctrl-C. The same REPL and wizard code runs over every
// implementation, so scripted sessions and terminals behave alike.
type Editor interface {
	ReadLine(prompt string) (string, error)
	Close() error
}

// Completing is implemented by editors that offer tab completion. Run installs
// its own completer through it (command names at the prompt, the command's
// Keywords after a command name, the words a wizard question currently offers),
// replacing the one given to NewTerminalEditor.
type Completing interface {
	SetComplete(complete func(line string) []string)
}

// plainEditor is the line reader for pipes, SSH channels without a pty and
// tests.
type plainEditor struct {
	r *bufio.Reader
	w io.Writer
}

// NewPlainEditor returns an Editor that writes the prompt to w, reads one line
// from r and echoes it followed by "\n" to w. A terminal echoes what the user
// types; echoing here makes the output of a piped session read exactly like the
// screen of an interactive one, which is what the golden transcripts compare.
func NewPlainEditor(r io.Reader, w io.Writer) Editor {
	return &plainEditor{r: bufio.NewReader(r), w: w}
}

func (e *plainEditor) ReadLine(prompt string) (string, error) {
	io.WriteString(e.w, prompt)
	line, err := e.r.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		// End of input: finish the prompt line the way a terminal does on
		// Ctrl-D, so the screen does not end in the middle of a line.
		io.WriteString(e.w, "\n")
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	io.WriteString(e.w, line+"\n")
	return line, nil
}

func (e *plainEditor) Close() error { return nil }

// IsTerminal reports whether f is a terminal, i.e. whether the REPL should use
// NewTerminalEditor rather than NewPlainEditor.
func IsTerminal(f *os.File) bool {
	return readline.IsTerminal(int(f.Fd()))
}
