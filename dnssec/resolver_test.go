package dnssec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// keyPool shares generated keys between tests (RSA is slow on 2 cores).
var keyPool = dnstest.NewKeyPool()

// clock is an injectable, advanceable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logRec records the debug trace.
type logRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRec) Debugf(format string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, a...))
	l.mu.Unlock()
}

func (l *logRec) Warning(format string, a ...any) { l.Debugf("WARNING "+format, a...) }

func (l *logRec) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type bed struct {
	h     *dnstest.Hierarchy
	front *dnstest.Front
	clock *clock
}

const tlsaHex = "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"

// newBed builds: test. (NSEC) with example.test. (signed, NSEC),
// n3.test. (NSEC3), plain.test. (unsigned), island.test. (signed, no DS).
func newBed(t testing.TB) *bed {
	t.Helper()
	c := newClock()
	h := dnstest.New(t, dnstest.Options{Now: c.Now, Keys: keyPool})
	h.AddZone("test.", dnstest.ZoneConfig{})
	h.AddZone("example.test.", dnstest.ZoneConfig{})
	h.AddZone("n3.test.", dnstest.ZoneConfig{Denial: dnstest.Denial{NSEC3: true}})
	h.AddZone("plain.test.", dnstest.ZoneConfig{Unsigned: true})
	h.AddZone("island.test.", dnstest.ZoneConfig{Insecure: true})
	h.Add(
		"example.test. 300 IN MX 10 mail.example.test.",
		"mail.example.test. 300 IN A 127.0.0.2",
		"mail.example.test. 300 IN AAAA ::2",
		"_25._tcp.mail.example.test. 300 IN TLSA 3 1 1 "+tlsaHex,
		"www.example.test. 300 IN CNAME mail.example.test.",
		"alias.example.test. 300 IN CNAME mail.plain.test.",
		"*.wild.example.test. 300 IN A 127.0.0.9",
		"n3.test. 300 IN MX 10 mx.n3.test.",
		"mx.n3.test. 300 IN A 127.0.0.4",
		"mail.plain.test. 300 IN A 127.0.0.3",
		"plain.test. 300 IN MX 10 mail.plain.test.",
		"mail.island.test. 300 IN A 127.0.0.5",
	)
	return &bed{h: h, front: h.Serve(t), clock: c}
}

