package commands

import (
	"errors"

	"esa/shell"
)

// dmarcconfigCommand is a placeholder until dmarcconfig is built (issue 17).
func dmarcconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "dmarcconfig",
		Summary: "Configure DMARC verification and reports",
		Help:    "dmarcconfig\n\nConfigure DMARC verification and reports.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("dmarcconfig is not available yet")
		},
	}
}
