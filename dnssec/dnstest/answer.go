package dnstest

import (
	"github.com/miekg/dns"
)

// maxChain bounds CNAME following, as recursive resolvers do.
const maxChain = 10

// result is what the recursive front puts in a response.
type result struct {
	rcode      int
	answer, ns []dns.RR
	fault      Fault // a response fault hit on the way; it replaces the answer
}

// resolveLocked answers (qname, qtype) the way a recursive resolver asked
// with CD=1 would: the final answer only (no referrals), CNAMEs followed
// across zones, DNSSEC records when do is set.
func (h *Hierarchy) resolveLocked(qname string, qtype uint16, do bool, netw string) (*result, error) {
	res := &result{}
	seen := map[string]bool{}
	name := canon(qname)
	strip := false
	for hop := 0; hop < maxChain; hop++ {
		z := h.zoneForLocked(name, qtype)
		if z == nil {
			// Outside every zone: nothing leaks to the outside world.
			res.rcode = dns.RcodeNameError
			return res, nil
		}
		if err := z.prepareLocked(); err != nil {
			return nil, err
		}
		// Faults also apply to later links of a CNAME chain, as when a
		// recursive resolver fails on the target's servers.
		switch f := h.responseFaultLocked(z, name, qtype); {
		case f == ForgeNXDomain:
			res.rcode = dns.RcodeNameError
			res.ns = append(res.ns, h.forgeLocked(z, name, do)...)
			return res, nil
		case f == Truncate && netw == "tcp":
		case f == StripDenial:
			strip = true
		case f != 0:
			res.fault = f
			return res, nil
		}
		target, rcode, ans, ns := h.lookupLocked(z, name, qtype, do)
		if strip {
			ns = withoutDenial(ns)
		}
		res.answer = append(res.answer, ans...)
		// The authority section collects wildcard proofs of every link
		// and the denial of the last one.
		res.ns = append(res.ns, ns...)
		if target == "" {
			res.rcode = rcode
			return res, nil
		}
		seen[name] = true
		name = target
		if seen[name] {
			return res, nil // CNAME loop: return the chain as is
		}
	}
	return res, nil
}

