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
until Ctrl-C, as the appliance's tail does.`

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
						io.Printf("Invalid arguments when processing: -n needs a number.\n")
						return nil
					}
					i++
					n, err := strconv.Atoi(args[i])
					if err != nil || n < 0 || n > 100000 {
						io.Printf("Invalid arguments when processing: -n needs a number from 0 to 100000, not %q.\n", args[i])
						return nil
					}
					lines = n
				case len(a) > 1 && a[0] == '-':
					io.Printf("Unknown option %q.\n", a)
					return nil
				case log != "":
					io.Printf("Invalid arguments when processing: unexpected %q.\n", a)
					return nil
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
				io.Printf("\nPress Ctrl-C to stop.\n")
			}
			err := env.Logs.Tail(io.Ctx, log, lines, follow, io.Out)
			switch {
			case errors.Is(err, logs.ErrNoSuchLog):
				io.Printf("Unable to tail: there is no log named %q.\n", log)
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
