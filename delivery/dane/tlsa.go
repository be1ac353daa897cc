package dane

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// TLSA certificate usages, selectors and matching types (RFC 6698 §7.2-7.4,
// RFC 7218 acronyms).
const (
	UsagePKIXTA = 0
	UsagePKIXEE = 1
	UsageDANETA = 2
	UsageDANEEE = 3

	SelectorCert = 0
	SelectorSPKI = 1

	MatchFull   = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// Record is a usable TLSA record, decoded: Data is the association data
// (certificate or SPKI DER for Full, the digest otherwise).
type Record struct {
	Usage, Selector, Matching uint8
	Data                      []byte
	// Cert is the parsed certificate of a Full certificate record ("2 0 0"
	// may be a trust anchor the server does not send, RFC 7671 §5.2.2).
	Cert *x509.Certificate
}

// String is the record in presentation form ("3 1 1 ab12...").
func (r Record) String() string {
	return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.Matching, hex.EncodeToString(r.Data))
}

// ParseTLSA checks that t is usable for SMTP and decodes it. The error says
// why a record is unusable: RFC 7672 §3.1.3 makes usages 0 and 1 unusable
// for SMTP; unknown selectors and matching types, digests of the wrong
// length and Full records that do not parse are unusable too (RFC 7671 §4).
func ParseTLSA(t *dns.TLSA) (Record, error) {
	if t.Usage == UsagePKIXTA || t.Usage == UsagePKIXEE {
		return Record{Usage: t.Usage, Selector: t.Selector, Matching: t.MatchingType},
			fmt.Errorf("usage %d is unusable for SMTP (RFC 7672 §3.1.3)", t.Usage)
	}
	return DecodeTLSA(t)
}

// DecodeTLSA decodes a record of any RFC 6698 usage (0 to 3), for
// profiles other than SMTP's (Policy.Roots).
func DecodeTLSA(t *dns.TLSA) (Record, error) {
	r := Record{Usage: t.Usage, Selector: t.Selector, Matching: t.MatchingType}
	if t.Usage > UsageDANEEE {
		return r, fmt.Errorf("unknown usage %d", t.Usage)
	}
	if t.Selector != SelectorCert && t.Selector != SelectorSPKI {
		return r, fmt.Errorf("unknown selector %d", t.Selector)
	}
	data, err := hex.DecodeString(t.Certificate)
	if err != nil {
		return r, errors.New("association data is not hexadecimal")
	}
	r.Data = data
	switch t.MatchingType {
	case MatchFull:
		if t.Selector == SelectorCert {
			c, err := x509.ParseCertificate(data)
			if err != nil {
				return r, fmt.Errorf("full certificate does not parse: %v", err)
			}
			r.Cert = c
		} else if _, err := x509.ParsePKIXPublicKey(data); err != nil {
			return r, fmt.Errorf("full public key does not parse: %v", err)
		}
	case MatchSHA256:
		if len(data) != sha256.Size {
			return r, fmt.Errorf("SHA2-256 digest has %d bytes, want 32", len(data))
		}
	case MatchSHA512:
		if len(data) != sha512.Size {
			return r, fmt.Errorf("SHA2-512 digest has %d bytes, want 64", len(data))
		}
	default:
		return r, fmt.Errorf("unknown matching type %d", t.MatchingType)
	}
	return r, nil
}

// Usable returns the records of tlsas that take part in matching: the usable
// ones (ParseTLSA) after digest algorithm agility (RFC 7671 §9, RFC 7672
// §3.1.3): for each (usage, selector) pair, Full records are kept and, of
// the digests, only those of the strongest matching type present
// (SHA2-512 over SHA2-256), so a weak digest a domain still publishes during
// a roll-over cannot be used once a stronger one is there. unusable counts
// the records dropped by ParseTLSA.
func Usable(tlsas []*dns.TLSA) (recs []Record, unusable int) {
	type pair struct{ u, s uint8 }
	var parsed []Record
	best := map[pair]uint8{}
	for _, t := range tlsas {
		r, err := ParseTLSA(t)
		if err != nil {
			unusable++
			continue
		}
		parsed = append(parsed, r)
		if p := (pair{r.Usage, r.Selector}); r.Matching > best[p] {
			best[p] = r.Matching
		}
	}
	for _, r := range parsed {
		if r.Matching == MatchFull || r.Matching == best[pair{r.Usage, r.Selector}] {
			recs = append(recs, r)
		}
	}
	return recs, unusable
}

// matches reports whether c's certificate or SPKI (by r's selector) matches
// r's association data.
func (r Record) matches(c *x509.Certificate) bool {
	data := c.Raw
	if r.Selector == SelectorSPKI {
		data = c.RawSubjectPublicKeyInfo
	}
	switch r.Matching {
	case MatchFull:
		return bytes.Equal(data, r.Data)
	case MatchSHA256:
		d := sha256.Sum256(data)
		return bytes.Equal(d[:], r.Data)
	case MatchSHA512:
		d := sha512.Sum512(data)
		return bytes.Equal(d[:], r.Data)
	}
	return false
}

// nameMatches applies RFC 7672 §3.2.3 (and RFC 6125 §6.4): the DNS-IDs
// (subjectAltName dNSName) are the only identifiers when present, the
// subject CN is used only when there is none; a wildcard must be the whole
// first label and matches exactly one label. It returns the matching
// reference name.
func nameMatches(c *x509.Certificate, names []string) (string, bool) {
	ids := c.DNSNames
	if len(ids) == 0 && c.Subject.CommonName != "" {
		ids = []string{c.Subject.CommonName}
	}
	for _, n := range names {
		ref := normName(n)
		if ref == "" || strings.Contains(ref, "*") {
			continue
		}
		for _, id := range ids {
			if idMatches(normName(id), ref) {
				return ref, true
			}
		}
	}
	return "", false
}

func normName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

func idMatches(id, ref string) bool {
	if id == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(id, "*."); ok {
		// "*.com" would cover a whole TLD: require two labels after it.
		if !strings.Contains(rest, ".") || strings.Contains(rest, "*") {
			return false
		}
		first, refRest, ok := strings.Cut(ref, ".")
		return ok && first != "" && refRest == rest
	}
	return !strings.Contains(id, "*") && id == ref
}
