package dnssec

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestCanonicalOrder checks the RFC 4034 §6.1 example ordering.
func TestCanonicalOrder(t *testing.T) {
	t.Parallel()
	want := []string{"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
		"zABC.a.EXAMPLE.", "z.example.", `\001.z.example.`, "*.z.example.", `\200.z.example.`}
	var got []name
	for i := len(want) - 1; i >= 0; i-- {
		n, ok := parseName(want[i])
		if !ok {
			t.Fatalf("parse %q", want[i])
		}
		got = append(got, n)
	}
	sort.Slice(got, func(i, j int) bool { return canonCompare(got[i], got[j]) < 0 })
	for i := range want {
		if got[i].text != dns.CanonicalName(want[i]) {
			t.Fatalf("position %d: got %s want %s", i, got[i].text, want[i])
		}
	}
}

// TestNSEC3HashVector: RFC 5155 Appendix A's hash of "example" with
// iterations 12 and salt aabbccdd, the parameters a proof is hashed with.
func TestNSEC3HashVector(t *testing.T) {
	t.Parallel()
	z, _ := parseName("example.")
	n3 := &dns.NSEC3{Hdr: dns.RR_Header{Name: "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.", Rrtype: dns.TypeNSEC3, Class: dns.ClassINET},
		Hash: dns.SHA1, Iterations: 12, Salt: "aabbccdd", NextDomain: "2T7B4G4VSA5SMI47K61MV5BV1A22BOJR"}
	s, err := loadNSEC3(z, []*dns.NSEC3{n3}, NewBudget(Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.hash(z)
	if err != nil || h != "0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM" || s.match(h) == nil {
		t.Fatalf("hash %q %v", h, err)
	}
}

type denialCase struct {
	name  string
	run   func(b *Budget) error
	want  error  // nil, or one of the sentinel errors
	bogus string // when set: a Bogus error whose text contains it
}

func runDenial(t *testing.T, cases []denialCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run(NewBudget(DefaultLimits()))
			switch {
			case c.bogus != "":
				if err == nil || DenialSecurity(err) != Bogus || !strings.Contains(err.Error(), c.bogus) ||
					!strings.HasPrefix(err.Error(), "bad denial proof: ") {
					t.Fatalf("got %v, want bogus containing %q", err, c.bogus)
				}
			case c.want == nil:
				if err != nil {
					t.Fatalf("got %v, want proof accepted", err)
				}
			default:
				if !errors.Is(err, c.want) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
			}
		})
	}
}

