package commands

import (
	"errors"

	"esa/shell"
)

// quarantineconfigCommand is a placeholder until quarantineconfig is built (issue 17).
func quarantineconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "quarantineconfig",
		Summary: "Configure local quarantines and the messages they hold",
		Help:    "quarantineconfig\n\nConfigure local quarantines and the messages they hold.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("quarantineconfig is not available yet")
		},
	}
}
