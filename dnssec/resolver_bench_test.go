package dnssec

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkColdDaneLookups: the DANE walk (MX, A, AAAA, TLSA) with an
// empty cache each time; reports the queries one walk sends.
func BenchmarkColdDaneLookups(b *testing.B) {
	bd := newBed(b)
	anchors := bd.h.Anchors()
	var queries int64
	for b.Loop() {
		r, err := New(Config{Servers: []Server{{Addr: bd.front.Addr}}, Timeout: time.Second, Anchors: anchors, Now: bd.clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		daneWalk(b, r)
		queries += r.QueriesSent()
	}
	b.ReportMetric(float64(queries)/float64(b.N), "queries/walk")
}

// BenchmarkWarmLookup: a cached, validated answer (target ≥ 200,000/s).
func BenchmarkWarmLookup(b *testing.B) {
	bd := newBed(b)
	r := bd.resolver(b, nil)
	ctx := context.Background()
	lookup(b, r, "_25._tcp.mail.example.test.", dns.TypeTLSA)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a, err := r.Lookup(ctx, "_25._tcp.mail.example.test.", dns.TypeTLSA)
			if err != nil || a.Security != Secure {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkValidateChain validates mail.example.test/A from the root down
// (DNSKEY ., DS/DNSKEY test., DS/DNSKEY example.test., the A RRset) from
// recorded replies, with a cold cache each time, and compares it with the
// bare RRSIG.Verify calls of the same chain measured in the same run
// (metric "x-raw-verify"; target ≤ 1.5).
func BenchmarkValidateChain(b *testing.B) {
	bd := newBed(b)
	rec := map[cacheKey]*dns.Msg{}
	r0 := bd.resolverWith(b, tap{timeout: time.Second, fn: func(q, m *dns.Msg) {
		rec[cacheKey{q.Question[0].Name, q.Question[0].Qtype}] = m
	}}, nil)
	lookup(b, r0, "mail.example.test.", dns.TypeA)

	// The raw cost: every RRSIG of the recorded chain verified once with
	// its key, nothing else.
	keys := map[uint16]*dns.DNSKEY{}
	for _, m := range rec {
		for _, rr := range m.Answer {
			if k, ok := rr.(*dns.DNSKEY); ok {
				keys[k.KeyTag()] = k
			}
		}
	}
	type job struct {
		sig *dns.RRSIG
		set []dns.RR
	}
	var jobs []job
	for k, m := range rec {
		set, sigs := rrsetOf(m.Answer, k.name, k.qtype)
		for _, s := range sigs {
			if keys[s.KeyTag] != nil {
				jobs = append(jobs, job{s, set})
			}
		}
	}
	if len(jobs) < 6 {
		b.Fatalf("recorded chain has %d signatures", len(jobs))
	}
	const rawRounds = 200
	start := time.Now()
	for range rawRounds {
		for _, j := range jobs {
			if err := j.sig.Verify(keys[j.sig.KeyTag], j.set); err != nil {
				b.Fatal(err)
			}
		}
	}
	raw := time.Since(start) / rawRounds

	anchors := bd.h.Anchors()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := New(Config{Servers: []Server{{Addr: "replay:53"}}, Anchors: anchors, Now: bd.clock.Now,
			Exchanger: replay(func(n string, t uint16) *dns.Msg { return rec[cacheKey{n, t}] })})
		if err != nil {
			b.Fatal(err)
		}
		a, err := r.Lookup(ctx, "mail.example.test.", dns.TypeA)
		if err != nil || a.Security != Secure {
			b.Fatalf("%v %v", a, err)
		}
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(raw.Nanoseconds()), "raw-verify-ns")
	b.ReportMetric(float64(per)/float64(raw), "x-raw-verify")
}
