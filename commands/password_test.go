package commands

import (
	"testing"

	"esa/store"
	"esa/store/users"
)

func init() {
	transcripts["password_change"] = transcript{setup: withUsers, check: func(t *testing.T, env *Env) {
		// Committed at once, no rollback point, nothing left pending.
		if !users.CheckPasswordHash(committedUser(t, env, "admin").PasswordHash, "Brand-new-99") {
			t.Errorf("the new password is not committed")
		}
		if env.Session.Pending() {
			t.Errorf("password left pending changes: %v", env.Session.Changed())
		}
		vs, err := env.Store.Versions()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.User == "admin" {
				t.Errorf("password made a rollback point: %+v", v)
			}
		}
	}}
	transcripts["passwd_wrong_old"] = transcript{setup: withUsers, check: func(t *testing.T, env *Env) {
		if !users.CheckPasswordHash(committedUser(t, env, "admin").PasswordHash, adminPassword) {
			t.Errorf("a refused change changed the password")
		}
	}}
	transcripts["password_pending"] = transcript{setup: func(t *testing.T, env *Env) {
		withUsers(t, env)
		// A pending userconfig change of this session.
		if err := env.Session.Update(func(c *store.Config) error {
			c.Users.Users[1].FullName = "Olga O."
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}}
	transcripts["passwd_no_account"] = transcript{}
	transcripts["password_guest"] = transcript{setup: func(t *testing.T, env *Env) {
		withUsers(t, env)
		commitUsers(t, env, append(env.Store.Committed().Users.Users,
			users.User{Name: "visitor", FullName: "Guest", Role: users.Guest, PasswordHash: testHashes()[opsPassword]}))
		env.User, env.Role = "visitor", users.Guest
	}, check: func(t *testing.T, env *Env) {
		if !users.CheckPasswordHash(committedUser(t, env, "visitor").PasswordHash, "Visitor-pw-1") {
			t.Errorf("a Guest could not change their own password")
		}
	}}
}
