package commands

import (
	"errors"

	"esa/shell"
	"esa/store"
)

const commitHelp = `commit

Apply the changes made in this session since the last commit. The command asks
for a comment describing the changes and whether to keep the configuration as
a rollback point (see rollbackconfig). Changes are per session: other sessions
do not see them until they are committed. A commit is refused when another
session committed a change to the same table after this session read it; use
clearchanges and make the change again.`

func commitCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "commit",
		Summary: "Commit changes",
		Help:    commitHelp,
		Run: func(io *shell.IO, args []string) error {
			if !env.Session.Pending() {
				// Verbatim from the appliance (ESA-CLI §7.1 [V]); scripts match it.
				io.Printf("\nThere is no data to commit.\n")
				return nil
			}
			comment, err := io.AskOptional("Please enter some comments describing your changes:", "", nil)
			if err != nil {
				return err
			}
			keep, err := io.YesNo("Do you want to save the current configuration for rollback?", true)
			if err != nil {
				return err
			}
			at, err := env.Session.Commit(comment, keep)
			io.Printf("\n")
			var conflict *store.ConflictError
			switch {
			case errors.As(err, &conflict):
				// The store's message names the tables and what to do.
				io.Printf("%v\n", conflict)
				return nil
			case errors.Is(err, store.ErrNothingToCommit):
				io.Printf("There is no data to commit.\n")
				return nil
			case err != nil:
				return err
			}
			// The Configuration History line is written by the store's
			// commit path (Store.SetHistoryLog), whatever commits.
			io.Printf("Changes committed: %s\n", ctime(at))
			return nil
		},
	}
}
