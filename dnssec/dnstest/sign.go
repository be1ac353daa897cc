package dnstest

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// denialTTL is the TTL of NSEC/NSEC3 records: the SOA minimum field
// AddZone writes (RFC 4034 §4, RFC 5155 §3, RFC 9077 §3).
const denialTTL = 300

// prepareLocked regenerates the zone's DNSSEC material after a change:
// DNSKEY RRset, signatures over every authoritative RRset, and the NSEC or
// NSEC3 chain. Zones are small, so the whole zone is re-signed.
func (z *Zone) prepareLocked() error {
	if !z.dirty {
		return nil
	}
	z.computeNames()
	z.sigs = map[rrKey][]dns.RR{}
	z.nsec, z.nsecOrder, z.nsec3, z.nsec3By, z.dnskeys = nil, nil, nil, nil, nil
	if z.cfg.Unsigned {
		z.dirty = false
		return nil
	}
	for _, role := range []KeyRole{KSK, ZSK} {
		k := z.key(role)
		if role == ZSK && k == z.ksk {
			continue
		}
		if !z.dropped[role] {
			z.dnskeys = append(z.dnskeys, dns.Copy(k.dnskey))
		}
	}
	for _, k := range z.trapKeys {
		z.dnskeys = append(z.dnskeys, dns.Copy(k))
	}
	now := z.h.opts.Now()
	inc, exp := now.Add(-z.h.opts.Inception), now.Add(z.h.opts.Validity)
	sign := func(set []dns.RR) error {
		if len(set) == 0 {
			return nil
		}
		h := set[0].Header()
		sig, err := z.signSet(set, z.signerFor(h.Rrtype), inc, exp)
		if err != nil {
			return fmt.Errorf("dnstest: signing %s %s: %w", h.Name, dns.TypeToString[h.Rrtype], err)
		}
		z.sigs[rrKey{h.Name, h.Rrtype}] = []dns.RR{sig}
		return nil
	}
	for name := range z.names {
		for t, set := range z.rrs[name] {
			if z.isCut(name) && t != dns.TypeDS {
				continue // delegation NS is not authoritative data (RFC 4035 §2.2)
			}
			if err := sign(set); err != nil {
				return err
			}
		}
	}
	if err := sign(z.dnskeys); err != nil {
		return err
	}
	if z.cfg.Denial.NSEC3 {
		z.buildNSEC3()
		if err := sign(z.rrset(z.name, dns.TypeNSEC3PARAM)); err != nil {
			return err
		}
		for _, n := range z.nsec3 {
			if err := sign([]dns.RR{n}); err != nil {
				return err
			}
		}
	} else {
		z.buildNSEC()
		for _, n := range z.nsec {
			if err := sign([]dns.RR{n}); err != nil {
				return err
			}
		}
	}
	z.dirty = false
	return nil
}

func (z *Zone) key(role KeyRole) *zoneKey {
	if role == KSK {
		return z.ksk
	}
	return z.zsk
}

// signerFor: the KSK signs the DNSKEY RRset, the ZSK everything else
// (RFC 6781 §3.1); with a CSK both are the same key.
func (z *Zone) signerFor(rtype uint16) *zoneKey {
	if rtype == dns.TypeDNSKEY {
		return z.ksk
	}
	return z.zsk
}

func (z *Zone) signSet(set []dns.RR, k *zoneKey, inc, exp time.Time) (*dns.RRSIG, error) {
	h := set[0].Header()
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Name: h.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: h.Ttl},
		Algorithm:  k.dnskey.Algorithm,
		SignerName: z.name,
		KeyTag:     k.dnskey.KeyTag(),
		OrigTtl:    h.Ttl,
		Inception:  uint32(inc.Unix()),
		Expiration: uint32(exp.Unix()),
	}
	if err := sig.Sign(k.priv, set); err != nil {
		return nil, err
	}
	return sig, nil
}

// computeNames finds the names the zone is authoritative for (cuts
// included, glue below cuts excluded) and its empty non-terminals.
func (z *Zone) computeNames() {
	z.names, z.ents = map[string]bool{}, map[string]bool{}
	for name := range z.rrs {
		if !z.belowCut(name) {
			z.names[name] = true
		}
	}
	for name := range z.names {
		for n := parentName(name); n != "" && n != z.name && dns.IsSubDomain(z.name, n); n = parentName(n) {
			if !z.names[n] {
				z.ents[n] = true
			}
		}
	}
}

func (z *Zone) isCut(name string) bool { return name != z.name && z.cuts[name] != nil }

// belowCut reports whether name lies strictly below a delegation (glue).
func (z *Zone) belowCut(name string) bool {
	for n := parentName(name); n != "" && n != z.name && dns.IsSubDomain(z.name, n); n = parentName(n) {
		if z.cuts[n] != nil {
			return true
		}
	}
	return false
}

// parentName strips the first label; "" for the root.
func parentName(name string) string {
	if name == "." {
		return ""
	}
	off, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[off:]
}

// rrset returns the RRset (name, t), generated records included.
func (z *Zone) rrset(name string, t uint16) []dns.RR {
	if name == z.name {
		switch t {
		case dns.TypeDNSKEY:
			return z.dnskeys
		case dns.TypeNSEC3PARAM:
			if z.cfg.Unsigned || !z.cfg.Denial.NSEC3 {
				return nil
			}
			d := z.cfg.Denial
			return []dns.RR{&dns.NSEC3PARAM{
				Hdr:  dns.RR_Header{Name: z.name, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET, Ttl: 0},
				Hash: dns.SHA1, Iterations: d.Iterations, SaltLength: uint8(len(d.Salt) / 2), Salt: saltField(d.Salt),
			}}
		}
	}
	return z.rrs[name][t]
}

