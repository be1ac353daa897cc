package dnssec

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func signSet(t *testing.T, k sepKey, now time.Time, rrs ...dns.RR) *dns.RRSIG {
	t.Helper()
	s := &dns.RRSIG{Hdr: dns.RR_Header{Name: rrs[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: 300},
		Algorithm: k.k.Algorithm, SignerName: k.k.Hdr.Name, KeyTag: k.k.KeyTag(),
		Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(24 * time.Hour).Unix())}
	if err := s.Sign(k.priv, rrs); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDNAME: a DNAME in a signed zone is validated as its own link and the
// unsigned synthesized CNAME is ignored: the target comes from the DNAME
// (RFC 6672 §5.3.3). The bed has no DNAME, so replies are replayed at the
// network boundary from a one-zone root signed here.
func TestDNAME(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	root := newSEP(t, ".")
	keys := new(dns.Msg)
	keys.SetQuestion(".", dns.TypeDNSKEY)
	keys.Answer = []dns.RR{root.k, signSet(t, root, now, root.k)}

	dname := mustRR(t, "example. 300 IN DNAME other.")
	cname := mustRR(t, "a.example. 300 IN CNAME a.other.")
	a := mustRR(t, "a.other. 300 IN A 192.0.2.1")
	reply := new(dns.Msg)
	reply.SetQuestion("a.example.", dns.TypeA)
	reply.Answer = []dns.RR{dname, signSet(t, root, now, dname), cname, a, signSet(t, root, now, a)}

	rep := replay(func(n string, qt uint16) *dns.Msg {
		switch {
		case n == "." && qt == dns.TypeDNSKEY:
			return keys
		case n == "a.example." && qt == dns.TypeA:
			return reply
		}
		return nil
	})
	r, err := New(Config{Servers: []Server{{Addr: "replay:53"}}, Anchors: []dns.RR{root.k}, Now: func() time.Time { return now }, Exchanger: rep})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := r.Lookup(context.Background(), "a.example.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Security != Secure || ans.Kind != Data || ans.Target != "a.other." || len(ans.Records) != 1 {
		t.Fatalf("got %v %q target %s records %v", ans.Security, ans.Reason, ans.Target, ans.Records)
	}
	if len(ans.Chain) != 1 || ans.Chain[0].RR.Header().Rrtype != dns.TypeDNAME || ans.Chain[0].Security != Secure {
		t.Fatalf("chain %v", ans.Chain)
	}
}

// TestCNAMETargetAskedWhenMissing: a resolver that returns only the CNAME
// leaves the rest to us: the target is asked and validated on its own.
func TestCNAMETargetAskedWhenMissing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	root := newSEP(t, ".")
	keys := new(dns.Msg)
	keys.SetQuestion(".", dns.TypeDNSKEY)
	keys.Answer = []dns.RR{root.k, signSet(t, root, now, root.k)}
	cname := mustRR(t, "a.example. 300 IN CNAME b.example.")
	first := new(dns.Msg)
	first.SetQuestion("a.example.", dns.TypeA)
	first.Answer = []dns.RR{cname, signSet(t, root, now, cname)}
	a := mustRR(t, "b.example. 60 IN A 192.0.2.2")
	second := new(dns.Msg)
	second.SetQuestion("b.example.", dns.TypeA)
	second.Answer = []dns.RR{a, signSet(t, root, now, a)}

	asked := map[string]int{}
	rep := replay(func(n string, qt uint16) *dns.Msg {
		asked[n]++
		switch {
		case n == "." && qt == dns.TypeDNSKEY:
			return keys
		case n == "a.example." && qt == dns.TypeA:
			return first
		case n == "b.example." && qt == dns.TypeA:
			return second
		}
		return nil
	})
	r, err := New(Config{Servers: []Server{{Addr: "replay:53"}}, Anchors: []dns.RR{root.k}, Now: func() time.Time { return now }, Exchanger: rep})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := r.Lookup(context.Background(), "a.example.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Security != Secure || ans.Target != "b.example." || len(ans.Records) != 1 || len(ans.Chain) != 1 || ans.TTL != 60 {
		t.Fatalf("got %v %q target %s records %v chain %v ttl %d", ans.Security, ans.Reason, ans.Target, ans.Records, ans.Chain, ans.TTL)
	}
	if asked["b.example."] != 1 {
		t.Fatalf("target asked %d times", asked["b.example."])
	}
}

// TestCNAMELoopIsBogus: a chain that comes back to a name already seen
// ends as Bogus with a reason instead of looping.
func TestCNAMELoopIsBogus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	root := newSEP(t, ".")
	keys := new(dns.Msg)
	keys.SetQuestion(".", dns.TypeDNSKEY)
	keys.Answer = []dns.RR{root.k, signSet(t, root, now, root.k)}
	c1 := mustRR(t, "a.example. 300 IN CNAME b.example.")
	c2 := mustRR(t, "b.example. 300 IN CNAME a.example.")
	m := new(dns.Msg)
	m.SetQuestion("a.example.", dns.TypeA)
	m.Answer = []dns.RR{c1, signSet(t, root, now, c1), c2, signSet(t, root, now, c2)}
	rep := replay(func(n string, qt uint16) *dns.Msg {
		if qt == dns.TypeDNSKEY {
			return keys
		}
		return m
	})
	r, err := New(Config{Servers: []Server{{Addr: "127.0.0.1"}}, Anchors: []dns.RR{root.k}, Now: func() time.Time { return now }, Exchanger: rep})
	if err != nil {
		t.Fatal(err)
	}
	if r.ex.groups[0][0].Addr != "127.0.0.1:53" {
		t.Fatalf("bare IP not given port 53: %s", r.ex.groups[0][0].Addr)
	}
	ans, err := r.Lookup(context.Background(), "a.example.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Security != Bogus || !strings.Contains(ans.Reason, "looping") || ans.TTL > uint32(bogusTTL/time.Second) {
		t.Fatalf("got %v %q ttl %d", ans.Security, ans.Reason, ans.TTL)
	}
}
