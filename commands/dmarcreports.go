package commands

import (
	"errors"

	"esa/shell"
)

// DMARCReporter is the daemon's DMARC aggregate report job, for
// dmarcreports.
type DMARCReporter interface{}

// dmarcreportsCommand is a placeholder until dmarcreports is built (issue 17).
func dmarcreportsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "dmarcreports",
		Summary: "List and generate DMARC aggregate reports",
		Help:    "dmarcreports\n\nList and generate DMARC aggregate reports.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("dmarcreports is not available yet")
		},
	}
}
