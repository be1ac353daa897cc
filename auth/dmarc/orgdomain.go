package dmarc

import (
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// PublicSuffixList finds the public suffix of a lower-case A-label domain.
// golang.org/x/net/publicsuffix.List satisfies it, and so does any list an
// administrator might load later.
type PublicSuffixList interface {
	PublicSuffix(domain string) string
}

// DefaultPublicSuffixList returns the list compiled into golang.org/x/net/
// publicsuffix: both the ICANN and the private sections, as OpenDMARC uses
// them (the PSL project's own test vectors need the private section too:
// uk.com is a suffix there).
//
// Why this list rather than a bundled public_suffix_list.dat: it is already
// in our module graph (x/net), kept current by the Go team with each x/net
// release, compiled into a compact table (no parsing at start-up, no 330 kB
// file to ship and refresh by hand), and it passes the PSL project's test
// vectors. An administrator-loaded list can still be plugged in through
// Options.PublicSuffixes, and DMARCbis mode needs no list at all.
func DefaultPublicSuffixList() PublicSuffixList { return publicsuffix.List }

// normalizeDomain returns the lower-case A-label form of a domain name
// without a trailing dot, the form DNS queries and alignment comparisons use
// (RFC 7489 §3.1 compares domains case-insensitively). It refuses empty
// names, empty labels and IP literals.
func normalizeDomain(d string) (string, bool) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return "", false
	}
	ascii := true
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", false
		}
		d = a
	}
	d = strings.ToLower(d)
	if !hostnameChars(d) || allDigits(d[strings.LastIndexByte(d, '.')+1:]) {
		// An all-numeric last label is an IPv4 address, never a top-level
		// domain (RFC 3696 §2); ':' (IPv6) fails hostnameChars.
		return "", false
	}
	return d, true
}

// hostnameChars accepts LDH labels (and '_', which DNS allows and some DKIM
// d= values carry) of 1 to 63 octets, 253 octets in all (RFC 1035 §2.3.4).
// Anything else (an address literal, spaces, quotes) is no domain name.
func hostnameChars(d string) bool {
	if len(d) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0
}

// OrganizationalDomain returns the Organizational Domain of d by the public
// suffix list (RFC 7489 §3.2): the public suffix plus one more label. The
// second result is false when d is itself a public suffix or not a domain
// name. The answer keeps the labels of d as given (lower-cased), so a
// Unicode name gives a Unicode answer.
func OrganizationalDomain(psl PublicSuffixList, d string) (string, bool) {
	if psl == nil {
		psl = DefaultPublicSuffixList()
	}
	a, ok := normalizeDomain(d)
	if !ok {
		return "", false
	}
	org, ok := orgByPSL(psl, a)
	if !ok {
		return "", false
	}
	// Map back label for label: the A-label and U-label forms have the
	// same number of labels.
	n := strings.Count(org, ".") + 1
	orig := strings.ToLower(strings.TrimSuffix(d, "."))
	labels := strings.Split(orig, ".")
	return strings.Join(labels[len(labels)-n:], "."), true
}

// orgByPSL works on a normalized A-label name.
func orgByPSL(psl PublicSuffixList, a string) (string, bool) {
	ps := psl.PublicSuffix(a)
	if len(ps) >= len(a) {
		return "", false // a is itself a public suffix
	}
	i := len(a) - len(ps) - 1
	if a[i] != '.' || !strings.HasSuffix(a, ps) {
		return "", false
	}
	return a[strings.LastIndexByte(a[:i], '.')+1:], true
}
