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
