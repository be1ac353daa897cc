package dmarc

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"
)

// mapDNS is a read-only in-memory zone for benchmarks: no locking, no
// recording, NXDOMAIN for anything not listed.
type mapDNS map[string][]string

func (m mapDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if r, ok := m[name]; ok {
		return r, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// BenchmarkEvaluate measures DMARC evaluations per second against an
// in-memory DNS (so the figure is the engine's own cost: discovery,
// parsing, alignment, sampling), for the common shapes of inbound mail.
func BenchmarkEvaluate(b *testing.B) {
	zone := mapDNS{
		"_dmarc.example.com":   {"v=spf1 -all", "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r; pct=50; rua=mailto:dmarc@example.com!10m; ruf=mailto:f@example.com; fo=1"},
		"_dmarc.example.co.uk": {"v=DMARC1; p=quarantine; rua=mailto:agg@example.co.uk"},
	}
	cases := []struct {
		name string
		mode Mode
		in   Input
	}{
		{"7489/aligned-same-domain", RFC7489, Input{FromDomains: []string{"example.com"}, SPF: spfPass("example.com"), DKIM: pass("example.com")}},
		{"7489/relaxed-subdomain", RFC7489, Input{FromDomains: []string{"news.example.co.uk"}, SPF: spfPass("bounce.example.co.uk"), DKIM: pass("mail.example.co.uk")}},
		{"7489/fail-pct", RFC7489, Input{FromDomains: []string{"example.com"}, SPF: spfPass("esp.example"), DKIM: pass("esp.example")}},
		{"7489/no-record", RFC7489, Input{FromDomains: []string{"mail.nowhere.example"}, SPF: spfPass("nowhere.example")}},
		{"bis/aligned-same-domain", DMARCbis, Input{FromDomains: []string{"example.com"}, SPF: spfPass("example.com"), DKIM: pass("example.com")}},
		{"bis/relaxed-subdomain-walk", DMARCbis, Input{FromDomains: []string{"news.example.co.uk"}, SPF: spfPass("bounce.example.co.uk"), DKIM: pass("mail.example.co.uk")}},
		{"bis/fail", DMARCbis, Input{FromDomains: []string{"example.com"}, SPF: spfPass("esp.example"), DKIM: pass("esp.example")}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := New(zone, Options{Mode: c.mode, Rand: rand.New(rand.NewPCG(1, 2))})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if res := e.Evaluate(ctx, c.in); res.Verdict == VerdictTempError {
					b.Fatal(res.Reason)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
		})
	}
}

// BenchmarkParse is the record parser alone.
func BenchmarkParse(b *testing.B) {
	rec := "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r; pct=50; rua=mailto:dmarc@example.com!10m; ruf=mailto:f@example.com; fo=1"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(rec, RFC7489); err != nil {
			b.Fatal(err)
		}
	}
}