func (b *bed) resolver(t testing.TB, log Logger, servers ...Server) *Resolver {
	t.Helper()
	if len(servers) == 0 {
		servers = []Server{{Addr: b.front.Addr}}
	}
	r, err := New(Config{Servers: servers, Timeout: time.Second, Anchors: b.h.Anchors(), Now: b.clock.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lookup(t testing.TB, r *Resolver, name string, qtype uint16) *Answer {
	t.Helper()
	a, err := r.Lookup(context.Background(), name, qtype)
	if err != nil {
		t.Fatalf("Lookup(%s, %s): %v", name, typeName(qtype), err)
	}
	return a
}

func want(t *testing.T, a *Answer, sec Security, kind Kind) {
	t.Helper()
	if a.Security != sec || a.Kind != kind {
		t.Fatalf("%s/%s: got %v kind %d (reason %q), want %v kind %d", a.Name, typeName(a.Qtype), a.Security, a.Kind, a.Reason, sec, kind)
	}
	if (sec == Bogus || sec == Indeterminate) && a.Reason == "" {
		t.Fatalf("%s/%s: %v without reason", a.Name, typeName(a.Qtype), sec)
	}
	if (sec == Secure || sec == Insecure) && a.Reason != "" {
		t.Fatalf("%s/%s: %v with reason %q", a.Name, typeName(a.Qtype), sec, a.Reason)
	}
}

func TestSecureInsecureAndDenials(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	for _, c := range []struct {
		name  string
		qtype uint16
		sec   Security
		kind  Kind
		n     int
	}{
		{"example.test", dns.TypeMX, Secure, Data, 1},
		{"mail.example.test.", dns.TypeA, Secure, Data, 1},
		{"MAIL.Example.TEST.", dns.TypeAAAA, Secure, Data, 1},
		{"_25._tcp.mail.example.test.", dns.TypeTLSA, Secure, Data, 1},
		{"n3.test.", dns.TypeMX, Secure, Data, 1},
		{"mx.n3.test.", dns.TypeA, Secure, Data, 1},
		{"nope.example.test.", dns.TypeA, Secure, NXDomain, 0},
		{"mail.example.test.", dns.TypeMX, Secure, NoData, 0},
		{"_25._tcp.www.example.test.", dns.TypeTLSA, Secure, NXDomain, 0},
		{"nope.n3.test.", dns.TypeTLSA, Secure, NXDomain, 0},
		{"mx.n3.test.", dns.TypeAAAA, Secure, NoData, 0},
		{"plain.test.", dns.TypeMX, Insecure, Data, 1},
		{"mail.plain.test.", dns.TypeA, Insecure, Data, 1},
		{"mail.plain.test.", dns.TypeAAAA, Insecure, NoData, 0},
		{"nope.plain.test.", dns.TypeA, Insecure, NXDomain, 0},
		{"nope.island.test.", dns.TypeA, Insecure, NXDomain, 0},
		{"mail.island.test.", dns.TypeA, Insecure, Data, 1},
		{"x.wild.example.test.", dns.TypeA, Secure, Data, 1},
	} {
		a := lookup(t, r, c.name, c.qtype)
		want(t, a, c.sec, c.kind)
		if len(a.Records) != c.n {
			t.Errorf("%s/%s: %d records, want %d", c.name, typeName(c.qtype), len(a.Records), c.n)
		}
		for _, rr := range a.Records {
			if rr.Header().Rrtype != c.qtype {
				t.Errorf("%s: record of wrong type %v", c.name, rr)
			}
		}
	}
	a := lookup(t, r, "_25._tcp.mail.example.test.", dns.TypeTLSA)
	if tl := a.Records[0].(*dns.TLSA); tl.Usage != 3 || tl.Certificate != tlsaHex {
		t.Fatalf("TLSA = %v", tl)
	}
}

func TestCNAMEChains(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	a := lookup(t, r, "www.example.test.", dns.TypeA)
	want(t, a, Secure, Data)
	if a.Target != "mail.example.test." || len(a.Chain) != 1 || a.Chain[0].Security != Secure {
		t.Fatalf("secure chain: target %s chain %v", a.Target, a.Chain)
	}
	// secure CNAME to an unsigned zone: the answer is only as good as
	// its weakest link (RFC 7672 §2.1.3).
	a = lookup(t, r, "alias.example.test.", dns.TypeA)
	want(t, a, Insecure, Data)
	if a.Target != "mail.plain.test." || len(a.Chain) != 1 || a.Chain[0].Security != Secure || len(a.Records) != 1 {
		t.Fatalf("mixed chain: target %s chain %v records %v", a.Target, a.Chain, a.Records)
	}
	// Asking for the CNAME itself returns it as data.
	a = lookup(t, r, "www.example.test.", dns.TypeCNAME)
	want(t, a, Secure, Data)
	if len(a.Chain) != 0 || len(a.Records) != 1 {
		t.Fatalf("CNAME query: %v %v", a.Chain, a.Records)
	}
	// A bogus link spoils the chain even when the target is secure.
	b.h.Break("www.example.test.", dns.TypeCNAME, dnstest.CorruptSig)
	a = lookup(t, r, "www.example.test.", dns.TypeAAAA)
	want(t, a, Bogus, Data)
	if a.Chain[0].Security != Bogus {
		t.Fatalf("chain link %v", a.Chain[0].Security)
	}
}

// TestBreakageKnobs runs every dnstest fault that should change the
// verdict and checks the verdict and the reason.
func TestBreakageKnobs(t *testing.T) {
	t.Parallel()
	type knob struct {
		name   string
		setup  func(b *bed)
		qname  string
		qtype  uint16
		sec    Security
		kind   Kind
		reason string
	}
	knobs := []knob{
		{"expired", func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.ExpiredSig) }, "mail.example.test.", dns.TypeA, Bogus, Data, "mail.example.test"},
		{"not-yet-valid", func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.NotYetValidSig) }, "mail.example.test.", dns.TypeA, Bogus, Data, "mail.example.test"},
		{"corrupt", func(b *bed) { b.h.Break("example.test.", dns.TypeMX, dnstest.CorruptSig) }, "example.test.", dns.TypeMX, Bogus, Data, "example.test"},
		{"wrong-key", func(b *bed) { b.h.Break("_25._tcp.mail.example.test.", dns.TypeTLSA, dnstest.WrongKeySig) }, "_25._tcp.mail.example.test.", dns.TypeTLSA, Bogus, Data, "TLSA"},
		{"stripped", func(b *bed) { b.h.Break("mail.example.test.", dns.TypeA, dnstest.StripSigs) }, "mail.example.test.", dns.TypeA, Bogus, Data, "missing signature on mail.example.test/A"},
		{"stripped-zone", func(b *bed) { b.h.BreakZone("example.test.", dnstest.StripSigs) }, "mail.example.test.", dns.TypeA, Bogus, Data, "example.test"},
		{"stripped-denial", func(b *bed) { b.h.Break("mail.example.test.", dns.TypeNSEC, dnstest.StripSigs) }, "mail.example.test.", dns.TypeTLSA, Bogus, NoData, "mail.example.test"},
		{"forged-nxdomain-nsec", func(b *bed) { b.h.Break("_25._tcp.mail.example.test.", dns.TypeTLSA, dnstest.ForgeNXDomain) }, "_25._tcp.mail.example.test.", dns.TypeTLSA, Bogus, NXDomain, "bad denial proof"},
		{"forged-nxdomain-nsec3", func(b *bed) { b.h.Break("mx.n3.test.", dns.TypeA, dnstest.ForgeNXDomain) }, "mx.n3.test.", dns.TypeA, Bogus, NXDomain, "bad denial proof"},
		{"wrong-ds", func(b *bed) { b.h.SetDS("example.test.", b.h.WrongDS("example.test.")) }, "mail.example.test.", dns.TypeA, Bogus, Data, "example.test"},
		{"unsupported-ds", func(b *bed) { b.h.SetDS("example.test.", b.h.UnsupportedDS("example.test.")) }, "mail.example.test.", dns.TypeA, Insecure, Data, ""},
		{"no-ds", func(b *bed) { b.h.SetDS("example.test.") }, "mail.example.test.", dns.TypeA, Insecure, Data, ""},
		{"ds-stripped", func(b *bed) { b.h.Break("example.test.", dns.TypeDS, dnstest.StripSigs) }, "mail.example.test.", dns.TypeA, Bogus, Data, "DS"},
		{"ds-expired", func(b *bed) { b.h.Break("example.test.", dns.TypeDS, dnstest.ExpiredSig) }, "mail.example.test.", dns.TypeA, Bogus, Data, "example.test"},
		{"dnskey-expired", func(b *bed) { b.h.Break("example.test.", dns.TypeDNSKEY, dnstest.ExpiredSig) }, "mail.example.test.", dns.TypeA, Bogus, Data, "example.test"},
		{"no-zsk", func(b *bed) { b.h.DropDNSKEY("example.test.", dnstest.ZSK) }, "mail.example.test.", dns.TypeA, Bogus, Data, "mail.example.test"},
		{"no-ksk", func(b *bed) { b.h.DropDNSKEY("example.test.", dnstest.KSK) }, "mail.example.test.", dns.TypeA, Bogus, Data, "example.test"},
		{"nsec3-iterations", func(b *bed) {
			b.h.SetDenial("n3.test.", dnstest.Denial{NSEC3: true, Iterations: 500})
		}, "mx.n3.test.", dns.TypeTLSA, Insecure, NoData, ""},
	}
	for _, k := range knobs {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			b := newBed(t)
			k.setup(b)
			r := b.resolver(t, nil)
			a := lookup(t, r, k.qname, k.qtype)
			want(t, a, k.sec, k.kind)
			if !strings.Contains(a.Reason, k.reason) {
				t.Fatalf("reason %q does not mention %q", a.Reason, k.reason)
			}
		})
	}
}

