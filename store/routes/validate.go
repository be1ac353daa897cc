package routes

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Limits of the table. The appliance has limits it names in its errors
// ("There is a maximum of <n> routes.", "Routes may not contain more than
// <n> destinations.", ESA-CLI.md §10.1) without publishing them; these are
// ours.
const (
	MaxRoutes       = 40000
	MaxDestinations = 32
	MaxPriority     = 65535
)

// isLabel reports whether l is a lower-case label: 1 to 63 letters,
// digits, '-' and '_', not starting or ending with '-'. (A loop, not a
// regular expression: an import of a full table checks some 200,000.)
func isLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isHostName reports whether s is a lower-case DNS name in presentation
// form (RFC 1123 §2.1, with '_' as DNS owner names allow), at most 253
// characters, no trailing dot, and not all-numeric in its last label, so
// it never reads as an IP address (RFC 3696 §2).
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	last := ""
	for rest := s; ; {
		l, tail, more := strings.Cut(rest, ".")
		if !isLabel(l) {
			return false
		}
		if !more {
			last = l
			break
		}
		rest = tail
	}
	return strings.Trim(last, "0123456789") != ""
}

// CheckDomain validates a route's key: ALL, a domain or a .partial.domain,
// in lower case.
func CheckDomain(d string) error {
	if d == All {
		return nil
	}
	// "all" would read back as the keyword ALL.
	if isHostName(strings.TrimPrefix(d, ".")) && d != "all" {
		return nil
	}
	return fmt.Errorf("%q is not a domain, .partial.domain or ALL", d)
}

// CheckDestination validates one destination on its own.
func CheckDestination(d Destination) error {
	if d.Special() {
		if d.Port != 0 || d.Priority != 0 || d.AOnly {
			return fmt.Errorf("%s takes no port, priority or brackets", d.Host)
		}
		return nil
	}
	if a, err := netip.ParseAddr(d.Host); err == nil {
		if a.Zone() != "" || a.String() != d.Host || a.Is4In6() {
			return fmt.Errorf("%q is not an IP address in its standard form", d.Host)
		}
		if d.AOnly {
			return fmt.Errorf("%s is an IP address: brackets force address records of a host name", d.Host)
		}
	} else if !isHostName(d.Host) || d.Host == "usedns" {
		// "usedns" would read back as the keyword USEDNS.
		return fmt.Errorf("%q is not a valid destination host", d.Host)
	}
	if d.Port < 0 || d.Port > 65535 {
		return fmt.Errorf("the port of %s must be from 1 to 65535", d.Host)
	}
	if d.Priority < 0 || d.Priority > MaxPriority {
		return fmt.Errorf("the priority of %s must be from 0 to %d", d.Host, MaxPriority)
	}
	return nil
}

// CheckDestinations validates a route's destination list: 1 to
// MaxDestinations, each valid, USEDNS and /dev/null alone, and each host
// once (with the appliance's errors for the same host at two ports).
func CheckDestinations(ds []Destination) error {
	if len(ds) == 0 {
		return fmt.Errorf("a route needs at least one destination")
	}
	if len(ds) > MaxDestinations {
		return fmt.Errorf("Routes may not contain more than %d destinations.", MaxDestinations)
	}
	for i, d := range ds {
		if err := CheckDestination(d); err != nil {
			return err
		}
		if d.Special() && len(ds) > 1 {
			return fmt.Errorf("%s must be the only destination of its route", d.Host)
		}
		for _, o := range ds[:i] {
			if err := sameHost(o, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameHost refuses adding d to a route that has o for the same host, in
// the appliance's words (ESA-CLI.md §10.1).
func sameHost(o, d Destination) error {
	if o.Host != d.Host {
		return nil
	}
	switch {
	case o.Port == d.Port:
		return fmt.Errorf("The host %s is already a destination of this route.", d.Host)
	case o.Port == 0:
		return fmt.Errorf("The host %s is already using the standard port.", d.Host)
	default:
		return fmt.Errorf("The host %s already has an alternate port (%d).", d.Host, o.Port)
	}
}

// EntryError is a validation error of one route: Index is its place in
// the table (from 0), so that a configuration file's reader can name the
// route's line.
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string { return e.Err.Error() }
func (e *EntryError) Unwrap() error { return e.Err }

// Validate checks the whole table: at most MaxRoutes routes, each key once
// and each route valid. An error about one route is an *EntryError.
func (t *Table) Validate() error {
	if len(t.Routes) > MaxRoutes {
		return fmt.Errorf("There is a maximum of %d routes.", MaxRoutes)
	}
	seen := make(map[string]bool, len(t.Routes))
	for i, r := range t.Routes {
		bad := func(err error) error { return &EntryError{i, err} }
		if err := CheckDomain(r.Domain); err != nil {
			return bad(err)
		}
		if seen[r.Domain] {
			return bad(fmt.Errorf("The value %s is already in the routing table.", r.Domain))
		}
		seen[r.Domain] = true
		if err := CheckDestinations(r.Destinations); err != nil {
			return bad(fmt.Errorf("%s: %v", r.Domain, err))
		}
	}
	return nil
}

// ParseDomain reads a route key as typed: ALL (any case), a domain or a
// .partial.domain, lower-cased without a trailing dot.
func ParseDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, All) || strings.EqualFold(s, All+":") {
		return All, nil
	}
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if err := CheckDomain(d); err != nil {
		return "", fmt.Errorf("%q is not a domain, .partial.domain or ALL", s)
	}
	return d, nil
}

// ParseDestination reads one destination as typed:
// host[:port][/pri=N], [host][:port][/pri=N], an IP address (IPv6 in
// brackets when a port follows), USEDNS or /dev/null.
func ParseDestination(s string) (Destination, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (Destination, error) {
		return Destination{}, fmt.Errorf("%q %s", s, why)
	}
	if strings.EqualFold(s, UseDNS) {
		return Destination{Host: UseDNS}, nil
	}
	if s == DevNull {
		return Destination{Host: DevNull}, nil
	}
	var d Destination
	rest := s
	if i := strings.LastIndex(rest, "/pri="); i >= 0 {
		n, err := strconv.Atoi(rest[i+5:])
		if err != nil || n < 0 || n > MaxPriority || rest[i+5:] != strconv.Itoa(n) {
			return bad(fmt.Sprintf("has a bad priority: /pri= takes 0 to %d", MaxPriority))
		}
		d.Priority, rest = n, rest[:i]
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return bad("has an unclosed bracket")
		}
		host, port = rest[1:end], rest[end+1:]
		d.AOnly = true
		if port != "" && !strings.HasPrefix(port, ":") {
			return bad("is not host[:port][/pri=N]")
		}
		port = strings.TrimPrefix(port, ":")
	} else if strings.Count(rest, ":") == 1 {
		host, port, _ = strings.Cut(rest, ":")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return bad("has a bad port: use 1 to 65535")
		}
		d.Port = n
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" && !a.Is4In6() {
		// Brackets only change how a host name is resolved; around an
		// address they are its literal form.
		d.Host, d.AOnly = a.String(), false
	} else {
		d.Host = strings.ToLower(strings.TrimSuffix(host, "."))
		if !isHostName(d.Host) || d.Host == "usedns" {
			return bad("is not a valid destination host")
		}
	}
	return d, nil
}

// ParseDestinations reads a comma-separated destination list and checks it
// as a route's list.
func ParseDestinations(s string) ([]Destination, error) {
	var ds []Destination
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		d, err := ParseDestination(part)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	if err := CheckDestinations(ds); err != nil {
		return nil, err
	}
	return ds, nil
}
