package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"esa/dnssec"
	"esa/shell"
	"esa/store"
)

const dnsconfigHelp = `dnsconfig

Configure the DNS resolvers the appliance's validating (DNSSEC) stub asks,
and its trust anchor. The main screen lists the resolvers with
their priorities (lower is asked first; equal priorities in list order), the
trust anchor in use and the query timeout, and offers:
  NEW    - add a resolver: its IP address (optionally IP:port) and priority
  EDIT   - change a resolver, chosen by its number
  DELETE - remove a resolver, chosen by its number
  ANCHOR - show the trust anchor, import DS or DNSKEY records from a file in
           the configuration directory, or go back to the built-in IANA root
           keys (KSK-2017 20326 and KSK-2024 38696, kept current per RFC 5011)
  SETUP  - the seconds to wait for a resolver before asking the next one
DNSSEC-capable resolvers should carry the lower numbers: falling back to a
resolver that strips signatures makes signed domains look BOGUS. Changes are
pending until commit; an empty answer returns to the prompt.`

var dnsconfigOps = []shell.Op{
	{Name: "NEW", Desc: "Add a new DNS resolver."},
	{Name: "EDIT", Desc: "Modify a DNS resolver."},
	{Name: "DELETE", Desc: "Remove a DNS resolver."},
	{Name: "ANCHOR", Desc: "Show or replace the DNSSEC trust anchor."},
	{Name: "SETUP", Desc: "Configure the DNS query timeout."},
}

var anchorOps = []shell.Op{
	{Name: "SHOW", Desc: "Show the trust anchor records."},
	{Name: "IMPORT", Desc: "Import trust anchor records from a file."},
	{Name: "RESET", Desc: "Use the built-in IANA root trust anchor."},
}

func dnsconfigCommand(env *Env) shell.Command {
	kw := make([]string, len(dnsconfigOps))
	for i, op := range dnsconfigOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "dnsconfig",
		Summary:  "Configure DNS resolvers and the DNSSEC trust anchor",
		Help:     dnsconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				d := env.Session.Config().DNS
				io.Printf("\n")
				printDNS(io, d)
				op, err := io.Menu(dnsconfigOps)
				if err != nil || op == "" {
					return err
				}
				var change func(*store.DNS)
				switch op {
				case "NEW":
					change, err = dnsNew(io, d)
				case "EDIT":
					change, err = dnsEdit(io, d)
				case "DELETE":
					change, err = dnsDelete(io, d)
				case "ANCHOR":
					change, err = dnsAnchor(io, env, d)
				case "SETUP":
					change, err = dnsSetup(io, d)
				}
				if err != nil {
					return err
				}
				if change == nil {
					continue
				}
				// All answers are in: one pending update, so an abandoned
				// operation leaves nothing behind.
				if err := env.Session.Update(func(c *store.Config) error {
					change(&c.DNS)
					return nil
				}); err != nil {
					io.Printf("%v\n", err)
					io.Fail()
				}
			}
		},
	}
}

func printDNS(io *shell.IO, d store.DNS) {
	if len(d.Resolvers) == 0 {
		io.Printf("No DNS resolvers are configured.\n")
	} else {
		io.Printf("Currently using the DNS resolvers:\n")
		for i, r := range d.Resolvers {
			io.Printf("%d. Priority: %d %s\n", i+1, r.Priority, r.Address)
		}
	}
	io.Printf("Trust anchor: %s\n", describeAnchor(d.TrustAnchor))
	io.Printf("Timeout: %d seconds\n", d.Timeout)
}

// describeAnchor names the anchor records in one line ("built-in IANA root
// (. DS 20326, . DS 38696)").
func describeAnchor(text string) string {
	prefix, rrs := "imported", []dns.RR(nil)
	if strings.TrimSpace(text) == "" {
		prefix, rrs = "built-in IANA root", dnssec.BuiltinAnchors()
	} else {
		var err error
		if rrs, err = dnssec.ParseAnchors(text); err != nil {
			return "imported (unreadable: " + anchorError(err) + ")"
		}
	}
	var parts []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.DS:
			parts = append(parts, fmt.Sprintf("%s DS %d", r.Hdr.Name, r.KeyTag))
		case *dns.DNSKEY:
			parts = append(parts, fmt.Sprintf("%s DNSKEY %d", r.Hdr.Name, r.KeyTag()))
		}
	}
	return prefix + " (" + strings.Join(parts, ", ") + ")"
}

// resolverAddress validates a resolver address as the store does.
func resolverAddress(a string) (string, error) {
	a = strings.TrimSpace(a)
	if _, err := store.ResolverAddr(a); err != nil {
		return "", fmt.Errorf("Invalid DNS resolver address %q: enter an IP address, optionally with a port (192.0.2.53:5353, [2001:db8::53]:53).", a)
	}
	return a, nil
}

