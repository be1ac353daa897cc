package dnstest

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var testKeys = NewKeyPool()

var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// bed builds a small hierarchy exercising every zone shape.
func bed(t *testing.T) (*Hierarchy, *Front) {
	t.Helper()
	h := New(t, Options{Now: func() time.Time { return fixedNow }, Keys: testKeys})
	h.AddZone("test.", ZoneConfig{Keys: KeyConfig{Algorithm: dns.RSASHA256}, Denial: Denial{NSEC3: true, Iterations: 0, OptOut: true}})
	h.AddZone("example.test.", ZoneConfig{})
	h.AddZone("n3.test.", ZoneConfig{Keys: KeyConfig{Algorithm: dns.ED25519, CSK: true}, Denial: Denial{NSEC3: true, Iterations: 5, Salt: "abcd"}})
	h.AddZone("p384.test.", ZoneConfig{Keys: KeyConfig{Algorithm: dns.ECDSAP384SHA384}})
	h.AddZone("plain.test.", ZoneConfig{Unsigned: true})
	h.AddZone("island.test.", ZoneConfig{Insecure: true})
	h.AddZone("org.", ZoneConfig{})
	h.Add(
		"example.test. 300 IN MX 10 mail.example.test.",
		"mail.example.test. 300 IN A 127.0.0.2",
		"_25._tcp.mail.example.test. 300 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"*.example.test. 300 IN TXT \"wild\"",
		"alias.example.test. 300 IN CNAME www.n3.test.",
		"www.n3.test. 300 IN A 127.0.0.3",
		"a.b.c.n3.test. 300 IN A 127.0.0.4",
		"_25._tcp.www.n3.test. 300 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"p384.test. 300 IN MX 0 .",
		"plain.test. 300 IN MX 10 mx.plain.test.",
		"mx.plain.test. 300 IN A 127.0.0.5",
		"island.test. 300 IN A 127.0.0.6",
	)
	return h, h.Serve(t)
}

func query(t *testing.T, addr, name string, qtype uint16, netw string) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, true)
	m.CheckingDisabled = true
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// keysOf fetches the zone's DNSKEY RRset and checks it is self-signed by a
// key whose DS the parent publishes (or the anchor, for the root).
func keysOf(t *testing.T, f *Front, h *Hierarchy, zone string) []*dns.DNSKEY {
	t.Helper()
	r := query(t, f.Addr, zone, dns.TypeDNSKEY, "tcp")
	var keys []*dns.DNSKEY
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no DNSKEY: %v", zone, r)
	}
	var ds []*dns.DS
	if zone == "." {
		ds = append(ds, h.Anchors()[0].(*dns.DS))
	} else {
		for _, rr := range query(t, f.Addr, zone, dns.TypeDS, "udp").Answer {
			if d, ok := rr.(*dns.DS); ok {
				ds = append(ds, d)
			}
		}
	}
	matched := false
	for _, d := range ds {
		for _, k := range keys {
			if kd := k.ToDS(d.DigestType); kd != nil && strings.EqualFold(kd.Digest, d.Digest) && kd.KeyTag == d.KeyTag {
				matched = true
				verifySigs(t, r.Answer, []*dns.DNSKEY{k})
			}
		}
	}
	if !matched {
		t.Fatalf("%s: no DNSKEY matches DS %v", zone, ds)
	}
	return keys
}

// verifySigs checks that every RRset in rrs has an RRSIG that verifies with
// one of keys and is valid at fixedNow; it returns the RRSIGs.
func verifySigs(t *testing.T, rrs []dns.RR, keys []*dns.DNSKEY) []*dns.RRSIG {
	t.Helper()
	sets := map[[2]string][]dns.RR{}
	var sigs []*dns.RRSIG
	for _, rr := range rrs {
		if s, ok := rr.(*dns.RRSIG); ok {
			sigs = append(sigs, s)
			continue
		}
		k := [2]string{rr.Header().Name, dns.TypeToString[rr.Header().Rrtype]}
		sets[k] = append(sets[k], rr)
	}
	for k, set := range sets {
		ok := false
		for _, s := range sigs {
			if s.Hdr.Name != k[0] || dns.TypeToString[s.TypeCovered] != k[1] {
				continue
			}
			for _, key := range keys {
				if s.KeyTag == key.KeyTag() && s.Verify(key, set) == nil && s.ValidityPeriod(fixedNow) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("RRset %v has no valid RRSIG (sigs %v)", k, sigs)
		}
	}
	return sigs
}

func TestSecureChain(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	for _, zone := range []string{".", "test.", "example.test.", "n3.test.", "p384.test.", "org."} {
		keysOf(t, f, h, zone)
	}
	ex := keysOf(t, f, h, "example.test.")
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"example.test.", dns.TypeMX}, {"mail.example.test.", dns.TypeA}, {"_25._tcp.mail.example.test.", dns.TypeTLSA}} {
		r := query(t, f.Addr, q.name, q.qtype, "udp")
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || r.AuthenticatedData {
			t.Fatalf("%s: %v", q.name, r)
		}
		verifySigs(t, r.Answer, ex)
	}
}

