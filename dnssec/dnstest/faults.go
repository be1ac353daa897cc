package dnstest

import (
	"encoding/base64"
	"time"

	"github.com/miekg/dns"
)

// Fault is a breakage knob. Signature faults change the RRSIGs served with
// matching RRsets; response faults change the whole response to a matching
// query.
type Fault int

const (
	// Signature faults: matched against the owner and type of each RRset
	// put in a response (answer or authority, DS and DNSKEY included).

	// ExpiredSig re-signs with an expiration 1 hour before Now.
	ExpiredSig Fault = iota + 1
	// NotYetValidSig re-signs with an inception 1 hour after Now.
	NotYetValidSig
	// CorruptSig flips one bit of the signature.
	CorruptSig
	// WrongKeySig re-signs with a key of the same algorithm that is not in
	// the zone's DNSKEY RRset.
	WrongKeySig
	// StripSigs removes the RRSIGs, as a non-validating resolver or a
	// stripping attacker would.
	StripSigs

	// Response faults: matched against the query name and type.

	// ServFail answers SERVFAIL.
	ServFail
	// Refused answers REFUSED.
	Refused
	// Timeout sends no response at all.
	Timeout
	// Truncate sets TC with empty sections over UDP; TCP answers normally.
	Truncate
	// TruncateAlways sets TC with empty sections over TCP too, so the
	// client can never get the answer.
	TruncateAlways
	// ForgeNXDomain answers NXDOMAIN for an existing name using the zone's
	// own, validly signed denial records: with NSEC3, the record whose
	// owner hash EQUALS the query hash stands in for the next-closer
	// "cover" (miekg/dns NSEC3.Cover accepts it, DANE.md §1.8); with NSEC,
	// the NSEC owned by the query name, which does not cover it. A correct
	// validator answers bogus.
	ForgeNXDomain
	// StripDenial removes the NSEC/NSEC3 records (and their RRSIGs) from
	// NXDOMAIN, NODATA and wildcard answers: an unproven denial or
	// expansion, which a validator must call bogus in a signed zone (RFC
	// 4035 §5.4, RFC 5155 §8.8; DANE.md §2.5 items 3 and 6).
	StripDenial
)

var faultNames = map[Fault]string{
	ExpiredSig: "ExpiredSig", NotYetValidSig: "NotYetValidSig", CorruptSig: "CorruptSig",
	WrongKeySig: "WrongKeySig", StripSigs: "StripSigs", ServFail: "ServFail", Refused: "Refused",
	Timeout: "Timeout", Truncate: "Truncate", TruncateAlways: "TruncateAlways", ForgeNXDomain: "ForgeNXDomain",
	StripDenial: "StripDenial",
}

func (f Fault) String() string {
	if s, ok := faultNames[f]; ok {
		return s
	}
	return "Fault(?)"
}

func (f Fault) isSig() bool { return f >= ExpiredSig && f <= StripSigs }

type fault struct {
	name  string // owner/query name, or zone apex when zone is set
	qtype uint16 // 0 = every type
	zone  bool
	f     Fault
}

// Break installs fault f for RRsets or queries at name with type qtype
// (0 = every type). Safe to call at any time, also while serving.
func (h *Hierarchy) Break(name string, qtype uint16, f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, fault{name: canon(name), qtype: qtype, f: f})
}

// BreakZone installs fault f for every RRset signed by zone (signature
// faults) or every query answered from it (response faults).
func (h *Hierarchy) BreakZone(zone string, f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, fault{name: canon(zone), zone: true, f: f})
}

// Unbreak removes the faults installed by Break(name, qtype, ...) and
// BreakZone(name, ...).
func (h *Hierarchy) Unbreak(name string, qtype uint16) {
	h.mu.Lock()
	defer h.mu.Unlock()
	name = canon(name)
	out := h.faults[:0]
	for _, f := range h.faults {
		if f.name == name && (f.zone || f.qtype == qtype) {
			continue
		}
		out = append(out, f)
	}
	h.faults = out
}

// Fix removes every fault installed by Break and BreakZone.
func (h *Hierarchy) Fix() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

func (h *Hierarchy) faultLocked(z *Zone, name string, qtype uint16, sig bool) Fault {
	for i := len(h.faults) - 1; i >= 0; i-- {
		f := h.faults[i]
		if f.f.isSig() != sig {
			continue
		}
		if f.zone && f.name == z.name {
			return f.f
		}
		if !f.zone && f.name == name && (f.qtype == 0 || f.qtype == qtype) {
			return f.f
		}
	}
	return 0
}

func (h *Hierarchy) responseFaultLocked(z *Zone, name string, qtype uint16) Fault {
	return h.faultLocked(z, name, qtype, false)
}