// TestDenialNSEC has one case per NSEC rule of RFC 4035 §5.4 (and §3.1.3,
// RFC 6840 §4).
func TestDenialNSEC(t *testing.T) {
	t.Parallel()
	z := exampleZone()
	ch := z.nsec()
	at := func(names ...string) []*dns.NSEC { return nsecAt(ch, names...) }
	cov := func(names ...string) []*dns.NSEC {
		var out []*dns.NSEC
		for _, n := range names {
			out = append(out, nsecCovering(ch, n))
		}
		return out
	}
	const zone = "example."
	runDenial(t, []denialCase{
		{"5.4 NXDOMAIN: qname and wildcard covered", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, cov("nx.example.", "*.example."), nil, b)
		}, nil, ""},
		{"5.4 NXDOMAIN deep name", func(b *Budget) error {
			return ProveNXDomain("x.y.nx.example.", zone, cov("x.y.nx.example.", "*.example."), nil, b)
		}, nil, ""},
		{"5.4 NXDOMAIN covered by the last NSEC (wraps to the apex)", func(b *Budget) error {
			return ProveNXDomain("zzz.example.", zone, cov("zzz.example.", "*.example."), nil, b)
		}, nil, ""},
		{"5.4 NXDOMAIN without the wildcard proof", func(b *Budget) error {
			n := nsecCovering(ch, "nx.example.")
			if n == nsecCovering(ch, "*.example.") {
				t.Fatal("fixture: same record covers both")
			}
			return ProveNXDomain("nx.example.", zone, []*dns.NSEC{n}, nil, b)
		}, nil, "wildcard"},
		{"5.4 NXDOMAIN for an existing name", func(b *Budget) error {
			return ProveNXDomain("a.example.", zone, append(at("a.example."), cov("*.example.")...), nil, b)
		}, nil, "exists"},
		{"5.4 NXDOMAIN for an empty non-terminal", func(b *Budget) error {
			return ProveNXDomain("c.example.", zone, cov("c.example.", "*.example."), nil, b)
		}, nil, "empty non-terminal"},
		{"5.4 NXDOMAIN where the wildcard exists", func(b *Budget) error {
			return ProveNXDomain("x.y.w.example.", zone, cov("x.y.w.example.", "*.w.example."), nil, b)
		}, nil, "wildcard"},
		{"RFC 6840 §4.1 NXDOMAIN below a delegation from the parent-side NSEC", func(b *Budget) error {
			return ProveNXDomain("www.ins.example.", zone, append(at("ins.example."), cov("*.example.")...), nil, b)
		}, nil, "no NSEC covers"},
		{"5.4 NXDOMAIN for a name outside the zone", func(b *Budget) error {
			return ProveNXDomain("nx.other.", zone, ch, nil, b)
		}, nil, "not in zone"},
		{"5.4 NSEC of another zone ignored", func(b *Budget) error {
			return ProveNXDomain("nx.sub.example.", "sub.example.", ch, nil, b)
		}, nil, "no NSEC covers"},
		{"5.4 NODATA: NSEC at qname without the type", func(b *Budget) error {
			return ProveNoData("a.example.", dns.TypeMX, zone, at("a.example."), nil, b)
		}, nil, ""},
		{"5.4 NODATA: the type exists", func(b *Budget) error {
			return ProveNoData("a.example.", dns.TypeA, zone, at("a.example."), nil, b)
		}, nil, "the type exists"},
		{"5.4 NODATA: a CNAME exists", func(b *Budget) error {
			return ProveNoData("cn.example.", dns.TypeA, zone, at("cn.example."), nil, b)
		}, nil, "CNAME"},
		{"3.1.3.2 NODATA at an empty non-terminal", func(b *Budget) error {
			return ProveNoData("c.example.", dns.TypeA, zone, cov("c.example."), nil, b)
		}, nil, ""},
		{"3.1.3.4 wildcard NODATA", func(b *Budget) error {
			return ProveNoData("q.w.example.", dns.TypeA, zone, append(cov("q.w.example."), at("*.w.example.")...), nil, b)
		}, nil, ""},
		{"3.1.3.4 wildcard NODATA where the wildcard has the type", func(b *Budget) error {
			return ProveNoData("q.w.example.", dns.TypeTXT, zone, append(cov("q.w.example."), at("*.w.example.")...), nil, b)
		}, nil, "the type exists"},
		{"5.4 NODATA from an NSEC that merely covers", func(b *Budget) error {
			return ProveNoData("nx.example.", dns.TypeA, zone, cov("nx.example.", "*.example."), nil, b)
		}, nil, "no NSEC matches"},
		{"RFC 6840 §4.4 NODATA for A from the parent side of a delegation", func(b *Budget) error {
			return ProveNoData("ins.example.", dns.TypeA, zone, at("ins.example."), nil, b)
		}, nil, "parent-side"},
		{"5.4 DS NODATA at an unsigned delegation", func(b *Budget) error {
			return ProveNoData("ins.example.", dns.TypeDS, zone, at("ins.example."), nil, b)
		}, nil, ""},
		{"RFC 6840 §4.4 DS NODATA from the child apex", func(b *Budget) error {
			return ProveNoData("example.", dns.TypeDS, zone, at("example."), nil, b)
		}, nil, "child-side"},
		{"5.2 NoDS: NS without DS", func(b *Budget) error {
			return ProveNoDS("ins.example.", zone, at("ins.example."), nil, b)
		}, nil, ""},
		{"5.2 NoDS: DS present", func(b *Budget) error {
			return ProveNoDS("sub.example.", zone, at("sub.example."), nil, b)
		}, nil, "the DS exists"},
		{"5.2 NoDS: not a delegation", func(b *Budget) error {
			return ProveNoDS("a.example.", zone, at("a.example."), nil, b)
		}, nil, "no NS"},
		{"5.2 NoDS: covering NSEC is no proof", func(b *Budget) error {
			return ProveNoDS("nx.example.", zone, cov("nx.example."), nil, b)
		}, nil, "no NSEC matches"},
		{"5.2 NoDS for the apex itself", func(b *Budget) error {
			return ProveNoDS("example.", zone, at("example."), nil, b)
		}, nil, "apex"},
		{"5.3.4 wildcard answer: no closer match", func(b *Budget) error {
			return ProveWildcard("q.w.example.", "*.w.example.", zone, cov("q.w.example."), nil, b)
		}, nil, ""},
		{"5.3.4 wildcard answer, parent given without *", func(b *Budget) error {
			return ProveWildcard("x.q.w.example.", "w.example.", zone, cov("x.q.w.example."), nil, b)
		}, nil, ""},
		{"5.3.4 wildcard answer without proof", func(b *Budget) error {
			return ProveWildcard("q.w.example.", "*.w.example.", zone, at("a.example."), nil, b)
		}, nil, "no NSEC covers"},
		{"5.3.4 wildcard answer for an existing name", func(b *Budget) error {
			return ProveWildcard("a.example.", "*.example.", zone, at("a.example."), nil, b)
		}, nil, "exists"},
		{"5.3.4 wildcard answer where a closer encloser exists", func(b *Budget) error {
			return ProveWildcard("x.c.example.", "*.example.", zone, cov("x.c.example."), nil, b)
		}, nil, "closest encloser"},
		{"no records at all", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, nil, b)
		}, nil, "no usable NSEC"},
	})
}

