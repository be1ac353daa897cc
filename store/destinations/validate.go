package destinations

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// CanonicalDomain checks a destination as destconfig and the import file
// accept it and returns its canonical form: a domain name or partial
// domain (".example.com") lower-cased without a final dot, or an IP address
// in its RFC 5952 text form. An address literal as it appears in a mail
// address ("[192.0.2.1]", "[IPv6:2001:db8::1]", RFC 5321 §4.1.3) is
// accepted as its address.
func CanonicalDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("You must enter a domain.")
	}
	if ip, ok := addressLiteral(s); ok {
		return ip.String(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("Invalid domain %q: an IP address must not have a zone.", s)
		}
		return a.Unmap().String(), nil
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	partial := strings.HasPrefix(name, ".")
	host := strings.TrimPrefix(name, ".")
	if len(name) > 253 {
		return "", fmt.Errorf("Invalid domain %q: a domain is at most 253 characters long.", clip(s))
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" {
			return "", fmt.Errorf("Invalid domain %q: it has an empty label.", clip(s))
		}
		if len(l) > 63 {
			return "", fmt.Errorf("Invalid domain %q: a label is at most 63 characters long.", clip(s))
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("Invalid domain %q: a label must not start or end with a hyphen.", clip(s))
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("Invalid domain %q: labels may only contain letters, digits, hyphens and underscores.", clip(s))
			}
		}
	}
	// RFC 3696 §2: a top-level domain is not all-numeric, so 192.0.2 or
	// 10.1.1.300 is a mistyped address rather than a domain.
	if allDigits(labels[len(labels)-1]) {
		return "", fmt.Errorf("Invalid domain %q: enter a domain such as example.com, a partial domain such as .example.com, or an IP address.", clip(s))
	}
	if partial {
		return "." + host, nil
	}
	return host, nil
}

