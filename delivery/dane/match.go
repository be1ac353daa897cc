package dane

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
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

// MatchFailure says which way a chain failed to match.
type MatchFailure int

const (
	// NoMatch: no record matched the chain (OpenSSL's
	// X509_V_ERR_DANE_NO_MATCH).
	NoMatch MatchFailure = iota
	// NameMismatch: a record matched but the leaf does not carry a
	// reference identity (X509_V_ERR_HOSTNAME_MISMATCH).
	NameMismatch
	// BadPath: a record matched but the path from the leaf to the trust
	// anchor does not verify: a missing issuer, a bad signature, a date, a
	// constraint.
	BadPath
)

// MatchError says why a presented chain is not authenticated.
type MatchError struct {
	Kind   MatchFailure
	Reason string
	// Depth is the chain depth of the record match that then failed (name
	// or path), -1 when no record matched, as OpenSSL's
	// SSL_get0_dane_authority reports it.
	Depth int
}

func (e *MatchError) Error() string { return e.Reason }

// Result says how a presented chain was authenticated.
type Result struct {
	Record Record // the TLSA record that matched
	// Depth is the chain depth of the matched certificate or key, as
	// OpenSSL counts it: 0 for the leaf (DANE-EE, PKIX-EE, or a bare
	// DANE-TA key that signed the leaf), n for the n-th certificate above
	// it; a "2 0 0" certificate from DNS the server did not send sits one
	// above the top of the path it completes.
	Depth int
	// Name is the reference identity the leaf matched (empty when no name
	// was checked: DANE-EE under RFC 7672 §3.1.1).
	Name string
}

// Policy is the profile a chain is matched under. The zero Policy is SMTP's
// (RFC 7672): DANE-TA(2) and DANE-EE(3) only, no name checks after a
// DANE-EE match. The other settings reproduce RFC 6698/7671 as OpenSSL
// implements them, for the conformance suite.
type Policy struct {
	// Roots enables PKIX-TA(0) and PKIX-EE(1) records, which need an
	// ordinary path to these roots as well as a match (RFC 6698 §2.1.1).
	// SMTP leaves it nil: RFC 7672 §3.1.3 makes those usages unusable,
	// and such records are ignored.
	Roots *x509.CertPool
	// EENames checks the leaf's names after a DANE-EE(3) match too, as
	// OpenSSL does by default. RFC 7672 §3.1.1 drops that check for SMTP:
	// the TLSA RRSIG vouches for the key.
	EENames bool
}

// Match authenticates a presented chain (leaf first, as the server sent
// it) against a TLSA RRset under SMTP's rules. names are the reference
// identities for DANE-TA (RFC 7672 §3.2.2: the TLSA base domain and, for a
// secure MX, the next-hop domain); now is the time for DANE-TA validity
// checks.
func Match(tlsas []*dns.TLSA, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	recs, _ := Usable(tlsas)
	return MatchRecords(recs, chain, names, now)
}

// MatchRecords is Match on records already filtered by Usable.
func MatchRecords(recs []Record, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	return Policy{}.Match(recs, chain, names, now)
}

