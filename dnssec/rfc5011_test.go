package dnssec

import (
	"crypto"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

type sepKey struct {
	k    *dns.DNSKEY
	priv crypto.Signer
}

func newSEP(t testing.TB, zone string) sepKey {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	p, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	return sepKey{k, p.(crypto.Signer)}
}

// keySet builds a DNSKEY RRset from keys, signed by signers (by index).
func keySet(t *testing.T, now time.Time, keys []sepKey, signers ...int) ([]dns.RR, []*dns.RRSIG) {
	t.Helper()
	var rrs []dns.RR
	for _, k := range keys {
		rrs = append(rrs, k.k)
	}
	var sigs []*dns.RRSIG
	for _, i := range signers {
		s := &dns.RRSIG{Hdr: dns.RR_Header{Name: keys[i].k.Hdr.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: 3600},
			Algorithm: keys[i].k.Algorithm, SignerName: keys[i].k.Hdr.Name, KeyTag: keys[i].k.KeyTag(),
			Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(10 * 24 * time.Hour).Unix())}
		if err := s.Sign(keys[i].priv, rrs); err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	return rrs, sigs
}

func stateOf(tp *TrustPoint, k *dns.DNSKEY) KeyState {
	if mk := tp.key(keyID(k)); mk != nil {
		return mk.State
	}
	return ""
}

func trustedTags(t *testing.T, tp *TrustPoint) map[uint16]bool {
	t.Helper()
	rrs, err := tp.trusted()
	if err != nil {
		t.Fatal(err)
	}
	m := map[uint16]bool{}
	for _, rr := range rrs {
		if k, ok := rr.(*dns.DNSKEY); ok {
			m[k.KeyTag()] = true
		}
	}
	return m
}

func TestRFC5011Lifecycle(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k1, k2 := newSEP(t, "."), newSEP(t, ".")
	st := newAnchorState([]dns.RR{k1.k.ToDS(dns.SHA256)})
	tp := st.Points[0]

	// First refresh: the configured key becomes Valid at once.
	rrs, sigs := keySet(t, t0, []sepKey{k1}, 0)
	if !tp.Refresh(rrs, sigs, 3600, t0) || stateOf(tp, k1.k) != KeyValid {
		t.Fatalf("k1 after first refresh: %q", stateOf(tp, k1.k))
	}
	// A new SEP key waits out the add hold-down (§2.4.1).
	t1 := t0.Add(day)
	rrs, sigs = keySet(t, t1, []sepKey{k1, k2}, 0)
	tp.Refresh(rrs, sigs, 3600, t1)
	if stateOf(tp, k2.k) != KeyAddPend || trustedTags(t, tp)[k2.k.KeyTag()] {
		t.Fatalf("k2 must be AddPend and untrusted, is %q", stateOf(tp, k2.k))
	}
	tp.Refresh(rrs, sigs, 3600, t1.Add(29*day))
	if stateOf(tp, k2.k) != KeyAddPend {
		t.Fatalf("k2 valid before the hold-down: %q", stateOf(tp, k2.k))
	}
	t2 := t1.Add(30 * day)
	rrs, sigs = keySet(t, t2, []sepKey{k1, k2}, 0)
	tp.Refresh(rrs, sigs, 3600, t2)
	if stateOf(tp, k2.k) != KeyValid || !trustedTags(t, tp)[k2.k.KeyTag()] {
		t.Fatalf("k2 after hold-down: %q", stateOf(tp, k2.k))
	}

	// A REVOKE bit not backed by the key's own signature is ignored.
	rev := sepKey{k: &dns.DNSKEY{}, priv: k1.priv}
	*rev.k = *k1.k
	rev.k.Flags |= revokeFlag
	t3 := t2.Add(day)
	rrs, sigs = keySet(t, t3, []sepKey{rev, k2}, 1)
	tp.Refresh(rrs, sigs, 3600, t3)
	if stateOf(tp, k1.k) == KeyRevoked {
		t.Fatal("revocation without self-signature accepted")
	}
	// Self-signed revocation: k1 is out for good (§2.1).
	rrs, sigs = keySet(t, t3, []sepKey{rev, k2}, 0, 1)
	tp.Refresh(rrs, sigs, 3600, t3)
	if stateOf(tp, k1.k) != KeyRevoked || trustedTags(t, tp)[k1.k.KeyTag()] {
		t.Fatalf("k1 after self-signed revoke: %q", stateOf(tp, k1.k))
	}
	// Gone from the set: still Revoked until the remove hold-down ends.
	rrs, sigs = keySet(t, t3, []sepKey{k2}, 0)
	tp.Refresh(rrs, sigs, 3600, t3.Add(day))
	if stateOf(tp, k1.k) != KeyRevoked {
		t.Fatalf("revoked key forgotten early: %q", stateOf(tp, k1.k))
	}
	tp.Refresh(rrs, sigs, 3600, t3.Add(31*day))
	if stateOf(tp, k1.k) != "" {
		t.Fatalf("revoked key kept after remove hold-down: %q", stateOf(tp, k1.k))
	}
}

func TestRFC5011MissingAndVanishingPending(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k1, k2, k3 := newSEP(t, "."), newSEP(t, "."), newSEP(t, ".")
	st := newAnchorState([]dns.RR{k1.k, k2.k}) // DNSKEY anchors
	tp := st.Points[0]
	rrs, sigs := keySet(t, t0, []sepKey{k1, k2, k3}, 0)
	tp.Refresh(rrs, sigs, 3600, t0)
	if stateOf(tp, k1.k) != KeyValid || stateOf(tp, k2.k) != KeyValid || stateOf(tp, k3.k) != KeyAddPend {
		t.Fatalf("states %q %q %q", stateOf(tp, k1.k), stateOf(tp, k2.k), stateOf(tp, k3.k))
	}
	// k2 and k3 disappear: k2 Missing (still trusted), k3 forgotten (§4.2).
	rrs, sigs = keySet(t, t0.Add(day), []sepKey{k1}, 0)
	tp.Refresh(rrs, sigs, 3600, t0.Add(day))
	if stateOf(tp, k2.k) != KeyMissing || !trustedTags(t, tp)[k2.k.KeyTag()] || stateOf(tp, k3.k) != "" {
		t.Fatalf("after vanish: k2 %q k3 %q", stateOf(tp, k2.k), stateOf(tp, k3.k))
	}
	tp.Refresh(rrs, sigs, 3600, t0.Add(32*day))
	if stateOf(tp, k2.k) != "" {
		t.Fatalf("missing key not removed after hold-down: %q", stateOf(tp, k2.k))
	}
}

func TestRFC5011HoldDownFollowsLongTTL(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k1, k2 := newSEP(t, "."), newSEP(t, ".")
	tp := newAnchorState([]dns.RR{k1.k}).Points[0]
	rrs, sigs := keySet(t, t0, []sepKey{k1, k2}, 0)
	ttl := uint32(40 * 24 * 3600)
	tp.Refresh(rrs, sigs, ttl, t0)
	if got := tp.key(keyID(k2.k)).HoldUntil.Sub(t0); got != 40*24*time.Hour {
		t.Fatalf("add hold-down = %v, want max(30d, TTL) = 40d", got)
	}
}

func TestRefreshInterval(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sig := func(d time.Duration) []*dns.RRSIG {
		return []*dns.RRSIG{{Expiration: uint32(now.Add(d).Unix())}}
	}
	for _, c := range []struct {
		ttl  uint32
		sigs []*dns.RRSIG
		want time.Duration
	}{
		{172800, sig(10 * 24 * time.Hour), 24 * time.Hour},          // TTL/2
		{40 * 86400, sig(40 * 24 * time.Hour), 15 * 24 * time.Hour}, // 15 d cap
		{60, sig(10 * 24 * time.Hour), time.Hour},                   // 1 h floor
		{40 * 86400, sig(4 * 24 * time.Hour), 2 * 24 * time.Hour},   // sig validity/2
	} {
		if got := refreshInterval(c.ttl, c.sigs, now); got != c.want {
			t.Errorf("refreshInterval(%d) = %v, want %v", c.ttl, got, c.want)
		}
	}
}

func TestAnchorStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k1, k2 := newSEP(t, "."), newSEP(t, ".")
	ds := k1.k.ToDS(dns.SHA256)
	st := newAnchorState([]dns.RR{ds})
	rrs, sigs := keySet(t, t0, []sepKey{k1, k2}, 0)
	st.Points[0].Refresh(rrs, sigs, 3600, t0)
	b, err := st.marshal()
	if err != nil {
		t.Fatal(err)
	}
	fs := FileAnchorStore{Path: filepath.Join(t.TempDir(), "anchors.json")}
	if err := fs.Save(b); err != nil {
		t.Fatal(err)
	}
	got, err := fs.Load()
	if err != nil {
		t.Fatal(err)
	}
	st2, err := mergeAnchorState(got, []dns.RR{ds})
	if err != nil {
		t.Fatal(err)
	}
	tp := st2.Points[0]
	if stateOf(tp, k1.k) != KeyValid || stateOf(tp, k2.k) != KeyAddPend {
		t.Fatalf("restored states %q %q", stateOf(tp, k1.k), stateOf(tp, k2.k))
	}
	// A different configured anchor for the same zone starts afresh.
	other := newSEP(t, ".")
	st3, err := mergeAnchorState(got, []dns.RR{other.k.ToDS(dns.SHA256)})
	if err != nil {
		t.Fatal(err)
	}
	if len(st3.Points[0].Keys) != 0 {
		t.Fatalf("saved keys kept for a replaced anchor: %+v", st3.Points[0].Keys)
	}
	if _, err := mergeAnchorState([]byte("{broken"), []dns.RR{ds}); err == nil {
		t.Fatal("corrupt state accepted")
	}
	if b, err := (FileAnchorStore{Path: filepath.Join(t.TempDir(), "none")}).Load(); b != nil || err != nil {
		t.Fatalf("absent file: %v %v", b, err)
	}
}

