package commands

import (
	"errors"
	"fmt"
	"slices"

	"esa/shell"
	"esa/store"
	"esa/store/users"
)

const passwordHelp = `%s

Change your own password: the old password, then the new one twice. Nothing
is echoed. As on the appliance, the new password takes effect at once: it is
committed by itself (without a rollback point), not left pending for commit,
and your other pending changes stay pending. It is refused while you have
uncommitted changes to the user accounts (userconfig): commit or clear them
first. Passwords are at least 8 characters with letters and at least one
digit or symbol, and not the user name. Any role may change its own
password; Administrators set other users' passwords with userconfig.`

func passwordCommand(env *Env, name string) shell.Command {
	return noArgs(shell.Command{
		Name:    name,
		Summary: "Change your password",
		Help:    fmt.Sprintf(passwordHelp, name),
		Run: func(io *shell.IO, args []string) error {
			fail := func(msg string) error {
				io.Printf("\n%s\n", msg)
				io.Fail()
				return nil
			}
			u, ok := users.Find(env.Store.Committed().Users.Users, env.User)
			if !ok || u.PasswordHash == "" {
				return fail(fmt.Sprintf("The account %q has no password to change; an Administrator sets one with userconfig.", env.User))
			}
			if slices.Contains(env.Session.Changed(), "users") {
				return fail("You have uncommitted changes to the user accounts; commit or clearchanges first.")
			}
			old, err := io.AskSecret("Old password:", "", nil)
			if err != nil {
				return err
			}
			if !users.CheckPasswordHash(u.PasswordHash, old) {
				// Nothing more: no hint of what was wrong.
				return fail("Incorrect password. The password was not changed.")
			}
			hash, err := askNewPassword(io, env.User, "New password:", "Retype new password:", func(pw string) error {
				if pw == old {
					return errors.New("The new password must differ from the old one.")
				}
				return nil
			})
			if err != nil {
				return err
			}
			// A session of its own commits just this hash, so the
			// password takes effect now whatever else this session has
			// pending.
			ss := env.Store.NewSession(env.User)
			user := env.User
			err = ss.Update(func(c *store.Config) error {
				p, ok := users.Find(c.Users.Users, user)
				if !ok {
					return fmt.Errorf("The account %q was deleted meanwhile.", user)
				}
				p.PasswordHash = hash
				return nil
			})
			if err == nil {
				_, err = ss.Commit("password changed by "+user, false)
			}
			if err != nil {
				return fail(fmt.Sprintf("The password was not changed: %v", err))
			}
			io.Printf("\nPassword changed. The new password is in effect now; no commit is needed.\n")
			return nil
		},
	})
}
