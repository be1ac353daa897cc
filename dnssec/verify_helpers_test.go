package dnssec

import (
	"crypto"
	"encoding/base64"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Fixtures for the validation tests: keys, signatures and NSEC/NSEC3 chains
// built with miekg/dns, no network.

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type testKey struct {
	key  *dns.DNSKEY
	priv crypto.Signer
}

var (
	keyMu    sync.Mutex
	keyCache = map[string]testKey{}
)

// newKey returns a key of zone with the given flags and algorithm. Keys are
// generated once per (algorithm, flags, slot) and re-owned, so tests stay
// fast; slot tells apart keys that must differ.
func newKey(t testing.TB, zone string, alg uint8, flags uint16, slot int) testKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	id := string(rune(alg)) + "/" + string(rune(flags)) + "/" + string(rune(slot))
	k, ok := keyCache[id]
	if !ok {
		dk := &dns.DNSKEY{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags: flags, Protocol: 3, Algorithm: alg}
		bits := 256
		switch alg {
		case dns.RSASHA256, dns.RSASHA512, dns.RSASHA1:
			bits = 1024
		case dns.ECDSAP384SHA384:
			bits = 384
		}
		priv, err := dk.Generate(bits)
		if err != nil {
			t.Fatal(err)
		}
		k = testKey{key: dk, priv: priv.(crypto.Signer)}
		keyCache[id] = k
	}
	c := *k.key
	c.Hdr.Name = dns.Fqdn(zone)
	return testKey{key: &c, priv: k.priv}
}

// sign makes an RRSIG over rrset valid from testNow-1h to testNow+1d
// unless inc/exp are given (non-zero).
func sign(t testing.TB, k testKey, rrset []dns.RR, inc, exp uint32) *dns.RRSIG {
	t.Helper()
	h := rrset[0].Header()
	if inc == 0 && exp == 0 {
		inc, exp = uint32(testNow.Add(-time.Hour).Unix()), uint32(testNow.Add(24*time.Hour).Unix())
	}
	sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: h.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: h.Ttl},
		TypeCovered: h.Rrtype, Algorithm: k.key.Algorithm, OrigTtl: h.Ttl,
		Inception: inc, Expiration: exp, KeyTag: k.key.KeyTag(), SignerName: k.key.Hdr.Name}
	if err := sig.Sign(k.priv, rrset); err != nil {
		t.Fatal(err)
	}
	return sig
}

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return r
}

func rrs(t testing.TB, ss ...string) []dns.RR {
	var out []dns.RR
	for _, s := range ss {
		out = append(out, rr(t, s))
	}
	return out
}

// rename returns copies of rrset and sig owned by owner: what a server does
// when it expands a wildcard (RFC 4034 §3.1.3, RFC 4035 §5.3.4).
func rename(rrset []dns.RR, sig *dns.RRSIG, owner string) ([]dns.RR, *dns.RRSIG) {
	var out []dns.RR
	for _, r := range rrset {
		c := dns.Copy(r)
		c.Header().Name = owner
		out = append(out, c)
	}
	s := dns.Copy(sig).(*dns.RRSIG)
	s.Hdr.Name = owner
	return out, s
}

func keyRRs(ks ...testKey) []dns.RR {
	var out []dns.RR
	for _, k := range ks {
		out = append(out, k.key)
	}
	return out
}

func keysOf(ks ...testKey) []*dns.DNSKEY {
	var out []*dns.DNSKEY
	for _, k := range ks {
		out = append(out, k.key)
	}
	return out
}

