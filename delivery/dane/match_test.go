package dane

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var testNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

type testCert struct {
	c   *x509.Certificate
	key ed25519.PrivateKey
}

// certSpec describes one generated certificate.
type certSpec struct {
	cn       string
	dnsNames []string
	ca       bool
	pathLen  int // -1: none
	expired  bool
	noBC     bool // CA without basic constraints
}

func mkCert(t testing.TB, seed string, s certSpec, parent *testCert) *testCert {
	t.Helper()
	h := sha256.Sum256([]byte(seed))
	key := ed25519.NewKeyFromSeed(h[:])
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(h[:8]),
		Subject:      pkix.Name{CommonName: s.cn},
		DNSNames:     s.dnsNames,
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if s.expired {
		tmpl.NotBefore, tmpl.NotAfter = testNow.AddDate(-2, 0, 0), testNow.AddDate(-1, 0, 0)
	}
	if s.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
		if !s.noBC {
			tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
			if s.pathLen >= 0 {
				tmpl.MaxPathLen, tmpl.MaxPathLenZero = s.pathLen, s.pathLen == 0
			} else {
				tmpl.MaxPathLen = -1
			}
		}
	}
	pc, pk := tmpl, key
	if parent != nil {
		pc, pk = parent.c, parent.key
	}
	der, err := x509.CreateCertificate(nil, tmpl, pc, key.Public(), pk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{c, key}
}

// pki is root -> intermediate -> leaf for mx.example.test.
type pki struct{ root, inter, leaf *testCert }

func newPKI(t testing.TB, leaf certSpec) pki {
	root := mkCert(t, "root", certSpec{cn: "Root", ca: true, pathLen: -1}, nil)
	inter := mkCert(t, "inter", certSpec{cn: "Inter", ca: true, pathLen: -1}, root)
	return pki{root, inter, mkCert(t, "leaf/"+leaf.cn+strings.Join(leaf.dnsNames, ","), leaf, inter)}
}

func (p pki) chain(withRoot bool) []*x509.Certificate {
	c := []*x509.Certificate{p.leaf.c, p.inter.c}
	if withRoot {
		c = append(c, p.root.c)
	}
	return c
}

func tlsa(t testing.TB, u, s, m uint8, c *x509.Certificate) *dns.TLSA {
	t.Helper()
	r := &dns.TLSA{Hdr: dns.RR_Header{Name: "_25._tcp.mx.example.test.", Rrtype: dns.TypeTLSA, Class: dns.ClassINET}}
	if err := r.Sign(int(u), int(s), int(m), c); err != nil {
		t.Fatal(err)
	}
	return r
}

func rawTLSA(u, s, m uint8, hexData string) *dns.TLSA {
	return &dns.TLSA{Hdr: dns.RR_Header{Name: "_25._tcp.mx.example.test.", Rrtype: dns.TypeTLSA, Class: dns.ClassINET},
		Usage: u, Selector: s, MatchingType: m, Certificate: hexData}
}

var mxNames = []string{"mx.example.test"}

// TestMatchEveryCombination: every usage/selector/matching combination of
// a matching record; usages 0/1 never authenticate (RFC 7672 §3.1.3).
func TestMatchEveryCombination(t *testing.T) {
	t.Parallel()
	p := newPKI(t, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}, pathLen: -1})
	for u := uint8(0); u <= 3; u++ {
		for s := uint8(0); s <= 1; s++ {
			for m := uint8(0); m <= 2; m++ {
				c := p.leaf.c
				if u == 0 || u == 2 {
					c = p.inter.c
				}
				res, err := Match([]*dns.TLSA{tlsa(t, u, s, m, c)}, p.chain(false), mxNames, testNow)
				switch u {
				case 0, 1:
					if !errors.Is(err, ErrNoUsable) {
						t.Errorf("%d %d %d: err = %v, want ErrNoUsable", u, s, m, err)
					}
				case 2:
					if err != nil || res.Depth != 1 || res.Name != "mx.example.test" {
						t.Errorf("%d %d %d: %+v, %v; want depth 1", u, s, m, res, err)
					}
				case 3:
					if err != nil || res.Depth != 0 {
						t.Errorf("%d %d %d: %+v, %v; want depth 0", u, s, m, res, err)
					}
				}
				// The same record for another certificate never matches.
				other := mkCert(t, "other", certSpec{cn: "other", ca: true, pathLen: -1}, nil)
				if u >= 2 {
					if _, err := Match([]*dns.TLSA{tlsa(t, u, s, m, other.c)}, p.chain(false), mxNames, testNow); err == nil {
						t.Errorf("%d %d %d of another certificate matched", u, s, m)
					}
				}
			}
		}
	}
}