func TestHugeExponentIsInsecure(t *testing.T) {
	t.Parallel()
	c := newClock()
	h := dnstest.New(t, dnstest.Options{Now: c.Now, Keys: keyPool})
	h.AddZone("lv.", dnstest.ZoneConfig{Keys: dnstest.KeyConfig{Algorithm: dns.RSASHA256, HugeExponent: true}})
	h.Add("mail.lv. 300 IN A 127.0.0.7")
	b := &bed{h: h, front: h.Serve(t), clock: c}
	a := lookup(t, b.resolver(t, nil), "mail.lv.", dns.TypeA)
	want(t, a, Insecure, Data)
}

// TestKeyFetchFailureIsLookupError: when a resolver does not answer a DS or
// DNSKEY query the chain of trust needs, the lookup fails with that
// failure's kind; it is not an answer (Indeterminate, shown as BOGUS by
// daneverify). Issue 12 item 8.
func TestKeyFetchFailureIsLookupError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		qtype uint16
		f     dnstest.Fault
		kind  ErrorKind
	}{
		{"dnskey-servfail", dns.TypeDNSKEY, dnstest.ServFail, ErrServFail},
		{"dnskey-timeout", dns.TypeDNSKEY, dnstest.Timeout, ErrTimeout},
		{"ds-timeout", dns.TypeDS, dnstest.Timeout, ErrTimeout},
		{"ds-refused", dns.TypeDS, dnstest.Refused, ErrRefused},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newBed(t)
			b.h.Break("example.test.", c.qtype, c.f)
			r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Timeout: time.Second, Anchors: b.h.Anchors(), Now: b.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			a, err := r.Lookup(context.Background(), "mail.example.test.", dns.TypeA)
			var le *LookupError
			if !errors.As(err, &le) || le.Kind != c.kind {
				t.Fatalf("Lookup = %+v, %v; want a LookupError of kind %d", a, err, c.kind)
			}
			// Once the resolver answers again, so does the lookup (a
			// failure is not cached as an answer beyond bogusTTL).
			b.h.Fix()
			b.clock.Advance(bogusTTL + time.Second)
			want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Secure, Data)
		})
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		f    dnstest.Fault
		kind ErrorKind
	}{
		{dnstest.ServFail, ErrServFail},
		{dnstest.Refused, ErrRefused},
		{dnstest.Timeout, ErrTimeout},
		{dnstest.TruncateAlways, ErrFormErr},
	} {
		t.Run(c.f.String(), func(t *testing.T) {
			t.Parallel()
			b := newBed(t)
			b.h.Break("mail.example.test.", dns.TypeA, c.f)
			_, err := b.resolver(t, nil).Lookup(context.Background(), "mail.example.test.", dns.TypeA)
			var le *LookupError
			if !errors.As(err, &le) || le.Kind != c.kind {
				t.Fatalf("err = %v, want LookupError kind %d", err, c.kind)
			}
		})
	}
}

