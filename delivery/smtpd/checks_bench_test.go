package smtpd

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/auth/dmarc"
	"esa/auth/filter"
	"esa/auth/spf"
	"esa/delivery/queue"
	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

// memDNS is an in-memory zone for the three checkers: TXT records by
// name, A records by name; anything else does not exist (in each
// library's words at once).
type memDNS struct {
	txt map[string][]string
	a   map[string][]netip.Addr
}

var errMemNX = fmt.Errorf("no such name: %w %w %w", spf.ErrNXDomain, dkim.ErrNotFound, dmarc.ErrNotFound)

func (m memDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := m.txt[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return v, nil
	}
	return nil, errMemNX
}

func (m memDNS) LookupA(_ context.Context, name string) ([]netip.Addr, error) {
	if v, ok := m.a[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return v, nil
	}
	return nil, errMemNX
}

func (m memDNS) LookupAAAA(context.Context, string) ([]netip.Addr, error) { return nil, nil }
func (m memDNS) LookupMX(context.Context, string) ([]string, error)       { return nil, nil }
func (m memDNS) LookupPTR(context.Context, netip.Addr) ([]string, error)  { return nil, errMemNX }

// BenchmarkInboundChecks (issue 17): the same 10 KiB message, pipelined by
// 50 clients over loopback, accepted by a listener with every check off
// ("unchecked") and by one running SPF (HELO and MAIL FROM), DKIM
// (RSA-2048), DMARC and the seed's message filters ("full"), in alternating
// rounds of one run. DNS answers come from memory. Reported: both rates
// and the full path's rate as a percentage of the unchecked one (target
// ≥ 60%).
func BenchmarkInboundChecks(b *testing.B) {
	key, err := dkim.GenerateRSAKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(key, dkim.RecordOptions{})
	zone := memDNS{
		txt: map[string][]string{
			"example.org":                {"v=spf1 ip4:127.0.0.1 -all"},
			"bench.example.org":          {"v=spf1 a -all"},
			"sel._domainkey.example.org": {rec},
			"_dmarc.example.org":         {"v=DMARC1; p=reject; rua=mailto:dmarc@example.org"},
		},
		a: map[string][]netip.Addr{"bench.example.org": {netip.MustParseAddr("127.0.0.1")}},
	}
	sigs, err := dkim.Sign(strings.NewReader(benchBody), time.Now(), &dkim.SignProfile{Domain: "example.org", Selector: "sel", Key: key})
	if err != nil {
		b.Fatal(err)
	}
	msg := strings.ReplaceAll("\n"+sigs[0]+benchBody, "\n.", "\n..")[1:]
	fs, err := filter.Parse(seedFilters)
	if err != nil {
		b.Fatal(err)
	}
	ev := dmarc.New(zone, dmarc.Options{})
	var rows atomic.Int64
	dir := b.TempDir()
	start := func(name string, checks bool) (*queue.Queue, []*pipeClient) {
		q, err := queue.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		o := Options{Queue: q, Log: nopLog{}}
		l := publicListener("L")
		l.RAT = []mailflow.RATEntry{{Pattern: "example.com", Action: mailflow.ActAccept}}
		setDefault(&l, "max_concurrency", "1000")
		setDefault(&l, "max_msgs_per_session", fmt.Sprint(1<<30))
		if checks {
			o.SPF = &spf.Checker{Resolver: zone, Receiver: "esa.example.com"}
			o.DKIM = zone
			o.DMARC = func() *dmarc.Evaluator { return ev }
			o.DMARCProfile = func(string) dmarcconf.Profile { return dmarcconf.NewProfile(dmarcconf.DefaultProfile) }
			o.DMARCRecord = func(dmarc.Result, dmarc.Row) { rows.Add(1) }
			o.Filters = func() ([]*filter.Filter, filter.Env) { return fs, filter.Env{} }
			for k, v := range map[string]string{"spf_verify": "on", "spf_conformance": "spf_only", "dkim_verify": "on", "dmarc_verify": "on", "dmarc_reports": "on"} {
				setDefault(&l, k, v)
			}
		}
		srv := New(o)
		if err := srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l}}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
		clients := make([]*pipeClient, benchClients)
		for i := range clients {
			c, err := dialPipe(srv.Addrs()["L"].String())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.conn.Close() })
			clients[i] = c
		}
		return q, clients
	}
	qOff, off := start("unchecked", false)
	qOn, on := start("full", true)
	b.SetBytes(int64(len(msg)))
	const rounds = 4
	var tOff, tOn time.Duration
	b.ResetTimer()
	for r := range rounds {
		n := b.N/rounds + btoi(r < b.N%rounds)
		tOff += runParallel(b, n, benchClients, func(w int) error { return off[w].send(msg) })
		tOn += runParallel(b, n, benchClients, func(w int) error { return on[w].send(msg) })
	}
	b.StopTimer()
	// Every checked message passed every check: the rate is the full
	// path's, not a short cut's.
	for _, m := range qOn.List() {
		v := m.Envelope.Verdicts
		if v["spf.mailfrom"] != "Pass" || v["dkim"] != "pass" || v["dmarc"] != "pass" {
			b.Fatalf("verdicts %v", v)
		}
	}
	if rows.Load() != int64(b.N) {
		b.Fatalf("%d report rows for %d messages", rows.Load(), b.N)
	}
	if n, _ := qOff.Len(); n != b.N {
		b.Fatalf("%d unchecked messages queued, want %d", n, b.N)
	}
	offRate, onRate := float64(b.N)/tOff.Seconds(), float64(b.N)/tOn.Seconds()
	b.ReportMetric(offRate, "unchecked-msgs/s")
	b.ReportMetric(onRate, "full-msgs/s")
	b.ReportMetric(100*onRate/offRate, "%-of-unchecked")
}

// setDefault sets a DEFAULT policy parameter, replacing the one there.
func setDefault(l *mailflow.Listener, key, value string) {
	for i := range l.HAT.Default {
		if l.HAT.Default[i].Key == key {
			l.HAT.Default[i].Value = value
			return
		}
	}
	l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: key, Value: value})
}