func TestParseTLSAUnusable(t *testing.T) {
	t.Parallel()
	d32 := strings.Repeat("ab", 32)
	d64 := strings.Repeat("ab", 64)
	for _, tc := range []struct {
		r    *dns.TLSA
		want string // "" = usable
	}{
		{rawTLSA(3, 1, 1, d32), ""},
		{rawTLSA(2, 0, 2, d64), ""},
		{rawTLSA(0, 1, 1, d32), "usage 0"},
		{rawTLSA(1, 1, 1, d32), "usage 1"},
		{rawTLSA(4, 1, 1, d32), "unknown usage 4"},
		{rawTLSA(3, 2, 1, d32), "unknown selector 2"},
		{rawTLSA(3, 1, 3, d32), "unknown matching type 3"},
		{rawTLSA(3, 1, 255, d32), "unknown matching type 255"},
		{rawTLSA(3, 1, 1, d64), "64 bytes, want 32"},
		{rawTLSA(3, 1, 2, d32), "32 bytes, want 64"},
		{rawTLSA(3, 0, 0, "3082"), "full certificate does not parse"},
		{rawTLSA(3, 1, 0, "3082"), "full public key does not parse"},
		{rawTLSA(3, 1, 1, "zz"), "not hexadecimal"},
	} {
		_, err := ParseTLSA(tc.r)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.r, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.r, err, tc.want)
		}
	}
}

// TestDigestAgility: RFC 7671 §9: with SHA2-512 present for (3, 1), a
// matching SHA2-256 record of the same pair is ignored; Full records stay;
// other pairs keep their own strongest digest.
func TestDigestAgility(t *testing.T) {
	t.Parallel()
	p := newPKI(t, certSpec{cn: "mx.example.test", pathLen: -1})
	good256 := tlsa(t, 3, 1, 1, p.leaf.c)
	bad512 := rawTLSA(3, 1, 2, strings.Repeat("00", 64))
	if _, err := Match([]*dns.TLSA{good256, bad512}, p.chain(false), nil, testNow); err == nil {
		t.Error("SHA2-256 record used although a SHA2-512 one is present for the same (usage, selector)")
	}
	recs, unusable := Usable([]*dns.TLSA{good256, bad512, tlsa(t, 3, 1, 0, p.leaf.c), tlsa(t, 3, 0, 1, p.leaf.c), rawTLSA(1, 1, 1, "00")})
	if unusable != 1 || len(recs) != 3 {
		t.Fatalf("Usable: %d records, %d unusable: %v", len(recs), unusable, recs)
	}
	for _, r := range recs {
		if r.Selector == 1 && r.Matching == 1 {
			t.Errorf("weaker digest kept: %s", r)
		}
	}
	// Full 3 1 0 survives beside the stronger digest and matches.
	res, err := Match([]*dns.TLSA{bad512, tlsa(t, 3, 1, 0, p.leaf.c)}, p.chain(false), nil, testNow)
	if err != nil || res.Record.Matching != MatchFull {
		t.Errorf("full record beside SHA2-512: %+v %v", res, err)
	}
	// A different (usage, selector) pair is judged on its own.
	if _, err := Match([]*dns.TLSA{bad512, tlsa(t, 3, 0, 1, p.leaf.c)}, p.chain(false), nil, testNow); err != nil {
		t.Errorf("3 0 1 beside 3 1 2: %v", err)
	}
}

// TestEEIgnoresNamesAndExpiry: RFC 7672 §3.1.1.
func TestEEIgnoresNamesAndExpiry(t *testing.T) {
	t.Parallel()
	self := mkCert(t, "self", certSpec{cn: "wrong.example", dnsNames: []string{"wrong.example"}, expired: true}, nil)
	res, err := Match([]*dns.TLSA{tlsa(t, 3, 1, 1, self.c)}, []*x509.Certificate{self.c}, mxNames, testNow)
	if err != nil || res.Depth != 0 || res.Name != "" {
		t.Errorf("expired, misnamed DANE-EE leaf: %+v %v", res, err)
	}
	// EE never matches a certificate other than the leaf.
	p := newPKI(t, certSpec{cn: "mx.example.test", pathLen: -1})
	if _, err := Match([]*dns.TLSA{tlsa(t, 3, 1, 1, p.inter.c)}, p.chain(false), mxNames, testNow); err == nil {
		t.Error("DANE-EE matched the intermediate")
	}
}

