package commands

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/delivery/outbound"
	"esa/delivery/queue"
)

// fakeEngine stands in for the daemon's delivery engine in the delivery
// commands' transcripts: DeliveryEngine is the boundary between the
// commands and the engine (the real engine is exercised end to end in
// cmd/esa). Its counters are fixed; its operations act on the real test
// queue and are recorded for the checks.
type fakeEngine struct {
	q     *queue.Queue
	stats []outbound.DomainStats

	mu        sync.Mutex
	now       []string // DeliverNow's domains
	bounced   map[uint64][]int
	reasons   []string
	redirects []string
	cleared   bool // ClearRedirect since the last Redirect
}

func (f *fakeEngine) Stats() []outbound.DomainStats { return slices.Clone(f.stats) }

func (f *fakeEngine) HostStatus(d string) (outbound.DomainStats, bool) {
	for _, s := range f.stats {
		if s.Domain == strings.ToLower(d) {
			return s, true
		}
	}
	return outbound.DomainStats{}, false
}

func (f *fakeEngine) DeliverNow(d string) {
	f.mu.Lock()
	f.now = append(f.now, d)
	f.mu.Unlock()
	f.q.ClearNext(func(e *queue.Entry) bool {
		if e.Held() {
			return false // as the engine: held messages wait for their release
		}
		for _, rid := range e.Pending() {
			if d == "all" || domainOf(e.Envelope.Recipients[rid]) == d {
				return true
			}
		}
		return false
	})
}

func (f *fakeEngine) BounceNow(mid uint64, rids []int, reason string) (int, error) {
	e, ok := f.q.Get(mid)
	if !ok {
		return 0, nil
	}
	var n []int
	for _, r := range rids {
		if slices.Contains(e.Pending(), r) && !slices.Contains(n, r) {
			n = append(n, r)
		}
	}
	if err := f.q.SetDone(mid, "bounced", n...); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bounced == nil {
		f.bounced = map[uint64][]int{}
	}
	f.bounced[mid] = append(f.bounced[mid], n...)
	f.reasons = append(f.reasons, reason)
	return len(n), nil
}

func (f *fakeEngine) Redirect(host string, port int) (int, error) {
	f.mu.Lock()
	f.redirects = append(f.redirects, host+" "+itoa(port))
	f.cleared = false
	f.mu.Unlock()
	// As the engine counts: the work queue's pending recipients, not
	// those of messages a quarantine holds.
	n := 0
	for _, e := range f.q.List() {
		if !e.Held() {
			n += len(e.Pending())
		}
	}
	return n, nil
}

// Redirected and ClearRedirect follow the last Redirect, as the engine's.
func (f *fakeEngine) Redirected() (string, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.redirects) == 0 || f.cleared {
		return "", 0, false
	}
	host, port, _ := strings.Cut(f.redirects[len(f.redirects)-1], " ")
	n, _ := strconv.Atoi(port)
	return host, n, true
}

