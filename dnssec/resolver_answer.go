package dnssec

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// negTTLDefault is used for a denial without SOA (RFC 2308 §5 wants one;
// cache such an oddity only briefly).
const negTTLDefault = 60

// reply validates the resolver's reply m to name/qtype and builds the
// Answer: the CNAME/DNAME chain link by link, each in its own zone, then
// the data or the denial at its end (RFC 4035 §5, RFC 6672 §5.3.3).
func (v *validation) reply(name string, qtype uint16, m *dns.Msg, depth int) (*Answer, time.Time, error) {
	a := &Answer{Name: name, Qtype: qtype, Target: name}
	res := result{sec: Secure, expires: v.now.Add(maxTTL)}
	ttl := uint32(math32)
	cur := name
	seen := map[string]bool{}
	for hop := 0; ; hop++ {
		if hop > maxChain || seen[cur] {
			a.Security, a.Reason = Bogus, "CNAME/DNAME chain too long or looping at "+trimDot(cur)
			return a, v.now.Add(bogusTTL), nil
		}
		seen[cur] = true
		a.Target = cur

		if set, sigs := rrsetOf(m.Answer, cur, qtype); len(set) > 0 {
			lr := v.rrset(cur, qtype, set, sigs, m)
			res.merge(lr)
			ttl = min(ttl, minTTL(set))
			a.Kind = Data
			a.Records = copyRRs(set)
			break
		}
		if qtype != dns.TypeDNAME {
			if d, sigs := dnameFor(m.Answer, cur); d != nil {
				lr := v.rrset(d.Hdr.Name, dns.TypeDNAME, []dns.RR{d}, sigs, m)
				res.merge(lr)
				ttl = min(ttl, d.Hdr.Ttl)
				a.Chain = append(a.Chain, ChainLink{RR: d, Security: lr.sec})
				// RFC 6672 §2.2: replace the DNAME owner suffix by its
				// target; the synthesized CNAME is unsigned and ignored.
				next := dns.CanonicalName(strings.TrimSuffix(cur, dns.CanonicalName(d.Hdr.Name)) + d.Target)
				if _, ok := dns.IsDomainName(next); !ok || len(next) > 255 {
					a.Security, a.Reason = Bogus, "DNAME substitution of "+trimDot(cur)+" is too long"
					return a, v.now.Add(bogusTTL), nil
				}
				cur = next
				continue
			}
		}
		if qtype != dns.TypeCNAME {
			if set, sigs := rrsetOf(m.Answer, cur, dns.TypeCNAME); len(set) > 0 {
				if len(set) != 1 {
					a.Security, a.Reason = Bogus, "several CNAMEs at "+trimDot(cur)
					return a, v.now.Add(bogusTTL), nil
				}
				lr := v.rrset(cur, dns.TypeCNAME, set, sigs, m)
				res.merge(lr)
				ttl = min(ttl, set[0].Header().Ttl)
				a.Chain = append(a.Chain, ChainLink{RR: set[0], Security: lr.sec})
				cur = dns.CanonicalName(set[0].(*dns.CNAME).Target)
				continue
			}
		}
		// Nothing for cur in the answer section: a denial, or the
		// resolver left the rest of the chain to us.
		if hop > 0 && m.Rcode == dns.RcodeSuccess && !hasSOA(m) {
			if depth >= maxChain {
				a.Security, a.Reason = Bogus, "CNAME chain too long at "+trimDot(cur)
				return a, v.now.Add(bogusTTL), nil
			}
			sub, err := v.r.lookup(v.ctx, cur, qtype, depth+hop)
			if err != nil {
				return nil, time.Time{}, err
			}
			a.Kind, a.Records, a.Target = sub.Kind, sub.Records, sub.Target
			a.Chain = append(a.Chain, sub.Chain...)
			res.merge(result{sec: sub.Security, reason: sub.Reason, expires: v.now.Add(time.Duration(sub.TTL) * time.Second)})
			ttl = min(ttl, sub.TTL)
			break
		}
		lr, nttl := v.denial(cur, qtype, m)
		res.merge(lr)
		ttl = min(ttl, nttl)
		a.Kind = NoData
		if m.Rcode == dns.RcodeNameError {
			a.Kind = NXDomain
		}
		break
	}
	a.Security, a.Reason = res.sec, res.reason
	if res.sec == Secure || res.sec == Insecure {
		a.Reason = ""
	}
	exp := res.expires
	if e := v.now.Add(time.Duration(ttl) * time.Second); e.Before(exp) {
		exp = e
	}
	if (res.sec == Bogus || res.sec == Indeterminate) && exp.After(v.now.Add(bogusTTL)) {
		exp = v.now.Add(bogusTTL) // what the cache keeps it for (RFC 4035 §4.7)
	}
	if exp.Before(v.now) {
		exp = v.now
	}
	a.TTL = uint32(exp.Sub(v.now) / time.Second)
	return a, exp, nil
}

