package commands

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/mailflow"
)

const listenerconfigHelp = `listenerconfig

Configure the SMTP listeners: the addresses and ports the appliance accepts
mail on, who may connect (the host access table, HAT) and, on a public
listener, for which recipients (the recipient access table, RAT). The main
screen lists the listeners and offers:
  NEW    - create a listener: Public (accepts mail for the domains you list)
           or Private (relays for the hosts you list), its name, the IP
           address it listens on (interface "Management") and its port; it
           starts with the factory host access table of its type
  EDIT   - change a listener, chosen by its number: NAME, INTERFACE (address
           and port), SETUP (default domain), CERTIFICATE (the STARTTLS
           certificate, one of certconfig's), HOSTACCESS and, on a
           public listener, RCPTACCESS
  DELETE - remove a listener, chosen by its number, after confirmation
  SETUP  - global settings: the connection limit of all listeners and the
           SMTP command and DATA timeouts
HOSTACCESS edits the sender groups (RELAYLIST, WHITELIST, BLACKLIST,
SUSPECTLIST, UNKNOWNLIST... holding IP addresses, CIDR blocks, ranges,
partial addresses such as 10.2.3., host names, partial host names such as
.example.com and ALL) and the mail-flow policies ($ACCEPTED, $RELAYED,
$THROTTLED, $TRUSTED, $BLOCKED...: an action ACCEPT, RELAY, REJECT or
TCPREFUSE and the limits that differ from DEFAULT). The first entry that
matches a connecting host decides; a new sender group goes before the final
ALL entry, and MOVE reorders the entries. PRINT shows the table in the format
EXPORT writes and IMPORT reads (files in DATA/configuration); a file with an
error is refused whole, naming the line. RCPTACCESS edits the domains and
addresses a public listener accepts (ACCEPT) or refuses (REJECT, with an
optional custom reply); new entries go before the final ALL REJECT. Each
completed operation is a pending change of this session until commit;
Ctrl-C abandons the current operation; an empty answer at a menu goes up
one level.`

var listenerconfigOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new listener."},
	{Name: "EDIT", Desc: "Modify a listener."},
	{Name: "DELETE", Desc: "Remove a listener."},
	{Name: "SETUP", Desc: "Change global settings."},
}

func listenerconfigCommand(env *Env) shell.Command {
	kw := make([]string, len(listenerconfigOps))
	for i, op := range listenerconfigOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "listenerconfig",
		Summary:  "Configure mail listeners",
		Help:     listenerconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				ls := env.Session.Config().Listeners
				io.Printf("\n")
				printListeners(io, ls.Listeners)
				op, err := io.Menu(listenerconfigOps)
				if err != nil || op == "" {
					return err
				}
				var change func(*store.Listeners)
				switch op {
				case "NEW":
					change, err = listenerNew(io, ls, policyProfiles(env))
				case "EDIT":
					err = listenerEdit(io, env, ls)
				case "DELETE":
					change, err = listenerDelete(io, ls)
				case "SETUP":
					change, err = listenerSetup(io, ls)
				}
				if err != nil {
					return err
				}
				if change != nil {
					applyListeners(io, env, change)
				}
			}
		},
	}
}

// applyListeners makes one completed operation a pending change, in one
// step, so that an abandoned operation leaves nothing behind. The answers
// were checked at their questions by the table's own rules; a refusal here
// would be a bug, shown rather than hidden.
func applyListeners(io *shell.IO, env *Env, change func(*store.Listeners)) {
	if err := env.Session.Update(func(c *store.Config) error {
		change(&c.Listeners)
		return nil
	}); err != nil {
		io.Printf("%v\n", err)
		io.Fail()
	}
}

// applyListener is applyListeners for the listener at index i.
func applyListener(io *shell.IO, env *Env, i int, change func(*mailflow.Listener)) {
	applyListeners(io, env, func(ls *store.Listeners) { change(&ls.Listeners[i]) })
}

// printListeners prints the numbered list in the form SARF's parser reads
// (ESA-CLI §3.1): `1. IncomingMail (on Management, 127.0.0.1) SMTP TCP Port
// 25 Public`.
func printListeners(io *shell.IO, ls []mailflow.Listener) {
	if len(ls) == 0 {
		io.Printf("No listeners are configured.\n")
		return
	}
	io.Printf("Currently configured listeners:\n")
	for i, l := range ls {
		io.Printf("%d. %s (on %s, %s) SMTP TCP Port %d %s\n", i+1, l.Name, l.Interface, l.Address, l.Port, l.Type)
	}
}

var listenerTypes = []string{mailflow.Private, mailflow.Public, "Blackhole"}