// rsaKeyWithExponent builds an RSA DNSKEY (RFC 3110 §2) with a 5-byte
// exponent, which miekg/dns cannot parse: like the .lv keys with
// e = 2^32+1 (DANE.md §2.5 item 7).
func rsaKeyWithExponent(zone string, flags uint16) *dns.DNSKEY {
	buf := []byte{5, 1, 0, 0, 0, 0x0f}
	mod := make([]byte, 128)
	for i := range mod {
		mod[i] = byte(i*7 + 1)
	}
	mod[0] = 0xc1
	buf = append(buf, mod...)
	return &dns.DNSKEY{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: flags, Protocol: 3, Algorithm: dns.RSASHA256, PublicKey: base64.StdEncoding.EncodeToString(buf)}
}

// fakeKey is a key of an algorithm miekg/dns cannot verify (Ed448: 57
// bytes), with a signature record claiming it.
func fakeKey(zone string, alg uint8, flags uint16) *dns.DNSKEY {
	b := make([]byte, 57)
	for i := range b {
		b[i] = byte(i + int(alg))
	}
	return &dns.DNSKEY{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: flags, Protocol: 3, Algorithm: alg, PublicKey: base64.StdEncoding.EncodeToString(b)}
}

func fakeSig(k *dns.DNSKEY, rrset []dns.RR) *dns.RRSIG {
	h := rrset[0].Header()
	return &dns.RRSIG{Hdr: dns.RR_Header{Name: h.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: h.Ttl},
		TypeCovered: h.Rrtype, Algorithm: k.Algorithm, Labels: uint8(dns.CountLabel(h.Name)), OrigTtl: h.Ttl,
		Inception: uint32(testNow.Add(-time.Hour).Unix()), Expiration: uint32(testNow.Add(time.Hour).Unix()),
		KeyTag: k.KeyTag(), SignerName: k.Hdr.Name, Signature: base64.StdEncoding.EncodeToString(make([]byte, 114))}
}

// testZone describes a zone's names and their types, from which NSEC and
// NSEC3 chains are derived the way a signer does (RFC 4035 §2.3, RFC 5155
// §7.1), empty non-terminals included.
type testZone struct {
	apex  string
	names map[string][]uint16
	// unsigned delegations left out of an opt-out NSEC3 chain
	insecure map[string]bool
}

// exampleZone is the zone most denial tests use:
//
//	example.          SOA NS DNSKEY
//	a.example.        A
//	b.c.example.      A        (c.example. is an empty non-terminal)
//	*.w.example.      TXT      (w.example. is an empty non-terminal)
//	sub.example.      NS DS    (signed delegation)
//	ins.example.      NS       (unsigned delegation)
//	cn.example.       CNAME
func exampleZone() *testZone {
	return &testZone{apex: "example.", names: map[string][]uint16{
		"example.":     {dns.TypeSOA, dns.TypeNS, dns.TypeDNSKEY},
		"a.example.":   {dns.TypeA},
		"b.c.example.": {dns.TypeA},
		"*.w.example.": {dns.TypeTXT},
		"sub.example.": {dns.TypeNS, dns.TypeDS},
		"ins.example.": {dns.TypeNS},
		"cn.example.":  {dns.TypeCNAME},
	}, insecure: map[string]bool{"ins.example.": true}}
}

// all returns every name of the zone with its bitmap (RRSIG/NSEC added
// where the name owns signed data), empty non-terminals with an empty one.
func (z *testZone) all(nsecType uint16) map[string][]uint16 {
	out := map[string][]uint16{}
	for n, ts := range z.names {
		bm := append([]uint16{}, ts...)
		if !(len(ts) == 1 && ts[0] == dns.TypeNS) { // unsigned delegation: NS only, no RRSIG
			bm = append(bm, dns.TypeRRSIG)
		}
		if nsecType == dns.TypeNSEC {
			bm = append(bm, dns.TypeNSEC)
		}
		if n == z.apex && nsecType == dns.TypeNSEC3 {
			bm = append(bm, dns.TypeNSEC3PARAM)
		}
		sort.Slice(bm, func(i, j int) bool { return bm[i] < bm[j] })
		out[n] = bm
		labels := dns.SplitDomainName(n)
		for i := 1; i < len(labels)-dns.CountLabel(z.apex); i++ {
			p := strings.Join(labels[i:], ".") + "."
			if _, ok := out[p]; !ok {
				out[p] = nil
			}
		}
	}
	// an empty non-terminal only has an NSEC3 (RFC 5155 §7.1), not an NSEC
	// (RFC 4035 §2.3 chains only names with data).
	return out
}

