package dnssec

import (
	"testing"

	"github.com/miekg/dns"
)

// TestAlgorithmSupport pins the algorithm and digest tables to what
// miekg/dns v1.1.73 verifies (DANE.md §1.8) and RFC 8624 allows.
func TestAlgorithmSupport(t *testing.T) {
	t.Parallel()
	for alg, want := range map[uint8]bool{
		dns.RSAMD5: false, dns.DSA: false, dns.RSASHA1: true, dns.DSANSEC3SHA1: false,
		dns.RSASHA1NSEC3SHA1: true, dns.RSASHA256: true, dns.RSASHA512: true, dns.ECCGOST: false,
		dns.ECDSAP256SHA256: true, dns.ECDSAP384SHA384: true, dns.ED25519: true, dns.ED448: false,
		0: false, 99: false, 253: false, 255: false,
	} {
		if AlgorithmSupported(alg) != want {
			t.Errorf("algorithm %d: want %v", alg, want)
		}
	}
	for d, want := range map[uint8]bool{0: false, dns.SHA1: true, dns.SHA256: true, dns.GOST94: false, dns.SHA384: true, 5: false, 255: false} {
		if DigestSupported(d) != want {
			t.Errorf("digest %d: want %v", d, want)
		}
	}
}