// TestDenialNSEC3 has one case per clause of RFC 5155 §8.
func TestDenialNSEC3(t *testing.T) {
	t.Parallel()
	z := exampleZone()
	p := n3params{iter: 1, salt: "aabbccdd"}
	ch := z.nsec3(p)
	oo := z.nsec3(n3params{iter: 1, salt: "aabbccdd", optOut: true})
	m := func(n string) *dns.NSEC3 { return n3match(ch, n) }
	c := func(n string) *dns.NSEC3 { return n3cover(ch, n) }
	om := func(n string) *dns.NSEC3 { return n3match(oo, n) }
	oc := func(n string) *dns.NSEC3 { return n3cover(oo, n) }
	const zone = "example."
	nxProof := n3s(m("example."), c("nx.example."), c("*.example."))

	// The forged NXDOMAIN of DANE.md §0 item 5: the zone's own NSEC3 at an
	// existing name, which miekg/dns NSEC3.Cover accepts as a cover.
	forged := m("a.example.")
	if !forged.Cover("a.example.") {
		t.Fatal("trap precondition: miekg NSEC3.Cover should accept the exact match")
	}

	hi := z.nsec3(n3params{iter: 151, salt: "aa"})
	mixed := n3s(m("example."), n3cover(z.nsec3(n3params{iter: 2, salt: "aabbccdd"}), "nx.example."), c("*.example."))
	unknown := func() []*dns.NSEC3 {
		var out []*dns.NSEC3
		for _, r := range nxProof {
			x := *r
			x.Hash = 2
			out = append(out, &x)
		}
		return out
	}()
	foreign := func() []*dns.NSEC3 {
		var out []*dns.NSEC3
		for _, r := range nxProof {
			x := *r
			x.Hdr.Name = strings.Replace(x.Hdr.Name, "example.", "other.example.", 1)
			out = append(out, &x)
		}
		return out
	}()

	runDenial(t, []denialCase{
		{"8.3/8.4 NXDOMAIN: closest encloser, next closer and wildcard", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, nxProof, b)
		}, nil, ""},
		{"8.3 closest encloser below the apex", func(b *Budget) error {
			return ProveNXDomain("x.y.c.example.", zone, nil, n3s(m("c.example."), c("y.c.example."), c("*.c.example.")), b)
		}, nil, ""},
		{"8.3 next closer not covered", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, n3s(m("example."), c("*.example.")), b)
		}, nil, "next closer"},
		{"8.3 no closest encloser match", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, n3s(c("nx.example."), c("*.example.")), b)
		}, nil, "no NSEC3 matches an encloser"},
		{"8.3 closest encloser at a delegation", func(b *Budget) error {
			return ProveNXDomain("www.ins.example.", zone, nil, n3s(m("ins.example."), c("www.ins.example."), c("*.ins.example.")), b)
		}, nil, "delegation"},
		{"8.4 wildcard not covered", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, n3s(m("example."), c("nx.example.")), b)
		}, nil, "wildcard"},
		{"8.4 wildcard exists", func(b *Budget) error {
			return ProveNXDomain("x.y.w.example.", zone, nil, n3s(m("w.example."), c("y.w.example."), m("*.w.example.")), b)
		}, nil, "wildcard"},
		{"8.4 forged NXDOMAIN from an exact match (miekg Cover trap)", func(b *Budget) error {
			return ProveNXDomain("a.example.", zone, nil, n3s(m("example."), forged, c("*.example.")), b)
		}, nil, "exists"},
		{"8.4 opt-out covering the next closer: insecure, never secure NXDOMAIN", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, n3s(om("example."), oc("nx.example."), oc("*.example.")), b)
		}, ErrOptOut, ""},
		{"8.2 parameters differ within the proof", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, mixed, b)
		}, nil, "parameters differ"},
		{"8.1 unknown hash algorithm: insecure", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, unknown, b)
		}, ErrNSEC3Unsupported, ""},
		{"8.3 NSEC3 records of another zone ignored", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, foreign, b)
		}, nil, "no usable"},
		{"RFC 9276 §3.2 iterations above the limit: insecure", func(b *Budget) error {
			return ProveNXDomain("nx.example.", zone, nil, n3s(n3match(hi, "example."), n3cover(hi, "nx.example."), n3cover(hi, "*.example.")), b)
		}, ErrNSEC3Iterations, ""},
		{"8.5 NODATA: matching NSEC3 without the type", func(b *Budget) error {
			return ProveNoData("a.example.", dns.TypeMX, zone, nil, n3s(m("a.example.")), b)
		}, nil, ""},
		{"8.5 NODATA: the type exists", func(b *Budget) error {
			return ProveNoData("a.example.", dns.TypeA, zone, nil, n3s(m("a.example.")), b)
		}, nil, "the type exists"},
		{"8.5 NODATA: CNAME exists", func(b *Budget) error {
			return ProveNoData("cn.example.", dns.TypeTXT, zone, nil, n3s(m("cn.example.")), b)
		}, nil, "CNAME"},
		{"8.5 NODATA at an empty non-terminal", func(b *Budget) error {
			return ProveNoData("c.example.", dns.TypeA, zone, nil, n3s(m("c.example.")), b)
		}, nil, ""},
		{"8.5 NODATA for A from a parent-side delegation NSEC3", func(b *Budget) error {
			return ProveNoData("ins.example.", dns.TypeA, zone, nil, n3s(m("ins.example.")), b)
		}, nil, "parent-side"},
		{"8.5 NODATA with a covering record only (the name does not exist)", func(b *Budget) error {
			return ProveNoData("nx.example.", dns.TypeA, zone, nil, nxProof, b)
		}, nil, "no NSEC3 matches"},
		{"8.6 DS NODATA: matching NSEC3 without DS", func(b *Budget) error {
			return ProveNoData("ins.example.", dns.TypeDS, zone, nil, n3s(m("ins.example.")), b)
		}, nil, ""},
		{"8.6 DS NODATA: DS exists", func(b *Budget) error {
			return ProveNoData("sub.example.", dns.TypeDS, zone, nil, n3s(m("sub.example.")), b)
		}, nil, "the type exists"},
		{"8.6 DS NODATA with opt-out covering the next closer", func(b *Budget) error {
			return ProveNoData("ins.example.", dns.TypeDS, zone, nil, n3s(om("example."), oc("ins.example.")), b)
		}, nil, ""},
		{"8.6 DS NODATA without opt-out: no proof", func(b *Budget) error {
			return ProveNoData("nx.example.", dns.TypeDS, zone, nil, n3s(m("example."), c("nx.example.")), b)
		}, nil, "opt-out"},
		{"8.7 wildcard NODATA", func(b *Budget) error {
			return ProveNoData("q.w.example.", dns.TypeA, zone, nil, n3s(m("w.example."), c("q.w.example."), m("*.w.example.")), b)
		}, nil, ""},
		{"8.7 wildcard NODATA where the wildcard has the type", func(b *Budget) error {
			return ProveNoData("q.w.example.", dns.TypeTXT, zone, nil, n3s(m("w.example."), c("q.w.example."), m("*.w.example.")), b)
		}, nil, "the type exists"},
		{"8.7 wildcard NODATA without the wildcard NSEC3", func(b *Budget) error {
			return ProveNoData("q.w.example.", dns.TypeA, zone, nil, n3s(m("w.example."), c("q.w.example.")), b)
		}, nil, "wildcard"},
		{"8.8 wildcard answer: next closer covered", func(b *Budget) error {
			return ProveWildcard("x.q.w.example.", "*.w.example.", zone, nil, n3s(c("q.w.example.")), b)
		}, nil, ""},
		{"8.8 wildcard answer: next closer not covered", func(b *Budget) error {
			return ProveWildcard("q.w.example.", "*.w.example.", zone, nil, n3s(m("w.example.")), b)
		}, nil, "no NSEC3 covers"},
		{"8.8 wildcard answer where the next closer exists", func(b *Budget) error {
			return ProveWildcard("x.c.example.", "*.example.", zone, nil, n3s(m("c.example.")), b)
		}, nil, "exists"},
		{"8.8 wildcard answer from an opt-out span: insecure", func(b *Budget) error {
			return ProveWildcard("q.w.example.", "*.w.example.", zone, nil, n3s(oc("q.w.example.")), b)
		}, ErrOptOut, ""},
		{"8.8 wildcard parent not enclosing qname", func(b *Budget) error {
			return ProveWildcard("q.w.example.", "*.c.example.", zone, nil, n3s(c("q.w.example.")), b)
		}, nil, "does not enclose"},
		{"8.9 referral to an unsigned subzone: NS, no DS", func(b *Budget) error {
			return ProveNoDS("ins.example.", zone, nil, n3s(m("ins.example.")), b)
		}, nil, ""},
		{"8.9 referral: DS present", func(b *Budget) error {
			return ProveNoDS("sub.example.", zone, nil, n3s(m("sub.example.")), b)
		}, nil, "the DS exists"},
		{"8.9 referral: opt-out span covers the delegation", func(b *Budget) error {
			return ProveNoDS("ins.example.", zone, nil, n3s(om("example."), oc("ins.example.")), b)
		}, nil, ""},
		{"8.9 referral: deep child under an opt-out span", func(b *Budget) error {
			return ProveNoDS("d.ins2.example.", zone, nil, n3s(om("example."), oc("ins2.example.")), b)
		}, nil, ""},
		{"8.9 referral: non-opt-out cover proves nothing", func(b *Budget) error {
			return ProveNoDS("nx.example.", zone, nil, n3s(m("example."), c("nx.example.")), b)
		}, nil, "no opt-out"},
		{"8.9 referral: name is no delegation", func(b *Budget) error {
			return ProveNoDS("a.example.", zone, nil, n3s(m("a.example.")), b)
		}, nil, "no NS"},
	})
}

