package commands

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"esa/shell"
	"esa/store"
	"esa/store/users"
)

const userconfigHelp = `userconfig

Manage the administrator accounts (Administrators only). The main screen
lists the accounts (name, full name, role) and offers:
  NEW    - create an account: user name, full name, role and password
           (asked twice, never shown)
  EDIT   - change an account's full name, role or password, chosen by its
           number or name
  DELETE - remove an account after confirmation; you cannot delete your own
           account nor the last Administrator
Roles: Administrator (everything, including accounts), Operator (change and
commit the configuration), Read-Only Operator (status, logs and sessions;
no changes), Guest (status, sessions and the DNS/TLS checks; no logs, no
changes). A role change or deletion applies to the user's open sessions at
their next command. Changes are pending until commit. Passwords are kept
only as salted argon2id hashes. Each user changes their own password with
password (it takes effect at once); SSH authorized keys are managed with
sshconfig USERKEYS.`

var userconfigOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new account."},
	{Name: "EDIT", Desc: "Modify an account."},
	{Name: "DELETE", Desc: "Remove an account."},
}

// roleMenu describes each role where userconfig offers it, in users.Roles
// order.
var roleMenu = []string{
	users.Administrator + " - Can do everything, including managing user accounts.",
	users.Operator + " - Can change and commit the configuration; cannot manage accounts.",
	users.ReadOnlyOperator + " - Can view status, logs and sessions; cannot change or commit.",
	users.Guest + " - Can view status and sessions and run the DNS/TLS checks; no logs, no changes.",
}

func userconfigCommand(env *Env) shell.Command {
	return noArgs(shell.Command{
		Name:    "userconfig",
		Summary: "Manage user accounts",
		Help:    userconfigHelp,
		Run: func(io *shell.IO, args []string) error {
			for {
				us := env.Session.Config().Users.Users
				io.Printf("\n")
				printUsers(io, us)
				op, err := io.Menu(userconfigOps)
				if err != nil || op == "" {
					return err
				}
				var change func(*[]users.User)
				switch op {
				case "NEW":
					change, err = userNew(io, us)
				case "EDIT":
					change, err = userEdit(io, us)
				case "DELETE":
					change, err = userDelete(io, env, us)
				}
				if err != nil {
					return err
				}
				if change == nil {
					continue
				}
				// All answers are in: one step, so an abandoned wizard
				// leaves nothing behind.
				if err := env.Session.Update(func(c *store.Config) error {
					change(&c.Users.Users)
					return nil
				}); err != nil {
					io.Printf("%v\n", err)
					io.Fail()
				}
			}
		},
	})
}

// printUsers lists the accounts as the appliance does, one a line: number,
// name, quoted full name and role in parentheses.
func printUsers(io *shell.IO, us []users.User) {
	if len(us) == 0 {
		io.Printf("There are no user accounts configured.\n")
		return
	}
	io.Printf("Users:\n")
	for i, u := range us {
		io.Printf("%d. %s - %q (%s)\n", i+1, u.Name, u.FullName, u.Role)
	}
}

