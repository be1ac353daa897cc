package commands

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"esa/shell"
	"esa/shell/shelltest"
	"esa/store"
	"esa/store/users"
)

// Test passwords and their hashes, hashed once: argon2id is deliberately
// slow.
const (
	adminPassword = "Adm1n-secret"
	opsPassword   = "0perator-pw"
)

var testHashes = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, pw := range []string{adminPassword, opsPassword} {
		h, err := users.HashPassword(pw)
		if err != nil {
			panic(err)
		}
		m[pw] = h
	}
	return m
})

// withUsers commits the accounts admin (Administrator) and ops (Operator)
// and an Ed25519 key for ops.
func withUsers(t *testing.T, env *Env) {
	t.Helper()
	h := testHashes()
	commitUsers(t, env, []users.User{
		{Name: "admin", FullName: "Administrator", Role: users.Administrator, PasswordHash: h[adminPassword]},
		{Name: "ops", FullName: "Olga Operator", Role: users.Operator, PasswordHash: h[opsPassword],
			AuthorizedKeys: []string{testEd25519Key}},
	})
}

func commitUsers(t *testing.T, env *Env, us []users.User) {
	t.Helper()
	ss := env.Store.NewSession("setup")
	if err := ss.Update(func(c *store.Config) error {
		c.Users.Users = us
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("test accounts", false); err != nil {
		t.Fatal(err)
	}
}

// as makes env's session belong to user with role.
func as(user, role string) func(*testing.T, *Env) {
	return func(t *testing.T, env *Env) {
		withUsers(t, env)
		env.User, env.Role = user, role
	}
}

func committedUser(t *testing.T, env *Env, name string) users.User {
	t.Helper()
	u, ok := users.Find(env.Store.Committed().Users.Users, name)
	if !ok {
		t.Fatalf("no committed user %q in %+v", name, env.Store.Committed().Users.Users)
	}
	return *u
}

func init() {
	transcripts["userconfig_new"] = transcript{setup: withUsers, check: func(t *testing.T, env *Env) {
		u := committedUser(t, env, "jdoe")
		if u.FullName != "Jane Doe" || u.Role != users.ReadOnlyOperator || !users.CheckPasswordHash(u.PasswordHash, "Jane-2026!") {
			t.Errorf("jdoe = %+v (password matches: %v)", u, users.CheckPasswordHash(u.PasswordHash, "Jane-2026!"))
		}
		if strings.Contains(u.PasswordHash, "Jane-2026!") {
			t.Errorf("the password is stored in plain text")
		}
	}}
	transcripts["userconfig_edit_delete"] = transcript{setup: withUsers, check: func(t *testing.T, env *Env) {
		us := env.Session.Config().Users.Users
		if len(us) != 1 || us[0].Name != "admin" {
			t.Fatalf("users = %+v, want admin only", us)
		}
		// EDIT of admin changed the full name and password, kept the role.
		u := us[0]
		if u.FullName != "Chief Admin" || u.Role != users.Administrator || !users.CheckPasswordHash(u.PasswordHash, "N3w-admin-pw") {
			t.Errorf("admin = %+v", u)
		}
		// Pending, not committed.
		if c := committedUser(t, env, "admin"); c.FullName != "Administrator" {
			t.Errorf("committed admin changed before commit: %+v", c)
		}
	}}
	transcripts["userconfig_last_admin"] = transcript{setup: func(t *testing.T, env *Env) {
		// The local console's admin is not an account; chief is the one
		// Administrator.
		commitUsers(t, env, []users.User{
			{Name: "chief", FullName: "Chief", Role: users.Administrator, PasswordHash: testHashes()[adminPassword]},
			{Name: "ops", FullName: "Olga Operator", Role: users.Operator},
		})
	}, check: func(t *testing.T, env *Env) {
		if env.Session.Pending() {
			t.Errorf("refused changes left pending: %v", env.Session.Changed())
		}
	}}
	transcripts["userconfig_refused"] = transcript{setup: as("ops", users.Operator)}
}

// TestRoleGuard runs every command of the table once for each role and
// checks that it is refused, before any question, exactly to the roles its
// access level excludes, as a failed command (batch exit status 3).
func TestRoleGuard(t *testing.T) {
	t.Parallel()
	// The specification, stated independently of table.go's map.
	const anyone, viewers, changers, admins = "anyone", "viewers", "changers", "admins"
	want := map[string]string{
		"logconfig": changers, "commit": changers, "clearchanges": anyone, "clear": anyone,
		"rollbackconfig": changers, "saveconfig": changers, "showconfig": changers,
		"loadconfig": changers, "grep": viewers, "tail": viewers, "sethostname": changers,
		"version": anyone, "status": anyone, "dnsconfig": changers, "daneverify": anyone,
		"tlsverify": anyone, "userconfig": admins, "password": anyone, "passwd": anyone,
		"who": anyone, "whoami": anyone, "last": anyone, "sshconfig": anyone,
		"listenerconfig": changers, "workqueue": changers, "showmessage": viewers,
		"showrecipients": viewers, "deleterecipients": changers,
		"certconfig": changers, "domainkeysconfig": changers,
		"destconfig": changers,
		"smtproutes": changers, "bounceconfig": changers,
		"hoststatus": viewers, "tophosts": viewers, "delivernow": changers,
		"bouncerecipients": changers, "redirectrecipients": changers,
		"dmarcconfig": changers, "dmarcreports": changers, "dictionaryconfig": changers,
		"filters": changers, "quarantineconfig": changers, "trace": changers,
		"forgedemailreport": viewers, "resetcounters": changers,
	}
	may := map[string]map[string]bool{
		anyone:   {users.Administrator: true, users.Operator: true, users.ReadOnlyOperator: true, users.Guest: true, "": true},
		viewers:  {users.Administrator: true, users.Operator: true, users.ReadOnlyOperator: true},
		changers: {users.Administrator: true, users.Operator: true},
		admins:   {users.Administrator: true},
	}
	for _, c := range Table(&Env{}) {
		level, ok := want[c.Name]
		if !ok {
			t.Errorf("%s: not in this test's access specification; add it", c.Name)
			continue
		}
		// Where the table's level differs from the specification, the
		// command must be refused the same: checked by running it below.
		for _, role := range append([]string{""}, users.Roles...) {
			t.Run(c.Name+"/"+role, func(t *testing.T) {
				t.Parallel()
				env := newEnv(t)
				env.Role = role
				// An argument too: a refusal must come before argument
				// checks. Commands that are allowed get an unusable
				// argument or an empty input so they end at once.
				screen, code := runScript(env, c.Name+" -\n")
				refused := strings.Contains(screen, "You are not in the correct access group to use \""+c.Name+"\".")
				if refused == may[level][role] {
					t.Fatalf("role %q: refused=%v, want %v; screen:\n%s", role, refused, !may[level][role], screen)
				}
				if refused {
					if code != shell.ExitFailed {
						t.Errorf("refusal exit status %d, want %d", code, shell.ExitFailed)
					}
					// Nothing but the refusal: no question, no argument check.
					lines := strings.Split(strings.TrimSpace(screen), "\n")
					if len(lines) != 3 || !strings.Contains(lines[1], "This command is restricted to") {
						t.Errorf("refusal screen is more than the refusal:\n%s", screen)
					}
				}
			})
		}
	}
}

// runScript runs one batch session and returns its screen and exit status.
func runScript(env *Env, input string) (string, int) {
	var out strings.Builder
	o, _ := shell.RunOutcome(context.Background(), shell.Config{
		Editor:   shell.NewPlainEditor(strings.NewReader(input), &out),
		Out:      &out,
		Prompt:   Prompt(env),
		Commands: Table(env),
		OnExit:   OnExit(env),
		Audit:    Audit(env),
		Pending:  env.Session.Pending,
	})
	return out.String(), o.ExitCode()
}

// TestNoSecretsShown: creating an account, changing a password and
// committing leave neither a password nor its hash on the screen, in the
// terminal history or in any log file (CLI audit, configuration history).
func TestNoSecretsShown(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withUsers(t, env)
	keys, typing := io.Pipe()
	screen := &shelltest.Screen{}
	history := filepath.Join(t.TempDir(), "cli_history")
	ed, err := shell.NewTerminalEditor(keys, screen, nil, history)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		shell.Run(context.Background(), shell.Config{
			Editor: ed, Out: screen, Prompt: Prompt(env), Commands: Table(env),
			OnExit: OnExit(env), Audit: Audit(env), Pending: env.Session.Pending,
		})
	}()
	const newPw, userPw = "Fresh-pass-42", "Jane-2026!"
	steps := []struct{ typed, wait string }{
		{"", "esa.example.com> "},
		{"userconfig\r", "[]> "},
		{"new\r", "Enter the new username."},
		{"jdoe\r", "Enter the full name for jdoe."},
		{"Jane Doe\r", "Assign a role"},
		{"3\r", "Enter the password for jdoe."},
		{userPw + "\r", "Please enter the new password again."},
		{userPw + "\r", "3. jdoe"},
		{"\r", "esa.example.com> "},
		{"commit\r", "Please enter some comments"},
		{"new user\r", "rollback?"},
		{"y\r", "Changes committed"},
		{"password\r", "Old password:"},
		{adminPassword + "\r", "New password:"},
		{newPw + "\r", "Retype new password:"},
		{newPw + "\r", "Password changed."},
	}
	prompts := 0
	for _, s := range steps {
		if s.typed != "" {
			if _, err := typing.Write([]byte(s.typed)); err != nil {
				t.Fatal(err)
			}
		}
		if s.wait == "esa.example.com> " {
			prompts++
			screen.WaitFor(t, s.wait, prompts)
		} else {
			screen.WaitFor(t, s.wait, 1)
		}
	}
	typing.Write([]byte("quit\r"))
	<-done
	ed.Close()
	if !users.CheckPasswordHash(committedUser(t, env, "admin").PasswordHash, newPw) {
		t.Fatal("the password change did not take effect")
	}
	secrets := []string{userPw, newPw, adminPassword, committedUser(t, env, "jdoe").PasswordHash,
		committedUser(t, env, "admin").PasswordHash, testHashes()[adminPassword], "$argon2id$"}
	check := func(what, text string) {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains the secret %q:\n%s", what, s, text)
			}
		}
	}
	check("the screen", screen.String())
	h, err := os.ReadFile(history)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(h), "userconfig") {
		t.Fatalf("the history holds no commands at all: %q", h)
	}
	check("the history", string(h))
	env.Logs.Close()
	n := 0
	filepath.Walk(filepath.Join(env.Store.Dir(), "logs"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		check(p, string(b))
		return nil
	})
	if n == 0 {
		t.Fatal("no log files to check")
	}
}

