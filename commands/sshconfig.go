package commands

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"esa/shell"
	"esa/store"
	"esa/store/users"
)

const sshconfigHelp = `sshconfig

Show the SSH server and manage the users' SSH keys. Offers:
  SSHD     - the SSH server's settings (listening address, login methods,
             attempt and rate limits, idle timeout) and its host keys, each
             with its type, size and SHA256 fingerprint, as ssh-keygen -l
             and the OpenSSH client show them
  USERKEYS - the authorized public keys of a user (yours first): list them,
             and for Administrators NEW (paste one OpenSSH public key line,
             e.g. the contents of ~/.ssh/id_ed25519.pub), DELETE (by
             number, after confirmation) and USER (switch to another user)
Key changes are pending until commit. Keys with options (from=, command=...)
are refused: the appliance would not apply them. Accounts themselves are
managed with userconfig.`

var sshconfigOps = []shell.Op{
	{Name: "SSHD", Desc: "View the SSH server settings and host keys."},
	{Name: "USERKEYS", Desc: "Edit SSH user key settings."},
}

var userkeyOps = []shell.Op{
	{Name: "NEW", Desc: "Add a new key."},
	{Name: "DELETE", Desc: "Remove a key."},
	{Name: "USER", Desc: "Switch to a different user to edit."},
}

func sshconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "sshconfig",
		Summary: "Configure SSH keys",
		Help:    sshconfigHelp,
		Run: func(io *shell.IO, args []string) error {
			for {
				op, err := io.Menu(sshconfigOps)
				if err != nil || op == "" {
					return err
				}
				switch op {
				case "SSHD":
					printSSHD(io, env)
				case "USERKEYS":
					if err := userKeys(io, env); err != nil {
						return err
					}
				}
			}
		},
	}
}

func printSSHD(io *shell.IO, env *Env) {
	if env.SSHServer == nil && env.HostKeys == nil {
		io.Printf("\nNo SSH server runs in this shell: it is the gateway daemon's (esa serve).\n")
		return
	}
	if env.SSHServer != nil {
		s := env.SSHServer()
		io.Printf("\nSSH server settings:\n")
		io.Printf("Listening address: %s\n", s.Addr)
		io.Printf("Password authentication: %s\n", enabled(s.Password))
		io.Printf("Public key authentication: %s\n", enabled(s.PublicKey))
		io.Printf("Authentication attempts per connection: %d\n", s.MaxAuthTries)
		io.Printf("Failed logins before a source address is refused: %d within %s\n", s.FailureLimit, duration(s.FailureWindow))
		io.Printf("Idle connection timeout: %s\n", duration(s.IdleTimeout))
	}
	if env.HostKeys == nil {
		return
	}
	keys, err := env.HostKeys()
	if err != nil {
		io.Printf("\nThe host keys could not be read: %v\n", err)
		io.Fail()
		return
	}
	io.Printf("\nHost keys:\n")
	for i, k := range keys {
		io.Printf("%d. %s %s %s\n", i+1, k.Type(), keyBits(k), ssh.FingerprintSHA256(k))
	}
}

func enabled(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

// keyBits is a key's size as ssh-keygen -l shows it.
func keyBits(k ssh.PublicKey) string {
	if c, ok := k.(ssh.CryptoPublicKey); ok {
		if r, ok := c.CryptoPublicKey().(*rsa.PublicKey); ok {
			return fmt.Sprintf("(%d bits)", r.N.BitLen())
		}
	}
	switch k.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519:
		return "(256 bits)"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoSKECDSA256:
		return "(256 bits)"
	case ssh.KeyAlgoECDSA384:
		return "(384 bits)"
	case ssh.KeyAlgoECDSA521:
		return "(521 bits)"
	}
	return ""
}