func (f *fakeEngine) ClearRedirect() (string, int, bool, error) {
	h, p, ok := f.Redirected()
	f.mu.Lock()
	f.cleared = true
	f.mu.Unlock()
	return h, p, ok, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// fakeStats are the fake engine's counters: example.net down (its last
// attempt failed, the retry is due in ten minutes), example.com up with
// two connections open, example.org with three hard bounces, gone.example
// delivered to earlier and no longer queued.
var fakeStats = []outbound.DomainStats{
	{Domain: "example.com", Delivered: 40, Connections: 12, ActiveConns: 2, LastActivity: clock.Add(-time.Minute), LastTLS: true, DeliveredBytes: 81920},
	{Domain: "example.net", Delivered: 12, SoftBounced: 4, HardBounced: 1, ExpiredBounced: 1, Connections: 9, LastActivity: clock.Add(-10 * time.Minute),
		LastTLS: true, LastError: "Not accepting messages at this time: 4.3.2 try again later", NextAttempt: clock.Add(10 * time.Minute)},
	{Domain: "example.org", Delivered: 3, HardBounced: 3, FiveXXBounced: 1, DNSBounced: 1, FilterBounced: 1, Connections: 3, LastActivity: clock.Add(-time.Hour),
		LastError: "Unknown address error: 5.1.1 <x@example.org>: user unknown"},
	{Domain: "gone.example", Delivered: 7, Connections: 1, LastActivity: clock.Add(-3 * time.Hour), LastTLS: true},
}

// withEngine is withQueue plus the fake engine.
func withEngine(t *testing.T, env *Env) {
	withQueue(t, env)
	env.Delivery = &fakeEngine{q: env.Queue, stats: fakeStats}
}

func fake(env *Env) *fakeEngine { return env.Delivery.(*fakeEngine) }

func init() {
	for name, tc := range map[string]transcript{
		"hoststatus":         {setup: withEngine},
		"hoststatus_offline": {},
		"tophosts":           {setup: withEngine},
		"workqueue_engine":   {setup: withEngine},
		"delivernow": {setup: withEngine, check: func(t *testing.T, env *Env) {
			if got := fake(env).now; strings.Join(got, ",") != "example.net,all" {
				t.Errorf("DeliverNow calls %q, want example.net then all", got)
			}
			if e, _ := env.Queue.Get(2); !e.State.Next.IsZero() {
				t.Errorf("MID 2 still waits until %v", e.State.Next)
			}
		}},
		"bouncerecipients": {setup: withEngine, check: func(t *testing.T, env *Env) {
			f := fake(env)
			// By host example.net: MID 2's RIDs 1 and 3; by sender <>:
			// MID 3's RID 0, which leaves the queue.
			if len(f.bounced) != 2 || !slices.Equal(f.bounced[2], []int{1, 3}) || !slices.Equal(f.bounced[3], []int{0}) {
				t.Errorf("bounced %v", f.bounced)
			}
			if len(f.reasons) == 0 || f.reasons[0] != "bounced by admin with bouncerecipients" {
				t.Errorf("reasons %q", f.reasons)
			}
			queueHolds(2, 3)(t, env)
		}},
		"bouncerecipients_declined": {setup: withEngine, check: func(t *testing.T, env *Env) {
			if len(fake(env).bounced) != 0 {
				t.Errorf("declined, yet bounced %v", fake(env).bounced)
			}
			queueHolds(3, 6)(t, env)
		}},
		"redirectrecipients": {setup: withEngine, check: func(t *testing.T, env *Env) {
			if got := fake(env).redirects; strings.Join(got, ",") != "relay.example.com 2525,2001:db8::25 0" {
				t.Errorf("redirects %q", got)
			}
		}},
	} {
		transcripts[name] = tc
	}
}

// TestTopHostsOrder: each sort of the menu ranks by its own counter, ties
// by host name, with the queue's active recipients.
func TestTopHostsOrder(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withEngine(t, env)
	down := func(s outbound.DomainStats) bool { return hostDown(s, clock) }
	for by, want := range map[int]string{
		1: "example.net,example.org,example.com,sender.example,gone.example",
		2: "example.com,example.net,example.org,gone.example,sender.example",
		3: "example.com,example.net,gone.example,example.org,sender.example",
		4: "example.org,example.net,example.com,gone.example,sender.example",
		5: "example.net,example.com,example.org,gone.example,sender.example",
	} {
		var got []string
		for _, r := range topHosts(fakeStats, env.Queue.List(), by, down) {
			got = append(got, r.host)
			if r.down != (r.host == "example.net") {
				t.Errorf("%s down = %v", r.host, r.down)
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("sort %d: %v, want %s", by, got, want)
		}
	}
}

// BenchmarkTopHosts ranks 10,000 recipient hosts with 50,000 queued
// recipients, the work of one tophosts on a busy gateway.
func BenchmarkTopHosts(b *testing.B) {
	stats := make([]outbound.DomainStats, 10000)
	for i := range stats {
		stats[i] = outbound.DomainStats{Domain: "d" + strconv.Itoa(i) + ".example", Delivered: i * 7 % 1000, SoftBounced: i % 13}
	}
	entries := make([]queue.Entry, 5000)
	for i := range entries {
		rc := make([]string, 10)
		for j := range rc {
			rc[j] = "u@d" + strconv.Itoa((i*10+j)%10000) + ".example"
		}
		entries[i] = queue.Entry{Envelope: queue.Envelope{MID: uint64(i + 1), Recipients: rc}}
	}
	down := func(outbound.DomainStats) bool { return false }
	b.ReportAllocs()
	for b.Loop() {
		if rows := topHosts(stats, entries, 1, down); len(rows) != 10000 {
			b.Fatalf("%d rows", len(rows))
		}
	}
}