func listenerNew(io *shell.IO, ls store.Listeners, profiles profileChoices) (func(*store.Listeners), error) {
	var typ string
	for {
		t, err := io.Choose("Please select the type of listener you want to create.", listenerTypes, 2)
		if err != nil {
			return nil, err
		}
		if t <= 2 {
			typ = listenerTypes[t-1]
			break
		}
		// The appliance lists Blackhole listeners (they accept and drop);
		// this one does not have them, so it says so and asks again.
		io.Printf("Blackhole listeners are not supported; choose Private or Public.\n")
		io.Fail()
	}
	name, err := askListenerName(io, ls.Listeners, -1, "")
	if err != nil {
		return nil, err
	}
	addr, port, err := askInterface(io, ls.Listeners, -1, "", 25)
	if err != nil {
		return nil, err
	}
	l := mailflow.NewListener(name, typ, addr, port)
	if typ == mailflow.Public {
		a, err := io.Ask("Please specify the domains for which this listener will accept mail (e.g., \"example.com\").\n"+
			"Partial domains such as \".example.com\" are allowed.\n"+
			"User names such as \"postmaster@\" and addresses such as \"joe@example.com\" are allowed.\n"+
			"Separate multiple entries with commas.", "", ratListValidator(l.RAT, -1))
		if err != nil {
			return nil, err
		}
		l.RAT = insertRAT(l.RAT, ratEntries(a, mailflow.ActAccept))
	} else {
		a, err := io.Ask("Please specify the systems allowed to relay email through this appliance.\n"+
			hostKinds+"\nSeparate multiple entries with commas.", "", memberListValidator(nil))
		if err != nil {
			return nil, err
		}
		l.HAT.Entries[relayListIndex(l.HAT)].Members = splitList(a)
	}
	io.Printf("\n")
	printDefaultParams(io, l.HAT.Effective(""))
	change, err := io.YesNo("Would you like to change the default host access policy?", false)
	if err != nil {
		return nil, err
	}
	if change {
		lim, err := askParams(io, l.HAT.Effective(""), profiles)
		if err != nil {
			return nil, err
		}
		l.HAT.Default = limitParams(lim)
	}
	return func(ls *store.Listeners) { ls.Listeners = append(ls.Listeners, l) }, nil
}

// relayListIndex finds RELAYLIST in a private listener's factory table.
func relayListIndex(h mailflow.HAT) int {
	for i, e := range h.Entries {
		if e.Group == "RELAYLIST" {
			return i
		}
	}
	panic("listenerconfig: the private factory table has no RELAYLIST")
}

// hostKinds describes what a sender-group member may be (mailflow.CheckMember).
const hostKinds = `IP addresses such as 192.0.2.10 or 2001:db8::10 are allowed.
CIDR addresses such as 10.1.1.0/24 are allowed.
IP address ranges such as 10.1.1.10-20 are allowed.
IP subnets such as 10.2.3. are allowed.
Hostnames such as crm.example.com are allowed.
Partial hostnames such as .example.com are allowed.
SenderBase Reputation Scores such as sbrs[-10.0:-3.0] or sbrs[none] are allowed.
ALL matches every host.`

// askListenerName asks for a listener name by the table's rule (letters,
// digits, '-' and '_'), refusing one another listener has, in any case:
// self is the listener's own index when renaming.
func askListenerName(io *shell.IO, ls []mailflow.Listener, self int, def string) (string, error) {
	return io.Ask("Please create a name for this listener (Ex: \"OutboundMail\"):", def, func(a string) (string, error) {
		l := mailflow.Listener{Name: a}
		if err := l.Validate(); err != nil && strings.HasPrefix(err.Error(), "listener name") {
			return "", errors.New("Valid characters are letters, digits, \"-\" and \"_\"; the name is at most 64 characters long.")
		}
		for i, o := range ls {
			if i != self && strings.EqualFold(o.Name, a) {
				return "", fmt.Errorf("The listener name %q is already in use.", o.Name)
			}
		}
		return a, nil
	})
}

