package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Kind names a mechanism (RFC 7208 §5).
type Kind uint8

// The mechanisms of RFC 7208 §5.
const (
	All Kind = iota
	Include
	A
	MX
	PTR
	IP4
	IP6
	Exists
)

var kindNames = [...]string{"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}

func (k Kind) String() string { return kindNames[k] }

// Mechanism is one directive of a record: qualifier, mechanism and its
// arguments (RFC 7208 §4.6.1, §5).
type Mechanism struct {
	Qualifier byte // '+', '-', '~' or '?'
	Kind      Kind
	// Domain is the raw domain-spec (a macro-string, RFC 7208 §7.1); empty
	// when the mechanism names none and the current domain applies.
	Domain string
	// Prefix4 and Prefix6 are the dual-cidr-length of a and mx (RFC 7208
	// §5.3, §5.4); 32 and 128 when absent.
	Prefix4, Prefix6 int
	// Net is the network of ip4 and ip6.
	Net netip.Prefix

	macro *macroString // parsed Domain, nil when Domain is empty
}

// Modifier is a name=value term that is neither redirect nor exp
// (RFC 7208 §6: unknown modifiers are ignored but must be well-formed).
type Modifier struct {
	Name, Value string
}

// Record is a parsed SPF (v=spf1) or Sender ID (spf2.0/...) record.
type Record struct {
	// Version is "v=spf1" or "spf2.0".
	Version string
	// Scopes lists the Sender ID scopes of an spf2.0 record in lower case
	// ("mfrom", "pra"); empty for v=spf1 (RFC 4406 §3.2).
	Scopes     []string
	Mechanisms []Mechanism
	Redirect   string // raw domain-spec of redirect=, "" when absent
	Exp        string // raw domain-spec of exp=, "" when absent
	Modifiers  []Modifier

	redirect, exp *macroString
	hasAll        bool
}

// SyntaxError describes why a record is not valid; check_host() turns it
// into PermError (RFC 7208 §4.6).
type SyntaxError struct {
	Term   string
	Reason string
}

func (e *SyntaxError) Error() string {
	if e.Term == "" {
		return "spf: " + e.Reason
	}
	return fmt.Sprintf("spf: %s: %q", e.Reason, e.Term)
}

func syntaxErr(term, reason string) error { return &SyntaxError{Term: term, Reason: reason} }

// recordVersion reports which version a TXT string announces, or "" when it
// is not an SPF/Sender ID record at all. RFC 7208 §4.5: the record must
// begin with exactly "v=spf1" followed by a space or its end (letter case is
// not significant); RFC 4406 §3.1: "spf2.0/" followed by a scope list.
func recordVersion(txt string) string {
	if len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ') {
		return "v=spf1"
	}
	if len(txt) >= 7 && strings.EqualFold(txt[:7], "spf2.0/") {
		return "spf2.0"
	}
	return ""
}