// sigsLocked returns the RRSIGs to serve with RRset (name, rtype) of z,
// after signature faults and the KeyTrap knob.
func (h *Hierarchy) sigsLocked(z *Zone, name string, rtype uint16) []dns.RR {
	sigs := h.faultSigsLocked(z, name, rtype)
	if z.trapSigs == 0 || len(sigs) == 0 || rtype == dns.TypeDNSKEY {
		return sigs
	}
	// KeyTrap: garbage signatures claiming the ZSK's tag come first, so a
	// validator without budgets tries every one against every colliding
	// key before reaching the real one.
	var out []dns.RR
	for i := range z.trapSigs {
		s := dns.Copy(sigs[0]).(*dns.RRSIG)
		raw, _ := base64.StdEncoding.DecodeString(s.Signature)
		for j := range raw {
			raw[j] ^= byte(i + 1)
		}
		s.Signature = base64.StdEncoding.EncodeToString(raw)
		out = append(out, s)
	}
	return append(out, sigs...)
}

func (h *Hierarchy) faultSigsLocked(z *Zone, name string, rtype uint16) []dns.RR {
	good := z.sigs[rrKey{name, rtype}]
	f := h.faultLocked(z, name, rtype, true)
	if f == 0 || len(good) == 0 {
		return good
	}
	set := z.rrset(name, rtype)
	if rtype == dns.TypeNSEC {
		set = []dns.RR{z.nsec[name]}
	} else if rtype == dns.TypeNSEC3 {
		for _, n := range z.nsec3 {
			if n.Hdr.Name == name {
				set = []dns.RR{n}
			}
		}
	}
	now := h.opts.Now()
	k := z.signerFor(rtype)
	inc, exp := now.Add(-h.opts.Inception), now.Add(h.opts.Validity)
	switch f {
	case StripSigs:
		return nil
	case ExpiredSig:
		inc, exp = now.Add(-48*time.Hour), now.Add(-time.Hour)
	case NotYetValidSig:
		inc, exp = now.Add(time.Hour), now.Add(48*time.Hour)
	case CorruptSig:
		s := dns.Copy(good[0]).(*dns.RRSIG)
		raw, err := base64.StdEncoding.DecodeString(s.Signature)
		if err != nil || len(raw) == 0 {
			return nil
		}
		raw[len(raw)/2] ^= 0x01
		s.Signature = base64.StdEncoding.EncodeToString(raw)
		return []dns.RR{s}
	case WrongKeySig:
		if z.rogue == nil {
			var err error
			z.rogue, err = h.newKey(z.name, z.cfg.Keys, k.dnskey.Flags, false, "rogue")
			if err != nil {
				h.t.Errorf("dnstest: rogue key for %s: %v", z.name, err)
				return nil
			}
		}
		k = z.rogue
	}
	sig, err := z.signSet(set, k, inc, exp)
	if err != nil {
		h.t.Errorf("dnstest: re-signing %s %s: %v", name, dns.TypeToString[rtype], err)
		return nil
	}
	return []dns.RR{sig}
}

// forgeLocked builds the authority section of a forged NXDOMAIN for name
// (see ForgeNXDomain). Every record in it is genuine and validly signed.
func (h *Hierarchy) forgeLocked(z *Zone, name string, do bool) []dns.RR {
	var ns []dns.RR
	add := func(rrs ...dns.RR) {
		seen := map[string]bool{}
		for _, rr := range rrs {
			if isNil(rr) || seen[rr.Header().Name] {
				continue
			}
			seen[rr.Header().Name] = true
			ns = append(ns, dns.Copy(rr))
			if do && !z.cfg.Unsigned {
				for _, s := range h.sigsLocked(z, rr.Header().Name, rr.Header().Rrtype) {
					ns = append(ns, dns.Copy(s))
				}
			}
		}
	}
	add(z.rrset(z.name, dns.TypeSOA)...)
	if z.cfg.Unsigned {
		return ns
	}
	ce := parentName(name)
	for ce != z.name && !z.exists(ce) {
		ce = parentName(ce)
	}
	wild := "*." + ce
	if z.cfg.Denial.NSEC3 {
		// Closest encloser match, the query name's own NSEC3 as the
		// "covering" next closer, and the real wildcard cover.
		add(z.nsec3Matching(ce), z.nsec3Matching(name), z.nsec3Covering(wild))
	} else {
		n := z.nsec[name]
		if n == nil {
			n = z.nsecCovering(name)
		}
		add(n, z.nsecCovering(wild))
	}
	return ns
}