// askInterface asks for the address and port a listener binds. There is no
// interfaceconfig: the interface is always "Management", and its address
// is whatever IPv4 or IPv6 address the administrator gives (RFC 4291 §2.2
// text forms, kept in the RFC 5952 canonical form). An address and port
// another listener uses are refused at the port question, as the table
// refuses them.
func askInterface(io *shell.IO, ls []mailflow.Listener, self int, addr string, port int) (string, int, error) {
	addr, err := io.Ask("Please enter the IP address of the \"Management\" interface this listener uses (IPv4 or IPv6).", addr, listenAddress)
	if err != nil {
		return "", 0, err
	}
	ip := netip.MustParseAddr(addr)
	p, err := io.Ask("Please enter the IP port for this listener.", strconv.Itoa(port), func(a string) (string, error) {
		n, err := shell.IntRange(1, 65535)(a)
		if err != nil {
			return "", err
		}
		pn, _ := strconv.Atoi(n)
		for i, o := range ls {
			if i == self {
				continue
			}
			if oip, err := netip.ParseAddr(o.Address); err == nil && o.Port == pn && overlaps(ip, oip) {
				if oip == ip {
					return "", fmt.Errorf("The address %s and port %d are already used by the listener %q.", addr, pn, o.Name)
				}
				return "", fmt.Errorf("The address %s and port %d overlap the listener %q on %s port %d.", addr, pn, o.Name, o.Address, pn)
			}
		}
		return n, nil
	})
	if err != nil {
		return "", 0, err
	}
	port, _ = strconv.Atoi(p)
	return addr, port, nil
}

// overlaps reports whether listening on a and on b with the same port
// would collide: the same address, or a wildcard address (0.0.0.0, or ::,
// which on Linux's dual-stack sockets takes the IPv4 addresses too) that
// covers the other. Linux refuses the second bind with EADDRINUSE even
// with SO_REUSEADDR, so the pair is refused here rather than at commit.
func overlaps(a, b netip.Addr) bool {
	covers := func(w, x netip.Addr) bool { return w.IsUnspecified() && (w.Is6() || x.Is4()) }
	return a == b || covers(a, b) || covers(b, a)
}

// listenAddress accepts an IP address without zone, as the table does.
func listenAddress(a string) (string, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(a))
	if err != nil || ip.Zone() != "" {
		return "", fmt.Errorf("Invalid IP address %q: enter an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1.", strings.TrimSpace(a))
	}
	return ip.String(), nil
}

// pickListener asks for a listener by number, as the appliance does at
// EDIT and DELETE; -1 means the user pressed Enter.
func pickListener(io *shell.IO, ls store.Listeners, verb string) (int, error) {
	n := len(ls.Listeners)
	if n == 0 {
		io.Printf("There are no listeners to %s.\n", verb)
		return -1, nil
	}
	a, err := io.AskOptional("Enter the number of the listener you wish to "+verb+".", "", shell.IntRange(1, n))
	if err != nil || a == "" {
		return -1, err
	}
	i, _ := strconv.Atoi(a)
	return i - 1, nil
}

func listenerDelete(io *shell.IO, ls store.Listeners) (func(*store.Listeners), error) {
	i, err := pickListener(io, ls, "delete")
	if err != nil || i < 0 {
		return nil, err
	}
	name := ls.Listeners[i].Name
	sure, err := io.YesNo(fmt.Sprintf("Are you sure you want to delete the listener %q?", name), false)
	if err != nil || !sure {
		return nil, err
	}
	return func(ls *store.Listeners) {
		ls.Listeners = append(ls.Listeners[:i:i], ls.Listeners[i+1:]...)
	}, nil
}

// listenerSetup asks the global settings. The bounds are the table's
// (store.validateListeners); the timeouts default to RFC 5321 §4.5.3.2's
// five and ten minutes.
func listenerSetup(io *shell.IO, ls store.Listeners) (func(*store.Listeners), error) {
	maxConn, err := io.Int("Enter the global limit for concurrent connections to be allowed across all listeners.", ls.MaxConnections, 1, 100000)
	if err != nil {
		return nil, err
	}
	cmd, err := io.Int("Enter the number of seconds to wait for the next SMTP command from a client before closing the connection.", ls.CommandTimeout, 10, 3600)
	if err != nil {
		return nil, err
	}
	data, err := io.Int("Enter the number of seconds a client may take to send a whole message (DATA) before the connection is closed.", ls.DataTimeout, 10, 7200)
	if err != nil {
		return nil, err
	}
	return func(ls *store.Listeners) {
		ls.MaxConnections, ls.CommandTimeout, ls.DataTimeout = maxConn, cmd, data
	}, nil
}

func listenerEditOps(l mailflow.Listener) []shell.Op {
	ops := []shell.Op{
		{Name: "NAME", Desc: "Change the name of the listener."},
		{Name: "INTERFACE", Desc: "Change the interface."},
		{Name: "SETUP", Desc: "Configure general options."},
		{Name: "CERTIFICATE", Desc: "Choose the certificate for STARTTLS."},
		{Name: "HOSTACCESS", Desc: "Modify the Host Access Table."},
	}
	if l.Type == mailflow.Public {
		// A private listener relays for its RELAYLIST whatever the
		// recipient: it has no recipient access table.
		ops = append(ops, shell.Op{Name: "RCPTACCESS", Desc: "Modify the Recipient Access Table."})
	}
	return ops
}