// addressLiteral reads "[192.0.2.1]" or "[IPv6:2001:db8::1]".
func addressLiteral(s string) (netip.Addr, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false
	}
	in := s[1 : len(s)-1]
	v6 := false
	if len(in) > 5 && strings.EqualFold(in[:5], "IPv6:") {
		in, v6 = in[5:], true
	}
	a, err := netip.ParseAddr(in)
	if err != nil || a.Zone() != "" || a.Is6() != v6 {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// CheckProfileName checks a bounce profile name as bounceconfig names
// profiles: a letter or underscore first, then letters, digits, '-', '_'
// and '.', at most 64 characters (the appliance's words: "bounce profile
// name must start with", "Invalid profile name", ESA-CLI.md §1.2).
func CheckProfileName(name string) error {
	if name == "" || !isLetter(name[0]) && name[0] != '_' {
		return fmt.Errorf("The bounce profile name must start with a letter or underscore: %q does not.", clip(name))
	}
	if len(name) > 64 {
		return fmt.Errorf("Invalid profile name %q: at most 64 characters.", clip(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isLetter(c) || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("Invalid profile name %q: valid characters are letters, digits, \"-\", \"_\" and \".\".", clip(name))
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Validate checks the whole table: the default destination, each entry, and that no domain is listed twice.
func (t *Table) Validate() error {
	if err := t.Default.validate(true); err != nil {
		return fmt.Errorf("default destination: %v", err)
	}
	seen := make(map[string]bool, len(t.Entries))
	for i := range t.Entries {
		e := &t.Entries[i]
		if err := e.Validate(); err != nil {
			return err
		}
		if seen[e.Domain] {
			return fmt.Errorf("destination %s: the domain is listed twice", e.Domain)
		}
		seen[e.Domain] = true
	}
	return nil
}

// Validate checks one entry.
func (d *Destination) Validate() error {
	c, err := CanonicalDomain(d.Domain)
	if err != nil {
		return fmt.Errorf("destination %q: %s", clip(d.Domain), strings.TrimSuffix(err.Error(), "."))
	}
	if c != d.Domain {
		return fmt.Errorf("destination %q: the domain is not in its canonical form %q", clip(d.Domain), c)
	}
	if err := d.Settings.validate(false); err != nil {
		return fmt.Errorf("destination %s: %v", d.Domain, err)
	}
	return nil
}

// validate checks settings; def says whether they are the default
// destination's, where every setting but the recipient limit and the
// bounce profile must have a value. The messages name the keys of the
// import file (ESA-CLI.md §1.8).
func (s *Settings) validate(def bool) error {
	if def {
		switch {
		case s.Concurrency == 0:
			return errors.New("max_host_concurrency is required")
		case s.MessagesPerConnection == 0:
			return errors.New("max_messages_per_connection is required")
		case s.LimitType == "":
			return errors.New("limit_type is required")
		case s.LimitApply == "":
			return errors.New("limit_apply is required")
		case s.TLS == "":
			return errors.New("tls is required")
		case s.DANE == "":
			return errors.New("dane is required")
		case s.BounceVerification == "":
			return errors.New("bounce_validation is required")
		case s.IPSort == "":
			return errors.New("ip_sort_pref is required")
		}
	}
	if err := inRange("max_host_concurrency", s.Concurrency, MaxConcurrency); err != nil {
		return err
	}
	if err := inRange("max_messages_per_connection", s.MessagesPerConnection, MaxMessagesPerConnection); err != nil {
		return err
	}
	if err := inRange("recipient_limit", s.RecipientLimit, MaxRecipientLimit); err != nil {
		return err
	}
	if err := inRange("recipient_minutes", s.RecipientMinutes, MaxRecipientMinutes); err != nil {
		return err
	}
	if (s.RecipientLimit == 0) != (s.RecipientMinutes == 0) {
		return errors.New("recipient_limit and recipient_minutes must be set together")
	}
	if s.LimitType != "" && s.LimitType != PerDomain && s.LimitType != PerMXIP {
		return fmt.Errorf("limit_type %q is not Domain or MXIP", clip(string(s.LimitType)))
	}
	if s.LimitApply != "" && s.LimitApply != SystemWide && s.LimitApply != PerVirtualGateway {
		return fmt.Errorf("limit_apply %q is not System or VirtualGateway", clip(string(s.LimitApply)))
	}
	if !def {
		// UG-9.1.2 p.655: a limit needs limit_type and limit_apply, and
		// they mean nothing without one.
		limited := s.Concurrency != 0 || s.RecipientLimit != 0
		switch {
		case limited && (s.LimitType == "" || s.LimitApply == ""):
			return errors.New("a concurrency or recipient limit needs limit_type and limit_apply")
		case !limited && (s.LimitType != "" || s.LimitApply != ""):
			return errors.New("limit_type and limit_apply need a concurrency or recipient limit")
		}
	}
	if s.TLS != "" && s.TLS.Number() == 0 {
		return fmt.Errorf("tls %q is not a TLS setting", clip(string(s.TLS)))
	}
	if s.DANE != "" && s.DANE.Number() == 0 {
		return fmt.Errorf("dane %q is not No, Opportunistic or Mandatory", clip(string(s.DANE)))
	}
	// RFC 7672 §2.2: DANE authenticates a TLS session; without TLS there
	// is nothing for it to apply to.
	if def && s.TLS == TLSNo && s.DANE != DANENo {
		return errors.New("dane needs a TLS setting other than No")
	}
	if !def && s.DANE != "" && !s.TLS.Enabled() {
		return errors.New("dane needs a TLS setting other than No")
	}
	if s.BounceVerification != "" && s.BounceVerification != On && s.BounceVerification != Off {
		return fmt.Errorf("bounce_validation %q is not On or Off", clip(string(s.BounceVerification)))
	}
	if s.BounceProfile != "" {
		if err := CheckProfileName(s.BounceProfile); err != nil {
			return fmt.Errorf("bounce_profile: %s", strings.TrimSuffix(err.Error(), "."))
		}
	}
	if s.IPSort != "" && s.IPSort.Number() == 0 {
		return fmt.Errorf("ip_sort_pref %q is not an IP sort preference", clip(string(s.IPSort)))
	}
	return nil
}

func inRange(key string, v, max int) error {
	if v < 0 || v > max {
		return fmt.Errorf("%s must be from 1 to %d, not %d", key, max, v)
	}
	return nil
}