func TestDelegationDS(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	root := keysOf(t, f, h, ".")
	tld := keysOf(t, f, h, "test.")
	// DS for test. comes from the root, signed by the root.
	r := query(t, f.Addr, "test.", dns.TypeDS, "udp")
	verifySigs(t, r.Answer, root)
	// Insecure delegation in an opt-out NSEC3 parent: NODATA with the
	// closest encloser and an opt-out NSEC3 covering the cut.
	for _, name := range []string{"island.test.", "plain.test."} {
		r = query(t, f.Addr, name, dns.TypeDS, "udp")
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Fatalf("%s DS: %v", name, r)
		}
		verifySigs(t, r.Ns, tld)
		covered := false
		for _, rr := range r.Ns {
			if n, ok := rr.(*dns.NSEC3); ok && n.Flags&1 == 1 && strictCover(n, name) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("%s DS: no opt-out NSEC3 covers the cut: %v", name, r.Ns)
		}
	}
	// The island is signed, the unsigned zone is not.
	if sigs := rrsigs(query(t, f.Addr, "island.test.", dns.TypeA, "udp").Answer); len(sigs) != 1 {
		t.Errorf("island not signed")
	}
	if sigs := rrsigs(query(t, f.Addr, "plain.test.", dns.TypeMX, "udp").Answer); len(sigs) != 0 {
		t.Errorf("unsigned zone has signatures")
	}
	// NSEC parent (root) for an insecure delegation: the cut's NSEC shows
	// NS without DS.
	h.AddZone("unsig.", ZoneConfig{Unsigned: true})
	r = query(t, f.Addr, "unsig.", dns.TypeDS, "udp")
	verifySigs(t, r.Ns, root)
	var nsec *dns.NSEC
	for _, rr := range r.Ns {
		if n, ok := rr.(*dns.NSEC); ok && n.Hdr.Name == "unsig." {
			nsec = n
		}
	}
	if nsec == nil || !hasType(nsec.TypeBitMap, dns.TypeNS) || hasType(nsec.TypeBitMap, dns.TypeDS) {
		t.Errorf("unsig. DS: NSEC %v", nsec)
	}
}

func rrsigs(rrs []dns.RR) []*dns.RRSIG {
	var out []*dns.RRSIG
	for _, rr := range rrs {
		if s, ok := rr.(*dns.RRSIG); ok {
			out = append(out, s)
		}
	}
	return out
}

func hasType(ts []uint16, t uint16) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// strictCover is the correct NSEC3 cover test (owner < hash < next, with
// wrap), unlike miekg's NSEC3.Cover which accepts equality.
func strictCover(n *dns.NSEC3, name string) bool {
	h := dns.HashName(name, n.Hash, n.Iterations, n.Salt)
	o, next := ownerHash(n), n.NextDomain
	if o < next {
		return o < h && h < next
	}
	return h > o || h < next
}

