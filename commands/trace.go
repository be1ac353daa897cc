package commands

import (
	"errors"

	"esa/shell"
)

// traceCommand is a placeholder until trace is built (issue 17).
func traceCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "trace",
		Summary: "Trace the flow of a message through the system",
		Help:    "trace\n\nTrace the flow of a message through the system.",
		Run: func(io *shell.IO, args []string) error {
			return errors.New("trace is not available yet")
		},
	}
}
