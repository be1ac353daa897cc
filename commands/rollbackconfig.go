package commands

import (
	"errors"
	"fmt"
	"strconv"

	"esa/shell"
	"esa/store"
)

const rollbackHelp = `rollbackconfig

List the configurations saved for rollback by commit (number, time, user and
comment, newest first) and load the chosen one into this session as a pending
change. Nothing is applied until you commit.`

func rollbackconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "rollbackconfig",
		Summary: "Restore a previously committed configuration",
		Help:    rollbackHelp,
		Run: func(io *shell.IO, args []string) error {
			io.Printf("\n")
			versions, err := env.Store.Versions()
			if err != nil {
				return err
			}
			if len(versions) == 0 {
				io.Printf("There are no saved configurations to roll back to.\n")
				return nil
			}
			io.Printf("Previous commits:\n")
			io.Printf("%-5s %-26s %-10s %s\n", "", "Committed On", "User", "Description")
			ids := make(map[int]bool, len(versions))
			for _, v := range versions {
				ids[v.ID] = true
				io.Printf("%-5s %-26s %-10s %s\n", strconv.Itoa(v.ID)+".", v.Time.Format("Mon Jan _2 15:04:05 2006"), v.User, v.Comment)
			}
			answer, err := io.AskOptional("Enter the number of the configuration to roll back to.", "", func(a string) (string, error) {
				n, err := strconv.Atoi(a)
				if err != nil || !ids[n] {
					return "", fmt.Errorf("Not a valid configuration number: %q. Enter one of the numbers listed.", a)
				}
				return a, nil
			})
			if err != nil || answer == "" {
				return err
			}
			id, _ := strconv.Atoi(answer)
			if err := env.Session.Rollback(id); err != nil {
				// A rollback point that today's rules refuse (saved before
				// they were tightened), or one that cannot be read: say
				// which and why, as loadconfig does for a file.
				var ve *store.ValidationError
				if errors.As(err, &ve) {
					io.Printf("\nError: configuration %d cannot be loaded: %s: %s.\n", id, ve.Key, ve.Reason)
				} else {
					io.Printf("\nError: configuration %d cannot be loaded: %v.\n", id, err)
				}
				io.Fail()
				return nil
			}
			io.Printf("\nConfiguration %d has been loaded as a pending change. Use the commit command to apply it.\n", id)
			return nil
		},
	}
}