// ParseRecord parses a whole record. The whole record is checked before any
// term is evaluated, so a syntax error after a matching mechanism still
// gives PermError (RFC 7208 §4.6).
func ParseRecord(txt string) (*Record, error) {
	r := &Record{}
	for i := 0; i < len(txt); i++ {
		// RFC 7208 §3.1 / §4.6: records are 7-bit ASCII; anything else is a
		// syntax error.
		if txt[i] >= 0x80 {
			return nil, syntaxErr("", "non-ASCII character in record")
		}
	}
	fields := strings.Split(txt, " ")
	switch recordVersion(txt) {
	case "v=spf1":
		r.Version = "v=spf1"
	case "spf2.0":
		r.Version = "spf2.0"
		scopes := fields[0][len("spf2.0/"):]
		if scopes == "" {
			return nil, syntaxErr(fields[0], "empty Sender ID scope list")
		}
		for _, s := range strings.Split(scopes, ",") {
			s = strings.ToLower(s)
			// RFC 4406 §3.2: scopes are "mfrom" and "pra"; unknown scope
			// names are ignored, empty ones are a syntax error.
			if s == "" {
				return nil, syntaxErr(fields[0], "empty Sender ID scope")
			}
			r.Scopes = append(r.Scopes, s)
		}
	default:
		return nil, syntaxErr("", "not an SPF record")
	}
	for _, f := range fields[1:] {
		if f == "" {
			continue // RFC 7208 §4.6.1: terms are separated by 1*SP
		}
		if err := r.parseTerm(f); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (r *Record) parseTerm(t string) error {
	// A modifier is name "=" macro-string where name = ALPHA *(ALPHA /
	// DIGIT / "-" / "_" / ".") (RFC 7208 §4.6.1, §12).
	n := 0
	for n < len(t) && isNameChar(t[n]) {
		n++
	}
	if n > 0 && n < len(t) && t[n] == '=' && isAlpha(t[0]) {
		return r.parseModifier(t, strings.ToLower(t[:n]), t[n+1:])
	}
	return r.parseMechanism(t)
}

func (r *Record) parseModifier(t, name, value string) error {
	switch name {
	case "redirect", "exp":
		// RFC 7208 §6: each may appear at most once.
		if (name == "redirect" && r.redirect != nil) || (name == "exp" && r.exp != nil) {
			return syntaxErr(t, "duplicate "+name+" modifier")
		}
		m, err := parseDomainSpec(value, false)
		if err != nil {
			return syntaxErr(t, err.Error())
		}
		if name == "redirect" {
			r.Redirect, r.redirect = value, m
		} else {
			r.Exp, r.exp = value, m
		}
	default:
		// RFC 7208 §6: unrecognized modifiers are ignored, but they must
		// still be syntactically valid macro-strings.
		if _, err := parseMacroString(value, false); err != nil {
			return syntaxErr(t, err.Error())
		}
		r.Modifiers = append(r.Modifiers, Modifier{Name: name, Value: value})
	}
	return nil
}

func (r *Record) parseMechanism(t string) error {
	m := Mechanism{Qualifier: '+', Prefix4: 32, Prefix6: 128}
	s := t
	switch s[0] {
	case '+', '-', '~', '?':
		m.Qualifier = s[0]
		s = s[1:]
	}
	name := s
	arg := ""
	hasArg := false
	if i := strings.IndexAny(s, ":/"); i >= 0 {
		name, arg = s[:i], s[i:]
		hasArg = true
	}
	switch strings.ToLower(name) {
	case "all":
		if hasArg {
			return syntaxErr(t, "all takes no argument")
		}
		m.Kind = All
		r.hasAll = true
	case "include", "exists":
		m.Kind = Include
		if strings.EqualFold(name, "exists") {
			m.Kind = Exists
		}
		if !strings.HasPrefix(arg, ":") || len(arg) == 1 {
			return syntaxErr(t, name+" needs a domain")
		}
		if err := m.setDomain(arg[1:]); err != nil {
			return syntaxErr(t, err.Error())
		}
	case "a", "mx":
		m.Kind = A
		if strings.EqualFold(name, "mx") {
			m.Kind = MX
		}
		dom, p4, p6, err := splitDualCIDR(arg)
		if err != nil {
			return syntaxErr(t, err.Error())
		}
		m.Prefix4, m.Prefix6 = p4, p6
		if dom != "" {
			if !strings.HasPrefix(dom, ":") || len(dom) == 1 {
				return syntaxErr(t, "malformed domain")
			}
			if err := m.setDomain(dom[1:]); err != nil {
				return syntaxErr(t, err.Error())
			}
		}
	case "ptr":
		m.Kind = PTR
		if hasArg {
			if !strings.HasPrefix(arg, ":") || len(arg) == 1 {
				return syntaxErr(t, "malformed domain")
			}
			if err := m.setDomain(arg[1:]); err != nil {
				return syntaxErr(t, err.Error())
			}
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(arg, ":") {
			return syntaxErr(t, name+" needs a network")
		}
		v6 := strings.EqualFold(name, "ip6")
		m.Kind = IP4
		if v6 {
			m.Kind = IP6
		}
		p, err := parseIPNetwork(arg[1:], v6)
		if err != nil {
			return syntaxErr(t, err.Error())
		}
		m.Net = p
	default:
		return syntaxErr(t, "unknown mechanism")
	}
	r.Mechanisms = append(r.Mechanisms, m)
	return nil
}

func (m *Mechanism) setDomain(s string) error {
	ms, err := parseDomainSpec(s, false)
	if err != nil {
		return err
	}
	m.Domain, m.macro = s, ms
	return nil
}

// parseCIDRLength reads a cidr-length without the slash: "0" or a number
// without leading zero, at most max (RFC 7208 §5.6 ABNF).
func parseCIDRLength(s string, max int) (int, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("malformed prefix length")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, errors.New("invalid prefix length")
	}
	return n, nil
}

// splitDualCIDR separates a trailing dual-cidr-length ("/24", "//64",
// "/24//64") from the ":domain" part of a or mx (RFC 7208 §5.6).
func splitDualCIDR(arg string) (dom string, p4, p6 int, err error) {
	p4, p6 = 32, 128
	dom = arg
	if i := strings.LastIndex(dom, "//"); i >= 0 && isDigits(dom[i+2:]) {
		if p6, err = parseCIDRLength(dom[i+2:], 128); err != nil {
			return
		}
		dom = dom[:i]
	}
	if i := strings.LastIndexByte(dom, '/'); i >= 0 && isDigits(dom[i+1:]) {
		if p4, err = parseCIDRLength(dom[i+1:], 32); err != nil {
			return
		}
		dom = dom[:i]
	}
	if strings.HasPrefix(dom, "/") || (dom != "" && strings.HasSuffix(dom, "/")) {
		err = errors.New("malformed prefix length")
	}
	return
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseIPNetwork reads the argument of ip4/ip6: an address with an optional
// prefix length (RFC 7208 §5.6). ip4 needs a dotted quad, ip6 an IPv6
// address; an IPv4 address under ip6 (or the reverse) is a syntax error.
func parseIPNetwork(s string, v6 bool) (netip.Prefix, error) {
	addr, plen := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		addr, plen = s[:i], s[i+1:]
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, errors.New("malformed address")
	}
	max := 32
	if v6 {
		max = 128
		if !ip.Is6() {
			return netip.Prefix{}, errors.New("not an IPv6 address")
		}
	} else if !ip.Is4() {
		return netip.Prefix{}, errors.New("not an IPv4 address")
	}
	n := max
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if n, err = parseCIDRLength(plen, max); err != nil {
			return netip.Prefix{}, err
		}
	}
	return netip.PrefixFrom(ip, n).Masked(), nil
}
