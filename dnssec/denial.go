package dnssec

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// The denial functions check authenticated denial of existence (RFC 4035
// §5.4, RFC 5155 §8, RFC 6840 §4). They assume the caller has already
// verified the signatures of every NSEC/NSEC3 RRset passed in with
// VerifyRRset against the keys of zone: they look at names and bitmaps
// only. They return nil when the fact is proved, or an error:
//
//   - ErrNSEC3Iterations, ErrOptOut, ErrNSEC3Unsupported: the answer is
//     Insecure (provably unverifiable, not forged);
//   - ErrWorkBudget: the query's Budget is exhausted (Indeterminate,
//     LookupError{Kind: ErrBudget});
//   - any other error is Bogus; its text is the reason, "bad denial proof: ...".
//
// DenialSecurity maps an error to the Security it implies.
//
// When nsec holds any record the NSEC rules apply, otherwise the NSEC3 rules.

// ErrNSEC3Iterations: the proof used NSEC3 records with more iterations than
// Limits.MaxNSEC3Iterations; the caller treats the answer as Insecure
// (RFC 9276 §3.2). No hash is computed for such records.
var ErrNSEC3Iterations = errors.New("NSEC3 iterations above limit: insecure (RFC 9276 §3.2)")

// ErrOptOut: the proof is complete, but the next closer name is covered by
// an opt-out NSEC3 span, which may hide unsigned delegations; an NXDOMAIN,
// wildcard answer or wildcard NODATA built on it is only Insecure (RFC 5155
// §6, §9.2). Opt-out does prove an unsigned delegation (ProveNoDS, DS NODATA).
var ErrOptOut = errors.New("NSEC3 opt-out span covers the next closer name: insecure (RFC 5155 §9.2)")

// ErrNSEC3Unsupported: every NSEC3 record uses an unknown hash algorithm;
// the caller treats the answer as Insecure (RFC 5155 §8.1).
var ErrNSEC3Unsupported = errors.New("unsupported NSEC3 hash algorithm: insecure (RFC 5155 §8.1)")

// DenialSecurity maps a denial function's result to the security it gives
// the answer: nil is Secure, the three insecure errors Insecure,
// ErrWorkBudget Indeterminate, anything else Bogus.
func DenialSecurity(err error) Security {
	switch {
	case err == nil:
		return Secure
	case errors.Is(err, ErrNSEC3Iterations), errors.Is(err, ErrOptOut), errors.Is(err, ErrNSEC3Unsupported):
		return Insecure
	case errors.Is(err, ErrWorkBudget):
		return Indeterminate
	}
	return Bogus
}

func badProof(format string, a ...any) error {
	return fmt.Errorf("bad denial proof: "+format, a...)
}

// setup canonicalises qname and zone and checks qname is in zone.
func setup(qname, zone string, b **Budget) (q, z name, err error) {
	if *b == nil {
		*b = NewBudget(Limits{})
	}
	if (*b).Exhausted() {
		return q, z, ErrWorkBudget
	}
	var ok1, ok2 bool
	q, ok1 = parseName(qname)
	z, ok2 = parseName(zone)
	if !ok1 || !ok2 {
		return q, z, badProof("malformed name %q or zone %q", qname, zone)
	}
	if !q.isBelow(z) {
		return q, z, badProof("%s is not in zone %s", q.text, z.text)
	}
	return q, z, nil
}

// ProveNXDomain proves qname does not exist in zone: NSEC covering qname
// and the wildcard at its closest encloser (RFC 4035 §3.1.3.2, §5.4), or
// the NSEC3 closest encloser proof with the wildcard at the closest
// encloser covered (RFC 5155 §8.4).
func ProveNXDomain(qname, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	q, z, err := setup(qname, zone, &b)
	if err != nil {
		return err
	}
	if len(nsec) > 0 {
		c := loadNSEC(z, nsec)
		ce, err := c.nonexistent(q)
		if err != nil {
			return err
		}
		return c.noWildcard(ce)
	}
	s, err := loadNSEC3(z, nsec3, b)
	if err != nil {
		return err
	}
	ce, cov, err := s.closestEncloser(q)
	if err != nil {
		return err
	}
	wh, err := s.hash(ce.child([]byte("*")))
	if err != nil {
		return err
	}
	if s.match(wh) != nil {
		return badProof("the wildcard *.%s exists", ce.text)
	}
	if s.cover(wh) == nil {
		return badProof("no NSEC3 covers the wildcard *.%s", ce.text)
	}
	if optOut(cov) {
		return ErrOptOut
	}
	return nil
}

