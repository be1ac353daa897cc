package mailflow

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	policyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	labelRE  = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)
	sbrsRE   = regexp.MustCompile(`^sbrs\[(none|-?\d+(\.\d+)?:-?\d+(\.\d+)?)\]$`)
)

// ValidateListeners checks the whole listeners table: each listener alone
// and that names and address/port pairs are unique.
func ValidateListeners(ls []Listener) error {
	names := map[string]bool{}
	binds := map[string]string{}
	for i := range ls {
		l := &ls[i]
		if err := l.Validate(); err != nil {
			return err
		}
		key := strings.ToLower(l.Name)
		if names[key] {
			return fmt.Errorf("listener name %q is used twice", l.Name)
		}
		names[key] = true
		bind := netip.AddrPortFrom(netip.MustParseAddr(l.Address), uint16(l.Port)).String()
		if other, ok := binds[bind]; ok {
			return fmt.Errorf("listeners %q and %q both use %s", other, l.Name, bind)
		}
		binds[bind] = l.Name
	}
	return nil
}

// Validate checks one listener.
func (l *Listener) Validate() error {
	if !nameRE.MatchString(l.Name) {
		return fmt.Errorf("listener name %q: use 1 to 64 letters, digits, '-' or '_'", l.Name)
	}
	where := fmt.Sprintf("listener %q", l.Name)
	if l.Type != Public && l.Type != Private {
		return fmt.Errorf("%s: type must be Public or Private, not %q", where, l.Type)
	}
	if err := checkText(l.Interface); err != nil || l.Interface == "" {
		return fmt.Errorf("%s: interface name %q is not valid", where, l.Interface)
	}
	if a, err := netip.ParseAddr(l.Address); err != nil || a.Zone() != "" {
		return fmt.Errorf("%s: %q is not an IP address", where, l.Address)
	}
	if l.Port < 1 || l.Port > 65535 {
		return fmt.Errorf("%s: port must be from 1 to 65535, not %d", where, l.Port)
	}
	if l.DefaultDomain != "" && !IsDomain(l.DefaultDomain) {
		return fmt.Errorf("%s: %q is not a domain name", where, l.DefaultDomain)
	}
	if err := checkText(l.Certificate); err != nil {
		return fmt.Errorf("%s: certificate name %v", where, err)
	}
	if err := l.HAT.Validate(); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	if err := ValidateRAT(l.RAT); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	return nil
}

