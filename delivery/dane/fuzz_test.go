package dane

import (
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseTLSA feeds TLSA records from DNS (presentation text, and wire
// rdata) to ParseTLSA, Usable and Match: none may panic, and a record
// ParseTLSA accepts must be one RFC 7672 §3.1.3 allows.
func FuzzParseTLSA(f *testing.F) {
	p := newPKI(f, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}, pathLen: -1})
	chain := p.chain(true)
	roots := x509.NewCertPool()
	roots.AddCert(p.root.c)
	f.Add("3 1 1 "+tlsa(f, 3, 1, 1, p.leaf.c).Certificate, []byte{3, 1, 1, 0xab})
	f.Add("2 0 0 "+tlsa(f, 2, 0, 0, p.root.c).Certificate, []byte{2, 0, 0})
	f.Add("2 1 2 "+tlsa(f, 2, 1, 2, p.inter.c).Certificate, []byte{2, 1, 2, 0x30, 0x82})
	f.Add("3 1 0 "+tlsa(f, 3, 1, 0, p.leaf.c).Certificate, []byte{})
	f.Add("0 0 1 00", []byte{0, 0, 1})
	f.Add("2 1 0 "+hex.EncodeToString(p.inter.c.RawSubjectPublicKeyInfo), []byte{2, 1, 0})
	f.Add("1 1 1 "+tlsa(f, 1, 1, 1, p.leaf.c).Certificate, []byte{1, 1, 1})
	f.Add("3 1 255 abcd", []byte{255, 255, 255, 1, 2, 3})
	f.Fuzz(func(t *testing.T, text string, rdata []byte) {
		var rrs []*dns.TLSA
		if rr, err := dns.NewRR("_25._tcp.mx.example.test. 300 IN TLSA " + text); err == nil && rr != nil {
			if r, ok := rr.(*dns.TLSA); ok {
				rrs = append(rrs, r)
			}
		}
		wire := append([]byte{0, 0, 52, 0, 1, 0, 0, 1, 44, byte(len(rdata) >> 8), byte(len(rdata))}, rdata...)
		if rr, _, err := dns.UnpackRR(wire, 0); err == nil && rr != nil {
			if r, ok := rr.(*dns.TLSA); ok {
				rrs = append(rrs, r)
			}
		}
		for _, r := range rrs {
			rec, err := ParseTLSA(r)
			if err == nil {
				if rec.Usage < 2 || rec.Usage > 3 || rec.Selector > 1 || rec.Matching > 2 {
					t.Fatalf("unusable record accepted: %s", r)
				}
				if rec.Matching == 1 && len(rec.Data) != 32 || rec.Matching == 2 && len(rec.Data) != 64 {
					t.Fatalf("digest of the wrong length accepted: %s", r)
				}
			}
		}
		recs, unusable := Usable(rrs)
		if len(recs)+unusable > len(rrs) {
			t.Fatalf("Usable returned %d+%d records from %d", len(recs), unusable, len(rrs))
		}
		_, _ = Match(rrs, chain, mxNames, testNow)
		_, _ = Match(rrs, []*x509.Certificate{p.leaf.c}, nil, testNow)
		// The general profile (PKIX usages, bare keys, names after
		// DANE-EE) on the same records.
		var all []Record
		for _, r := range rrs {
			if rec, err := DecodeTLSA(r); err == nil {
				all = append(all, rec)
			}
		}
		gen := Policy{Roots: roots, EENames: true}
		for _, c := range [][]*x509.Certificate{chain, {p.leaf.c}, {p.root.c}} {
			res, err := gen.Match(all, c, mxNames, testNow)
			if err == nil && (res.Depth < 0 || res.Depth > len(c)) {
				t.Fatalf("match at depth %d of a chain of %d", res.Depth, len(c))
			}
		}
	})
}
