package commands

import (
	"errors"

	"esa/shell"
)

// dictionaryconfigCommand is a placeholder until dictionaryconfig is built (issue 17).
func dictionaryconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "dictionaryconfig",
		Summary: "Configure content dictionaries",
		Help:    "dictionaryconfig\n\nConfigure content dictionaries.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("dictionaryconfig is not available yet")
		},
	}
}