// TestNSEC3CoverStrict: equality with the owner hash is a match, never a
// cover; the last record wraps; a lone record covers everything but itself.
func TestNSEC3CoverStrict(t *testing.T) {
	t.Parallel()
	z, _ := parseName("example.")
	mk := func(owner, next string) *dns.NSEC3 {
		return &dns.NSEC3{Hdr: dns.RR_Header{Name: owner + ".example.", Rrtype: dns.TypeNSEC3, Class: dns.ClassINET},
			Hash: dns.SHA1, NextDomain: next}
	}
	const (
		h1 = "10000000000000000000000000000000"
		h2 = "20000000000000000000000000000000"
		h3 = "30000000000000000000000000000000"
		h9 = "90000000000000000000000000000000"
	)
	cases := []struct {
		rec   *dns.NSEC3
		h     string
		cover bool
	}{
		{mk(h1, h3), h2, true},
		{mk(h1, h3), h1, false}, // exact match
		{mk(h1, h3), h3, false}, // next owner: a match elsewhere
		{mk(h1, h3), h9, false},
		{mk(h9, h2), h1, true}, // wrap: before the first
		{mk(h9, h2), "A0000000000000000000000000000000", true},
		{mk(h9, h2), h3, false},
		{mk(h9, h9), h1, true}, // lone record
		{mk(h9, h9), h9, false},
	}
	for i, c := range cases {
		s, err := loadNSEC3(z, []*dns.NSEC3{c.rec}, NewBudget(Limits{}))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.cover(c.h) != nil; got != c.cover {
			t.Errorf("case %d: cover(%s) by %s..%s = %v", i, c.h, c.rec.Hdr.Name, c.rec.NextDomain, got)
		}
	}
}

