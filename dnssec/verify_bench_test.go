package dnssec

import (
	"testing"

	"github.com/miekg/dns"
)

// The benchmarks compare VerifyRRset with the bare miekg/dns RRSIG.Verify
// it wraps, per algorithm, so the validator's overhead (label and time
// checks, key selection, budget) can be read as a ratio.

var benchAlgs = []struct {
	name string
	alg  uint8
}{
	{"RSASHA256", dns.RSASHA256},
	{"ECDSAP256", dns.ECDSAP256SHA256},
	{"ECDSAP384", dns.ECDSAP384SHA384},
	{"ED25519", dns.ED25519},
}

func benchFixture(b *testing.B, alg uint8) ([]dns.RR, *dns.RRSIG, []*dns.DNSKEY) {
	zsk := newKey(b, "example.com.", alg, 256, 0)
	ksk := newKey(b, "example.com.", alg, 257, 0)
	a := rrs(b, "www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2")
	return a, sign(b, zsk, a, 0, 0), keysOf(ksk, zsk)
}

func BenchmarkVerifyRRset(b *testing.B) {
	for _, c := range benchAlgs {
		b.Run(c.name, func(b *testing.B) {
			a, sig, keys := benchFixture(b, c.alg)
			sigs := []*dns.RRSIG{sig}
			l := DefaultLimits()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if v := VerifyRRset(a, sigs, keys, "example.com.", testNow, NewBudget(l)); v.Security != Secure {
					b.Fatal(v.Reason)
				}
			}
		})
	}
}

func BenchmarkRawVerify(b *testing.B) {
	for _, c := range benchAlgs {
		b.Run(c.name, func(b *testing.B) {
			a, sig, keys := benchFixture(b, c.alg)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := sig.Verify(keys[1], a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProveNXDomainNSEC3 measures a full closest encloser proof at
// 0 and 150 iterations (the cap), hashes not memoised across iterations.
func BenchmarkProveNXDomainNSEC3(b *testing.B) {
	for _, iter := range []uint16{0, 150} {
		b.Run(map[uint16]string{0: "iter0", 150: "iter150"}[iter], func(b *testing.B) {
			ch := exampleZone().nsec3(n3params{iter: iter, salt: "aabbccdd"})
			proof := n3s(n3match(ch, "example."), n3cover(ch, "nx.example."), n3cover(ch, "*.example."))
			l := DefaultLimits()
			b.ReportAllocs()
			for b.Loop() {
				if err := ProveNXDomain("nx.example.", "example.", nil, proof, NewBudget(l)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
