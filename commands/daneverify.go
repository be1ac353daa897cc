package commands

import (
	"net"
	"time"

	"esa/delivery/dane"
	"esa/dnssec"
	"esa/shell"
	"esa/store"
)

const daneverifyHelp = `daneverify [DOMAIN]

Check whether mail to DOMAIN could be delivered under DANE (RFC 7672), step
by step, as the delivery engine would: the MX records, the A/AAAA records of
each MX host (insecure addresses get no TLSA lookup), a connection to each
address, the TLSA records at _25._tcp.<host>, STARTTLS and the server's
certificate against the TLSA records. Each line appears as the step finishes.
Every lookup is validated with DNSSEC by the appliance itself (see
dnsconfig): SECURE, INSECURE or BOGUS. The result is "DANE SUCCESS" when an
MX host of a secure MX RRset was authenticated, else "DANE FAILED". A
BOGUS or failed MX lookup stops at once (a resolver that does not answer is
a lookup failure, not BOGUS); a BOGUS or failed TLSA lookup skips that MX
host. A null MX, alone or among other MX records, means the domain accepts
no mail. Without an argument the command asks for the domain. Ctrl-C stops
the walk at once, without a verdict. The connection and TLS steps are also
written to the mail logs at Debug level.`

func daneverifyCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "daneverify",
		Summary: "Verify DANE support of a domain",
		Help:    daneverifyHelp,
		Run: func(io *shell.IO, args []string) error {
			var domain string
			switch len(args) {
			case 0:
				d, err := io.Ask("Enter the domain name to verify:", "", shell.Domain)
				if err != nil {
					return err
				}
				domain = d
			case 1:
				d, err := shell.Domain(args[0])
				if err != nil {
					io.Printf("%v\n", err)
					return nil
				}
				domain = d
			default:
				io.Printf("Invalid arguments when processing: daneverify takes one domain name.\n")
				return nil
			}
			v, err := newVerifier(env)
			if err != nil {
				io.Printf("%v\n", err)
				return nil
			}
			rep := v.Verify(io.Ctx, domain, func(e dane.Event) { io.Printf("%s\n", e.Line) })
			if rep.Interrupted {
				// Ctrl-C: the lookups in flight were cancelled; whatever
				// the walk saw so far is no verdict.
				io.Printf("DANE verification interrupted.\n")
				return io.Ctx.Err()
			}
			io.Printf("DANE verification completed.\n")
			return nil
		},
	}
}

// newVerifier builds the DANE walker from the environment's doors: the
// validating resolver of the committed DNS table, the dialer, the SMTP port
// and the clock; our EHLO name is the committed host name. Connection and
// TLS steps go to the mail logs at Debug level (the resolver logs the DNS
// steps itself).
func newVerifier(env *Env) (*dane.Verifier, error) {
	var r dnssec.Lookuper
	if env.Resolver != nil {
		var err error
		if r, err = env.Resolver(); err != nil {
			return nil, err
		}
	}
	if r == nil {
		return nil, errNoResolver
	}
	dial := env.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	port := env.SMTPPort
	if port == 0 {
		port = 25
	}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	v := &dane.Verifier{Resolver: r, Dial: dial, Port: port, Now: now,
		HeloName: env.Store.Committed().System.Hostname}
	if env.Logs != nil {
		v.Debug = env.Logs.Logger(store.LogTypeMail).Debug
	}
	return v, nil
}

type resolverError string

func (e resolverError) Error() string { return string(e) }

const errNoResolver = resolverError("No DNS resolver is available; configure one with dnsconfig.")