// sentence turns a users package reason ("the password must be ...") into
// the appliance's one-line refusal ("The password must be ....").
func sentence(err error) error {
	s := err.Error()
	if s == "" {
		return err
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	s = string(r)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return errors.New(s)
}

func validFullName(a string) (string, error) {
	if len([]rune(a)) > 128 || strings.IndexFunc(a, unicode.IsControl) >= 0 {
		return "", errors.New("The full name must be one line of at most 128 characters.")
	}
	return a, nil
}

func userNew(io *shell.IO, us []users.User) (func(*[]users.User), error) {
	name, err := io.Ask("Enter the new username.", "", func(a string) (string, error) {
		if err := users.CheckName(a); err != nil {
			return "", sentence(err)
		}
		if _, ok := users.Find(us, a); ok {
			return "", fmt.Errorf("The user %q already exists.", a)
		}
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	u := users.User{Name: name}
	if u.FullName, err = io.Ask(fmt.Sprintf("Enter the full name for %s.", name), "", validFullName); err != nil {
		return nil, err
	}
	r, err := io.Choose(fmt.Sprintf("Assign a role to %q:", name), roleMenu, 0)
	if err != nil {
		return nil, err
	}
	u.Role = users.Roles[r-1]
	if u.PasswordHash, err = askNewPassword(io, name, fmt.Sprintf("Enter the password for %s.", name), retypeQuestion, nil); err != nil {
		return nil, err
	}
	return func(l *[]users.User) { *l = append(*l, u) }, nil
}

const retypeQuestion = "Please enter the new password again."

// askNewPassword asks for a password twice, without echo, until both
// answers agree and pass the password rules, and returns its hash: the
// password itself leaves this function only inside the hash.
//
// check, if not nil, is a further rule (password: not the old one).
func askNewPassword(io *shell.IO, name, question, retype string, check func(string) error) (string, error) {
	for {
		pw, err := io.AskSecret(question, "", func(a string) (string, error) {
			if err := users.CheckPassword(name, a); err != nil {
				return "", sentence(err)
			}
			if check != nil {
				if err := check(a); err != nil {
					return "", err
				}
			}
			return a, nil
		})
		if err != nil {
			return "", err
		}
		again, err := io.AskSecret(retype, "", nil)
		if err != nil {
			return "", err
		}
		if again != pw {
			io.Printf("The passwords do not match.\n")
			io.Fail()
			continue
		}
		return users.HashPassword(pw)
	}
}

// pickUser asks for an account by number or name; -1 for Enter.
func pickUser(io *shell.IO, us []users.User, question string) (int, error) {
	if len(us) == 0 {
		io.Printf("There are no user accounts configured.\n")
		return -1, nil
	}
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.Name
	}
	return io.Select(question, names)
}

// admins counts the Administrators.
func admins(us []users.User) int {
	n := 0
	for _, u := range us {
		if u.Role == users.Administrator {
			n++
		}
	}
	return n
}

const lastAdmin = "At least one user must keep the Administrator role."

func userEdit(io *shell.IO, us []users.User) (func(*[]users.User), error) {
	i, err := pickUser(io, us, "Enter the username or number to edit.")
	if err != nil || i < 0 {
		return nil, err
	}
	u := us[i]
	if u.FullName, err = io.Ask(fmt.Sprintf("Enter the full name for %s.", u.Name), u.FullName, validFullName); err != nil {
		return nil, err
	}
	def := 0
	for k, r := range users.Roles {
		if r == u.Role {
			def = k + 1
		}
	}
	for {
		r, err := io.Choose(fmt.Sprintf("Assign a role to %q:", u.Name), roleMenu, def)
		if err != nil {
			return nil, err
		}
		role := users.Roles[r-1]
		if u.Role == users.Administrator && role != users.Administrator && admins(us) == 1 {
			io.Printf("%s\n", lastAdmin)
			io.Fail()
			continue
		}
		u.Role = role
		break
	}
	change, err := io.YesNo("Do you want to change the password?", false)
	if err != nil {
		return nil, err
	}
	if change {
		if u.PasswordHash, err = askNewPassword(io, u.Name, fmt.Sprintf("Enter the new password for %s.", u.Name), retypeQuestion, nil); err != nil {
			return nil, err
		}
	}
	name := u.Name
	return func(l *[]users.User) {
		if p, ok := users.Find(*l, name); ok {
			*p = u
		}
	}, nil
}

func userDelete(io *shell.IO, env *Env, us []users.User) (func(*[]users.User), error) {
	i, err := pickUser(io, us, "Enter the username or number to delete.")
	if err != nil || i < 0 {
		return nil, err
	}
	u := us[i]
	switch {
	case u.Name == env.User:
		io.Printf("You cannot delete your own account.\n")
		io.Fail()
		return nil, nil
	case u.Role == users.Administrator && admins(us) == 1:
		io.Printf("%s\n", lastAdmin)
		io.Fail()
		return nil, nil
	}
	sure, err := io.YesNo(fmt.Sprintf("Are you sure you want to delete %q?", u.Name), false)
	if err != nil || !sure {
		return nil, err
	}
	name := u.Name
	return func(l *[]users.User) {
		out := (*l)[:0:0]
		for _, x := range *l {
			if x.Name != name {
				out = append(out, x)
			}
		}
		*l = out
	}, nil
}