// Match authenticates chain against recs. The shallowest match wins, as in
// OpenSSL:
//
//   - DANE-EE(3) compares the leaf's certificate or SPKI only, with no
//     validity check and (unless EENames) no name check: the TLSA RRSIG
//     vouches for the key (RFC 7671 §5.1, RFC 7672 §3.1.1).
//   - PKIX-EE(1) matches the leaf of a chain that also validates to Roots.
//   - DANE-TA(2) matches a certificate above the leaf, never the leaf
//     itself, nor a certificate or key the leaf shares (RFC 7671 §5.2.2;
//     OpenSSL and Postfix never match DANE-TA at depth 0): one the server
//     sent at depth ≥ 1, a "2 0 0" certificate from DNS completing the
//     path, or a "2 1 0" bare key that signed a presented certificate. The
//     path leaf -> TA is built from the presented certificates only, with
//     signatures, validity at now, basic and path length constraints
//     checked below the TA. WebPKI roots are never used.
//   - PKIX-TA(0) matches a certificate at depth ≥ 1 of a chain validated
//     to Roots, roots from the store included.
//
// Every match but DANE-EE's then checks the leaf's names (RFC 7672 §3.2.3).
func (p Policy) Match(recs []Record, chain []*x509.Certificate, names []string, now time.Time) (Result, error) {
	if len(recs) == 0 {
		return Result{}, ErrNoUsable
	}
	if len(chain) == 0 {
		return Result{}, &MatchError{Kind: NoMatch, Reason: "no certificate presented", Depth: -1}
	}
	leaf := chain[0]
	for _, r := range recs {
		if r.Usage == UsageDANEEE && r.matches(leaf) {
			if !p.EENames {
				return Result{Record: r, Depth: 0}, nil
			}
			return checkNames(Result{Record: r, Depth: 0}, leaf, names)
		}
	}

	// PKIX usages need an ordinary path to Roots; Full certificate
	// records supply extra untrusted certificates for it, as in OpenSSL.
	var (
		pkix    [][]*x509.Certificate
		pkixErr error
	)
	if p.Roots != nil && hasUsage(recs, UsagePKIXTA, UsagePKIXEE) {
		pkix, pkixErr = pkixChains(recs, chain, p.Roots, now)
	}
	if p.Roots != nil {
		for _, r := range recs {
			if r.Usage != UsagePKIXEE || !r.matches(leaf) {
				continue
			}
			if pkixErr != nil {
				return Result{}, &MatchError{Kind: BadPath, Reason: "PKIX-EE record matched but " + pkixErr.Error(), Depth: 0}
			}
			return checkNames(Result{Record: r, Depth: 0}, leaf, names)
		}
	}

	best := Result{Depth: -1}
	var pathErr *MatchError
	consider := func(res Result) {
		if best.Depth < 0 || res.Depth < best.Depth {
			best = res
		}
	}
	for _, r := range recs {
		if r.Usage != UsageDANETA {
			continue
		}
		res, err := daneTA(r, chain, now)
		switch {
		case err != nil:
			if pathErr == nil || err.Depth < pathErr.Depth {
				pathErr = err
			}
		case res.Depth >= 0:
			consider(res)
		}
	}
	if p.Roots != nil {
		for _, c := range pkix {
			for d := 1; d < len(c); d++ {
				for _, r := range recs {
					if r.Usage == UsagePKIXTA && r.matches(c[d]) {
						consider(Result{Record: r, Depth: d})
					}
				}
			}
		}
	}
	if best.Depth >= 0 {
		return checkNames(best, leaf, names)
	}
	if pathErr != nil {
		return Result{}, pathErr
	}
	return Result{}, &MatchError{Kind: NoMatch, Reason: "certificate matches no TLSA record", Depth: -1}
}

func hasUsage(recs []Record, usages ...uint8) bool {
	for _, r := range recs {
		for _, u := range usages {
			if r.Usage == u {
				return true
			}
		}
	}
	return false
}

// daneTA tries one DANE-TA record: a certificate the server sent above the
// leaf, else (Full records) a certificate or key from DNS that completes
// the path. Depth -1 with a nil error means the record matched nothing.
func daneTA(r Record, chain []*x509.Certificate, now time.Time) (Result, *MatchError) {
	leaf := chain[0]
	var firstErr *MatchError
	for d := 1; d < len(chain); d++ {
		if !r.matches(chain[d]) || sameKey(chain[d], leaf) {
			continue
		}
		depth, err := buildPath(leaf, chain[1:], chain[d], now, 0)
		if err == nil {
			return Result{Record: r, Depth: depth}, nil
		}
		if firstErr == nil {
			firstErr = &MatchError{Kind: BadPath, Reason: "trust anchor found but " + err.Error(), Depth: d}
		}
	}
	if firstErr != nil || r.Matching != MatchFull {
		return Result{Depth: -1}, firstErr
	}
	// Not sent by the server: a Full record brings the TA itself. It must
	// be something other than the leaf (RFC 7671 §5.2.2): a self-signed
	// leaf published as "2 0 0" is not its own trust anchor.
	var ta *x509.Certificate
	bareKey := false
	switch {
	case r.Cert != nil:
		if sameKey(r.Cert, leaf) {
			return Result{Depth: -1}, nil
		}
		ta = r.Cert
	case r.Selector == SelectorSPKI:
		if bytes.Equal(r.Data, leaf.RawSubjectPublicKeyInfo) {
			return Result{Depth: -1}, nil
		}
		pub, err := x509.ParsePKIXPublicKey(r.Data)
		if err != nil {
			return Result{Depth: -1}, nil
		}
		// A bare key names no subject: it anchors whichever presented
		// certificate it signed, which must be the top of the path.
		ta, bareKey = &x509.Certificate{PublicKey: pub, PublicKeyAlgorithm: keyAlgorithm(pub)}, true
	default:
		return Result{Depth: -1}, nil
	}
	if bareKey {
		for d := len(chain) - 1; d >= 0; d-- {
			top := chain[d]
			if top.CheckSignatureFrom(ta) != nil {
				continue
			}
			anchor := &x509.Certificate{PublicKey: ta.PublicKey, PublicKeyAlgorithm: ta.PublicKeyAlgorithm, RawSubject: top.RawIssuer}
			depth, err := buildPath(leaf, chain[1:], anchor, now, 0)
			if err != nil {
				return Result{Depth: -1}, &MatchError{Kind: BadPath, Reason: "trust anchor key found but " + err.Error(), Depth: d}
			}
			// OpenSSL reports the depth of the certificate the key
			// signed (the key itself has no place in the chain).
			return Result{Record: r, Depth: depth - 1}, nil
		}
		return Result{Depth: -1}, nil
	}
	depth, err := buildPath(leaf, chain[1:], ta, now, 0)
	if err != nil {
		if errors.Is(err, errNoPath) {
			return Result{Depth: -1}, nil // the certificate anchors another chain
		}
		return Result{Depth: -1}, &MatchError{Kind: BadPath, Reason: "trust anchor found but " + err.Error(), Depth: len(chain)}
	}
	return Result{Record: r, Depth: depth}, nil
}

