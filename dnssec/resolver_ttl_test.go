package dnssec

import (
	"testing"
	"time"

	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// inflateTTLs makes the resolver see every record of a reply (RRSIGs
// excepted) with a TTL of a week, as a hostile or buggy upstream could:
// the RRSIG's Original TTL is signed, the record TTL is not, and
// RRSIG.Verify puts the Original TTL into the signed data, so the
// signatures still verify.
var inflateTTLs = tap{timeout: time.Second, fn: func(_, m *dns.Msg) {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if rr.Header().Rrtype != dns.TypeRRSIG {
				rr.Header().Ttl = 7 * 86400
			}
		}
	}
}}

// TestOriginalTTLCapsCache: RFC 4035 §5.3.3 — a validator must not keep a
// validated RRset longer than the RRSIG's Original TTL, whatever TTL the
// upstream hands out. The zone's records are published with TTL 300.
func TestOriginalTTLCapsCache(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolverWith(t, inflateTTLs, nil)
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

// TestNegativeTTL: a denial is cached for min(SOA TTL, SOA MINIMUM) (RFC
// 2308 §5), whichever of the two is smaller. The bed's SOA MINIMUM is 300.
func TestNegativeTTL(t *testing.T) {
	t.Parallel()
	c := newClock()
	h := dnstest.New(t, dnstest.Options{Now: c.Now, Keys: keyPool})
	h.AddZone("test.", dnstest.ZoneConfig{})
	h.AddZone("long.test.", dnstest.ZoneConfig{})         // SOA TTL 3600
	h.AddZone("short.test.", dnstest.ZoneConfig{TTL: 60}) // SOA TTL 60
	h.AddZone("plain.test.", dnstest.ZoneConfig{Unsigned: true, TTL: 30})
	front := h.Serve(t)
	r, err := New(Config{Servers: []Server{{Addr: front.Addr}}, Timeout: time.Second, Anchors: h.Anchors(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sec  Security
		kind Kind
		ttl  uint32
	}{
		{"nope.long.test.", Secure, NXDomain, 300},
		{"long.test.", Secure, NoData, 300},
		{"nope.short.test.", Secure, NXDomain, 60},
		{"nope.plain.test.", Insecure, NXDomain, 30},
	} {
		a := lookup(t, r, tc.name, dns.TypeA)
		want(t, a, tc.sec, tc.kind)
		if a.TTL != tc.ttl {
			t.Errorf("%s: negative TTL %d, want %d", tc.name, a.TTL, tc.ttl)
		}
	}
}
