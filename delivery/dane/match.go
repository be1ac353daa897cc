package dane

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// ErrNoUsable: the TLSA RRset holds no usable record. A secure RRset like
// that still makes STARTTLS mandatory, unauthenticated (RFC 7672 §3.1.3,
// DANE.md §0 item 3).
var ErrNoUsable = errors.New("no usable TLSA record")

// MatchError says why a presented chain matched no usable TLSA record.
type MatchError struct{ Reason string }

func (e *MatchError) Error() string { return e.Reason }

// Result says how a presented chain was authenticated.
type Result struct {
	Record Record // the TLSA record that matched
	// Depth is the chain position of the matched certificate: 0 for the
	// leaf (DANE-EE), ≥1 for a DANE-TA in the presented chain, -1 for a
	// "2 0 0" trust anchor taken from DNS.
	Depth int
	// Name is the reference identity the leaf matched (DANE-TA only; DANE-EE
	// never checks names, RFC 7672 §3.1.1).
	Name string
}

// Match authenticates a presented chain (leaf first, as the server sent
// it) against a TLSA RRset. names are the reference identities for DANE-TA
// (RFC 7672 §3.2.2: the TLSA base domain and, for a secure MX, the next-hop
// domain); now is the time for DANE-TA validity checks.
func Match(tlsas []*dns.TLSA, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	recs, _ := Usable(tlsas)
	return MatchRecords(recs, chain, names, now)
}

// MatchRecords is Match on records already filtered by Usable.
//
// DANE-EE(3) compares the leaf's certificate or SPKI only, with no name or
// validity check: the TLSA RRSIG vouches for the key (RFC 7672 §3.1.1,
// RFC 7671 §5.1). DANE-TA(2) looks for the trust anchor at depth ≥ 1 of
// the presented chain (or takes a "2 0 0" certificate from DNS, RFC 7671
// §5.2.2), builds the path leaf -> TA from the presented certificates only,
// checks signatures, validity at now and basic constraints below the TA,
// and the leaf's names (RFC 7672 §3.1.2, §3.2). WebPKI roots are never used.
func MatchRecords(recs []Record, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	if len(recs) == 0 {
		return Result{}, ErrNoUsable
	}
	if len(chain) == 0 {
		return Result{}, &MatchError{"no certificate presented"}
	}
	leaf := chain[0]
	for _, r := range recs {
		if r.Usage == UsageDANEEE && r.matches(leaf) {
			return Result{Record: r, Depth: 0}, nil
		}
	}
	var taErr error
	for _, r := range recs {
		if r.Usage != UsageDANETA {
			continue
		}
		found := false
		for d := 1; d < len(chain); d++ {
			if !r.matches(chain[d]) {
				continue
			}
			found = true
			name, err := checkTA(chain, chain[d], names, now)
			if err == nil {
				return Result{Record: r, Depth: d, Name: name}, nil
			}
			taErr = err
		}
		if !found && r.Cert != nil {
			name, err := checkTA(chain, r.Cert, names, now)
			if err == nil {
				return Result{Record: r, Depth: -1, Name: name}, nil
			}
			taErr = err
		}
	}
	if taErr != nil {
		return Result{}, taErr
	}
	return Result{}, &MatchError{"certificate matches no TLSA record"}
}

// checkTA builds leaf -> ta from the presented chain and checks the leaf's
// names.
func checkTA(chain []*x509.Certificate, ta *x509.Certificate, names []string, now time.Time) (string, error) {
	if err := buildPath(chain[0], chain[1:], ta, now, 0); err != nil {
		return "", &MatchError{"trust anchor found but " + err.Error()}
	}
	name, ok := nameMatches(chain[0], names)
	if !ok {
		return "", &MatchError{fmt.Sprintf("certificate %s does not match the name %s", describe(chain[0]), joinNames(names))}
	}
	return name, nil
}

// maxPath bounds the path search: a server sending a long chain must not
// make the search explode.
const maxPath = 8

// buildPath finds a path from cur up to ta through pool, checking each
// certificate below the TA: validity at now, the issuer's signature and
// basic constraints (CheckSignatureFrom refuses a non-CA issuer), and the
// issuers' path length constraints (RFC 5280 §4.2.1.9).
func buildPath(cur *x509.Certificate, pool []*x509.Certificate, ta *x509.Certificate, now time.Time, depth int) error {
	if depth > maxPath {
		return errors.New("the chain is too long")
	}
	if now.Before(cur.NotBefore) {
		return fmt.Errorf("certificate %s is not valid before %s", describe(cur), cur.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cur.NotAfter) {
		return fmt.Errorf("certificate %s expired on %s", describe(cur), cur.NotAfter.UTC().Format(time.RFC3339))
	}
	if bytes.Equal(cur.RawIssuer, ta.RawSubject) {
		if err := cur.CheckSignatureFrom(ta); err == nil {
			return pathLen(ta, depth)
		}
	}
	var firstErr error
	for i, p := range pool {
		if p == cur || bytes.Equal(p.Raw, ta.Raw) || !bytes.Equal(cur.RawIssuer, p.RawSubject) {
			continue
		}
		if err := cur.CheckSignatureFrom(p); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("certificate %s is not validly signed by %s: %v", describe(cur), describe(p), err)
			}
			continue
		}
		if err := pathLen(p, depth); err != nil {
			firstErr = err
			continue
		}
		rest := append(append([]*x509.Certificate(nil), pool[:i]...), pool[i+1:]...)
		err := buildPath(p, rest, ta, now, depth+1)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return fmt.Errorf("no path from certificate %s to the trust anchor", describe(cur))
}

// pathLen checks issuer's pathLenConstraint against the number of
// intermediates below it (depth: 0 when it signed the leaf).
func pathLen(issuer *x509.Certificate, depth int) error {
	if issuer.BasicConstraintsValid && (issuer.MaxPathLen > 0 || issuer.MaxPathLenZero) && depth > issuer.MaxPathLen {
		return fmt.Errorf("certificate %s exceeds its path length constraint", describe(issuer))
	}
	return nil
}

func describe(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	return c.Subject.String()
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(normName(n))
	}
	return b.String()
}