// keyAlgorithm is the x509 algorithm of a parsed public key, which
// CheckSignatureFrom needs from a bare-key anchor.
func keyAlgorithm(pub any) x509.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA
	case *ecdsa.PublicKey:
		return x509.ECDSA
	case ed25519.PublicKey:
		return x509.Ed25519
	}
	return x509.UnknownPublicKeyAlgorithm
}

// sameKey: a and b carry the same public key.
func sameKey(a, b *x509.Certificate) bool {
	return bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo)
}

// checkNames finishes a match with the leaf's name check.
func checkNames(res Result, leaf *x509.Certificate, names []string) (Result, error) {
	name, ok := nameMatches(leaf, names)
	if !ok {
		return Result{}, &MatchError{Kind: NameMismatch, Depth: res.Depth,
			Reason: fmt.Sprintf("certificate %s does not match the name %s", describe(leaf), joinNames(names))}
	}
	res.Name = name
	return res, nil
}

// pkixChains validates chain to roots the ordinary way (RFC 5280), with
// the presented certificates and Full certificate records as untrusted
// intermediates.
func pkixChains(recs []Record, chain []*x509.Certificate, roots *x509.CertPool, now time.Time) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	for _, r := range recs {
		if r.Cert != nil {
			inter.AddCert(r.Cert)
		}
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		return nil, fmt.Errorf("the chain does not validate: %s", x509Reason(err))
	}
	return chains, nil
}

// maxPath bounds the path search: a server sending a long chain must not
// make the search explode.
const maxPath = 8

var errNoPath = errors.New("no path to the trust anchor")

// buildPath finds a path from cur up to ta through pool, checking each
// certificate below the TA: validity at now, the issuer's signature and
// basic constraints (CheckSignatureFrom refuses a non-CA issuer), and the
// issuers' path length constraints (RFC 5280 §4.2.1.9). It returns the
// TA's depth above cur's caller's leaf (1 when ta signed the leaf).
func buildPath(cur *x509.Certificate, pool []*x509.Certificate, ta *x509.Certificate, now time.Time, depth int) (int, error) {
	if depth > maxPath {
		return 0, errors.New("the chain is too long")
	}
	if now.Before(cur.NotBefore) {
		return 0, fmt.Errorf("certificate %s is not valid before %s", describe(cur), cur.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cur.NotAfter) {
		return 0, fmt.Errorf("certificate %s expired on %s", describe(cur), cur.NotAfter.UTC().Format(time.RFC3339))
	}
	if bytes.Equal(cur.RawIssuer, ta.RawSubject) {
		if err := cur.CheckSignatureFrom(ta); err == nil {
			return depth + 1, pathLen(ta, depth)
		}
	}
	var firstErr error
	for i, p := range pool {
		if p == cur || (ta.Raw != nil && bytes.Equal(p.Raw, ta.Raw)) || !bytes.Equal(cur.RawIssuer, p.RawSubject) {
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
		d, err := buildPath(p, rest, ta, now, depth+1)
		if err == nil {
			return d, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return 0, firstErr
	}
	return 0, fmt.Errorf("%w from certificate %s", errNoPath, describe(cur))
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