func TestNXDomainNSEC3(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	keys := keysOf(t, f, h, "n3.test.")
	r := query(t, f.Addr, "nope.b.c.n3.test.", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("rcode %v", r)
	}
	verifySigs(t, r.Ns, keys)
	var ce, nc, wc bool
	for _, rr := range r.Ns {
		n, ok := rr.(*dns.NSEC3)
		if !ok {
			continue
		}
		ce = ce || n.Match("b.c.n3.test.")
		nc = nc || strictCover(n, "nope.b.c.n3.test.")
		wc = wc || strictCover(n, "*.b.c.n3.test.")
	}
	if !ce || !nc || !wc {
		t.Errorf("closest encloser %v, next closer %v, wildcard %v: %v", ce, nc, wc, r.Ns)
	}
	// Empty non-terminal: NODATA with its own NSEC3.
	r = query(t, f.Addr, "c.n3.test.", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("ENT: %v", r)
	}
	ent := false
	for _, rr := range r.Ns {
		if n, ok := rr.(*dns.NSEC3); ok && n.Match("c.n3.test.") && len(n.TypeBitMap) == 0 {
			ent = true
		}
	}
	if !ent {
		t.Errorf("ENT proof missing: %v", r.Ns)
	}
}

func TestNSEC3ChainComplete(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	query(t, f.Addr, "n3.test.", dns.TypeSOA, "udp") // signs the zone
	z := h.Zone("n3.test.")
	h.mu.Lock()
	defer h.mu.Unlock()
	names := len(z.names) + len(z.ents)
	if len(z.nsec3) != names {
		t.Fatalf("%d NSEC3 for %d names", len(z.nsec3), names)
	}
	for i, n := range z.nsec3 {
		next := z.nsec3[(i+1)%len(z.nsec3)]
		if n.NextDomain != ownerHash(next) {
			t.Errorf("NSEC3 %d next %s, want %s", i, n.NextDomain, ownerHash(next))
		}
		if i > 0 && ownerHash(z.nsec3[i-1]) >= ownerHash(n) {
			t.Errorf("NSEC3 chain out of order at %d", i)
		}
		if n.Iterations != 5 || n.Salt != "ABCD" {
			t.Errorf("params %v", n)
		}
	}
}

func TestNXDomainNSECAndWildcard(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	keys := keysOf(t, f, h, "example.test.")
	// Wildcard expansion: owner is the query name, RRSIG labels 2 < 3,
	// with the NSEC covering the query name.
	r := query(t, f.Addr, "foo.example.test.", dns.TypeTXT, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Fatalf("wildcard: %v", r)
	}
	sigs := verifySigs(t, r.Answer, keys)
	if sigs[0].Labels != 2 || r.Answer[0].Header().Name != "foo.example.test." {
		t.Errorf("wildcard sig labels %d", sigs[0].Labels)
	}
	verifySigs(t, r.Ns, keys)
	if len(r.Ns) != 2 || !nsecCovers(r.Ns[0].(*dns.NSEC), "foo.example.test.") {
		t.Errorf("wildcard proof: %v", r.Ns)
	}
	// Wildcard NODATA.
	r = query(t, f.Addr, "foo.example.test.", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(rrsigs(r.Ns)) != 3 {
		t.Errorf("wildcard nodata: %v", r)
	}
	// NXDOMAIN at the root: a name in no zone.
	root := keysOf(t, f, h, ".")
	r = query(t, f.Addr, "www.nowhere.", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("nowhere: %v", r)
	}
	verifySigs(t, r.Ns, root)
	covered := map[string]bool{}
	for _, rr := range r.Ns {
		if n, ok := rr.(*dns.NSEC); ok {
			for _, name := range []string{"www.nowhere.", "*."} {
				if nsecCovers(n, name) {
					covered[name] = true
				}
			}
		}
	}
	if len(covered) != 2 {
		t.Errorf("NXDOMAIN proof covers %v", covered)
	}
}

func nsecCovers(n *dns.NSEC, name string) bool {
	a, b := canonCompare(n.Hdr.Name, name), canonCompare(name, n.NextDomain)
	if canonCompare(n.Hdr.Name, n.NextDomain) < 0 {
		return a < 0 && b < 0
	}
	return a < 0 || b < 0 // last NSEC wraps to the apex
}

func TestCNAMEAcrossZones(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	r := query(t, f.Addr, "alias.example.test.", dns.TypeA, "udp")
	if len(r.Answer) != 4 {
		t.Fatalf("chain: %v", r)
	}
	verifySigs(t, r.Answer[:2], keysOf(t, f, h, "example.test."))
	verifySigs(t, r.Answer[2:], keysOf(t, f, h, "n3.test."))
	if a, ok := r.Answer[2].(*dns.A); !ok || a.A.String() != "127.0.0.3" {
		t.Errorf("target: %v", r.Answer)
	}
	// A wildcard CNAME keeps its expansion proof when the chain goes on.
	h.Add("*.w.example.test. 300 IN CNAME www.n3.test.")
	r = query(t, f.Addr, "x.w.example.test.", dns.TypeA, "udp")
	if len(r.Answer) != 4 || r.Answer[0].Header().Name != "x.w.example.test." || len(r.Ns) != 2 {
		t.Fatalf("wildcard chain: %v", r)
	}
	if n, ok := r.Ns[0].(*dns.NSEC); !ok || !nsecCovers(n, "x.w.example.test.") {
		t.Errorf("wildcard chain proof: %v", r.Ns)
	}
	// Without DO: no DNSSEC records at all.
	c := &dns.Client{}
	m := new(dns.Msg)
	m.SetQuestion("nx.mail.example.test.", dns.TypeA)
	if r, _, err := c.Exchange(m, f.Addr); err != nil || r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
		t.Errorf("no DO: %v %v", r, err)
	}
}

