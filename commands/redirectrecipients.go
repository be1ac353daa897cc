package commands

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"esa/shell"
)

const redirectrecipientsHelp = `redirectrecipients

Redirect all the mail in the queue to another host: every message queued
when the command runs is delivered to the host named (a host name or an IP
address, with ":port" for a port other than the MX port) instead of its
recipient domain's MX hosts or SMTP route, at once, whatever its retry
back-off. Mail that arrives afterwards follows its own routes. The
destination's TLS settings (destconfig) still apply; DANE is skipped unless
the host is one of the recipient domain's own MX hosts, as for an SMTP route.
Messages a quarantine holds are not in the work queue and are not
redirected: the command says how many it left alone, and when released
they follow their own routes.

The redirect is an override route of the delivery engine, not a
configuration change: nothing to commit. It is saved with the queue and
outlives restarts of "esa serve" until the redirected mail has left the
queue or is cleared: while one is in force the command shows it and takes
CLEAR as the answer to its question, which ends it (the mail still queued
then follows its own routes again). A second redirectrecipients replaces
the first. The command needs a shell attached to a running "esa serve".`

// redirectHost accepts a host name or IP address, optionally with :port
// ([v6]:port for an IPv6 address with a port).
func redirectHost(a string) (string, error) {
	a = strings.TrimSpace(a)
	host, port := a, ""
	if h, p, err := net.SplitHostPort(a); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		host = a[1 : len(a)-1]
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("The port must be a number from 1 to 65535.")
		}
	}
	h, err := shell.IPAddr(host)
	if err != nil {
		if h, err = shell.Hostname(host); err != nil {
			return "", fmt.Errorf("A hostname or an IP address is required: %v", err)
		}
	}
	if port == "" {
		return h, nil
	}
	return net.JoinHostPort(h, port), nil
}

func redirectrecipientsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "redirectrecipients",
		Summary: "Redirect all messages in the queue to another host",
		Help:    redirectrecipientsHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Delivery == nil || env.Queue == nil {
				noDaemon(io, "redirectrecipients")
				return nil
			}
			// The redirect in force outlives restarts, so the command
			// shows it and offers to end it (the engine's ClearRedirect).
			// CLEAR is an answer only then.
			h, p, inForce := env.Delivery.Redirected()
			if inForce {
				io.Printf("\nThe mail queued before the last redirect goes to %s.\nAnswer CLEAR to end that redirect.\n", hostPort(h, p))
			}
			ending := false
			target, err := io.Ask("Please enter the hostname or IP address of the machine you want to send all mail to.", "", func(a string) (string, error) {
				if inForce && strings.EqualFold(strings.TrimSpace(a), "clear") {
					ending = true
					return "CLEAR", nil
				}
				ending = false
				return redirectHost(a)
			})
			if err != nil {
				return err
			}
			if ending {
				return clearRedirect(env, io)
			}
			io.Printf("\nWARNING: redirecting recipients to a host that is not prepared to accept them\nmay result in the loss of mail.\n")
			sure, err := io.YesNo(fmt.Sprintf("Are you sure you want to redirect all mail in the queue to %q?", target), false)
			if err != nil {
				return err
			}
			if !sure {
				io.Printf("\nNo recipients redirected.\n")
				return nil
			}
			host, port := target, 0
			if h, p, err := net.SplitHostPort(target); err == nil {
				host = h
				port, _ = strconv.Atoi(p)
			}
			io.Printf("\nRedirecting messages, please wait.\n")
			// Held messages are counted here; the engine does not
			// redirect them (Engine.Redirect).
			held := 0
			for _, e := range env.Queue.List() {
				if e.Held() && len(e.Pending()) > 0 {
					held++
				}
			}
			n, err := env.Delivery.Redirect(host, port)
			if err != nil {
				return fmt.Errorf("Redirecting the queue failed: %v", err)
			}
			mailLog(env).Info("Redirect by %s: %s in the queue redirected to %s", env.User, plural(n, "recipient"), target)
			if n == 0 {
				io.Printf("No recipients redirected.\n")
			} else {
				io.Printf("%d recipients redirected.\n", n)
			}
			leftHeld(io, held)
			return nil
		},
	}
}

// clearRedirect is redirectrecipients' CLEAR: the redirect in force ends
// and the mail still queued follows its own routes again. Ending none
// says so and fails, as workqueue RESUME of a running queue does.
func clearRedirect(env *Env, io *shell.IO) error {
	host, port, ok, err := env.Delivery.ClearRedirect()
	if err != nil {
		return fmt.Errorf("The redirect was not cleared: %v", err)
	}
	if !ok {
		io.Printf("No redirect is in force.\n")
		io.Fail()
		return nil
	}
	mailLog(env).Info("Redirect cleared by %s: the mail in the queue no longer goes to %s", env.User, hostPort(host, port))
	io.Printf("The redirect to %s is cleared: the mail in the queue follows its own routes.\n", hostPort(host, port))
	return nil
}

// hostPort is the host as redirectrecipients asked for it (port 0: the MX
// port, not shown).
func hostPort(host string, port int) string {
	if port == 0 {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
