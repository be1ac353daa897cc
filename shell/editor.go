package shell

import (
	"bufio"
	"errors"
	"fmt"
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

// ErrCtrlD is returned by a terminal editor when the user presses Ctrl-D on
// an empty line. It is an io.EOF (errors.Is) so that at the prompt it ends
// the session as the end of input does, but the input has not ended: inside
// a wizard it abandons the questions as Ctrl-C does, and at the
// uncommitted-changes question it takes the default.
var ErrCtrlD = fmt.Errorf("Ctrl-D: %w", io.EOF)

// MaxLineLength bounds the bytes an editor keeps of one line, so that a
// hostile pipe or SSH channel sending an endless line cannot make the
// process grow: a longer line is read to its end, dropped, and reported as
// ErrLineTooLong. It is far above any answer or configuration line.
const MaxLineLength = 64 << 10

// ErrLineTooLong is wrapped by the error an editor returns for a line
// longer than its limit; the error's text is the line to show the user.
var ErrLineTooLong = errors.New("line too long")

type lineTooLongError int

func lineTooLong(limit int) error { return lineTooLongError(limit) }

func (e lineTooLongError) Error() string {
	return fmt.Sprintf("Error: the line is longer than %d characters and was ignored.", int(e))
}

func (e lineTooLongError) Is(target error) bool { return target == ErrLineTooLong }

// SecretReader is implemented by editors that can read an answer without
// showing it (passphrases): no echo, no history, no completion.
type SecretReader interface {
	ReadSecret(prompt string) (string, error)
}

// historian is implemented by editors that keep a history. Run gives it
// the command lines typed at the prompt, and nothing else: wizard answers
// and pasted data never enter the history.
type historian interface {
	AddHistory(line string)
}

// terminal is implemented by editors reading from a person at a terminal;
// commands ask through IO.Interactive (tail follows only there).
type terminal interface {
	Interactive() bool
}

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
//
// The echo goes through the same escaping as the session's output (Escape),
// and lines longer than MaxLineLength are dropped (ErrLineTooLong).
func NewPlainEditor(r io.Reader, w io.Writer) Editor {
	return &plainEditor{r: bufio.NewReader(r), w: w}
}

func (e *plainEditor) ReadLine(prompt string) (string, error) {
	return e.read(prompt, true)
}

// ReadSecret implements SecretReader: the answer is not echoed, as on a
// terminal with echo off; only the end of the line shows.
func (e *plainEditor) ReadSecret(prompt string) (string, error) {
	return e.read(prompt, false)
}

func (e *plainEditor) read(prompt string, echo bool) (string, error) {
	io.WriteString(e.w, prompt)
	line, err := readLimited(e.r, MaxLineLength)
	if errors.Is(err, ErrLineTooLong) {
		io.WriteString(e.w, "\n")
		return "", err
	}
	if err != nil && (err != io.EOF || line == "") {
		// End of input: finish the prompt line the way a terminal does on
		// Ctrl-D, so the screen does not end in the middle of a line.
		io.WriteString(e.w, "\n")
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if echo {
		io.WriteString(e.w, Escape(line)+"\n")
	} else {
		io.WriteString(e.w, "\n")
	}
	return line, nil
}

// readLimited reads one line (with its newline, if any) of at most limit
// bytes. A longer line is consumed to its end without being kept, and
// ErrLineTooLong is returned: memory stays bounded whatever the peer
// sends.
func readLimited(r *bufio.Reader, limit int) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		n := len(b) + len(chunk)
		if err == nil {
			n-- // the newline itself
		}
		if n > limit {
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return "", err
			}
			return "", lineTooLong(limit)
		}
		b = append(b, chunk...)
		if err != bufio.ErrBufferFull {
			return string(b), err
		}
	}
}

func (e *plainEditor) Close() error { return nil }

// IsTerminal reports whether f is a terminal, i.e. whether the REPL should use
// NewTerminalEditor rather than NewPlainEditor.
func IsTerminal(f *os.File) bool {
	return readline.IsTerminal(int(f.Fd()))
}
