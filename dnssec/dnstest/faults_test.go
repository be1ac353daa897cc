package dnstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"sort"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestSignatureFaults(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	keys := keysOf(t, f, h, "example.test.")
	const name = "mail.example.test."
	sigOf := func() (*dns.RRSIG, []dns.RR) {
		t.Helper()
		r := query(t, f.Addr, name, dns.TypeA, "udp")
		var set []dns.RR
		var sig *dns.RRSIG
		for _, rr := range r.Answer {
			if s, ok := rr.(*dns.RRSIG); ok {
				sig = s
			} else {
				set = append(set, rr)
			}
		}
		return sig, set
	}
	verify := func(s *dns.RRSIG, set []dns.RR) error {
		for _, k := range keys {
			if k.KeyTag() == s.KeyTag {
				return s.Verify(k, set)
			}
		}
		return errors.New("no key with the tag")
	}

	h.Break(name, dns.TypeA, ExpiredSig)
	if s, set := sigOf(); verify(s, set) != nil || s.ValidityPeriod(fixedNow) || fixedNow.Unix() < int64(s.Expiration) {
		t.Errorf("ExpiredSig: %v", s)
	}
	h.Unbreak(name, dns.TypeA)
	h.Break(name, dns.TypeA, NotYetValidSig)
	if s, set := sigOf(); verify(s, set) != nil || s.ValidityPeriod(fixedNow) || fixedNow.Unix() > int64(s.Inception) {
		t.Errorf("NotYetValidSig: %v", s)
	}
	h.Break(name, dns.TypeA, CorruptSig) // the latest fault wins
	if s, set := sigOf(); !s.ValidityPeriod(fixedNow) || verify(s, set) == nil {
		t.Errorf("CorruptSig verifies")
	}
	h.Break(name, 0, WrongKeySig)
	if s, set := sigOf(); verify(s, set) == nil {
		t.Errorf("WrongKeySig: key tag %d is in the DNSKEY set", s.KeyTag)
	}
	h.Unbreak(name, 0)
	h.Unbreak(name, dns.TypeA)
	if s, set := sigOf(); verify(s, set) != nil || !s.ValidityPeriod(fixedNow) {
		t.Errorf("Unbreak left a fault")
	}
	h.BreakZone("example.test.", StripSigs)
	if s, _ := sigOf(); s != nil {
		t.Errorf("StripSigs left %v", s)
	}
	r := query(t, f.Addr, "nx.mail.example.test.", dns.TypeA, "udp")
	if len(rrsigs(r.Ns)) != 0 || len(r.Ns) == 0 {
		t.Errorf("StripSigs on denial: %v", r.Ns)
	}
	h.Fix()
	if s, _ := sigOf(); s == nil {
		t.Errorf("Fix left StripSigs")
	}
}

func TestResponseFaults(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	const tlsa = "_25._tcp.mail.example.test."
	h.Break(tlsa, dns.TypeTLSA, ServFail)
	if r := query(t, f.Addr, tlsa, dns.TypeTLSA, "udp"); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("ServFail: %v", r)
	}
	if r := query(t, f.Addr, tlsa, dns.TypeA, "udp"); r.Rcode != dns.RcodeSuccess {
		t.Errorf("ServFail leaked to another type: %v", r)
	}
	h.Break(tlsa, dns.TypeTLSA, Refused)
	if r := query(t, f.Addr, tlsa, dns.TypeTLSA, "udp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("Refused: %v", r)
	}
	h.Break(tlsa, dns.TypeTLSA, Truncate)
	if r := query(t, f.Addr, tlsa, dns.TypeTLSA, "udp"); !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("Truncate udp: %v", r)
	}
	if r := query(t, f.Addr, tlsa, dns.TypeTLSA, "tcp"); r.Truncated || len(r.Answer) != 2 {
		t.Errorf("Truncate tcp: %v", r)
	}
	h.Break(tlsa, dns.TypeTLSA, TruncateAlways)
	if r := query(t, f.Addr, tlsa, dns.TypeTLSA, "tcp"); !r.Truncated {
		t.Errorf("TruncateAlways tcp: %v", r)
	}
	h.Break(tlsa, dns.TypeTLSA, Timeout)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(tlsa, dns.TypeTLSA)
	if _, _, err := c.Exchange(m, f.Addr); err == nil {
		t.Errorf("Timeout answered")
	}
	// A CNAME whose target fails makes the whole answer fail.
	h.Fix()
	h.Break("www.n3.test.", dns.TypeA, ServFail)
	if r := query(t, f.Addr, "alias.example.test.", dns.TypeA, "udp"); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("ServFail on CNAME target: %v", r)
	}
	// Unproven denial and wildcard expansion.
	h.Fix()
	h.Break("nx.mail.example.test.", 0, StripDenial)
	h.Break("x.example.test.", dns.TypeTXT, StripDenial)
	for _, q := range []string{"nx.mail.example.test.", "x.example.test."} {
		r := query(t, f.Addr, q, dns.TypeTXT, "udp")
		if len(r.Ns) != 0 && q == "x.example.test." || len(r.Ns) != 2 && q == "nx.mail.example.test." {
			t.Errorf("StripDenial %s: %v", q, r.Ns)
		}
		for _, rr := range r.Ns {
			if rr.Header().Rrtype != dns.TypeSOA && rr.Header().Rrtype != dns.TypeRRSIG {
				t.Errorf("StripDenial left %v", rr)
			}
		}
	}
	// Zone-wide.
	h.BreakZone("example.test.", Refused)
	if r := query(t, f.Addr, "example.test.", dns.TypeMX, "udp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("BreakZone Refused: %v", r)
	}
}

