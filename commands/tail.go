package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"esa/shell"
	"esa/store/logs"
)

const tailHelp = `tail [-n N] [-f] LOG

Print the last lines of log subscription LOG (10 unless -n N says otherwise).
With -f, and in the interactive form (no arguments: the logs are listed and
one is chosen by number or name), keep printing new lines as they are written
until Ctrl-C, as the appliance's tail does. Following needs a terminal: in a
script (input from a pipe) tail prints the last lines and returns.`

func tailCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "tail",
		Summary: "Continuously display the end of a log file",
		Help:    tailHelp,
		Run: func(io *shell.IO, args []string) error {
			lines, follow, log := 10, false, ""
			for i := 0; i < len(args); i++ {
				switch a := args[i]; {
				case a == "-f":
					follow = true
				case a == "-n":
					if i+1 >= len(args) {
						return errors.New("Invalid arguments when processing: -n needs a number.")
					}
					i++
					n, err := strconv.Atoi(args[i])
					if err != nil || n < 0 || n > 100000 {
						return fmt.Errorf("Invalid arguments when processing: -n needs a number from 0 to 100000, not %q.", args[i])
					}
					lines = n
				case len(a) > 1 && a[0] == '-':
					return fmt.Errorf("Unknown option %q.", a)
				case log != "":
					return fmt.Errorf("Invalid arguments when processing: unexpected %q.", a)
				default:
					log = a
				}
			}
			if log == "" {
				name, err := chooseLog(io, env, "Enter the number of the log you wish to tail.")
				if err != nil || name == "" {
					return err
				}
				log, follow = name, true
			}
			// Following ends only with Ctrl-C: on a pipe nobody can press
			// it, and the rest of the script would never run. In batch
			// use tail prints the last lines and returns.
			follow = follow && io.Interactive()
			if follow {
				io.Printf("\nPress Ctrl-C to stop.\n")
			}
			err := env.Logs.Tail(io.Ctx, log, lines, follow, io.Out)
			switch {
			case errors.Is(err, logs.ErrNoSuchLog):
				return fmt.Errorf("Unable to tail: there is no log named %q.", log)
			case follow && errors.Is(err, context.Canceled):
				// Ctrl-C is how tail ends.
				return err
			case err != nil:
				return fmt.Errorf("Unable to tail: %w", err)
			}
			return nil
		},
	}
}