// SetDS replaces the DS RRset the parent publishes for zone, re-signed by
// the parent. With no records the delegation becomes insecure, with a
// valid signed proof that no DS exists. Use it for a DS that matches no
// DNSKEY (bogus) or one with an unsupported algorithm (insecure).
func (h *Hierarchy) SetDS(zone string, ds ...*dns.DS) {
	h.mu.Lock()
	defer h.mu.Unlock()
	zone = canon(zone)
	z := h.zones[zone]
	if z == nil || z.parent == nil {
		h.t.Errorf("dnstest: SetDS: no delegated zone %s", zone)
		return
	}
	p := z.parent
	if m := p.rrs[zone]; m != nil {
		delete(m, dns.TypeDS)
	}
	for _, d := range ds {
		c := dns.Copy(d).(*dns.DS)
		c.Hdr = dns.RR_Header{Name: zone, Rrtype: dns.TypeDS, Class: dns.ClassINET, Ttl: z.cfg.TTL}
		p.addLocked(c)
	}
	p.dirty = true
}

// WrongDS returns a DS for zone's KSK whose digest has one bit flipped: it
// matches no DNSKEY.
func (h *Hierarchy) WrongDS(zone string) *dns.DS {
	z := h.Zone(zone)
	ds := z.DNSKEY(KSK).ToDS(dns.SHA256)
	b := []byte(ds.Digest)
	if b[0] == '0' {
		b[0] = '1'
	} else {
		b[0] = '0'
	}
	ds.Digest = string(b)
	return ds
}

// UnsupportedDS returns a DS for zone's KSK with the algorithm field set
// to 16 (Ed448, which miekg/dns cannot validate). A parent publishing only
// such a DS makes the zone insecure (RFC 4035 §5.2, RFC 6840 §5.2).
func (h *Hierarchy) UnsupportedDS(zone string) *dns.DS {
	z := h.Zone(zone)
	k := z.DNSKEY(KSK)
	k.Algorithm = dns.ED448
	return k.ToDS(dns.SHA256)
}

// DropDNSKEY leaves the key with the given role out of the zone's DNSKEY
// RRset (signatures by it are still served, so they match no key). Drop
// the KSK and the DS points at nothing; drop the ZSK and the data
// signatures have no key.
func (h *Hierarchy) DropDNSKEY(zone string, role KeyRole) {
	h.mu.Lock()
	defer h.mu.Unlock()
	z := h.zones[canon(zone)]
	z.dropped[role] = true
	z.dirty = true
}

// RestoreDNSKEY undoes DropDNSKEY.
func (h *Hierarchy) RestoreDNSKEY(zone string, role KeyRole) {
	h.mu.Lock()
	defer h.mu.Unlock()
	z := h.zones[canon(zone)]
	delete(z.dropped, role)
	z.dirty = true
}

// SetDenial switches the zone's denial of existence (NSEC or NSEC3 and its
// parameters, e.g. iterations above the RFC 9276 limits) and re-signs. The
// parent's DS chain is unaffected.
func (h *Hierarchy) SetDenial(zone string, d Denial) {
	h.mu.Lock()
	defer h.mu.Unlock()
	z := h.zones[canon(zone)]
	z.cfg.Denial = d
	z.dirty = true
}

// KeyTrap publishes keys extra DNSKEYs in zone whose key tag collides with
// the ZSK's (same algorithm, garbage key material: RFC 4034 App. B tags
// are a checksum, so two bytes of the key set the tag), and serves sigs
// extra RRSIGs with that tag and garbage signatures before the real one on
// every ZSK-signed RRset. The answers stay valid, but only after
// keys*(sigs+1) verifications: the CVE-2023-50387 pattern that validator
// budgets must cut short. KeyTrap(zone, 0, 0) removes it.
func (h *Hierarchy) KeyTrap(zone string, keys, sigs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	z := h.zones[canon(zone)]
	z.trapKeys, z.trapSigs = nil, sigs
	if z.zsk == nil {
		return
	}
	tag := z.zsk.dnskey.KeyTag()
	pub, _ := base64.StdEncoding.DecodeString(z.zsk.dnskey.PublicKey)
	for i := range keys {
		k := dns.Copy(z.zsk.dnskey).(*dns.DNSKEY)
		raw := append([]byte(nil), pub...)
		raw[0] ^= byte(i + 1)
		raw[1] ^= byte((i + 1) >> 8)
		// Search the last two bytes for the colliding tag (at most 65536
		// cheap checksums).
		for v := range 1 << 16 {
			raw[len(raw)-2], raw[len(raw)-1] = byte(v>>8), byte(v)
			k.PublicKey = base64.StdEncoding.EncodeToString(raw)
			if k.KeyTag() == tag {
				break
			}
		}
		z.trapKeys = append(z.trapKeys, k)
	}
	z.dirty = true
}