// lookupLocked answers within one zone. A non-empty target means a CNAME
// was answered and must be followed.
func (h *Hierarchy) lookupLocked(z *Zone, name string, qtype uint16, do bool) (target string, rcode int, ans, ns []dns.RR) {
	signed := do && !z.cfg.Unsigned
	add := func(dst *[]dns.RR, set []dns.RR, owner string) {
		for _, rr := range set {
			c := dns.Copy(rr)
			c.Header().Name = owner
			*dst = append(*dst, c)
		}
		if signed && len(set) > 0 {
			for _, s := range h.sigsLocked(z, set[0].Header().Name, set[0].Header().Rrtype) {
				c := dns.Copy(s)
				c.Header().Name = owner
				*dst = append(*dst, c)
			}
		}
	}
	soa := func() {
		add(&ns, z.rrset(z.name, dns.TypeSOA), z.name)
	}
	denial := func(rrs ...dns.RR) {
		if !signed {
			return
		}
		seen := map[string]bool{}
		for _, rr := range rrs {
			if isNil(rr) || seen[rr.Header().Name] {
				continue
			}
			seen[rr.Header().Name] = true
			add(&ns, []dns.RR{rr}, rr.Header().Name)
		}
	}

	if z.names[name] {
		if set := z.answerSet(name, qtype); len(set) > 0 {
			for _, s := range set {
				add(&ans, s, name)
			}
			return "", dns.RcodeSuccess, ans, nil
		}
		if cn := z.rrset(name, dns.TypeCNAME); len(cn) > 0 {
			add(&ans, cn, name)
			return cn[0].(*dns.CNAME).Target, dns.RcodeSuccess, ans, nil
		}
		// NODATA (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3/§7.2.4).
		soa()
		if z.cfg.Denial.NSEC3 {
			if m := z.nsec3Matching(name); m != nil {
				denial(m)
			} else {
				// Opt-out delegation asked for DS: closest provable
				// encloser plus an opt-out NSEC3 covering the next closer.
				ce, nc := z.closestEncloser(name)
				denial(z.nsec3Matching(ce), z.nsec3Covering(nc))
			}
		} else {
			denial(z.nsec[name])
		}
		return "", dns.RcodeSuccess, nil, ns
	}
	if z.ents[name] {
		soa()
		if z.cfg.Denial.NSEC3 {
			denial(z.nsec3Matching(name))
		} else {
			denial(z.nsecCovering(name))
		}
		return "", dns.RcodeSuccess, nil, ns
	}

	// The name does not exist: wildcard expansion or NXDOMAIN (RFC 4592,
	// RFC 4035 §3.1.3.2-3, RFC 5155 §7.2.2, §7.2.5, §7.2.6).
	ce, nc := z.closestEncloser(name)
	wild := "*." + ce
	if ce == "." {
		wild = "*."
	}
	if z.names[wild] {
		var proof []dns.RR
		if z.cfg.Denial.NSEC3 {
			proof = []dns.RR{z.nsec3Covering(nc)}
		} else {
			proof = []dns.RR{z.nsecCovering(name)}
		}
		if set := z.answerSet(wild, qtype); len(set) > 0 {
			for _, s := range set {
				add(&ans, s, name)
			}
			denial(proof...)
			return "", dns.RcodeSuccess, ans, ns
		}
		if cn := z.rrset(wild, dns.TypeCNAME); len(cn) > 0 {
			add(&ans, cn, name)
			denial(proof...)
			return cn[0].(*dns.CNAME).Target, dns.RcodeSuccess, ans, ns
		}
		soa()
		if z.cfg.Denial.NSEC3 {
			denial(z.nsec3Matching(ce), z.nsec3Covering(nc), z.nsec3Matching(wild))
		} else {
			denial(z.nsecCovering(name), z.nsec[wild])
		}
		return "", dns.RcodeSuccess, nil, ns
	}
	soa()
	if z.cfg.Denial.NSEC3 {
		denial(z.nsec3Matching(ce), z.nsec3Covering(nc), z.nsec3Covering(wild))
	} else {
		denial(z.nsecCovering(name), z.nsecCovering(wild))
	}
	return "", dns.RcodeNameError, nil, ns
}

// answerSet returns the RRsets answering qtype at name (all of them for
// ANY).
func (z *Zone) answerSet(name string, qtype uint16) [][]dns.RR {
	if qtype == dns.TypeANY {
		var out [][]dns.RR
		for _, t := range sortTypes(z.types(name)) {
			if z.isCut(name) && t != dns.TypeDS {
				continue
			}
			out = append(out, z.rrset(name, t))
		}
		return out
	}
	if set := z.rrset(name, qtype); len(set) > 0 {
		return [][]dns.RR{set}
	}
	return nil
}

// closestEncloser returns the closest existing ancestor of name and the
// next closer name (one label longer, towards name), RFC 5155 §7.2.1.
func (z *Zone) closestEncloser(name string) (ce, nc string) {
	nc = name
	for ce = parentName(name); ce != "" && ce != z.name && !z.exists(ce); ce = parentName(ce) {
		nc = ce
	}
	if ce == "" {
		ce = z.name
	}
	return ce, nc
}

// withoutDenial drops NSEC and NSEC3 records and the RRSIGs covering them.
func withoutDenial(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.NSEC, *dns.NSEC3:
			continue
		case *dns.RRSIG:
			if v.TypeCovered == dns.TypeNSEC || v.TypeCovered == dns.TypeNSEC3 {
				continue
			}
		}
		out = append(out, rr)
	}
	return out
}

// isNil catches the typed nil pointers nsecCovering and friends return
// when no record applies.
func isNil(rr dns.RR) bool {
	switch v := rr.(type) {
	case nil:
		return true
	case *dns.NSEC:
		return v == nil
	case *dns.NSEC3:
		return v == nil
	}
	return false
}
