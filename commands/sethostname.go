package commands

import (
	"fmt"
	"strings"

	"esa/shell"
	"esa/store"
)

const sethostnameHelp = `sethostname [HOSTNAME]

Set the appliance's fully qualified host name. Without an argument the command
asks for it, showing the current one as the default. The new name is pending
until commit; the prompt shows the committed name, as on the appliance.`

func sethostnameCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "sethostname",
		Summary: "Set the name of the machine",
		Help:    sethostnameHelp,
		Run: func(io *shell.IO, args []string) error {
			var name string
			switch len(args) {
			case 0:
				current := env.Session.Config().System.Hostname
				var err error
				if name, err = io.Ask("Enter the hostname for this appliance (for example, mail.example.com).", current, fqdn); err != nil {
					return err
				}
			case 1:
				n, err := fqdn(args[0])
				if err != nil {
					io.Printf("%v\n", err)
					io.Fail()
					return nil
				}
				name = n
			default:
				io.Printf("Invalid arguments when processing: sethostname takes one host name.\n")
				io.Fail()
				return nil
			}
			return env.Session.Update(func(c *store.Config) error {
				c.System.Hostname = name
				return nil
			})
		},
	}
}

// fqdn accepts the appliance's own name: a host name (shell.Hostname, which
// also lower-cases it) that the store takes as fully qualified, so the
// question refuses what commit and loadconfig would (an IP address, a single
// label, an all-numeric top label).
func fqdn(a string) (string, error) {
	n, err := shell.Hostname(a)
	if err != nil {
		return "", err
	}
	if !store.FQDN(n) {
		return "", fmt.Errorf("%q is not a fully qualified host name: enter a name with its domain, such as mail.example.com (not an IP address).", strings.TrimSpace(a))
	}
	return n, nil
}