func TestPriorityAndFallOver(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	bad := b.h.Serve(t)
	bad.SetFault(dnstest.ServFail)
	slow := b.h.Serve(t)
	slow.SetFault(dnstest.Timeout)
	log := &logRec{}
	// Given out of order: priority decides, not position.
	r := b.resolver(t, log,
		Server{Addr: b.front.Addr, Priority: 10},
		Server{Addr: slow.Addr, Priority: 5},
		Server{Addr: bad.Addr, Priority: 1},
	)
	a := lookup(t, r, "mail.example.test.", dns.TypeA)
	want(t, a, Secure, Data)
	if bad.Queries("mail.example.test.", dns.TypeA) != 1 || slow.Queries("mail.example.test.", dns.TypeA) != 1 ||
		b.front.Queries("mail.example.test.", dns.TypeA) != 1 {
		t.Fatalf("queries bad=%d slow=%d good=%d", bad.Queries("mail.example.test.", dns.TypeA),
			slow.Queries("mail.example.test.", dns.TypeA), b.front.Queries("mail.example.test.", dns.TypeA))
	}
	// The chain's DS/DNSKEY queries skipped the front that timed out
	// (downFor); SERVFAIL is per question, so that front was asked again.
	if slow.Total() != 1 || bad.Total() < 4 {
		t.Fatalf("slow front asked %d times, failing front %d", slow.Total(), bad.Total())
	}
	b.clock.Advance(downFor + time.Second)
	lookup(t, r, "mail.example.test.", dns.TypeAAAA)
	if slow.Total() != 2 {
		t.Fatalf("slow front not retried after downFor: %d", slow.Total())
	}
	txt := log.text()
	for _, w := range []string{
		"WARNING Received an invalid DNS Response: SERVER FAILED to IP " + bad.Addr + " looking up mail.example.test",
		"WARNING Received an invalid DNS Response: TIMED OUT to IP " + slow.Addr + " looking up mail.example.test",
		"DNS query: QN('mail.example.test', 'A', 'recursive_nameserver0.parent')",
		"DNS query: QN('mail.example.test', 'A', 'recursive_nameserver2.parent')",
		"DNS query: QIP ('mail.example.test','A','" + b.front.Addr + "',1)",
	} {
		if !strings.Contains(txt, w) {
			t.Errorf("log lacks %q\n%s", w, txt)
		}
	}
}

