package commands

import (
	"errors"

	"esa/shell"
)

// filtersCommand is a placeholder until filters is built (issue 17).
func filtersCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "filters",
		Summary: "Configure message processing options",
		Help:    "filters\n\nConfigure message processing options.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("filters is not available yet")
		},
	}
}