// TestDemotionApplies: an Operator logged in over SSH is refused commit as
// soon as an Administrator's commit makes them a Guest, and everything but
// what anyone may do once their account is deleted.
func TestDemotionApplies(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	as("ops", users.Operator)(t, env)
	env.RemoteAddr = "192.0.2.7"
	if screen, code := runScript(env, "commit\n"); strings.Contains(screen, "correct access group") || code != shell.ExitOK {
		t.Fatalf("the Operator was refused commit (%d):\n%s", code, screen)
	}
	us := env.Store.Committed().Users.Users
	us[1].Role = users.Guest
	commitUsers(t, env, us)
	screen, code := runScript(env, "commit\nwhoami\n")
	if !strings.Contains(screen, `You are not in the correct access group to use "commit".`) || !strings.Contains(screen, "Role: Guest") || code != shell.ExitFailed {
		t.Fatalf("after the demotion (%d):\n%s", code, screen)
	}
	commitUsers(t, env, us[:1])
	screen, _ = runScript(env, "sshconfig\nuserkeys\n\nversion\nrollbackconfig\n")
	if !strings.Contains(screen, `You are not in the correct access group to use "rollbackconfig".`) {
		t.Fatalf("after the deletion:\n%s", screen)
	}
	if !strings.Contains(screen, `There is no account "ops"`) {
		t.Errorf("sshconfig does not say the account is gone:\n%s", screen)
	}
}