func TestTA(t *testing.T) {
	t.Parallel()
	good := certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}, pathLen: -1}
	p := newPKI(t, good)
	// TA at depth 2: the root, sent by the server.
	res, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, p.root.c)}, p.chain(true), mxNames, testNow)
	if err != nil || res.Depth != 2 {
		t.Errorf("root TA at depth 2: %+v %v", res, err)
	}
	// Root not sent: a digest cannot match, a 2 0 0 full certificate can.
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, p.root.c)}, p.chain(false), mxNames, testNow); err == nil {
		t.Error("root TA matched although not presented")
	}
	res, err = Match([]*dns.TLSA{tlsa(t, 2, 0, 0, p.root.c)}, p.chain(false), mxNames, testNow)
	// It sits one above the top of the path it completes (OpenSSL's depth).
	if err != nil || res.Depth != 2 {
		t.Errorf("2 0 0 root from DNS: %+v %v", res, err)
	}
	// TA never matches the leaf (OpenSSL semantics, DANE.md §2.3).
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, p.leaf.c)}, p.chain(false), mxNames, testNow); err == nil {
		t.Error("DANE-TA matched the leaf")
	}
	// Names are checked, against any reference identity.
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, p.inter.c)}, p.chain(false), []string{"other.test"}, testNow); err == nil || !strings.Contains(err.Error(), "does not match the name other.test") {
		t.Errorf("TA with a wrong name: %v", err)
	}
	res, err = Match([]*dns.TLSA{tlsa(t, 2, 1, 1, p.inter.c)}, p.chain(false), []string{"other.test", "MX.Example.Test."}, testNow)
	if err != nil || res.Name != "mx.example.test" {
		t.Errorf("second reference identity: %+v %v", res, err)
	}
	// Expiry is checked below the TA.
	exp := newPKI(t, certSpec{cn: "mx.example.test", pathLen: -1, expired: true})
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, exp.inter.c)}, exp.chain(false), mxNames, testNow); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired leaf under TA: %v", err)
	}
	// A wrong signature: the leaf from one PKI, the intermediate of another
	// with the same subject.
	other := mkCert(t, "inter-other", certSpec{cn: "Inter", ca: true, pathLen: -1}, p.root)
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, other.c)}, []*x509.Certificate{p.leaf.c, other.c}, mxNames, testNow); err == nil {
		t.Error("TA accepted a leaf it did not sign")
	}
	// Basic constraints: an intermediate without CA:TRUE cannot sign.
	nobc := mkCert(t, "nobc", certSpec{cn: "NoBC", ca: true, noBC: true}, p.root)
	leaf := mkCert(t, "leaf-nobc", good, nobc)
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, p.root.c)}, []*x509.Certificate{leaf.c, nobc.c, p.root.c}, mxNames, testNow); err == nil {
		t.Error("TA path through a non-CA certificate accepted")
	}
	// Path length: the root allows 0 intermediates below it.
	root0 := mkCert(t, "root0", certSpec{cn: "Root0", ca: true, pathLen: 0}, nil)
	inter0 := mkCert(t, "inter0", certSpec{cn: "Inter0", ca: true, pathLen: -1}, root0)
	leaf0 := mkCert(t, "leaf0", good, inter0)
	if _, err := Match([]*dns.TLSA{tlsa(t, 2, 1, 1, root0.c)}, []*x509.Certificate{leaf0.c, inter0.c, root0.c}, mxNames, testNow); err == nil || !strings.Contains(err.Error(), "path length") {
		t.Errorf("path length 0 exceeded: %v", err)
	}
}

func TestNameRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cn   string
		sans []string
		ref  string
		want bool
	}{
		{"mx.example.test", nil, "mx.example.test", true},                             // CN when no DNS-ID
		{"mx.example.test", []string{"other.example.test"}, "mx.example.test", false}, // CN ignored beside DNS-IDs
		{"", []string{"*.example.test"}, "mx.example.test", true},
		{"", []string{"*.example.test"}, "a.mx.example.test", false}, // one label only
		{"", []string{"*.example.test"}, "example.test", false},
		{"", []string{"m*.example.test"}, "mx.example.test", false}, // partial-label wildcard
		{"", []string{"mx.*.test"}, "mx.example.test", false},
		{"", []string{"*.test"}, "mx.test", false}, // wildcard over a TLD
		{"", []string{"MX.EXAMPLE.TEST."}, "mx.example.test", true},
		{"*.example.test", nil, "mx.example.test", true},
	} {
		c := &x509.Certificate{Subject: pkix.Name{CommonName: tc.cn}, DNSNames: tc.sans}
		if _, got := nameMatches(c, []string{tc.ref}); got != tc.want {
			t.Errorf("CN=%q SAN=%q vs %q: %v, want %v", tc.cn, tc.sans, tc.ref, got, tc.want)
		}
	}
	// A reference identity never carries a wildcard.
	c := &x509.Certificate{DNSNames: []string{"*.example.test"}}
	if _, ok := nameMatches(c, []string{"*.example.test"}); ok {
		t.Error("wildcard reference identity matched")
	}
}