// types lists the RR types present at name, generated apex types included.
func (z *Zone) types(name string) []uint16 {
	var ts []uint16
	for t := range z.rrs[name] {
		ts = append(ts, t)
	}
	if name == z.name && !z.cfg.Unsigned {
		if len(z.dnskeys) > 0 {
			ts = append(ts, dns.TypeDNSKEY)
		}
		if z.cfg.Denial.NSEC3 {
			ts = append(ts, dns.TypeNSEC3PARAM)
		}
	}
	return ts
}

func sortTypes(ts []uint16) []uint16 {
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	out := ts[:0]
	for i, t := range ts {
		if i == 0 || t != ts[i-1] {
			out = append(out, t)
		}
	}
	return out
}

// buildNSEC links every name in canonical order (RFC 4034 §4.1.1, §6.1);
// empty non-terminals get no NSEC. At a delegation the bitmap shows NS and
// DS (if any), so it proves the DS absent at an insecure cut (RFC 4035
// §5.2).
func (z *Zone) buildNSEC() {
	for n := range z.names {
		z.nsecOrder = append(z.nsecOrder, n)
	}
	sort.Slice(z.nsecOrder, func(i, j int) bool { return canonCompare(z.nsecOrder[i], z.nsecOrder[j]) < 0 })
	z.nsec = map[string]*dns.NSEC{}
	for i, n := range z.nsecOrder {
		next := z.nsecOrder[(i+1)%len(z.nsecOrder)]
		ts := append(z.types(n), dns.TypeRRSIG, dns.TypeNSEC)
		z.nsec[n] = &dns.NSEC{
			Hdr:        dns.RR_Header{Name: n, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: denialTTL},
			NextDomain: next,
			TypeBitMap: sortTypes(ts),
		}
	}
}

// buildNSEC3 hashes every name and empty non-terminal (RFC 5155 §7.1);
// with opt-out, delegations without DS are left out of the chain.
func (z *Zone) buildNSEC3() {
	d := z.cfg.Denial
	type entry struct {
		hash string
		ts   []uint16
	}
	var es []entry
	add := func(n string, ts []uint16) {
		es = append(es, entry{dns.HashName(n, dns.SHA1, d.Iterations, saltField(d.Salt)), sortTypes(ts)})
	}
	for n := range z.names {
		ts := z.types(n)
		if z.isCut(n) {
			hasDS := len(z.rrs[n][dns.TypeDS]) > 0
			if !hasDS && d.OptOut {
				continue
			}
			if hasDS {
				ts = append(ts, dns.TypeRRSIG)
			}
		} else {
			ts = append(ts, dns.TypeRRSIG)
		}
		add(n, ts)
	}
	for n := range z.ents {
		add(n, nil)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].hash < es[j].hash })
	var flags uint8
	if d.OptOut {
		flags = 1
	}
	z.nsec3By = map[string]*dns.NSEC3{}
	for i, e := range es {
		owner := strings.ToLower(e.hash) + "." + z.name
		if z.name == "." {
			owner = strings.ToLower(e.hash) + "."
		}
		n3 := &dns.NSEC3{
			Hdr:  dns.RR_Header{Name: owner, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: denialTTL},
			Hash: dns.SHA1, Flags: flags, Iterations: d.Iterations,
			SaltLength: uint8(len(d.Salt) / 2), Salt: saltField(d.Salt),
			HashLength: 20, NextDomain: es[(i+1)%len(es)].hash,
			TypeBitMap: e.ts,
		}
		z.nsec3 = append(z.nsec3, n3)
		z.nsec3By[e.hash] = n3
	}
}

// saltField maps "" to the empty salt; miekg/dns keeps the salt as hex
// text, upper or lower case alike.
func saltField(s string) string {
	if s == "-" {
		return ""
	}
	return strings.ToUpper(s)
}

// exists reports whether name exists in the zone (records or an empty
// non-terminal), RFC 4592 §2.2.2.
func (z *Zone) exists(name string) bool { return z.names[name] || z.ents[name] }

// nsecCovering returns the NSEC whose owner is the canonical predecessor of
// name (or equal to it).
func (z *Zone) nsecCovering(name string) *dns.NSEC {
	if len(z.nsecOrder) == 0 { // an unsigned zone has no chain
		return nil
	}
	i := sort.Search(len(z.nsecOrder), func(i int) bool { return canonCompare(z.nsecOrder[i], name) > 0 })
	if i == 0 {
		i = len(z.nsecOrder)
	}
	return z.nsec[z.nsecOrder[i-1]]
}

func (z *Zone) hash(name string) string {
	d := z.cfg.Denial
	return dns.HashName(name, dns.SHA1, d.Iterations, saltField(d.Salt))
}

// nsec3Matching returns the NSEC3 whose owner hash equals hash(name).
func (z *Zone) nsec3Matching(name string) *dns.NSEC3 { return z.nsec3By[z.hash(name)] }

// nsec3Covering returns the NSEC3 whose interval strictly covers hash(name)
// (owner < hash < next, with wrap-around), or nil if the hash matches.
func (z *Zone) nsec3Covering(name string) *dns.NSEC3 {
	h := z.hash(name)
	if z.nsec3By[h] != nil || len(z.nsec3) == 0 {
		return nil
	}
	i := sort.Search(len(z.nsec3), func(i int) bool { return ownerHash(z.nsec3[i]) > h })
	if i == 0 {
		i = len(z.nsec3)
	}
	return z.nsec3[i-1]
}

func ownerHash(n *dns.NSEC3) string {
	l := n.Hdr.Name
	if i := strings.IndexByte(l, '.'); i >= 0 {
		l = l[:i]
	}
	return strings.ToUpper(l)
}
