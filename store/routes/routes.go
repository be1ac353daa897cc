package routes

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Special route keys and destinations.
const (
	// All is the default route's key: every domain no other route matches.
	All = "ALL"
	// UseDNS delivers to the domain's own MX hosts, as without a route;
	// a route to it makes an exception to a partial or default route.
	UseDNS = "USEDNS"
	// DevNull accepts and discards the mail.
	DevNull = "/dev/null"
)

// Table is the smtproutes table.
type Table struct {
	Routes []Route `xml:"route"`
}

// Route sends the mail for Domain to its destinations.
type Route struct {
	// Domain is a domain (example.com), a partial domain (.example.com,
	// matching the subdomains of example.com but not example.com itself)
	// or ALL, in lower case.
	Domain       string        `xml:"domain"`
	Destinations []Destination `xml:"destination"`
}

// Destination is one host a route delivers to, or USEDNS or /dev/null
// (alone in their route, without port or priority).
type Destination struct {
	// Host is a host name in lower case, an IPv4 or IPv6 address (RFC 5952
	// form), USEDNS or /dev/null.
	Host string `xml:"host"`
	// Port is the TCP port; 0 means the standard SMTP port 25 (or the
	// lab's --mx-port).
	Port int `xml:"port,omitempty"`
	// Priority orders the hosts as an MX preference does (RFC 5321 §5.1):
	// lower first, equal priorities share the load. 0 is the highest.
	Priority int `xml:"priority,omitempty"`
	// AOnly, written [host], resolves the host name through its address
	// records only, ignoring its MX records (a plain host name is first
	// looked up as an MX name, as the appliance does). Never set for an IP
	// address.
	AOnly bool `xml:"a_only,omitempty"`
}

// Special reports whether d is USEDNS or /dev/null.
func (d Destination) Special() bool { return d.Host == UseDNS || d.Host == DevNull }

// IsIP reports whether the destination is an IP address literal.
func (d Destination) IsIP() bool {
	_, err := netip.ParseAddr(d.Host)
	return err == nil
}

// String is the destination in the export form: host, [host] for AOnly,
// :port when not standard, /pri=N when not 0. An IPv6 address with a port
// is bracketed to keep its colons apart from the port's.
func (d Destination) String() string {
	var b strings.Builder
	h := d.Host
	v6 := strings.Contains(h, ":")
	if d.AOnly || (v6 && d.Port != 0) {
		h = "[" + h + "]"
	}
	b.WriteString(h)
	if d.Port != 0 {
		b.WriteString(":" + strconv.Itoa(d.Port))
	}
	if d.Priority != 0 {
		b.WriteString("/pri=" + strconv.Itoa(d.Priority))
	}
	return b.String()
}

// DestinationsText is the route's destinations in the export form,
// comma-separated.
func (r Route) DestinationsText() string {
	s := make([]string, len(r.Destinations))
	for i, d := range r.Destinations {
		s[i] = d.String()
	}
	return strings.Join(s, ",")
}

// Discard reports whether the route is /dev/null.
func (r Route) Discard() bool { return len(r.Destinations) == 1 && r.Destinations[0].Host == DevNull }

// UsesDNS reports whether the route is USEDNS: deliver to the domain's MX
// hosts (and, for DANE, as to the domain itself).
func (r Route) UsesDNS() bool { return len(r.Destinations) == 1 && r.Destinations[0].Host == UseDNS }

// Tiers returns the route's hosts grouped by priority, highest priority
// (lowest number) first, each group in configured order; the engine tries
// the hosts of a group in a random order of its own, as for MX hosts of
// equal preference (RFC 5321 §5.1).
func (r Route) Tiers() [][]Destination {
	if r.Discard() || r.UsesDNS() {
		return nil
	}
	ds := append([]Destination(nil), r.Destinations...)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Priority < ds[j].Priority })
	var out [][]Destination
	for i, d := range ds {
		if i == 0 || d.Priority != ds[i-1].Priority {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], d)
	}
	return out
}

// Index finds the route for a domain in time proportional to the domain's
// labels, whatever the number of routes. Build one per committed table.
type Index struct {
	exact   map[string]int // domain -> route index
	partial map[string]int // ".example.com" -> route index
	all     int            // -1 when no default route
	routes  []Route
}

// NewIndex indexes t's routes. t must be valid (no duplicate keys).
func NewIndex(t Table) *Index {
	ix := &Index{exact: map[string]int{}, partial: map[string]int{}, all: -1, routes: t.Routes}
	for i, r := range t.Routes {
		k := strings.ToLower(r.Domain)
		switch {
		case r.Domain == All:
			ix.all = i
		case strings.HasPrefix(k, "."):
			ix.partial[k] = i
		default:
			ix.exact[k] = i
		}
	}
	return ix
}

// Lookup returns the route for recipient domain domain: the route for the
// domain itself, else the route for the longest partial domain it is a
// subdomain of, else the default route; false when none applies (deliver
// by DNS, as without routes). Matching ignores case and a trailing dot
// (RFC 4343).
func (ix *Index) Lookup(domain string) (Route, bool) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if i, ok := ix.exact[d]; ok {
		return ix.routes[i], true
	}
	// Walk up the labels: for a.b.example.com try .b.example.com,
	// .example.com, .com — the longest (most specific) first.
	for i := strings.IndexByte(d, '.'); i >= 0; {
		if r, ok := ix.partial[d[i:]]; ok {
			return ix.routes[r], true
		}
		j := strings.IndexByte(d[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if ix.all >= 0 {
		return ix.routes[ix.all], true
	}
	return Route{}, false
}

// Lookup is NewIndex(t).Lookup(domain), for a single question.
func (t Table) Lookup(domain string) (Route, bool) {
	return NewIndex(t).Lookup(domain)
}