// ProveNoData proves qname exists without qtype: an NSEC/NSEC3 matching
// qname whose bitmap lacks qtype and CNAME (RFC 4035 §5.4, RFC 5155 §8.5);
// for NSEC an empty non-terminal, shown by a covering NSEC whose next name
// is below qname (RFC 4035 §3.1.3.2); for qtype DS without a matching
// NSEC3, a closest encloser proof whose next closer is covered by an
// opt-out span (RFC 5155 §8.6: the delegation, if any, is unsigned); and
// the wildcard NODATA case, where qname does not exist and the wildcard at
// its closest encloser lacks qtype (RFC 4035 §3.1.3.4, RFC 5155 §8.7).
func ProveNoData(qname string, qtype uint16, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	q, z, err := setup(qname, zone, &b)
	if err != nil {
		return err
	}
	if len(nsec) > 0 {
		c := loadNSEC(z, nsec)
		if m := c.match(q); m != nil {
			if why := typeDenied(m.rr.TypeBitMap, qtype); why != "" {
				return badProof("NSEC at %s: %s", q.text, why)
			}
			return nil
		}
		if cv := c.cover(q); cv != nil && cv.next.isBelow(q) && len(cv.next.labels) > len(q.labels) {
			return nil // empty non-terminal: qname exists, owns nothing
		}
		ce, err := c.nonexistent(q)
		if err != nil {
			return badProof("no NSEC matches %s and %v", q.text, err)
		}
		w := ce.child([]byte("*"))
		m := c.match(w)
		if m == nil {
			return badProof("no NSEC matches %s or the wildcard %s", q.text, w.text)
		}
		if why := typeDenied(m.rr.TypeBitMap, qtype); why != "" {
			return badProof("wildcard NSEC at %s: %s", w.text, why)
		}
		return nil
	}
	s, err := loadNSEC3(z, nsec3, b)
	if err != nil {
		return err
	}
	h, err := s.hash(q)
	if err != nil {
		return err
	}
	if m := s.match(h); m != nil {
		if why := typeDenied(m.TypeBitMap, qtype); why != "" {
			return badProof("NSEC3 matching %s: %s", q.text, why)
		}
		return nil
	}
	ce, cov, err := s.closestEncloser(q)
	if err != nil {
		return err
	}
	if qtype == dns.TypeDS {
		if !optOut(cov) {
			return badProof("DS NODATA for %s: next closer covered without opt-out", q.text)
		}
		return nil
	}
	wh, err := s.hash(ce.child([]byte("*")))
	if err != nil {
		return err
	}
	m := s.match(wh)
	if m == nil {
		return badProof("no NSEC3 matches %s or the wildcard *.%s", q.text, ce.text)
	}
	if why := typeDenied(m.TypeBitMap, qtype); why != "" {
		return badProof("NSEC3 matching wildcard *.%s: %s", ce.text, why)
	}
	if optOut(cov) {
		return ErrOptOut
	}
	return nil
}

// ProveNoDS proves child is an unsigned delegation from zone (RFC 4035
// §5.2): the NSEC at child has NS and lacks DS and SOA (RFC 6840 §4.4);
// with NSEC3, the matching NSEC3 has NS and lacks DS and SOA, or, with no
// match, a closest encloser proof whose next closer is covered by an
// opt-out span (RFC 5155 §8.9).
func ProveNoDS(child, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	q, z, err := setup(child, zone, &b)
	if err != nil {
		return err
	}
	if len(q.labels) == len(z.labels) {
		return badProof("%s is the apex of %s, not a delegation from it", q.text, z.text)
	}
	check := func(bitmap []uint16, what string) error {
		switch {
		case !hasType(bitmap, dns.TypeNS):
			return badProof("%s at %s: no NS, not a delegation", what, q.text)
		case hasType(bitmap, dns.TypeDS):
			return badProof("%s at %s: the DS exists", what, q.text)
		case hasType(bitmap, dns.TypeSOA):
			return badProof("%s at %s: child-side record used to deny DS", what, q.text)
		}
		return nil
	}
	if len(nsec) > 0 {
		c := loadNSEC(z, nsec)
		m := c.match(q)
		if m == nil {
			return badProof("no NSEC matches %s", q.text)
		}
		return check(m.rr.TypeBitMap, "NSEC")
	}
	s, err := loadNSEC3(z, nsec3, b)
	if err != nil {
		return err
	}
	h, err := s.hash(q)
	if err != nil {
		return err
	}
	if m := s.match(h); m != nil {
		return check(m.TypeBitMap, "NSEC3")
	}
	_, cov, err := s.closestEncloser(q)
	if err != nil {
		return err
	}
	if !optOut(cov) {
		return badProof("%s does not exist and no opt-out span covers it", q.text)
	}
	return nil
}

// ProveWildcard proves that no name closer to qname than the wildcard
// exists, for an answer synthesized from wildcardParent's wildcard (RFC
// 4035 §5.3.4, RFC 5155 §8.8). wildcardParent is the closest encloser,
// given either as Verdict.Wildcard ("*.example.com.") or as the encloser
// itself ("example.com."). With NSEC, an NSEC must cover qname and its
// owner and next name must reveal exactly that closest encloser; with
// NSEC3, an NSEC3 must cover the next closer name.
func ProveWildcard(qname, wildcardParent, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	q, z, err := setup(qname, zone, &b)
	if err != nil {
		return err
	}
	ce, ok := parseName(wildcardParent)
	if ok && len(ce.labels) > 0 && string(ce.labels[0]) == "*" {
		ce = ce.ancestor(len(ce.labels) - 1)
	}
	if !ok || !ce.isBelow(z) || !q.isBelow(ce) || len(q.labels) == len(ce.labels) {
		return badProof("wildcard parent %q does not enclose %s in zone %s", wildcardParent, q.text, z.text)
	}
	if len(nsec) > 0 {
		c := loadNSEC(z, nsec)
		got, err := c.nonexistent(q)
		if err != nil {
			return err
		}
		if canonCompare(got, ce) != 0 {
			return badProof("NSEC shows closest encloser %s, wildcard says %s", got.text, ce.text)
		}
		return nil
	}
	s, err := loadNSEC3(z, nsec3, b)
	if err != nil {
		return err
	}
	nc := q.ancestor(len(ce.labels) + 1)
	h, err := s.hash(nc)
	if err != nil {
		return err
	}
	if s.match(h) != nil {
		return badProof("the next closer name %s exists", nc.text)
	}
	cov := s.cover(h)
	if cov == nil {
		return badProof("no NSEC3 covers the next closer name %s", nc.text)
	}
	if optOut(cov) {
		return ErrOptOut
	}
	return nil
}