func TestTCPOnTruncation(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.h.Break("mail.example.test.", dns.TypeA, dnstest.Truncate)
	a := lookup(t, b.resolver(t, nil), "mail.example.test.", dns.TypeA)
	want(t, a, Secure, Data)
	var tcp bool
	for _, q := range b.front.Log() {
		if q.Name == "mail.example.test." && q.Type == dns.TypeA && q.Net == "tcp" {
			tcp = true
		}
		if !q.DO || !q.CD {
			t.Errorf("query %v without DO/CD", q)
		}
	}
	if !tcp {
		t.Fatal("no TCP retry after TC")
	}
}

func TestCacheTTLAndExpiry(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	a := lookup(t, r, "mail.example.test.", dns.TypeA)
	if a.TTL != 300 {
		t.Fatalf("TTL %d, want 300", a.TTL)
	}
	n := b.front.Total()
	lookup(t, r, "mail.example.test.", dns.TypeA)
	if b.front.Total() != n {
		t.Fatal("warm lookup went to the network")
	}
	b.clock.Advance(299 * time.Second)
	lookup(t, r, "mail.example.test.", dns.TypeA)
	if b.front.Total() != n {
		t.Fatal("entry expired early")
	}
	b.clock.Advance(2 * time.Second)
	lookup(t, r, "mail.example.test.", dns.TypeA)
	if b.front.Queries("mail.example.test.", dns.TypeA) != 2 {
		t.Fatal("entry outlived its TTL")
	}
	// Flush forgets answers and keys: the whole chain is asked again.
	r.Flush()
	before := b.front.Total()
	lookup(t, r, "mail.example.test.", dns.TypeA)
	if b.front.Total()-before < 4 {
		t.Fatalf("after Flush only %d queries", b.front.Total()-before)
	}
	if tps := r.TrustPoints(); len(tps) != 1 || tps[0].Zone != "." || len(tps[0].Keys) == 0 {
		t.Fatalf("trust points %+v", tps)
	}
	// Negative answers live for the SOA minimum / TTL.
	a = lookup(t, r, "nope.example.test.", dns.TypeA)
	if a.TTL == 0 || a.TTL > 3600 {
		t.Fatalf("negative TTL %d", a.TTL)
	}
}

func TestCacheCappedBySignatureExpiry(t *testing.T) {
	t.Parallel()
	c := newClock()
	h := dnstest.New(t, dnstest.Options{Now: c.Now, Keys: keyPool, Validity: 100 * time.Second})
	h.AddZone("test.", dnstest.ZoneConfig{})
	h.Add("mail.test. 300 IN A 127.0.0.2")
	b := &bed{h: h, front: h.Serve(t), clock: c}
	a := lookup(t, b.resolver(t, nil), "mail.test.", dns.TypeA)
	want(t, a, Secure, Data)
	if a.TTL > 100 || a.TTL < 90 {
		t.Fatalf("TTL %d, want capped by the 100 s signature validity", a.TTL)
	}
}

func TestBogusNeverServedAsSecure(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	b.h.Break("mail.example.test.", dns.TypeA, dnstest.CorruptSig)
	want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Bogus, Data)
	b.h.Fix()
	// Still inside the short bogus lifetime: the cache keeps saying bogus.
	want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Bogus, Data)
	b.clock.Advance(bogusTTL + time.Second)
	want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Secure, Data)

	// A bogus answer never replaces a live secure one.
	c := newAnswerCache(DefaultMaxAnswers)
	now := b.clock.Now()
	k := cacheKey{"x.", dns.TypeA}
	c.put(k, &Answer{Security: Secure}, now, now.Add(time.Hour))
	c.put(k, &Answer{Security: Bogus, Reason: "r"}, now, now.Add(time.Hour))
	if got, _, _ := c.get(k, now); got == nil || got.Security != Secure {
		t.Fatalf("cache holds %v", got)
	}
	// And a bogus entry expires after bogusTTL even with a long TTL.
	k2 := cacheKey{"y.", dns.TypeA}
	c.put(k2, &Answer{Security: Bogus, Reason: "r"}, now, now.Add(time.Hour))
	if _, _, ok := c.get(k2, now.Add(bogusTTL)); ok {
		t.Fatal("bogus entry cached beyond bogusTTL")
	}
}