const math32 = 1<<32 - 1

func hasSOA(m *dns.Msg) bool {
	for _, rr := range m.Ns {
		if rr.Header().Rrtype == dns.TypeSOA {
			return true
		}
	}
	return false
}

// dnameFor finds a DNAME in the section whose owner is a proper ancestor of
// name.
func dnameFor(sec []dns.RR, name string) (*dns.DNAME, []*dns.RRSIG) {
	for _, rr := range sec {
		d, ok := rr.(*dns.DNAME)
		if !ok || d.Hdr.Class != dns.ClassINET {
			continue
		}
		owner := dns.CanonicalName(d.Hdr.Name)
		if owner != name && dns.IsSubDomain(owner, name) {
			_, sigs := rrsetOf(sec, owner, dns.TypeDNAME)
			return d, sigs
		}
	}
	return nil, nil
}

// copyRRs copies the records so the cached answer does not alias the
// reply message.
func copyRRs(set []dns.RR) []dns.RR {
	out := make([]dns.RR, len(set))
	for i, rr := range set {
		out[i] = dns.Copy(rr)
	}
	return out
}

// rrset validates one RRset of the answer section (RFC 4035 §5.3).
func (v *validation) rrset(owner string, t uint16, set []dns.RR, sigs []*dns.RRSIG, m *dns.Msg) result {
	what := trimDot(owner) + "/" + typeName(t)
	if len(sigs) == 0 {
		z := v.unsignedAt(owner, "missing signature on "+what, t == dns.TypeDS)
		return result{sec: z.sec, reason: z.reason, expires: z.expires}
	}
	signer, ok := signerOf(sigs, owner, false)
	if !ok {
		return result{sec: Bogus, reason: "signer of " + what + " is not a zone above it"}
	}
	z := v.zoneKeys(signer, nil)
	if z.sec != Secure {
		return result{sec: z.sec, reason: z.reason, expires: z.expires}
	}
	vd, err := v.verifyRRset(set, sigs, z)
	if err != nil {
		return result{sec: Bogus, reason: err.Error()}
	}
	res := result{sec: Secure, expires: minTime(v.usableUntil(vd, set), z.expires)}
	// RFC 4035 §5.3.4 / RFC 5155 §8.8: an RRSIG with fewer labels than its
	// owner means wildcard expansion, valid only with proof that the
	// next-closer name does not exist.
	if vd.Wildcard != "" {
		denial, _ := denialOf(m)
		if _, err := v.verifyDenial(m, z); err != nil {
			return result{sec: Bogus, reason: "wildcard answer " + what + ": " + err.Error()}
		}
		if err := v.proveWildcard(owner, vd.Wildcard, denial, z); err != nil {
			if isInsecureProof(err) {
				return result{sec: Insecure, expires: res.expires}
			}
			return result{sec: Bogus, reason: denialReason("wildcard "+what, err)}
		}
	}
	return res
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// denial validates an NXDOMAIN or NODATA reply for name/qtype (RFC 4035
// §5.4, RFC 5155 §8) and returns its negative TTL (RFC 2308 §5: the SOA's
// TTL capped by its MINIMUM).
func (v *validation) denial(name string, qtype uint16, m *dns.Msg) (result, uint32) {
	nx := m.Rcode == dns.RcodeNameError
	what := trimDot(name) + "/" + typeName(qtype)
	nttl := uint32(negTTLDefault)
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			nttl = min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	recs, sigs := denialOf(m)
	if len(sigs) == 0 {
		// An empty NOERROR or NXDOMAIN without proof: fine in an
		// insecure zone, bogus in a signed one (DANE.md §2.5 item 3).
		z := v.unsignedAt(name, "missing denial proof for "+what, qtype == dns.TypeDS)
		return result{sec: z.sec, reason: z.reason, expires: z.expires}, nttl
	}
	signer, ok := signerOf(sigs, name, false)
	if !ok {
		return result{sec: Bogus, reason: "denial for " + what + " not signed by a zone above it"}, nttl
	}
	z := v.zoneKeys(signer, nil)
	if z.sec != Secure {
		return result{sec: z.sec, reason: z.reason, expires: z.expires}, nttl
	}
	exp, err := v.verifyDenial(m, z)
	if err != nil {
		return result{sec: Bogus, reason: denialReason(what, err)}, nttl
	}
	if nx {
		err = v.proveNXDomain(name, recs, z)
	} else {
		err = v.proveNoData(name, qtype, recs, z)
	}
	switch {
	case isInsecureProof(err):
		// RFC 9276 §3.2: above the iteration cap the proof is not
		// checked and the answer is treated as insecure.
		return result{sec: Insecure, expires: exp}, nttl
	case err != nil:
		return result{sec: Bogus, reason: denialReason(what, err)}, nttl
	}
	return result{sec: Secure, expires: minTime(exp, z.expires)}, nttl
}
