package dnssec

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// inflateTTLs makes the resolver see every record of a reply (RRSIGs
// excepted) with a TTL of a week, as a hostile or buggy upstream could:
// the RRSIG's Original TTL is signed, the record TTL is not, and
// RRSIG.Verify puts the Original TTL into the signed data, so the
// signatures still verify.
func inflateTTLs(r *Resolver) {
	r.ex.tap = func(_ string, _ uint16, m *dns.Msg) {
		for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
			for _, rr := range sec {
				if rr.Header().Rrtype != dns.TypeRRSIG {
					rr.Header().Ttl = 7 * 86400
				}
			}
		}
	}
}

// TestOriginalTTLCapsCache: RFC 4035 §5.3.3 — a validator must not keep a
// validated RRset longer than the RRSIG's Original TTL, whatever TTL the
// upstream hands out. The zone's records are published with TTL 300.
func TestOriginalTTLCapsCache(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	inflateTTLs(r)
	a := lookup(t, r, "mail.example.test.", dns.TypeA)
	want(t, a, Secure, Data)
	if a.TTL != 300 {
		t.Errorf("TTL %d, want the Original TTL 300", a.TTL)
	}
	b.clock.Advance(301 * time.Second)
	lookup(t, r, "mail.example.test.", dns.TypeA)
	if b.front.Queries("mail.example.test.", dns.TypeA) != 2 {
		t.Error("the answer outlived its Original TTL")
	}
	// The zone keys and DS (published with TTL 3600) were seen with
	// inflated TTLs too: past an hour the chain is fetched again.
	b.clock.Advance(3600 * time.Second)
	lookup(t, r, "mail.example.test.", dns.TypeA)
	if n := b.front.Queries("example.test.", dns.TypeDNSKEY); n != 2 {
		t.Errorf("DNSKEY asked %d times: the key set outlived its Original TTL", n)
	}
	if n := b.front.Queries("example.test.", dns.TypeDS); n != 2 {
		t.Errorf("DS asked %d times: the DS set outlived its Original TTL", n)
	}
	// A denial: the NSEC and SOA records are capped the same way.
	nx := lookup(t, r, "nope.example.test.", dns.TypeA)
	want(t, nx, Secure, NXDomain)
	if nx.TTL > 3600 {
		t.Errorf("negative TTL %d beyond the Original TTLs", nx.TTL)
	}
}
