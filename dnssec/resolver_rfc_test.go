package dnssec

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"esa/dnssec/dnstest"
)

// clauseBed builds the hierarchy the clause table runs on: test. (NSEC3
// with opt-out, holding the unsigned delegation optout.test.),
// example.test. (NSEC), n3.test. (NSEC3, no opt-out, with the unsigned
// child sub.n3.test.), plain.test. (unsigned) and island.test. (signed, no
// DS), with wildcards in both denial styles.
func clauseBed(t *testing.T) *bed {
	t.Helper()
	c := newClock()
	h := dnstest.New(t, dnstest.Options{Now: c.Now, Keys: keyPool})
	h.AddZone("test.", dnstest.ZoneConfig{Denial: dnstest.Denial{NSEC3: true, OptOut: true}})
	h.AddZone("example.test.", dnstest.ZoneConfig{})
	h.AddZone("n3.test.", dnstest.ZoneConfig{Denial: dnstest.Denial{NSEC3: true, Iterations: 1, Salt: "ab"}})
	h.AddZone("sub.n3.test.", dnstest.ZoneConfig{Unsigned: true})
	h.AddZone("optout.test.", dnstest.ZoneConfig{Unsigned: true})
	h.AddZone("plain.test.", dnstest.ZoneConfig{Unsigned: true})
	h.AddZone("island.test.", dnstest.ZoneConfig{Insecure: true})
	h.Add(
		"mail.example.test. 300 IN A 127.0.0.2",
		"*.wild.example.test. 300 IN A 127.0.0.9",
		"mx.n3.test. 300 IN A 127.0.0.4",
		"*.w.n3.test. 300 IN A 127.0.0.10",
		"mail.sub.n3.test. 300 IN A 127.0.0.11",
		"mail.optout.test. 300 IN A 127.0.0.12",
		"mail.plain.test. 300 IN A 127.0.0.3",
		"mail.island.test. 300 IN A 127.0.0.5",
	)
	return &bed{h: h, front: h.Serve(t), clock: c}
}