func TestDenialSecurity(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]Security{
		nil: Secure, ErrOptOut: Insecure, ErrNSEC3Iterations: Insecure, ErrNSEC3Unsupported: Insecure,
		ErrWorkBudget: Indeterminate, badProof("x"): Bogus,
	} {
		if got := DenialSecurity(err); got != want {
			t.Errorf("%v: got %v want %v", err, got, want)
		}
	}
}

// TestNameEscapes: names with escapes compare, rebuild and hash by their
// lower-cased wire form.
func TestNameEscapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ a, b string }{
		{`\065.example.`, "a.example."},
		{`A\.B.example.`, `a\.b.EXAMPLE`},
		{`\000\255.x.`, `\000\255.X.`},
	} {
		x, ok1 := parseName(c.a)
		y, ok2 := parseName(c.b)
		if !ok1 || !ok2 || canonCompare(x, y) != 0 || x.text != y.text {
			t.Fatalf("%s vs %s: %q %q", c.a, c.b, x.text, y.text)
		}
		back, ok := parseName(x.text)
		if !ok || canonCompare(back, x) != 0 || back.text != x.text {
			t.Fatalf("%s does not round-trip: %q", c.a, back.text)
		}
		if dns.HashName(x.text, dns.SHA1, 0, "") != dns.HashName(y.text, dns.SHA1, 0, "") {
			t.Fatalf("%s and %s hash differently", c.a, c.b)
		}
	}
	if _, ok := parseName(strings.Repeat("a.", 200)); ok {
		t.Fatal("over-long name accepted")
	}
	e, _ := parseName(`a\.b.example.`)
	if len(e.labels) != 2 || e.ancestor(1).text != "example." || e.child([]byte("*")).text != `*.a\.b.example.` {
		t.Fatalf("labels %q ancestor %q", e.labels, e.ancestor(1).text)
	}
}

