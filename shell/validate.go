package shell

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Validator checks one (non-empty, trimmed) answer. It returns the answer in
// its normal form (lower-case host names, canonical IP text...) or an error
// whose text is the one-line reason shown to the user before the question is
// asked again. The wording follows the appliance's generic error texts
// (ESA-CLI.md §0.1) so scripts that match them keep working.
type Validator func(answer string) (normalized string, err error)

// errEmpty is the reason given for an empty answer to a required question.
var errEmpty = errors.New("You must enter a value.")

// NonEmpty accepts any answer that is not blank.
func NonEmpty(answer string) (string, error) {
	a := strings.TrimSpace(answer)
	if a == "" {
		return "", errEmpty
	}
	return a, nil
}

// IntRange accepts a decimal integer from min to max inclusive. Pass
// math.MinInt / math.MaxInt for an open end.
func IntRange(min, max int) Validator {
	return func(answer string) (string, error) {
		n, err := strconv.Atoi(strings.TrimSpace(answer))
		if err != nil || n < min || n > max {
			return "", rangeError(min, max)
		}
		return strconv.Itoa(n), nil
	}
}

func rangeError(min, max int) error {
	switch {
	case min == math.MinInt && max == math.MaxInt:
		return errors.New("Value must be an integer.")
	case max == math.MaxInt:
		return fmt.Errorf("Value must be an integer of at least %d.", min)
	case min == math.MinInt:
		return fmt.Errorf("Value must be an integer of at most %d.", max)
	}
	return fmt.Errorf("Value must be an integer from %d to %d.", min, max)
}

// Hostname accepts a host name as RFC 1123 §2.1 allows it: dot-separated
// labels of letters, digits and hyphens, 1 to 63 octets each, not starting or
// ending with a hyphen, 253 octets in all (RFC 1035 §2.3.4, less the root
// label's length octet and the final dot). A trailing dot is dropped and the
// name lower-cased.
func Hostname(answer string) (string, error) {
	return checkName(answer, "hostname", false)
}

// Domain accepts a domain name. It is Hostname plus the underscore, which DNS
// owner names such as _dmarc.example.com and sel._domainkey.example.com need
// (RFC 8552 §1.1 underscored names).
func Domain(answer string) (string, error) {
	return checkName(answer, "domain", true)
}

func checkName(answer, what string, underscore bool) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(answer), "."))
	if name == "" {
		return "", errEmpty
	}
	if len(name) > 253 {
		return "", fmt.Errorf("A %s must be at most 253 characters long.", what)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return "", fmt.Errorf("Invalid %s format %q: it has an empty label (two dots in a row or a leading dot).", what, answer)
		}
		if len(label) > 63 {
			return "", fmt.Errorf("A %s must not have a label longer than 63 characters.", what)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("A %s must not have a label that starts or ends with a hyphen.", what)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || underscore && c == '_') {
				allowed := "letters, digits and hyphens"
				if underscore {
					allowed = "letters, digits, hyphens and underscores"
				}
				return "", fmt.Errorf("Invalid %s format %q: labels may only contain %s.", what, answer, allowed)
			}
		}
	}
	return name, nil
}

// IPAddr accepts one IPv4 or IPv6 address (no zone) and returns its canonical
// text form (RFC 5952 §4 for IPv6).
func IPAddr(answer string) (string, error) {
	a := strings.TrimSpace(answer)
	ip, err := netip.ParseAddr(a)
	if err != nil || ip.Zone() != "" {
		return "", fmt.Errorf("Invalid IP or IP range %q: enter an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1.", a)
	}
	return ip.String(), nil
}

// CIDR accepts an address prefix such as 192.0.2.0/24 or 2001:db8::/32
// (RFC 4632 §3.1) and returns it in canonical form with the host bits cleared.
func CIDR(answer string) (string, error) {
	a := strings.TrimSpace(answer)
	p, err := netip.ParsePrefix(a)
	if err != nil {
		return "", errors.New("A CIDR address is an IP address, a slash and a prefix length, such as 192.0.2.0/24 or 2001:db8::/32.")
	}
	return p.Masked().String(), nil
}

// Email accepts an address local@domain whose local part is a dot-atom
// (RFC 5322 §3.4.1, §3.2.3; quoted local parts are not accepted) of at most 64
// octets (RFC 5321 §4.5.3.1.1) and whose domain passes Hostname. The domain is
// lower-cased; the local part is kept as typed, since it may be case-sensitive
// (RFC 5321 §2.4).
func Email(answer string) (string, error) {
	a := strings.TrimSpace(answer)
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return "", errors.New("An email address is a localname, an \"@\" and a domain, such as admin@example.com.")
	}
	local, domain := a[:at], a[at+1:]
	if len(local) > 64 || !isDotAtom(local) {
		return "", fmt.Errorf("An email address is a localname, an \"@\" and a domain; the localname %q is not valid.", local)
	}
	d, err := Hostname(domain)
	if err != nil {
		return "", fmt.Errorf("The email domain must be a valid hostname: %q is not.", domain)
	}
	return local + "@" + d, nil
}

// isDotAtom reports whether s is a dot-atom: atext runs (RFC 5322 §3.2.3)
// joined by single dots.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// Filename accepts a plain file name (no directory part) for files the
// appliance writes in its own directories: letters, digits, '.', '-' and '_',
// not starting with a dot (which would also allow ".."), at most 255 octets.
func Filename(answer string) (string, error) {
	a := strings.TrimSpace(answer)
	bad := a == "" || len(a) > 255 || a[0] == '.'
	for i := 0; i < len(a) && !bad; i++ {
		c := a[i]
		bad = !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_')
	}
	if bad {
		return "", errors.New("Valid characters are letters, digits, \".\", \"-\" and \"_\"; the name must not start with \".\" and is at most 255 characters long.")
	}
	return a, nil
}