// TestRFCClausesOnBed: one case per clause of RFC 4035 §5 and RFC 5155 §8,
// each asked through the resolver of the signed test bed over loopback, so
// the whole path (query with DO+CD, chain from the root anchor, proofs)
// gives the verdict. RFC 7672 §2-3 is covered the same way by the DANE
// walk tests in delivery/dane.
func TestRFCClausesOnBed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		clause string
		setup  func(b *bed)
		// anchors replaces the root anchor when set.
		anchors func(b *bed) []dns.RR
		name    string
		qtype   uint16
		sec     Security
		kind    Kind
		reason  string // substring of Answer.Reason (Bogus) or of the error
	}{
		// RFC 4035 §5.1: an island of security is validated from its own
		// configured anchor; without one it is insecure.
		{clause: "4035-5.1 island with its own anchor", name: "mail.island.test.", qtype: dns.TypeA, sec: Secure,
			anchors: func(b *bed) []dns.RR { return []dns.RR{b.h.Zone("island.test.").DNSKEY(dnstest.KSK)} }},
		{clause: "4035-5.1 island without an anchor", name: "mail.island.test.", qtype: dns.TypeA, sec: Insecure},
		// §5.2: authenticating referrals.
		{clause: "4035-5.2 DS matches a DNSKEY", name: "mail.example.test.", qtype: dns.TypeA, sec: Secure},
		{clause: "4035-5.2 DS matches no DNSKEY", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.SetDS("example.test.", b.h.WrongDS("example.test.")) }},
		{clause: "4035-5.2 DS with an unsupported algorithm only", name: "mail.example.test.", qtype: dns.TypeA, sec: Insecure,
			setup: func(b *bed) { b.h.SetDS("example.test.", b.h.UnsupportedDS("example.test.")) }},
		{clause: "4035-5.2 authenticated absence of DS (NSEC)", name: "mail.plain.test.", qtype: dns.TypeA, sec: Insecure},
		{clause: "4035-5.2 DNSKEY set lacks the DS key", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.DropDNSKEY("example.test.", dnstest.KSK) }},
		// §5.3: authenticating an RRset with its RRSIG.
		{clause: "4035-5.3.1 RRSIG by a key not in the DNSKEY set", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.WrongKeySig) }},
		{clause: "4035-5.3.1 signature expired", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus, reason: "expired",
			setup: func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.ExpiredSig) }},
		{clause: "4035-5.3.1 signature not yet valid", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus, reason: "not yet valid",
			setup: func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.NotYetValidSig) }},
		{clause: "4035-5.3.3 signature does not verify", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.CorruptSig) }},
		{clause: "4035-5.3.4 wildcard expansion with its proof", name: "x.wild.example.test.", qtype: dns.TypeA, sec: Secure},
		{clause: "4035-5.3.4 wildcard expansion without its proof", name: "x.wild.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("x.wild.example.test.", dns.TypeA, dnstest.StripDenial) }},
		// §5.4: authenticated denial of existence.
		{clause: "4035-5.4 NXDOMAIN proved by NSEC", name: "nope.example.test.", qtype: dns.TypeA, sec: Secure, kind: NXDomain},
		{clause: "4035-5.4 NODATA proved by NSEC", name: "mail.example.test.", qtype: dns.TypeMX, sec: Secure, kind: NoData},
		{clause: "4035-5.4 forged NXDOMAIN for an existing name (its own NSEC covers nothing)", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.ForgeNXDomain) }},
		{clause: "4035-5.4 denial without NSEC", name: "nope.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("nope.example.test.", dns.TypeA, dnstest.StripDenial) }},
		// §5.5: a zone proven signed whose answers lost their signatures
		// (a non-validating resolver on the path) is bogus, never insecure.
		{clause: "4035-5.5 signatures stripped", name: "mail.example.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.BreakZone("example.test.", dnstest.StripSigs) }},

		// RFC 5155 §8.2: unsupported parameters make the answer insecure
		// (RFC 9276 §3.2 iteration cap).
		{clause: "5155-8.2 iterations above the cap", name: "nope.n3.test.", qtype: dns.TypeA, sec: Insecure, kind: NXDomain,
			setup: func(b *bed) { b.h.SetDenial("n3.test.", dnstest.Denial{NSEC3: true, Iterations: 500}) }},
		{clause: "5155-8.3/8.4 NXDOMAIN closest encloser proof", name: "a.b.nope.n3.test.", qtype: dns.TypeA, sec: Secure, kind: NXDomain},
		{clause: "5155-8.4 forged NXDOMAIN from a matching NSEC3", name: "mx.n3.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("mx.n3.test.", dns.TypeA, dnstest.ForgeNXDomain) }},
		{clause: "5155-8.4 NXDOMAIN without NSEC3", name: "nope.n3.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("nope.n3.test.", dns.TypeA, dnstest.StripDenial) }},
		{clause: "5155-8.5 NODATA, qtype not DS", name: "mx.n3.test.", qtype: dns.TypeAAAA, sec: Secure, kind: NoData},
		{clause: "5155-8.6 NODATA for DS: unsigned child proved", name: "mail.sub.n3.test.", qtype: dns.TypeA, sec: Insecure},
		{clause: "5155-8.6/8.9 opt-out span over an unsigned delegation", name: "mail.optout.test.", qtype: dns.TypeA, sec: Insecure},
		{clause: "5155-8.7 wildcard NODATA", name: "x.w.n3.test.", qtype: dns.TypeMX, sec: Secure, kind: NoData},
		{clause: "5155-8.8 wildcard answer with the next-closer cover", name: "x.w.n3.test.", qtype: dns.TypeA, sec: Secure},
		{clause: "5155-8.8 wildcard answer without the cover", name: "x.w.n3.test.", qtype: dns.TypeA, sec: Bogus,
			setup: func(b *bed) { b.h.Break("x.w.n3.test.", dns.TypeA, dnstest.StripDenial) }},
	}
	for _, c := range cases {
		t.Run(c.clause, func(t *testing.T) {
			t.Parallel()
			b := clauseBed(t)
			if c.setup != nil {
				c.setup(b)
			}
			anchors := b.h.Anchors()
			if c.anchors != nil {
				anchors = c.anchors(b)
			}
			r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Timeout: 2e9, Anchors: anchors, Now: b.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			a, err := r.Lookup(context.Background(), c.name, c.qtype)
			if err != nil {
				t.Fatalf("Lookup(%s, %s): %v", c.name, typeName(c.qtype), err)
			}
			if a.Security != c.sec || (c.sec != Bogus && a.Kind != c.kind) {
				t.Fatalf("got %v kind %d (reason %q), want %v kind %d", a.Security, a.Kind, a.Reason, c.sec, c.kind)
			}
			if c.sec == Secure && a.Kind == Data && len(a.Records) == 0 {
				t.Fatal("secure data without records")
			}
			if c.reason != "" && !strings.Contains(a.Reason, c.reason) {
				t.Errorf("reason %q, want it to mention %q", a.Reason, c.reason)
			}
		})
	}
}