// askResolver asks for a resolver's address and priority; self is its
// index in d when editing (-1 for a new one). An address naming a resolver
// already listed (192.0.2.53 and 192.0.2.53:53 are the same) is refused at
// the question, by the store's rule.
func askResolver(io *shell.IO, d store.DNS, self int, r *store.DNSResolver) error {
	a, err := io.Ask("Please enter the IP address of your DNS server (append :PORT for a port other than 53).", r.Address, func(a string) (string, error) {
		a, err := resolverAddress(a)
		if err != nil {
			return "", err
		}
		for i, o := range d.Resolvers {
			if i != self && store.SameResolver(o.Address, a) {
				return "", fmt.Errorf("The DNS resolver %s is already configured (%d. %s).", a, i+1, o.Address)
			}
		}
		return a, nil
	})
	if err != nil {
		return err
	}
	p, err := io.Int("Please enter the priority for "+a+".\nA value of 0 is the highest priority.\nResolvers with the same priority are asked in the order listed.", r.Priority, 0, store.MaxResolverPriority)
	if err != nil {
		return err
	}
	r.Address, r.Priority = a, p
	return nil
}

func dnsNew(io *shell.IO, d store.DNS) (func(*store.DNS), error) {
	r := store.DNSResolver{}
	if err := askResolver(io, d, -1, &r); err != nil {
		return nil, err
	}
	return func(d *store.DNS) { d.Resolvers = append(d.Resolvers, r) }, nil
}

// pickResolver asks for a listed resolver; -1 when the answer is empty.
func pickResolver(io *shell.IO, d store.DNS, verb string) (int, error) {
	if len(d.Resolvers) == 0 {
		io.Printf("There are no DNS resolvers to %s.\n", verb)
		return -1, nil
	}
	names := make([]string, len(d.Resolvers))
	for i, r := range d.Resolvers {
		names[i] = r.Address
	}
	return io.Select("Enter the number of the DNS resolver you wish to "+verb+".", names)
}

func dnsEdit(io *shell.IO, d store.DNS) (func(*store.DNS), error) {
	i, err := pickResolver(io, d, "edit")
	if err != nil || i < 0 {
		return nil, err
	}
	r := d.Resolvers[i]
	if err := askResolver(io, d, i, &r); err != nil {
		return nil, err
	}
	return func(d *store.DNS) { d.Resolvers[i] = r }, nil
}

func dnsDelete(io *shell.IO, d store.DNS) (func(*store.DNS), error) {
	i, err := pickResolver(io, d, "delete")
	if err != nil || i < 0 {
		return nil, err
	}
	io.Printf("DNS resolver %s deleted.\n", d.Resolvers[i].Address)
	return func(d *store.DNS) { d.Resolvers = append(d.Resolvers[:i], d.Resolvers[i+1:]...) }, nil
}

func dnsSetup(io *shell.IO, d store.DNS) (func(*store.DNS), error) {
	t, err := io.Int("Enter the number of seconds to wait for a DNS resolver before asking the next one:", d.Timeout, 1, 60)
	if err != nil {
		return nil, err
	}
	return func(d *store.DNS) { d.Timeout = t }, nil
}

func dnsAnchor(io *shell.IO, env *Env, d store.DNS) (func(*store.DNS), error) {
	for {
		io.Printf("\nTrust anchor: %s\n", describeAnchor(d.TrustAnchor))
		op, err := io.Menu(anchorOps)
		if err != nil || op == "" {
			return nil, err
		}
		switch op {
		case "SHOW":
			rrs := dnssec.BuiltinAnchors()
			if strings.TrimSpace(d.TrustAnchor) != "" {
				if rrs, err = dnssec.ParseAnchors(d.TrustAnchor); err != nil {
					io.Printf("%s\n", anchorError(err))
					continue
				}
			}
			io.Printf("\n")
			for _, rr := range rrs {
				io.Printf("%s\n", rr)
			}
		case "IMPORT":
			name, err := io.Ask("Enter the name of the file in the configuration directory to import:", "", shell.Filename)
			if err != nil {
				return nil, err
			}
			// The file commands' one reader: a plain name of a regular file
			// in the configuration directory, no link or FIFO, bounded,
			// interrupted by Ctrl-C.
			data, err := env.Store.ReadConfigDirFile(io.Ctx, name, maxAnchorFile)
			var fe *store.FileError
			switch {
			case errors.As(err, &fe):
				io.Printf("Error: %v.\n", fe)
				io.Fail()
				continue
			case errors.Is(err, fs.ErrNotExist):
				io.Printf("Cannot read %s: no such file\n", name)
				io.Fail()
				continue
			case err != nil:
				return nil, err
			}
			rrs, err := dnssec.ParseAnchors(string(data))
			if err != nil {
				io.Printf("%s: %s\n", name, anchorError(err))
				io.Fail()
				continue
			}
			if len(rrs) == 0 {
				io.Printf("%s holds no DS or DNSKEY record.\n", name)
				io.Fail()
				continue
			}
			var b strings.Builder
			for _, rr := range rrs {
				b.WriteString(rr.String() + "\n")
			}
			io.Printf("Imported %s trust anchor record(s) from %s.\n", strconv.Itoa(len(rrs)), name)
			text := b.String()
			return func(d *store.DNS) { d.TrustAnchor = text }, nil
		case "RESET":
			io.Printf("The built-in IANA root trust anchor will be used.\n")
			return func(d *store.DNS) { d.TrustAnchor = "" }, nil
		}
	}
}

// maxAnchorFile bounds a trust anchor file: a few DS or DNSKEY records are
// a few KB.
const maxAnchorFile = 1 << 20

// anchorError is a trust anchor parse error as the user sees it: the line
// and reason, without the parser's internal "anchors:" prefix.
func anchorError(err error) string {
	return strings.TrimPrefix(err.Error(), "anchors: ")
}
