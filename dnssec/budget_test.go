package dnssec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// collidingKeys returns n keys with the key tag of base but different key
// material: RFC 4034 App. B sums even-offset octets shifted left by 8, so
// adding d to one even-offset octet and subtracting d from another keeps
// the tag (the KeyTrap construction, CVE-2023-50387).
func collidingKeys(t *testing.T, base *dns.DNSKEY, n int) []*dns.DNSKEY {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(base.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var out []*dns.DNSKEY
	pairs := len(raw)/2 - 1
	for i := 0; len(out) < n; i++ {
		if i >= 2*pairs {
			t.Fatalf("cannot build %d colliding keys from %d bytes", n, len(raw))
		}
		b := append([]byte{}, raw...)
		p, q, up := 2*(i%pairs), 2*(i%pairs)+2, i < pairs
		switch {
		case up && b[p] < 255 && b[q] > 0:
			b[p]++
			b[q]--
		case !up && b[p] > 0 && b[q] < 255:
			b[p]--
			b[q]++
		default:
			continue
		}
		k := *base
		k.PublicKey = base64.StdEncoding.EncodeToString(b)
		if k.KeyTag() != base.KeyTag() {
			t.Fatalf("construction broke the tag: %d vs %d", k.KeyTag(), base.KeyTag())
		}
		out = append(out, &k)
	}
	return out
}

// TestKeyTrap: many keys with one tag and many signatures cost at most the
// caps, and once the per-query budget is spent no more work is done.
func TestKeyTrap(t *testing.T) {
	t.Parallel()
	real := newKey(t, "example.com.", dns.ECDSAP256SHA256, 256, 0)
	a := rrs(t, "www.example.com. 300 IN A 192.0.2.1")
	good := sign(t, real, a, 0, 0)
	fakes := collidingKeys(t, real.key, 50)
	var sigs []*dns.RRSIG
	for i := 0; i < 40; i++ {
		s := *good
		s.Signature = base64.StdEncoding.EncodeToString([]byte(strings.Repeat(fmt.Sprint(i%10), 64)))
		sigs = append(sigs, &s)
	}
	l := DefaultLimits()
	b := NewBudget(l)
	v := VerifyRRset(a, sigs, fakes, "example.com.", testNow, b)
	if v.Security != Bogus || b.Verifies() != l.MaxSigsPerRRset*l.MaxKeyCandidates {
		t.Fatalf("first RRset: %v %q after %d verifies, want Bogus after %d", v.Security, v.Reason, b.Verifies(), l.MaxSigsPerRRset*l.MaxKeyCandidates)
	}
	for i := 0; i < 5; i++ {
		v = VerifyRRset(a, sigs, fakes, "example.com.", testNow, b)
	}
	if v.Security != Indeterminate || v.Reason != ErrWorkBudget.Error() || !b.Exhausted() {
		t.Fatalf("after the budget: %v %q", v.Security, v.Reason)
	}
	if b.Verifies() != l.MaxVerifiesPerQuery {
		t.Fatalf("%d verifies, cap %d", b.Verifies(), l.MaxVerifiesPerQuery)
	}
	// Even a good signature is not checked once the budget is gone.
	if v := VerifyRRset(a, []*dns.RRSIG{good}, keysOf(real), "example.com.", testNow, b); v.Security != Indeterminate {
		t.Fatalf("exhausted budget still verified: %v", v.Security)
	}
	if _, v := VerifyKeys(keysOf(real), nil, []*dns.DS{real.key.ToDS(dns.SHA256)}, "example.com.", testNow, b); v.Security != Indeterminate {
		t.Fatalf("exhausted budget: VerifyKeys %v", v.Security)
	}
	if err := ProveNXDomain("nx.example.com.", "example.com.", nil, nil, b); !errors.Is(err, ErrWorkBudget) {
		t.Fatalf("exhausted budget: ProveNXDomain %v", err)
	}
}

// TestKeyCandidates: the real key is found among colliding ones while it is
// within MaxKeyCandidates; beyond the cap the RRset is Bogus (the price of
// the bound, as in Unbound and BIND).
func TestKeyCandidates(t *testing.T) {
	t.Parallel()
	real := newKey(t, "example.com.", dns.ECDSAP256SHA256, 256, 0)
	a := rrs(t, "www.example.com. 300 IN A 192.0.2.1")
	good := sign(t, real, a, 0, 0)
	l := DefaultLimits()
	for _, c := range []struct {
		before int
		want   Security
	}{{0, Secure}, {l.MaxKeyCandidates - 1, Secure}, {l.MaxKeyCandidates, Bogus}} {
		keys := append(collidingKeys(t, real.key, c.before), real.key)
		b := NewBudget(l)
		v := VerifyRRset(a, []*dns.RRSIG{good}, keys, "example.com.", testNow, b)
		if v.Security != c.want || b.Verifies() > l.MaxKeyCandidates {
			t.Errorf("%d colliding keys first: %v %q after %d verifies", c.before, v.Security, v.Reason, b.Verifies())
		}
	}
}

// TestDSFlood: a DS RRset with many entries whose tag matches many
// colliding keys is rejected without any signature verification (the DS
// loop itself is capped at MaxSigsPerRRset x MaxKeyCandidates digests).
func TestDSFlood(t *testing.T) {
	t.Parallel()
	ksk := newKey(t, "example.com.", dns.ECDSAP256SHA256, 257, 0)
	keys := collidingKeys(t, ksk.key, 30)
	var ds []*dns.DS
	for i := 0; i < 100; i++ {
		d := *ksk.key.ToDS(dns.SHA256)
		d.Digest = fmt.Sprintf("%064x", i)
		ds = append(ds, &d)
	}
	b := NewBudget(DefaultLimits())
	_, v := VerifyKeys(keys, nil, ds, "example.com.", testNow, b)
	if v.Security != Bogus || b.Verifies() != 0 {
		t.Fatalf("%v %q, %d verifies", v.Security, v.Reason, b.Verifies())
	}
}

// TestNSEC3HashBudget: the closest encloser proof of a very deep name stops
// at MaxNSEC3Hashes (CVE-2023-50868), and hashes are memoised per query.
func TestNSEC3HashBudget(t *testing.T) {
	t.Parallel()
	z := exampleZone()
	ch := z.nsec3(n3params{iter: 10, salt: "ab"})
	deep := strings.Repeat("x.", 100) + "example."
	l := DefaultLimits()
	b := NewBudget(l)
	err := ProveNXDomain(deep, "example.", nil, ch, b)
	if !errors.Is(err, ErrWorkBudget) || DenialSecurity(err) != Indeterminate || b.Hashes() != l.MaxNSEC3Hashes {
		t.Fatalf("got %v after %d hashes", err, b.Hashes())
	}

	b = NewBudget(l)
	proof := n3s(n3match(ch, "example."), n3cover(ch, "nx.example."), n3cover(ch, "*.example."))
	if err := ProveNXDomain("nx.example.", "example.", nil, proof, b); err != nil {
		t.Fatal(err)
	}
	n := b.Hashes()
	if err := ProveNXDomain("nx.example.", "example.", nil, proof, b); err != nil || b.Hashes() != n || n != 3 {
		t.Fatalf("second proof: %v, hashes %d then %d (want 3, memoised)", err, n, b.Hashes())
	}
}

func TestNewBudgetDefaults(t *testing.T) {
	t.Parallel()
	if got := NewBudget(Limits{}).Limits(); got != DefaultLimits() {
		t.Fatalf("zero Limits gave %+v", got)
	}
	l := Limits{MaxKeyCandidates: 1, MaxSigsPerRRset: 2, MaxVerifiesPerQuery: 3, MaxNSEC3Iterations: 0, MaxNSEC3Hashes: 5}
	got := NewBudget(l).Limits()
	l.MaxNSEC3Iterations = DefaultLimits().MaxNSEC3Iterations
	if got != l {
		t.Fatalf("got %+v want %+v", got, l)
	}
}
