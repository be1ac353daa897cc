package dnssec

import (
	"errors"

	"github.com/miekg/dns"
)

// ErrNSEC3Iterations: the proof used NSEC3 records with more iterations than
// Limits.MaxNSEC3Iterations; the caller treats the answer as Insecure
// (RFC 9276 §3.2).
var ErrNSEC3Iterations = errors.New("NSEC3 iterations above limit: insecure (RFC 9276 §3.2)")

// ErrOptOut: the only denial is an opt-out NSEC3 span covering the next
// closer name, which proves no more than "possibly an unsigned delegation";
// the caller treats the answer as Insecure (RFC 5155 §8.6, §9.2).
var ErrOptOut = errors.New("NSEC3 opt-out span covers the name: insecure (RFC 5155 §9.2)")

// ErrNSEC3Unsupported: the proof uses an unknown NSEC3 hash algorithm; the
// caller treats the answer as Insecure (RFC 5155 §8.1).
var ErrNSEC3Unsupported = errors.New("unsupported NSEC3 hash algorithm: insecure (RFC 5155 §8.1)")

// ProveNXDomain proves qname does not exist in zone (RFC 4035 §5.4, RFC 5155 §8.4).
func ProveNXDomain(qname, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	return errors.New("bad denial proof: not implemented yet")
}

// ProveNoData proves qname exists without qtype (RFC 4035 §5.4, RFC 5155 §8.5-8.7).
func ProveNoData(qname string, qtype uint16, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	return errors.New("bad denial proof: not implemented yet")
}

// ProveNoDS proves child is an unsigned delegation from zone (RFC 4035 §5.2, RFC 5155 §8.9).
func ProveNoDS(child, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	return errors.New("bad denial proof: not implemented yet")
}

// ProveWildcard proves no closer match than the wildcard exists (RFC 4035 §5.3.4, RFC 5155 §8.8).
func ProveWildcard(qname, wildcardParent, zone string, nsec []*dns.NSEC, nsec3 []*dns.NSEC3, b *Budget) error {
	return errors.New("bad denial proof: not implemented yet")
}