func listenerEdit(io *shell.IO, env *Env, ls store.Listeners) error {
	i, err := pickListener(io, ls, "edit")
	if err != nil || i < 0 {
		return err
	}
	for {
		ls := env.Session.Config().Listeners
		l := ls.Listeners[i]
		io.Printf("\n")
		printListener(io, l)
		op, err := io.Menu(listenerEditOps(l))
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NAME":
			name, err := askListenerName(io, ls.Listeners, i, l.Name)
			if err != nil {
				return err
			}
			applyListener(io, env, i, func(l *mailflow.Listener) { l.Name = name })
		case "INTERFACE":
			addr, port, err := askInterface(io, ls.Listeners, i, l.Address, l.Port)
			if err != nil {
				return err
			}
			applyListener(io, env, i, func(l *mailflow.Listener) { l.Address, l.Port = addr, port })
		case "SETUP":
			d, err := askDefaultDomain(io, l.DefaultDomain)
			if err != nil {
				return err
			}
			applyListener(io, env, i, func(l *mailflow.Listener) { l.DefaultDomain = d })
		case "CERTIFICATE":
			// The certificates of certconfig (Demo until the daemon made
			// it); the current one is the default.
			names := certChoices(env.Session.Config().Certificates)
			def := 0
			for k, n := range names {
				if strings.EqualFold(n, l.Certificate) {
					def = k + 1
				}
			}
			k, err := io.Choose("Choose the certificate to use for STARTTLS:", names, def)
			if err != nil {
				return err
			}
			applyListener(io, env, i, func(l *mailflow.Listener) { l.Certificate = names[k-1] })
		case "HOSTACCESS":
			err = hostAccess(io, env, i)
		case "RCPTACCESS":
			err = rcptAccess(io, env, i)
		}
		if err != nil {
			return err
		}
	}
}

// printListener shows a listener's settings above its EDIT menu.
func printListener(io *shell.IO, l mailflow.Listener) {
	dd := l.DefaultDomain
	if dd == "" {
		dd = "<none configured>"
	}
	io.Printf("Name: %s\nType: %s\nInterface: %s (%s) TCP Port %d\nProtocol: SMTP\nDefault Domain: %s\nCertificate: %s\n",
		l.Name, l.Type, l.Interface, l.Address, l.Port, dd, l.Certificate)
}

// askDefaultDomain asks for the domain added to addresses without one
// (RFC 5321 §4.1.1.3 wants a fully qualified address in the envelope; the
// appliance completes bare local parts with this domain).
func askDefaultDomain(io *shell.IO, cur string) (string, error) {
	on, err := io.YesNo("Would you like to configure a default domain for email addresses without a fully qualified domain name?", cur != "")
	if err != nil || !on {
		return "", err
	}
	return io.Ask("Enter the default domain for email addresses without a fully qualified domain name.", cur, func(a string) (string, error) {
		d, err := shell.Domain(a)
		if err != nil {
			return "", err
		}
		if !mailflow.IsDomain(d) {
			return "", fmt.Errorf("Invalid domain format %q: the last label must not be all digits.", a)
		}
		return d, nil
	})
}

// splitList splits a comma-separated answer into its trimmed, non-empty
// items.
func splitList(a string) []string {
	var out []string
	for _, s := range strings.Split(a, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// memberListValidator accepts a comma-separated list of sender-group
// members by the table's rule (mailflow.CheckMember), none of them already
// in have or listed twice.
func memberListValidator(have []string) shell.Validator {
	return func(a string) (string, error) {
		items := splitList(a)
		if len(items) == 0 {
			return "", errors.New("You must enter a value.")
		}
		in := map[string]bool{}
		for _, h := range have {
			in[strings.ToLower(h)] = true
		}
		seen := map[string]bool{}
		for _, m := range items {
			if mailflow.CheckMember(m) != nil {
				return "", fmt.Errorf("Invalid host %q: enter an IP address, CIDR block, range (10.1.1.10-20), partial address (10.2.3.), host name, .partial.host, sbrs[lo:hi] or ALL.", m)
			}
			if in[strings.ToLower(m)] {
				return "", fmt.Errorf("The host %q is already in the sender group.", m)
			}
			if seen[strings.ToLower(m)] {
				return "", fmt.Errorf("The host %q is listed twice.", m)
			}
			seen[strings.ToLower(m)] = true
		}
		return strings.Join(items, ", "), nil
	}
}
