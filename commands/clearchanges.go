package commands

import (
	"errors"

	"esa/shell"
	"esa/store"
)

const clearHelp = `clearchanges (alias clear)

Discard every change made in this session since the last commit. The committed
configuration and other sessions are not affected.`

// clearchangesCommand builds clearchanges and its alias clear (ESA-CLI §7.2).
func clearchangesCommand(env *Env, name string) shell.Command {
	return shell.Command{
		Name:    name,
		Summary: "Clear pending changes since the last commit",
		Help:    clearHelp,
		Run: func(io *shell.IO, args []string) error {
			if !env.Session.Pending() {
				io.Printf("\nNo changes have been made since the last commit.\n")
				return nil
			}
			sure, err := io.YesNo("Are you sure you want to clear all changes since the last commit?", true)
			if err != nil || !sure {
				return err
			}
			err = env.Session.Clear()
			io.Printf("\n")
			if errors.Is(err, store.ErrNothingToCommit) {
				io.Printf("No changes have been made since the last commit.\n")
				return nil
			}
			if err != nil {
				return err
			}
			io.Printf("Changes cleared: %s\n", ctime(env.Now()))
			return nil
		},
	}
}
