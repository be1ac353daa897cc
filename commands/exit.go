package commands

import (
	"errors"
	goio "io"

	"esa/shell"
)

// OnExit is the shell's quit/exit/end-of-input hook: with uncommitted changes
// it warns and asks before the changes are lost (ESA-CLI §7.3). When the
// input has ended (a piped session) the answer cannot be read: the warning
// stays on the screen and the session ends.
func OnExit(env *Env) func(io *shell.IO) bool {
	return func(io *shell.IO) bool {
		if !env.Session.Pending() {
			return true
		}
		leave, err := io.YesNo("You have uncommitted changes. Do you want to exit without committing?", false)
		switch {
		case errors.Is(err, goio.EOF):
			return true
		case err != nil:
			// Ctrl-C at the question: stay, the changes are still there;
			// an empty line before the prompt, as after an abandoned wizard.
			// Ctrl-D on a terminal arrives here too (shell.ErrInterrupt
			// inside a question) and so takes the default, N: stay. Only
			// the end of the input (io.EOF above) leaves.
			io.Printf("\n")
			return false
		}
		return leave
	}
}