func TestMatchNoChain(t *testing.T) {
	t.Parallel()
	r := rawTLSA(3, 1, 1, hex.EncodeToString(make([]byte, 32)))
	var me *MatchError
	if _, err := Match([]*dns.TLSA{r}, nil, nil, testNow); !errors.As(err, &me) {
		t.Errorf("empty chain: %v", err)
	}
}

func BenchmarkMatchEE(b *testing.B) {
	p := newPKI(b, certSpec{cn: "mx.example.test", pathLen: -1})
	rr := []*dns.TLSA{tlsa(b, 3, 1, 1, p.leaf.c)}
	chain := p.chain(false)
	for b.Loop() {
		if _, err := Match(rr, chain, mxNames, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchTA(b *testing.B) {
	p := newPKI(b, certSpec{cn: "mx.example.test", pathLen: -1})
	rr := []*dns.TLSA{tlsa(b, 2, 1, 1, p.root.c)}
	chain := p.chain(true)
	for b.Loop() {
		if _, err := Match(rr, chain, mxNames, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTANeverTheLeaf: a DANE-TA(2) record authenticates only a certificate
// above the leaf (RFC 7671 §5.2.2; OpenSSL and Postfix never match DANE-TA
// at depth 0). A server presenting only its self-signed leaf, one that
// carries CA:TRUE and so verifies its own signature, is not authenticated
// by a TA record of that leaf, whether the record is the full certificate,
// its key or a digest, and whether the server sends it once or twice.
func TestTANeverTheLeaf(t *testing.T) {
	t.Parallel()
	ss := mkCert(t, "self", certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}, ca: true, pathLen: -1}, nil)
	if err := ss.c.CheckSignatureFrom(ss.c); err != nil {
		t.Fatalf("the leaf must verify its own signature for this test: %v", err)
	}
	spki := hex.EncodeToString(ss.c.RawSubjectPublicKeyInfo)
	for _, tc := range []struct {
		name  string
		rec   *dns.TLSA
		chain []*x509.Certificate
	}{
		{"2 0 0, leaf alone", tlsa(t, 2, 0, 0, ss.c), []*x509.Certificate{ss.c}},
		{"2 1 0, leaf alone", rawTLSA(2, 1, 0, spki), []*x509.Certificate{ss.c}},
		{"2 0 1, leaf alone", tlsa(t, 2, 0, 1, ss.c), []*x509.Certificate{ss.c}},
		{"2 0 0, leaf sent twice", tlsa(t, 2, 0, 0, ss.c), []*x509.Certificate{ss.c, ss.c}},
		{"2 1 1, leaf sent twice", tlsa(t, 2, 1, 1, ss.c), []*x509.Certificate{ss.c, ss.c}},
	} {
		res, err := Match([]*dns.TLSA{tc.rec}, tc.chain, mxNames, testNow)
		var me *MatchError
		if !errors.As(err, &me) || me.Kind != NoMatch || me.Depth != -1 {
			t.Errorf("%s: %+v, %v; want no match", tc.name, res, err)
		}
	}
	// The same leaf under DANE-EE(3) is fine: that is the record for it.
	if res, err := Match([]*dns.TLSA{tlsa(t, 3, 0, 0, ss.c)}, []*x509.Certificate{ss.c}, mxNames, testNow); err != nil || res.Depth != 0 {
		t.Errorf("3 0 0 of the self-signed leaf: %+v %v", res, err)
	}
}

// TestTABareKey: a "2 1 0" key the server does not send anchors the
// presented certificate it signed, and the depth is that certificate's
// (OpenSSL danetest blocks 45, 46).
func TestTABareKey(t *testing.T) {
	t.Parallel()
	p := newPKI(t, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}, pathLen: -1})
	root := rawTLSA(2, 1, 0, hex.EncodeToString(p.root.c.RawSubjectPublicKeyInfo))
	if res, err := Match([]*dns.TLSA{root}, p.chain(false), mxNames, testNow); err != nil || res.Depth != 1 {
		t.Errorf("root key signing the intermediate: %+v %v", res, err)
	}
	inter := rawTLSA(2, 1, 0, hex.EncodeToString(p.inter.c.RawSubjectPublicKeyInfo))
	if res, err := Match([]*dns.TLSA{inter}, []*x509.Certificate{p.leaf.c}, mxNames, testNow); err != nil || res.Depth != 0 {
		t.Errorf("intermediate key signing the leaf: %+v %v", res, err)
	}
	other := mkCert(t, "stranger", certSpec{cn: "Stranger", ca: true, pathLen: -1}, nil)
	stranger := rawTLSA(2, 1, 0, hex.EncodeToString(other.c.RawSubjectPublicKeyInfo))
	if _, err := Match([]*dns.TLSA{stranger}, p.chain(false), mxNames, testNow); err == nil {
		t.Error("a key that signed nothing presented matched")
	}
}