func TestForgeNXDomain(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	// NSEC3: the query name's own NSEC3 passes miekg's Cover but not a
	// strict cover test.
	const name = "_25._tcp.www.n3.test."
	keys := keysOf(t, f, h, "n3.test.")
	h.Break(name, dns.TypeTLSA, ForgeNXDomain)
	r := query(t, f.Addr, name, dns.TypeTLSA, "udp")
	if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
		t.Fatalf("forged: %v", r)
	}
	verifySigs(t, r.Ns, keys)
	trap := false
	for _, rr := range r.Ns {
		if n, ok := rr.(*dns.NSEC3); ok && n.Match(name) && n.Cover(name) && !strictCover(n, name) {
			trap = true
		}
	}
	if !trap {
		t.Errorf("no NSEC3 matching the query hash: %v", r.Ns)
	}
	// NSEC: the NSEC owned by the name, which does not cover it.
	const nname = "_25._tcp.mail.example.test."
	h.Break(nname, dns.TypeTLSA, ForgeNXDomain)
	r = query(t, f.Addr, nname, dns.TypeTLSA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("forged nsec: %v", r)
	}
	verifySigs(t, r.Ns, keysOf(t, f, h, "example.test."))
	for _, rr := range r.Ns {
		if n, ok := rr.(*dns.NSEC); ok && nsecCovers(n, nname) {
			t.Errorf("forged NSEC really covers %s: %v", nname, n)
		}
	}
}

func TestZoneKnobs(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	const zone = "example.test."
	good := h.DS(zone)
	ksk := h.Zone(zone).DNSKEY(KSK)
	if len(good) != 1 || good[0].Digest != ksk.ToDS(dns.SHA256).Digest {
		t.Fatalf("DS %v does not match the KSK", good)
	}
	// Wrong DS: signed by the parent, matches no key.
	h.SetDS(zone, h.WrongDS(zone))
	r := query(t, f.Addr, zone, dns.TypeDS, "udp")
	verifySigs(t, r.Answer, keysOf(t, f, h, "test."))
	if d := r.Answer[0].(*dns.DS); d.Digest == good[0].Digest {
		t.Errorf("WrongDS unchanged")
	}
	// Unsupported algorithm.
	h.SetDS(zone, h.UnsupportedDS(zone))
	if d := query(t, f.Addr, zone, dns.TypeDS, "udp").Answer[0].(*dns.DS); d.Algorithm != dns.ED448 {
		t.Errorf("UnsupportedDS: %v", d)
	}
	// No DS: NODATA proven by the parent.
	h.SetDS(zone)
	if r := query(t, f.Addr, zone, dns.TypeDS, "udp"); len(r.Answer) != 0 || len(r.Ns) < 2 {
		t.Errorf("no DS: %v", r)
	}
	h.SetDS(zone, good...)
	keysOf(t, f, h, zone)

	h.DropDNSKEY(zone, ZSK)
	r = query(t, f.Addr, zone, dns.TypeDNSKEY, "udp")
	if len(r.Answer) != 2 { // the KSK and its RRSIG
		t.Errorf("DropDNSKEY ZSK: %v", r.Answer)
	}
	h.RestoreDNSKEY(zone, ZSK)
	h.DropDNSKEY(zone, KSK)
	r = query(t, f.Addr, zone, dns.TypeDNSKEY, "udp")
	if len(r.Answer) != 2 || r.Answer[0].(*dns.DNSKEY).Flags != 256 {
		t.Errorf("DropDNSKEY KSK: %v", r.Answer)
	}
	h.RestoreDNSKEY(zone, KSK)

	h.SetDenial(zone, Denial{NSEC3: true, Iterations: 500})
	r = query(t, f.Addr, "nx.mail.example.test.", dns.TypeA, "udp")
	n3 := 0
	for _, rr := range r.Ns {
		if n, ok := rr.(*dns.NSEC3); ok && n.Iterations == 500 {
			n3++
		}
	}
	if n3 == 0 {
		t.Errorf("SetDenial: %v", r.Ns)
	}
}