func TestTruncationAndQueryLog(t *testing.T) {
	t.Parallel()
	h, f := bed(t)
	for i := range 40 {
		h.Add("big.example.test. 300 IN TXT \"" + strings.Repeat("x", 50) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\"")
	}
	f.ResetQueries()
	c := &dns.Client{Net: "udp"}
	m := new(dns.Msg)
	m.SetQuestion("big.example.test.", dns.TypeTXT)
	m.SetEdns0(1232, true)
	r, _, err := c.Exchange(m, f.Addr)
	if err != nil || !r.Truncated || len(r.Answer) != 0 {
		t.Fatalf("udp: %v %v", r, err)
	}
	r = query(t, f.Addr, "big.example.test.", dns.TypeTXT, "tcp")
	if r.Truncated || len(r.Answer) != 41 {
		t.Fatalf("tcp: %d records", len(r.Answer))
	}
	if n := f.Queries("BIG.example.test.", dns.TypeTXT); n != 2 || f.Total() != 2 || len(f.Duplicates()) != 0 {
		t.Errorf("log: %d %d %v", n, f.Total(), f.Duplicates())
	}
	query(t, f.Addr, "big.example.test.", dns.TypeTXT, "tcp")
	if d := f.Duplicates(); len(d) != 1 {
		t.Errorf("duplicates %v", d)
	}
	f.ResetQueries()
	if f.Total() != 0 {
		t.Errorf("reset")
	}
}

// TestUnsignedNXDomain: a name missing from an unsigned zone is a plain
// NXDOMAIN with the SOA and no denial records (it used to panic on the
// empty NSEC chain).
func TestUnsignedNXDomain(t *testing.T) {
	t.Parallel()
	_, f := bed(t)
	for _, name := range []string{"nosuch.plain.test.", "a.b.nosuch.plain.test."} {
		r := query(t, f.Addr, name, dns.TypeA, "udp")
		if r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s: rcode %s, want NXDOMAIN", name, dns.RcodeToString[r.Rcode])
		}
		for _, rr := range r.Ns {
			switch rr.(type) {
			case *dns.NSEC, *dns.NSEC3, *dns.RRSIG:
				t.Errorf("%s: unsigned zone sent %v", name, rr)
			}
		}
	}
}

// TestAsked: the channel closes at the first query for its question, and
// at once for a question already asked.
func TestAsked(t *testing.T) {
	t.Parallel()
	h := New(t, Options{Deterministic: true})
	h.AddZone("example.test.", ZoneConfig{})
	h.Add("mail.example.test. 300 IN A 127.0.0.2")
	f := h.Serve(t)
	ch := f.Asked("Mail.Example.Test", dns.TypeA)
	select {
	case <-ch:
		t.Fatal("closed before any query")
	default:
	}
	c := new(dns.Client)
	m := new(dns.Msg)
	m.SetQuestion("mail.example.test.", dns.TypeA)
	if _, _, err := c.Exchange(m, f.Addr); err != nil {
		t.Fatal(err)
	}
	<-ch // closed by the query (the test hangs otherwise)
	select {
	case <-f.Asked("mail.example.test.", dns.TypeA):
	default:
		t.Fatal("Asked for a question already asked is not closed")
	}
}
