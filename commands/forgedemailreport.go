package commands

import (
	"errors"

	"esa/shell"
)

// ForgedCount is how many received messages had a From: display name
// matching one dictionary term.
type ForgedCount struct {
	Dictionary, Term string
	Count            int64
}

// forgedemailreportCommand is a placeholder until forgedemailreport is built (issue 17).
func forgedemailreportCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "forgedemailreport",
		Summary: "Show forged email detection matches per dictionary term",
		Help:    "forgedemailreport\n\nShow forged email detection matches per dictionary term.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("forgedemailreport is not available yet")
		},
	}
}