func TestHugeExponent(t *testing.T) {
	t.Parallel()
	h := New(t, Options{Now: func() time.Time { return fixedNow }, Keys: testKeys})
	h.AddZone("lv.", ZoneConfig{Keys: KeyConfig{Algorithm: dns.RSASHA256, HugeExponent: true}})
	f := h.Serve(t)
	r := query(t, f.Addr, "lv.", dns.TypeDNSKEY, "udp")
	var ksk *dns.DNSKEY
	var sig *dns.RRSIG
	var set []dns.RR
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.DNSKEY:
			set = append(set, v)
			if v.Flags == 257 {
				ksk = v
			}
		case *dns.RRSIG:
			sig = v
		}
	}
	if ksk == nil || sig == nil {
		t.Fatalf("%v", r)
	}
	// miekg/dns refuses the key: the validator must call it unsupported.
	if err := sig.Verify(ksk, set); !errors.Is(err, dns.ErrKey) {
		t.Errorf("Verify with a huge exponent: %v", err)
	}
	// Yet the signature is mathematically valid: s^e mod n is the PKCS #1
	// v1.5 encoding of the signed data's SHA-256 (RFC 3110, RFC 5702).
	raw, _ := base64.StdEncoding.DecodeString(ksk.PublicKey)
	el := int(raw[0])
	e, n := new(big.Int).SetBytes(raw[1:1+el]), new(big.Int).SetBytes(raw[1+el:])
	if el != 5 || e.Cmp(big.NewInt(1<<31-1)) <= 0 {
		t.Fatalf("exponent %v (%d bytes)", e, el)
	}
	sigBytes, _ := base64.StdEncoding.DecodeString(sig.Signature)
	em := new(big.Int).Exp(new(big.Int).SetBytes(sigBytes), e, n).FillBytes(make([]byte, len(sigBytes)))
	var wire bytes.Buffer
	sigCopy := dns.Copy(sig).(*dns.RRSIG)
	sigCopy.Signature = ""
	buf := make([]byte, 4096)
	off, err := dns.PackRR(sigCopy, buf, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// RRSIG RDATA without the signature = packed RR minus its header.
	hdrLen := off - int(sigCopy.Hdr.Rdlength)
	wire.Write(buf[hdrLen:off])
	for _, k := range canonicalKeys(t, set) {
		wire.Write(k)
	}
	sum := sha256.Sum256(wire.Bytes())
	if !bytes.HasSuffix(em, sum[:]) || em[0] != 0 || em[1] != 1 {
		t.Errorf("huge-exponent signature does not verify")
	}
}

func TestSecondFront(t *testing.T) {
	t.Parallel()
	h, good := bed(t)
	bad := h.Serve(t)
	bad.SetFault(ServFail)
	if r := query(t, bad.Addr, "example.test.", dns.TypeMX, "udp"); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("bad front: %v", r)
	}
	if r := query(t, good.Addr, "example.test.", dns.TypeMX, "udp"); r.Rcode != dns.RcodeSuccess {
		t.Errorf("good front: %v", r)
	}
	if good.Total() != 1 || bad.Total() != 1 {
		t.Errorf("logs are per front: %d %d", good.Total(), bad.Total())
	}
	bad.SetFault(Truncate)
	if r := query(t, bad.Addr, "example.test.", dns.TypeMX, "udp"); !r.Truncated {
		t.Errorf("front Truncate udp: %v", r)
	}
	if r := query(t, bad.Addr, "example.test.", dns.TypeMX, "tcp"); r.Truncated || len(r.Answer) != 2 {
		t.Errorf("front Truncate tcp: %v", r)
	}
	bad.Close()
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeMX)
	if _, _, err := c.Exchange(m, bad.Addr); err == nil {
		t.Errorf("closed front answered")
	}
}

// canonicalKeys packs each DNSKEY in canonical form (RFC 4034 §6.2, §6.3:
// lower-case owner, original TTL, sorted by RDATA).
func canonicalKeys(t *testing.T, set []dns.RR) [][]byte {
	t.Helper()
	var out [][]byte
	for _, rr := range set {
		c := dns.Copy(rr)
		buf := make([]byte, 4096)
		off, err := dns.PackRR(c, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:off])
	}
	sort.Slice(out, func(i, j int) bool {
		// Headers are identical: the order is the RDATA order.
		return bytes.Compare(out[i], out[j]) < 0
	})
	return out
}

func TestKeyTrap(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	const zone = "example.test."
	zsk := h.Zone(zone).DNSKEY(ZSK)
	h.KeyTrap(zone, 5, 3)
	keys := keysOf(t, f, h, zone) // still validly signed by the KSK
	colliding := 0
	for _, k := range keys {
		if k.KeyTag() == zsk.KeyTag() {
			colliding++
		}
	}
	if len(keys) != 7 || colliding != 6 {
		t.Fatalf("%d keys, %d with tag %d", len(keys), colliding, zsk.KeyTag())
	}
	r := query(t, f.Addr, zone, dns.TypeMX, "udp")
	sigs := rrsigs(r.Answer)
	valid := 0
	for _, s := range sigs {
		for _, k := range keys {
			if s.KeyTag == k.KeyTag() && s.Verify(k, r.Answer[:1]) == nil {
				valid++
			}
		}
	}
	if len(sigs) != 4 || valid != 1 {
		t.Errorf("%d sigs, %d valid (key, sig) pairs", len(sigs), valid)
	}
	h.KeyTrap(zone, 0, 0)
	if keys := keysOf(t, f, h, zone); len(keys) != 2 {
		t.Errorf("KeyTrap not removed: %d keys", len(keys))
	}
}
