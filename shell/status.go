package shell

// Exit codes of a batch session (standard input not a terminal), so that
// scripts can trust them. 1 and 2 belong to the program itself (it could
// not start; bad usage).
const (
	ExitOK          = 0 // every command ran and nothing was left pending
	ExitFailed      = 3 // a command failed, was unknown, or an answer was refused
	ExitWizardEOF   = 4 // the input ended in the middle of a command's questions
	ExitUncommitted = 5 // the input ended with uncommitted changes
)

// Outcome is what a session leaves behind, for the exit status.
type Outcome struct {
	// Failed: a command returned an error or called IO.Fail, a command
	// name was unknown, a command line could not be split or was too long,
	// or a wizard refused an answer.
	Failed bool
	// WizardEOF: the input ended while a command was asking its questions.
	WizardEOF bool
	// Uncommitted: the input ended with changes still pending
	// (Config.Pending), without anyone answering that they may be lost.
	Uncommitted bool
}

// ExitCode maps o to one code. When several things went wrong the most
// specific wins: a truncated script (ExitWizardEOF) before an earlier
// failure (ExitFailed) before changes left pending (ExitUncommitted).
func (o Outcome) ExitCode() int {
	switch {
	case o.WizardEOF:
		return ExitWizardEOF
	case o.Failed:
		return ExitFailed
	case o.Uncommitted:
		return ExitUncommitted
	}
	return ExitOK
}
