package commands

import (
	"net"
	"strconv"
	"strings"

	"esa/delivery/dane"
	"esa/shell"
)

const tlsverifyHelp = `tlsverify [DOMAIN [HOST[:PORT]]]

Check the TLS connection to a domain's mail server without DANE:
connect to HOST (default: DOMAIN) on port 25 or PORT, say
EHLO, STARTTLS, and verify the certificate chain against the system's
certificate authorities and the certificate's names against DOMAIN. DNS
answers are used whatever their DNSSEC status. Without arguments the command
asks for the domain and the host.`

func tlsverifyCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "tlsverify",
		Summary: "Establish an outbound TLS connection to a remote host and debug any TLS connection issues",
		Help:    tlsverifyHelp,
		Run: func(io *shell.IO, args []string) error {
			var domain, dest string
			switch len(args) {
			case 0:
				d, err := io.Ask("Enter the TLS domain to verify against:", "", shell.Domain)
				if err != nil {
					return err
				}
				domain = d
				h, err := io.Ask("Enter the destination host to connect to.\nAppend the port (example.com:26) if you are not connecting on port 25:", domain, checkDest)
				if err != nil {
					return err
				}
				dest = h
			case 1, 2:
				d, err := shell.Domain(args[0])
				if err != nil {
					io.Printf("%v\n", err)
					return nil
				}
				domain, dest = d, ""
				if len(args) == 2 {
					if dest, err = checkDest(args[1]); err != nil {
						io.Printf("%v\n", err)
						return nil
					}
				}
			default:
				io.Printf("Invalid arguments when processing: tlsverify takes a domain and a host.\n")
				return nil
			}
			v, err := newVerifier(env)
			if err != nil {
				io.Printf("%v\n", err)
				return nil
			}
			// The domain itself as the host (the interactive default)
			// means its mail hosts: the MX records, as delivery uses
			// them, not the domain's own address.
			host, port := "", v.Port
			if dest != domain {
				host, port, _ = splitDest(dest, v.Port)
			}
			v.CheckTLS(io.Ctx, domain, host, port, env.RootCAs, func(e dane.Event) { io.Printf("%s\n", e.Line) })
			if err := io.Ctx.Err(); err != nil {
				io.Printf("TLS verification interrupted.\n")
				return err
			}
			return nil
		},
	}
}

// checkDest accepts "host", "host:port", an IP address, "IPv4:port" or
// "[IPv6]:port", and returns it normalized.
func checkDest(s string) (string, error) {
	s = strings.TrimSpace(s)
	host, port, err := splitDest(s, 0)
	if err != nil {
		return "", err
	}
	if net.ParseIP(host) == nil {
		if host, err = shell.Hostname(host); err != nil {
			return "", err
		}
	}
	if port == 0 {
		return host, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// splitDest splits "host[:port]"; a bare IPv6 address is a host.
func splitDest(s string, def int) (string, int, error) {
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return ip.String(), def, nil
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return s, def, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, errBadPort(p)
	}
	return h, n, nil
}

type errBadPort string

func (e errBadPort) Error() string {
	return "Invalid port " + strconv.Quote(string(e)) + ": it must be a number from 1 to 65535."
}