// Validate checks a host access table.
func (h *HAT) Validate() error {
	if err := checkParams(h.Default, "DEFAULT"); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range h.Policies {
		if !policyRE.MatchString(p.Name) {
			return fmt.Errorf("policy name %q: use 1 to 64 letters, digits, '-' or '_'", p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("policy $%s is defined twice", p.Name)
		}
		seen[p.Name] = true
		if !isAction(p.Action) || p.Action == ActContinue {
			return fmt.Errorf("policy $%s: action must be ACCEPT, RELAY, REJECT or TCPREFUSE, not %q", p.Name, p.Action)
		}
		if err := checkParams(p.Params, "$"+p.Name); err != nil {
			return err
		}
	}
	groups := map[string]bool{}
	for i, e := range h.Entries {
		where := fmt.Sprintf("entry %d", i+1)
		if e.Group != "" {
			where = "sender group " + e.Group
			if !nameRE.MatchString(e.Group) {
				return fmt.Errorf("sender group name %q: use 1 to 64 letters, digits, '-' or '_'", e.Group)
			}
			if groups[e.Group] {
				return fmt.Errorf("sender group %s is defined twice", e.Group)
			}
			groups[e.Group] = true
		} else if len(e.Members) != 1 {
			return fmt.Errorf("%s: an entry outside a sender group names exactly one host", where)
		}
		for _, m := range e.Members {
			if err := CheckMember(m); err != nil {
				return fmt.Errorf("%s: %v", where, err)
			}
		}
		if strings.HasPrefix(e.Decision, "$") {
			if !seen[e.Decision[1:]] {
				return fmt.Errorf("%s: no policy %s", where, e.Decision)
			}
		} else if !isAction(e.Decision) {
			return fmt.Errorf("%s: %q is neither a $POLICY nor an action", where, e.Decision)
		}
		if err := checkText(e.Comment); err != nil || strings.ContainsAny(e.Comment, "()") {
			return fmt.Errorf("%s: the comment must be one line without parentheses", where)
		}
	}
	return nil
}

func isAction(a string) bool {
	for _, x := range actions {
		if a == x {
			return true
		}
	}
	return false
}

func checkParams(ps []Param, where string) error {
	seen := map[string]bool{}
	for i := range ps {
		if seen[ps[i].Key] {
			return fmt.Errorf("%s: parameter %s is set twice", where, ps[i].Key)
		}
		seen[ps[i].Key] = true
		v, err := checkParam(ps[i].Key, ps[i].Value)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if v != ps[i].Value {
			return fmt.Errorf("%s: %s must be written %q", where, ps[i].Key, v)
		}
	}
	return nil
}

// CheckMember validates one sender-group member.
func CheckMember(m string) error {
	switch {
	case m == "ALL":
		return nil
	case sbrsRE.MatchString(m):
		return nil
	}
	if _, err := netip.ParseAddr(m); err == nil && !strings.Contains(m, "%") {
		return nil
	}
	if _, err := netip.ParsePrefix(m); err == nil {
		return nil
	}
	if _, _, err := parseRange(m); err == nil {
		return nil
	}
	if isPartialIPv4(m) {
		return nil
	}
	if strings.HasPrefix(m, ".") && IsDomain(m[1:]) {
		return nil
	}
	if IsDomain(m) {
		return nil
	}
	return fmt.Errorf("%q is not an IP address, CIDR block, range, host name, .partial.host, sbrs[lo:hi] or ALL", m)
}

// parseRange reads "10.1.1.1-20" or "10.1.1.1-10.1.1.20" (IPv4 or IPv6).
func parseRange(m string) (netip.Addr, netip.Addr, error) {
	lo, hi, ok := strings.Cut(m, "-")
	if !ok {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("not a range")
	}
	a, err := netip.ParseAddr(lo)
	if err != nil {
		return a, a, err
	}
	var b netip.Addr
	if n, err := strconv.Atoi(hi); err == nil && a.Is4() && n >= 0 && n <= 255 && !strings.HasPrefix(hi, "+") {
		v := a.As4()
		v[3] = byte(n)
		b = netip.AddrFrom4(v)
	} else if b, err = netip.ParseAddr(hi); err != nil {
		return a, a, err
	}
	if a.Is4() != b.Is4() || b.Less(a) || a.Zone() != "" || b.Zone() != "" {
		return a, b, fmt.Errorf("bad range")
	}
	return a, b, nil
}

// isPartialIPv4 accepts the appliance's partial addresses: "10.", "10.1.",
// "10.1.2." (one to three whole octets and a final dot).
func isPartialIPv4(m string) bool {
	if !strings.HasSuffix(m, ".") {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(m, "."), ".")
	if len(parts) < 1 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || len(p) > 3 || p[0] == '+' {
			return false
		}
	}
	return true
}

// IsDomain reports whether s is a DNS host or domain name in presentation
// form: letters, digits, '-' and '_' in labels of at most 63 characters,
// at most 253 in all, with no trailing dot.
func IsDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	// An all-numeric top label makes the name read as an IP address
	// (RFC 3696 §2); no top-level domain is all-numeric.
	top := labels[len(labels)-1]
	return strings.Trim(top, "0123456789") != ""
}

// ValidateRAT checks a recipient access table.
func ValidateRAT(rat []RATEntry) error {
	seen := map[string]bool{}
	for i, e := range rat {
		where := fmt.Sprintf("recipient access entry %d", i+1)
		if err := checkRATPattern(e.Pattern); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		key := strings.ToLower(e.Pattern)
		if seen[key] {
			return fmt.Errorf("%s: %s is listed twice", where, e.Pattern)
		}
		seen[key] = true
		if e.Action != ActAccept && e.Action != ActReject {
			return fmt.Errorf("%s: action must be ACCEPT or REJECT, not %q", where, e.Action)
		}
		if e.Code != 0 && (e.Action != ActReject || e.Code < 400 || e.Code > 599) {
			return fmt.Errorf("%s: a custom reply code goes with REJECT and is from 400 to 599", where)
		}
		if e.Text != "" && e.Code == 0 {
			return fmt.Errorf("%s: a custom reply text needs a reply code", where)
		}
		if err := checkText(e.Text); err != nil || strings.Contains(e.Text, `"`) {
			return fmt.Errorf("%s: the reply text must be one line without double quotes", where)
		}
	}
	return nil
}

func checkRATPattern(p string) error {
	if p == "ALL" {
		return nil
	}
	local, domain, hasAt := strings.Cut(p, "@")
	if hasAt {
		if local == "" || strings.ContainsAny(local, " \t\"<>(),;:\\[]") || checkText(local) != nil {
			return fmt.Errorf("%q is not a valid address pattern", p)
		}
		if domain == "" {
			return nil // "user@": the local part at any domain
		}
		if !IsDomain(domain) {
			return fmt.Errorf("%q is not a valid address pattern", p)
		}
		return nil
	}
	d := strings.TrimPrefix(p, ".")
	if !IsDomain(d) {
		return fmt.Errorf("%q is not a domain, .partial.domain, address or ALL", p)
	}
	return nil
}