type memStore struct {
	mu    sync.Mutex
	b     []byte
	saves int
}

func (m *memStore) Load() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b, nil
}

func (m *memStore) Save(b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b = append([]byte(nil), b...)
	m.saves++
	return nil
}

// TestResolverKeepsAnchorState: the resolver turns the configured root DS
// into managed keys on its first validated DNSKEY fetch, saves that state,
// and a later resolver trusts only what the state says.
func TestResolverKeepsAnchorState(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	st := &memStore{}
	ds := b.h.Anchors()[0] // the DS only
	r, err := NewWithState(Config{Servers: []Server{{Addr: b.front.Addr}}, Anchors: []dns.RR{ds}, Now: b.clock.Now}, st)
	if err != nil {
		t.Fatal(err)
	}
	if a := lookup(t, r, "mail.example.test.", dns.TypeA); a.Security != Secure {
		t.Fatalf("got %v %s", a.Security, a.Reason)
	}
	if st.saves != 1 {
		t.Fatalf("state saved %d times", st.saves)
	}
	var saved AnchorState
	if err := json.Unmarshal(st.b, &saved); err != nil {
		t.Fatal(err)
	}
	root := b.h.Zone(".").DNSKEY(dnstest.KSK)
	tp := saved.point(".")
	if tp == nil || stateOf(tp, root) != KeyValid || !tp.NextRefresh.After(b.clock.Now()) {
		t.Fatalf("saved state %s", st.b)
	}

	// Revoke the root key in the stored state: nothing validates any more.
	tp.key(keyID(root)).State = KeyRevoked
	nb, _ := json.Marshal(&saved)
	st2 := &memStore{b: nb}
	r2, err := NewWithState(Config{Servers: []Server{{Addr: b.front.Addr}}, Anchors: []dns.RR{ds}, Now: b.clock.Now}, st2)
	if err != nil {
		t.Fatal(err)
	}
	if a := lookup(t, r2, "mail.example.test.", dns.TypeA); a.Security != Bogus {
		t.Fatalf("revoked anchor still trusted: %v", a.Security)
	}
}