func TestSingleflight(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := r.Lookup(context.Background(), "mail.example.test.", dns.TypeA)
			if err == nil && a.Security != Secure {
				err = fmt.Errorf("security %v", a.Security)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := b.front.Duplicates(); len(d) != 0 {
		t.Fatalf("duplicate queries: %v", d)
	}
}

// TestColdDaneLookupsAskEachQuestionOnce: the DANE walk (MX, A, AAAA,
// TLSA) from a cold cache never asks the same question twice.
func TestColdDaneLookupsAskEachQuestionOnce(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	daneWalk(t, r)
	if d := b.front.Duplicates(); len(d) != 0 {
		t.Fatalf("duplicate queries: %v", d)
	}
}

func daneWalk(t testing.TB, r *Resolver) {
	t.Helper()
	for _, q := range []struct {
		n string
		t uint16
	}{
		{"example.test.", dns.TypeMX}, {"mail.example.test.", dns.TypeA},
		{"mail.example.test.", dns.TypeAAAA}, {"_25._tcp.mail.example.test.", dns.TypeTLSA},
	} {
		if a := lookup(t, r, q.n, q.t); a.Security != Secure {
			t.Fatalf("%s: %v %s", q.n, a.Security, a.Reason)
		}
	}
}

func TestDebugLogShapes(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	log := &logRec{}
	r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Timeout: 60 * time.Second, Anchors: b.h.Anchors(), Now: b.clock.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	lookup(t, r, "example.test.", dns.TypeMX)
	lookup(t, r, "mail.example.test.", dns.TypeCNAME)
	lookup(t, r, "_25._tcp.mail.example.test.", dns.TypeTLSA)
	lookup(t, r, "nope.example.test.", dns.TypeA)
	b.h.Break("mail.example.test.", dns.TypeAAAA, dnstest.CorruptSig)
	lookup(t, r, "mail.example.test.", dns.TypeAAAA)
	txt := log.text()
	for _, w := range []string{
		"DNS query: Q('example.test', 'MX')",
		"DNS query: QN('example.test', 'MX', 'recursive_nameserver0.parent')",
		"DNS query: QIP ('example.test','MX','" + b.front.Addr + "',60)",
		"DNS query: Q ('example.test', 'MX', '" + b.front.Addr + "')",
		"DNSSEC Response data([(10, 'mail.example.test.')], secure, 0, 300)",
		"DNS encache (example.test, MX, [(",
		"L, 0, 'SECURE', (10, 'mail.example.test'))])",
		"Received NODATA for domain mail.example.test type CNAME",
		"DNSSEC Response data(['03010" + "1" + tlsaHex + "'], secure, 0, 300)",
		"Received NXDOMAIN for domain nope.example.test type A",
		"DNSSEC Response data(['::2'], bogus, 0, 5)",
		"WARNING Received an invalid DNSSEC Response: DNSSEC_Error('mail.example.test', 'AAAA', '" + b.front.Addr +
			"', 'DNSSEC Error for hostname mail.example.test (AAAA) while asking " + b.front.Addr + ". Error was: ",
		"') of qtype AAAA looking up mail.example.test",
	} {
		if !strings.Contains(txt, w) {
			t.Errorf("log lacks %q\n%s", w, txt)
		}
	}
}

// TestMismatchedReplyFallsOver: a reply to another question, or with the
// wrong RCODE, is not an answer; the next resolver is asked (RFC 5452 §9.1).
func TestMismatchedReplyFallsOver(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	liar := startReplay(t)
	liar.raw.Store(true)
	other := packMsg(t, dns.RcodeSuccess, []string{"a.example. 300 IN A 192.0.2.1"}, nil) // question a.example./A
	liar.reply.Store(&other)
	formerr := startReplay(t)
	fe := packMsg(t, dns.RcodeFormatError, nil, nil)
	formerr.reply.Store(&fe)
	log := &logRec{}
	r := b.resolver(t, log, Server{Addr: liar.addr}, Server{Addr: formerr.addr, Priority: 1}, Server{Addr: b.front.Addr, Priority: 2})
	want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Secure, Data)
	txt := log.text()
	for _, w := range []string{
		"FORMAT ERROR (reply question does not match the query) to IP " + liar.addr,
		"FORMAT ERROR (FORMERR) to IP " + formerr.addr,
	} {
		if !strings.Contains(txt, w) {
			t.Errorf("log lacks %q\n%s", w, txt)
		}
	}
	// With only the liar, the lookup fails as FORMERR.
	r2 := b.resolver(t, nil, Server{Addr: liar.addr})
	_, err := r2.Lookup(context.Background(), "mail.example.test.", dns.TypeA)
	var le *LookupError
	if !errors.As(err, &le) || le.Kind != ErrFormErr {
		t.Fatalf("err = %v", err)
	}
}