// nsec builds the NSEC chain in canonical order, the last record pointing
// back to the apex.
func (z *testZone) nsec() []*dns.NSEC {
	all := z.all(dns.TypeNSEC)
	var names []name
	for n, bm := range all {
		if bm == nil {
			continue
		}
		p, _ := parseName(n)
		names = append(names, p)
	}
	sort.Slice(names, func(i, j int) bool { return canonCompare(names[i], names[j]) < 0 })
	var out []*dns.NSEC
	for i, n := range names {
		next := names[(i+1)%len(names)]
		out = append(out, &dns.NSEC{Hdr: dns.RR_Header{Name: n.text, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 300},
			NextDomain: next.text, TypeBitMap: all[n.text]})
	}
	return out
}

// nsecAt returns the NSEC records owned by the given names.
func nsecAt(chain []*dns.NSEC, owners ...string) []*dns.NSEC {
	var out []*dns.NSEC
	for _, o := range owners {
		for _, n := range chain {
			if n.Hdr.Name == o {
				out = append(out, n)
			}
		}
	}
	return out
}

// nsecCovering returns the NSEC record covering or matching name.
func nsecCovering(chain []*dns.NSEC, n string) *dns.NSEC {
	q, _ := parseName(n)
	for _, r := range chain {
		o, _ := parseName(r.Hdr.Name)
		nx, _ := parseName(r.NextDomain)
		if canonCompare(o, q) <= 0 && (canonCompare(q, nx) < 0 || canonCompare(nx, o) <= 0) {
			return r
		}
	}
	return nil
}

type n3params struct {
	iter   uint16
	salt   string
	optOut bool
}

// nsec3 builds the NSEC3 chain (RFC 5155 §7.1): every name and empty
// non-terminal hashed, sorted by hash; with opt-out, unsigned delegations
// are left out and every record has the Opt-Out flag.
func (z *testZone) nsec3(p n3params) []*dns.NSEC3 {
	all := z.all(dns.TypeNSEC3)
	type e struct {
		hash string
		bm   []uint16
	}
	var es []e
	for n, bm := range all {
		if p.optOut && z.insecure[n] {
			continue
		}
		es = append(es, e{dns.HashName(n, dns.SHA1, p.iter, p.salt), bm})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].hash < es[j].hash })
	var flags uint8
	if p.optOut {
		flags = 1
	}
	var out []*dns.NSEC3
	for i, x := range es {
		out = append(out, &dns.NSEC3{Hdr: dns.RR_Header{Name: strings.ToLower(x.hash) + "." + z.apex, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: 300},
			Hash: dns.SHA1, Flags: flags, Iterations: p.iter, SaltLength: uint8(len(p.salt) / 2), Salt: p.salt,
			HashLength: 20, NextDomain: es[(i+1)%len(es)].hash, TypeBitMap: x.bm})
	}
	return out
}

// n3match returns the NSEC3 whose owner hash is the hash of n.
func n3match(chain []*dns.NSEC3, n string) *dns.NSEC3 {
	for _, r := range chain {
		if r.Match(n) {
			return r
		}
	}
	return nil
}

// n3cover returns the NSEC3 strictly covering the hash of n.
func n3cover(chain []*dns.NSEC3, n string) *dns.NSEC3 {
	for _, r := range chain {
		if r.Cover(n) && !r.Match(n) {
			return r
		}
	}
	return nil
}

func n3s(rs ...*dns.NSEC3) []*dns.NSEC3 {
	var out []*dns.NSEC3
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}
