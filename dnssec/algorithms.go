package dnssec

import "github.com/miekg/dns"

// AlgorithmSupported reports whether DNSSEC algorithm alg can be verified by
// miekg/dns v1.1.73 and is allowed for validation (RFC 8624 §3.1): RSA/SHA-1
// variants 5 and 7, RSA/SHA-256/512 8 and 10, ECDSA 13 and 14, Ed25519 15.
// Ed448 (16), GOST (12), DSA (3, 6) and unknown values are unsupported, so
// zones signed only with them are Insecure (RFC 4035 §5.2, RFC 6840 §5.2).
func AlgorithmSupported(alg uint8) bool {
	switch alg {
	case dns.RSASHA1, dns.RSASHA1NSEC3SHA1, dns.RSASHA256, dns.RSASHA512,
		dns.ECDSAP256SHA256, dns.ECDSAP384SHA384, dns.ED25519:
		return true
	}
	return false
}

// DigestSupported reports whether a DS digest type can be checked: SHA-1 (1),
// SHA-256 (2), SHA-384 (4). GOST (3) and unknown types are unsupported
// (RFC 4509 §3, RFC 6840 §5.2).
func DigestSupported(d uint8) bool {
	switch d {
	case dns.SHA1, dns.SHA256, dns.SHA384:
		return true
	}
	return false
}