// TestKeyTrapIsBounded: colliding key tags and garbage signatures
// (CVE-2023-50387) end in Bogus or ErrBudget, never in unbounded work;
// a mild collision still validates.
func TestKeyTrapIsBounded(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.h.KeyTrap("example.test.", 1, 1)
	want(t, lookup(t, b.resolver(t, nil), "mail.example.test.", dns.TypeA), Secure, Data)

	b2 := newBed(t)
	b2.h.KeyTrap("example.test.", 30, 30)
	a, err := b2.resolver(t, nil).Lookup(context.Background(), "mail.example.test.", dns.TypeA)
	var le *LookupError
	switch {
	case errors.As(err, &le):
		if le.Kind != ErrBudget {
			t.Fatalf("err = %v", err)
		}
	case err != nil:
		t.Fatal(err)
	case a.Security != Bogus:
		t.Fatalf("KeyTrap answer %v %q", a.Security, a.Reason)
	}
}

// TestZoneAnchorAndAnchorless: an anchor for example.test. alone makes
// its names Secure (validated from that anchor, no root needed) and every
// name outside it Insecure: anchorless counts as insecure (RFC 7672
// §2.1.1). A wrong anchor is Bogus, never Insecure.
func TestZoneAnchorAndAnchorless(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	ksk := b.h.Zone("example.test.").DNSKEY(dnstest.KSK)
	text := "; private anchor\n" + ksk.String() + "\n"
	anchors, err := ParseAnchors(text)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Anchors: anchors, Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Secure, Data)
	want(t, lookup(t, r, "nope.example.test.", dns.TypeA), Secure, NXDomain)
	want(t, lookup(t, r, "mx.n3.test.", dns.TypeA), Insecure, Data)
	for _, q := range b.front.Log() {
		if q.Type == dns.TypeDNSKEY && q.Name == "." {
			t.Fatal("anchorless name made the resolver walk from the root")
		}
	}

	wrong := b.h.Zone("n3.test.").DNSKEY(dnstest.KSK)
	wrong.Hdr.Name = "example.test."
	r2, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Anchors: []dns.RR{wrong}, Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	want(t, lookup(t, r2, "mail.example.test.", dns.TypeA), Bogus, Data)
}

// TestCanceledLookupPoisonsNothing: a lookup whose context ends half way
// (here while the zone's DNSKEY query hangs) fails with ErrTimeout and
// leaves nothing in the caches that a later lookup could take for the
// zone's state.
func TestCanceledLookupPoisonsNothing(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.resolver(t, nil)
	b.h.Break("example.test.", dns.TypeDNSKEY, dnstest.Timeout)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := r.Lookup(ctx, "mail.example.test.", dns.TypeA)
	var le *LookupError
	if !errors.As(err, &le) || le.Kind != ErrTimeout {
		t.Fatalf("err = %v", err)
	}
	b.h.Fix()
	want(t, lookup(t, r, "mail.example.test.", dns.TypeA), Secure, Data)
}

// TestLongNameWalkIsCapped: proving a stripped answer bogus walks the
// labels with DS queries; a very long name stops after maxWalk of them.
func TestLongNameWalkIsCapped(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	long := strings.Repeat("x.", maxWalk+4) + "example.test."
	b.h.Add(long + " 300 IN A 127.0.0.8")
	b.h.Break(long, dns.TypeA, dnstest.StripSigs)
	r := b.resolver(t, nil)
	a := lookup(t, r, long, dns.TypeA)
	want(t, a, Indeterminate, Data)
	if !strings.Contains(a.Reason, "too many labels") {
		t.Fatalf("reason %q", a.Reason)
	}
	if n := b.front.Total(); n > maxWalk+8 {
		t.Fatalf("%d queries for one answer", n)
	}
}