// userKeys is the USERKEYS screen, starting with the session's own user.
func userKeys(io *shell.IO, env *Env) error {
	name := env.User
	admin := users.CanManageUsers(sessionRole(env))
	for {
		us := env.Session.Config().Users.Users
		u, ok := users.Find(us, name)
		if !ok {
			io.Printf("\nThere is no account %q; create it with userconfig first.\n", name)
			if !admin {
				return nil
			}
		} else {
			io.Printf("\nCurrently installed keys for %s:\n", name)
			printKeys(io, u.AuthorizedKeys)
		}
		if !admin {
			// Keys are account settings: looking is for everyone, changing
			// for Administrators (users.CanManageUsers).
			io.Printf("Only Administrators can change SSH keys.\n")
			return nil
		}
		op, err := io.Menu(userkeyOps)
		if err != nil || op == "" {
			return err
		}
		var change func(*users.User)
		switch op {
		case "NEW":
			if !ok {
				continue
			}
			change, err = keyNew(io, *u)
		case "DELETE":
			if !ok {
				continue
			}
			change, err = keyDelete(io, *u)
		case "USER":
			io.Printf("\n")
			printUsers(io, us)
			i, err := pickUser(io, us, "Enter the username or number to edit.")
			if err != nil {
				return err
			}
			if i >= 0 {
				name = us[i].Name
			}
			continue
		}
		if err != nil {
			return err
		}
		if change == nil {
			continue
		}
		target := name
		if err := env.Session.Update(func(c *store.Config) error {
			p, ok := users.Find(c.Users.Users, target)
			if !ok {
				return fmt.Errorf("There is no account %q.", target)
			}
			change(p)
			return nil
		}); err != nil {
			io.Printf("%v\n", err)
			io.Fail()
		}
	}
}

// printKeys lists keys as "1. ssh-ed25519 SHA256:... comment".
func printKeys(io *shell.IO, keys []string) {
	if len(keys) == 0 {
		io.Printf("No keys are installed.\n")
		return
	}
	for i, line := range keys {
		k, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			io.Printf("%d. (unreadable key)\n", i+1)
			continue
		}
		io.Printf("%d. %s %s %s\n", i+1, k.Type(), ssh.FingerprintSHA256(k), shell.Escape(comment))
	}
}

// parseKeyLine checks one pasted authorized_keys line and returns it in
// canonical form: "type base64 [comment]".
func parseKeyLine(a string) (string, ssh.PublicKey, error) {
	if strings.ContainsAny(a, "\r\n") {
		return "", nil, errors.New("Please paste exactly one key line.")
	}
	k, comment, opts, rest, err := ssh.ParseAuthorizedKey([]byte(a))
	switch {
	case err != nil:
		return "", nil, errors.New("Not a valid OpenSSH public key: paste one line such as \"ssh-ed25519 AAAA... user@host\".")
	case len(opts) > 0:
		return "", nil, errors.New("Key options (from=, command=, ...) are not supported: paste the key without them.")
	case len(bytes.TrimSpace(rest)) > 0:
		return "", nil, errors.New("Please paste exactly one key line.")
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if comment != "" {
		line += " " + comment
	}
	return line, k, nil
}

func keyNew(io *shell.IO, u users.User) (func(*users.User), error) {
	line, err := io.AskOptional("Please enter the public SSH key for authorization.", "", func(a string) (string, error) {
		line, k, err := parseKeyLine(a)
		if err != nil {
			return "", err
		}
		if u.AuthorizesKey(k) {
			return "", fmt.Errorf("This key is already installed for %s.", u.Name)
		}
		return line, nil
	})
	if err != nil || line == "" {
		return nil, err
	}
	return func(p *users.User) { p.AuthorizedKeys = append(p.AuthorizedKeys, line) }, nil
}

func keyDelete(io *shell.IO, u users.User) (func(*users.User), error) {
	n := len(u.AuthorizedKeys)
	if n == 0 {
		io.Printf("There are no keys to delete.\n")
		return nil, nil
	}
	a, err := io.AskOptional("Enter the number of the key you wish to delete.", "", shell.IntRange(1, n))
	if err != nil || a == "" {
		return nil, err
	}
	i, _ := strconv.Atoi(a)
	sure, err := io.YesNo(fmt.Sprintf("Are you sure you want to delete key %d?", i), false)
	if err != nil || !sure {
		return nil, err
	}
	line := u.AuthorizedKeys[i-1]
	return func(p *users.User) {
		for j, l := range p.AuthorizedKeys {
			if l == line {
				p.AuthorizedKeys = append(p.AuthorizedKeys[:j:j], p.AuthorizedKeys[j+1:]...)
				return
			}
		}
	}, nil
}
