package dnssec

import (
	"errors"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// This file adapts the resolver to the pure validation functions of
// verify.go, denial.go and budget.go.

func newBudget() *Budget { return NewBudget(DefaultLimits()) }

// isInsecureProof reports the denial outcomes that make an answer Insecure
// rather than Bogus: NSEC3 above the iteration cap (RFC 9276 §3.2), an
// opt-out span (RFC 5155 §9.2), an unknown NSEC3 hash (RFC 5155 §8.1).
func isInsecureProof(err error) bool {
	return errors.Is(err, ErrNSEC3Iterations) || errors.Is(err, ErrOptOut) || errors.Is(err, ErrNSEC3Unsupported)
}

// verifyRRset checks set against its RRSIGs with the zone's validated keys.
func (v *validation) verifyRRset(set []dns.RR, sigs []*dns.RRSIG, z *zoneState) (Verdict, error) {
	vd := VerifyRRset(set, sigs, z.keys, z.zone, v.now, v.budget)
	if vd.Security != Secure {
		reason := vd.Reason
		if reason == "" {
			h := set[0].Header()
			reason = "no valid signature on " + trimDot(h.Name) + "/" + typeName(h.Rrtype)
		}
		return vd, errors.New(reason)
	}
	return vd, nil
}

// usableUntil is when a validated RRset stops being usable (RFC 4035
// §5.3.3): the first of its signature's expiration, its records' TTL and
// the signature's Original TTL. The last matters because record TTLs are
// not signed: an upstream may hand out any TTL without breaking the
// signature.
func (v *validation) usableUntil(vd Verdict, set []dns.RR) time.Time {
	ttl := min(minTTL(set), vd.OrigTTL)
	return minTime(vd.Expires, v.now.Add(time.Duration(ttl)*time.Second))
}

// verifyDenial verifies every NSEC, NSEC3 and SOA RRset of the authority
// section with the zone's keys; other records there (NS and the like) play
// no part in a proof and are ignored. It returns when the proof stops
// being usable: the first signature expiry or record TTL.
func (v *validation) verifyDenial(m *dns.Msg, z *zoneState) (time.Time, error) {
	var exp time.Time
	type key struct {
		name string
		t    uint16
	}
	done := map[key]bool{}
	for _, rr := range m.Ns {
		h := rr.Header()
		switch h.Rrtype {
		case dns.TypeNSEC, dns.TypeNSEC3, dns.TypeSOA:
		default:
			continue
		}
		k := key{strings.ToLower(h.Name), h.Rrtype}
		if done[k] {
			continue
		}
		done[k] = true
		set, sigs := rrsetOf(m.Ns, h.Name, h.Rrtype)
		vd, err := v.verifyRRset(set, sigs, z)
		if err != nil {
			return time.Time{}, err
		}
		exp = minTime(exp, v.usableUntil(vd, set))
	}
	return exp, nil
}

// verifyKeys authenticates zone's DNSKEY RRset from DS records (the parent's
// validated set or DS trust anchors) or DNSKEY trust anchors. With both
// kinds of anchor, either may vouch for the keys.
func (v *validation) verifyKeys(zone string, keys []dns.RR, sigs []*dns.RRSIG, anchors []dns.RR) *zoneState {
	var dnskeys []*dns.DNSKEY
	for _, rr := range keys {
		if k, ok := rr.(*dns.DNSKEY); ok {
			dnskeys = append(dnskeys, k)
		}
	}
	var ds []*dns.DS
	var ak []*dns.DNSKEY
	for _, a := range anchors {
		switch x := a.(type) {
		case *dns.DS:
			ds = append(ds, x)
		case *dns.DNSKEY:
			ak = append(ak, x)
		}
	}
	var trusted []*dns.DNSKEY
	var vd Verdict
	if len(ds) > 0 {
		trusted, vd = VerifyKeys(dnskeys, sigs, ds, zone, v.now, v.budget)
	}
	if len(ak) > 0 && (len(ds) == 0 || vd.Security != Secure) {
		t2, vd2 := VerifyKeysWithAnchorKeys(dnskeys, sigs, ak, zone, v.now, v.budget)
		if len(ds) == 0 || vd2.Security == Secure {
			trusted, vd = t2, vd2
		}
	}
	z := &zoneState{zone: zone, sec: vd.Security, reason: vd.Reason, expires: vd.Expires}
	switch vd.Security {
	case Secure:
		z.keys = trusted
		z.reason = ""
		z.expires = v.usableUntil(vd, keys)
	case Insecure:
		// RFC 6840 §5.2: only unsupported algorithms or digests.
		z.reason = ""
		if z.expires.IsZero() || z.expires.Before(v.now) {
			z.expires = v.now.Add(time.Duration(minTTL(keys)) * time.Second)
		}
	default:
		if z.reason == "" {
			z.reason = "no DNSKEY matches DS for zone " + trimDot(zone)
		}
	}
	return z
}

// splitDenial separates NSEC and NSEC3 records for the Prove functions.
func splitDenial(d []dns.RR) ([]*dns.NSEC, []*dns.NSEC3) {
	var n []*dns.NSEC
	var n3 []*dns.NSEC3
	for _, rr := range d {
		switch x := rr.(type) {
		case *dns.NSEC:
			n = append(n, x)
		case *dns.NSEC3:
			n3 = append(n3, x)
		}
	}
	return n, n3
}

func (v *validation) proveNXDomain(name string, d []dns.RR, z *zoneState) error {
	n, n3 := splitDenial(d)
	return ProveNXDomain(name, z.zone, n, n3, v.budget)
}

func (v *validation) proveNoData(name string, t uint16, d []dns.RR, z *zoneState) error {
	n, n3 := splitDenial(d)
	return ProveNoData(name, t, z.zone, n, n3, v.budget)
}

func (v *validation) proveNoDS(name string, d []dns.RR, z *zoneState) error {
	n, n3 := splitDenial(d)
	return ProveNoDS(name, z.zone, n, n3, v.budget)
}

// proveWildcard: wildcard is Verdict.Wildcard ("*.<closest encloser>").
func (v *validation) proveWildcard(name, wildcard string, d []dns.RR, z *zoneState) error {
	n, n3 := splitDenial(d)
	return ProveWildcard(name, strings.TrimPrefix(wildcard, "*."), z.zone, n, n3, v.budget)
}

// denialReason words a failed proof as "bad denial proof for X/T: why",
// without repeating the prefix the Prove functions already use.
func denialReason(what string, err error) string {
	why := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "bad denial proof"), ": ")
	return "bad denial proof for " + what + ": " + why
}