// TestWildcardFlow: an expanded answer's Verdict.Wildcard feeds
// ProveWildcard directly (RFC 4035 §5.3.4, RFC 5155 §8.8), with NSEC and
// NSEC3; an expansion where a closer name exists fails.
func TestWildcardFlow(t *testing.T) {
	t.Parallel()
	zsk := newKey(t, "example.", dns.ECDSAP256SHA256, 256, 0)
	z := exampleZone()
	nsec := z.nsec()
	n3 := z.nsec3(n3params{iter: 0})
	for _, c := range []struct {
		wild, qname string
		ok          bool
	}{
		{"*.w.example.", "q.w.example.", true},
		{"*.w.example.", "x.y.w.example.", true},
		{"*.example.", "x.c.example.", false}, // c.example. exists
	} {
		w := rrs(t, c.wild+" 300 IN TXT \"w\"")
		set, s := rename(w, sign(t, zsk, w, 0, 0), c.qname)
		v := VerifyRRset(set, []*dns.RRSIG{s}, keysOf(zsk), "example.", testNow, nil)
		if v.Security != Secure || v.Wildcard != c.wild {
			t.Fatalf("%s: %v wildcard %q", c.qname, v.Security, v.Wildcard)
		}
		labels := dns.SplitDomainName(c.qname)
		nc := dns.Fqdn(strings.Join(labels[len(labels)-dns.CountLabel(c.wild):], "."))
		errNSEC := ProveWildcard(c.qname, v.Wildcard, "example.", []*dns.NSEC{nsecCovering(nsec, c.qname)}, nil, nil)
		errNSEC3 := ProveWildcard(c.qname, v.Wildcard, "example.", nil, n3s(n3cover(n3, nc), n3match(n3, nc)), nil)
		if (errNSEC == nil) != c.ok || (errNSEC3 == nil) != c.ok {
			t.Fatalf("%s: NSEC %v, NSEC3 %v, want ok=%v", c.qname, errNSEC, errNSEC3, c.ok)
		}
	}
}
