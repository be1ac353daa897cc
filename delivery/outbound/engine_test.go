package outbound

import (
	"context"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esa/delivery/queue"
)

func countRcpt(msgs []string, rcpt string) int {
	n := 0
	for _, m := range msgs {
		if m == rcpt {
			n++
		}
	}
	return n
}

func (r *rawServer) rcpts() []string {
	var out []string
	for _, m := range r.messages() {
		out = append(out, m.To...)
	}
	return out
}

// TestRestartContinues: an engine stopped after one recipient got its 250
// and another a 451 leaves that state in the queue; a new engine over the
// same queue keeps the back-off (nothing before it is due), then delivers
// the deferred recipient and never the delivered one again.
func TestRestartContinues(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	var accept atomic.Bool
	srv.mu.Lock()
	old := srv.rcpt
	srv.rcpt = func(a string) string {
		if accept.Load() {
			return ""
		}
		return old(a)
	}
	srv.mu.Unlock()
	dir := t.TempDir()
	var clk clock
	pol := Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: 10 * time.Minute, MaxRetry: time.Hour, MaxQueueTime: 24 * time.Hour}}
	cfg := Config{Resolver: b.res, Port: b.port, Now: clk.now, Policy: func(string) Policy { return pol }}
	hs := newHarness(t, dir, cfg)
	mid := hs.submit("alice@raw.ins.test", true, "Subject: x\r\n\r\nbody\r\n", "ok@raw.ins.test", "later@raw.ins.test")
	got := map[Outcome]bool{}
	for len(got) < 2 {
		got[hs.waitFor(mid).Outcome] = true
	}
	if !got[Delivered] || !got[Deferred] {
		t.Fatalf("first run: %v", got)
	}
	hs.stop()

	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := q.Get(mid)
	q.Close()
	if !ok || e.State.Done[0] != "delivered" || e.State.Attempts != 1 || e.State.Next.Sub(clk.now()) < 9*time.Minute {
		t.Fatalf("queue after the first run: %+v", e.State)
	}

	accept.Store(true)
	clk.advance(11 * time.Minute) // past the recorded back-off
	hs2 := newHarness(t, dir, cfg)
	if ev := hs2.waitFor(mid); ev.Outcome != Delivered || !slices.Equal(ev.RIDs, []int{1}) {
		t.Fatalf("after restart: %v RIDs %v", ev.Outcome, ev.RIDs)
	}
	hs2.stop()
	rc := srv.rcpts()
	if countRcpt(rc, "ok@raw.ins.test") != 1 || countRcpt(rc, "later@raw.ins.test") != 1 {
		t.Fatalf("server recipients %v", rc)
	}
	if _, ok := hs2.q.Get(mid); ok {
		t.Fatal("the message is still queued")
	}
}

// preload queues n messages to rcpt before any engine runs.
func preload(t *testing.T, dir string, n int, rcpt string) []uint64 {
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var mids []uint64
	for range n {
		mids = append(mids, submitTo(t, q, "alice@raw.ins.test", true, "Subject: x\r\n\r\nbody\r\n.leading dot\r\n", rcpt))
	}
	return mids
}

func midSet(mids []uint64) map[uint64]bool {
	m := map[uint64]bool{}
	for _, id := range mids {
		m[id] = true
	}
	return m
}

// TestConnectionReuse: one connection carries up to the messages per
// connection limit; the counters show it.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	dir := t.TempDir()
	mids := preload(t, dir, 5, "bob@raw.ins.test")
	pol := Policy{TLS: TLSNo, Concurrency: 1, MessagesPerConn: 2}
	hs := newHarness(t, dir, Config{Resolver: b.res, Port: b.port, Policy: func(string) Policy { return pol }})
	for _, ev := range hs.waitAll(midSet(mids)) {
		if ev.Outcome != Delivered {
			t.Fatalf("%v", ev)
		}
	}
	hs.stop()
	if n := srv.connections(); n != 3 {
		t.Errorf("%d connections for 5 messages at 2 per connection", n)
	}
	if n := len(regexp.MustCompile(`(?m)^Info: New SMTP DCID`).FindAllString(hs.log.String(), -1)); n != 3 {
		t.Errorf("%d New SMTP lines", n)
	}
	// Dot-stuffing (RFC 5321 §4.5.2): the line ".leading dot" arrives whole.
	for _, m := range srv.messages() {
		if !strings.Contains(string(m.Data), "\r\n.leading dot\r\n") {
			t.Errorf("body %q", m.Data)
		}
	}
	st, ok := hs.e.HostStatus("raw.ins.test")
	if !ok || st.Delivered != 5 || st.Connections != 3 || st.HardBounced != 0 || st.LastActivity.IsZero() {
		t.Errorf("host status %+v", st)
	}
}

// TestConcurrencyLimit: no more connections to a domain than its limit.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	for _, perIP := range []bool{false, true} {
		b, srv := rawBed(t)
		dir := t.TempDir()
		mids := preload(t, dir, 8, "bob@raw.ins.test")
		pol := Policy{TLS: TLSNo, Concurrency: 2, PerIP: perIP, MessagesPerConn: 1}
		// Count open connections on the client side: the server notices a
		// close only some time after the client has moved on.
		var open, peak atomic.Int64
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			n := open.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			return &countedConn{Conn: c, open: &open}, nil
		}
		hs := newHarness(t, dir, Config{Resolver: b.res, Port: b.port, Dial: dial, Policy: func(string) Policy { return pol }})
		hs.waitAll(midSet(mids))
		hs.stop()
		if p := peak.Load(); p > 2 || p < 1 || srv.connections() != 8 {
			t.Errorf("perIP %v: peak %d connections (limit 2), %d in all", perIP, p, srv.connections())
		}
	}
}

// TestRecipientRateLimit: recipients beyond the limit per window wait for
// the next window.
func TestRecipientRateLimit(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	dir := t.TempDir()
	mids := preload(t, dir, 3, "bob@raw.ins.test")
	var clk clock
	pol := Policy{TLS: TLSNo, Concurrency: 1, RecipientLimit: 2, RecipientWindow: time.Hour}
	hs := newHarness(t, dir, Config{Resolver: b.res, Port: b.port, Now: clk.now, Policy: func(string) Policy { return pol }})
	hs.waitFor(mids[0])
	hs.waitFor(mids[1])
	if ev := hs.waitFor(mids[2]); ev.Outcome != Deferred || !strings.Contains(ev.Reason, "recipient limit") {
		t.Fatalf("third message: %+v", ev)
	}
	if n := len(srv.messages()); n != 2 {
		t.Fatalf("%d messages in the first window", n)
	}
	if e, ok := hs.q.Get(mids[2]); !ok || e.State.Attempts != 0 {
		t.Fatalf("the third message left the queue or counted an attempt: %+v", e.State)
	}
	clk.advance(time.Hour)
	hs.e.DeliverNow("raw.ins.test")
	if ev := hs.waitFor(mids[2]); ev.Outcome != Delivered {
		t.Fatalf("next window: %v", ev.Outcome)
	}
}

// TestRoutes: smtproutes hosts are used instead of the MX; /dev/null
// drops; DANE is skipped for a routed domain unless the route's host is
// the domain's own MX (SPEC.md §2).
func TestRoutes(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "raw", kind: kindRefuse}, {name: "rt", secure: true, tlsa: tlsaMatch, kind: kindCA}}, nil)
	rawIP := b.ips["raw.ins.test"]
	routes := map[string]Route{
		"routed.invalid":  {Hosts: []RouteHost{{Host: "127.0.0.1", Priority: 0, Port: 1}, {Host: rawIP, Priority: 5, Port: b.port}}},
		"null.invalid":    {DevNull: true},
		"rt.sec.test":     {Hosts: []RouteHost{{Host: "mx-rt.sec.test"}}},
		"usedns.ins.test": {UseDNS: true},
	}
	pol := Policy{TLS: TLSPreferred, DANE: DANEMandatory, Bounce: Bounce{InitialRetry: time.Hour, MaxQueueTime: time.Hour, HardBounce: true}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Roots: b.roots,
		Policy: func(string) Policy { return pol },
		Route:  func(d string) (Route, bool) { r, ok := routes[d]; return r, ok }})
	m1 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@routed.invalid")
	m2 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@null.invalid")
	m3 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@rt.sec.test")
	evs := hs.waitAll(midSet([]uint64{m1, m2, m3}))
	// Routed past a refused first host to the second; DANE Mandatory is
	// skipped (the route's host is not an MX of routed.invalid), so the
	// clear-text host gets it under "Preferred".
	if ev := evs[m1]; ev.Outcome != Delivered || ev.TLS || len(b.delivered("raw.ins.test", "a@routed.invalid")) != 1 {
		t.Errorf("routed: %+v", ev)
	}
	if ev := evs[m2]; ev.Outcome != Delivered {
		t.Errorf("/dev/null: %+v", ev)
	}
	if ev := evs[m3]; ev.Outcome != Delivered || !ev.DANE {
		t.Errorf("route to the domain's own MX: %+v (DANE must apply)", ev)
	}
}

// TestImplicitMXAndNXDomain: a domain without MX is its own mail host
// (RFC 5321 §5.1); a domain that does not exist bounces (5.1.2).
func TestImplicitMXAndNXDomain(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "imp", secure: true, kind: kindCA, implicit: true}}, nil)
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy { return Policy{TLS: TLSPreferred} }})
	m1 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@imp.sec.test")
	m2 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@nowhere.sec.test")
	evs := hs.waitAll(midSet([]uint64{m1, m2}))
	if ev := evs[m1]; ev.Outcome != Delivered || !ev.TLS {
		t.Errorf("implicit MX: %+v", ev)
	}
	if ev := evs[m2]; ev.Outcome != Bounced || !strings.Contains(ev.Reason, "5.1.2") {
		t.Errorf("NXDOMAIN: %+v", ev)
	}
	if !strings.Contains(hs.log.String(), "Bounced: DCID 0 MID 2 From: <> To: <a@nowhere.sec.test> RID 0 - 5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up nowhere.sec.test (MX):  NXDomain'])") {
		t.Errorf("log:\n%s", hs.log.String())
	}
}

type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

func TestIPSort(t *testing.T) {
	t.Parallel()
	a := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("192.0.2.2")}
	for _, c := range []struct {
		p    IPSort
		want string
	}{
		{IPv4Preferred, "192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2"},
		{IPv6Preferred, "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2"},
		{IPv4Required, "192.0.2.1 192.0.2.2"},
		{IPv6Required, "2001:db8::1 2001:db8::2"},
	} {
		var got []string
		for _, x := range c.p.sortAddrs(a) {
			got = append(got, x.String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%d: %v", c.p, got)
		}
	}
}

func TestIdentityMatches(t *testing.T) {
	t.Parallel()
	// Setting 6 takes the dNSName SANs alone when there is one; setting 5
	// takes any presented name.
	c := certWith("mx.example.com", "other.example.net")
	refs := []string{"example.com", "mx.example.com"}
	if IdentityMatches(c, refs, true) {
		t.Error("strict: CN used although a dNSName SAN exists")
	}
	if !IdentityMatches(c, refs, false) {
		t.Error("non-strict: CN not used")
	}
	if !IdentityMatches(certWith("", "*.example.com"), refs, true) {
		t.Error("wildcard SAN")
	}
	if IdentityMatches(certWith("", "*.com"), []string{"example.com"}, true) {
		t.Error("a wildcard must not cover a whole registered domain")
	}
	if !IdentityMatches(certWith("MX.Example.com.", ""), refs, true) {
		t.Error("CN without SAN, case-insensitive")
	}
}

// TestDANELogLine: a DANE-authenticated delivery logs "TLS success ... for
// DOMAIN" and sends the TLSA base domain as SNI (RFC 7672 §8.1); a TLS
// delivery without DANE logs the line without "for".
func TestDANELogLine(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "dlog", secure: true, tlsa: tlsaMatch, kind: kindCA}, {name: "plain", kind: kindCA}}, nil)
	pol := func(d string) Policy {
		if strings.HasPrefix(d, "dlog") {
			return Policy{TLS: TLSPreferred, DANE: DANEMandatory}
		}
		return Policy{TLS: TLSPreferred, DANE: DANEOpportunistic}
	}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Policy: pol})
	m1 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@dlog.sec.test")
	m2 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@plain.ins.test")
	evs := hs.waitAll(midSet([]uint64{m1, m2}))
	if !evs[m1].DANE || evs[m2].DANE || !evs[m2].TLS {
		t.Fatalf("events %+v", evs)
	}
	log := hs.log.String()
	if !regexp.MustCompile(`(?m)^Info: DCID \d+ TLS success protocol TLSv1\.[23] cipher \S+ for dlog\.sec\.test$`).MatchString(log) {
		t.Errorf("no DANE TLS line in\n%s", log)
	}
	if !regexp.MustCompile(`(?m)^Info: DCID \d+ TLS success protocol TLSv1\.[23] cipher \S+$`).MatchString(log) {
		t.Errorf("no plain TLS line in\n%s", log)
	}
	if sni := b.servers["dlog.sec.test"].SNI(); len(sni) == 0 || sni[0] != "mx-dlog.sec.test" {
		t.Errorf("SNI %v", sni)
	}
	if st, _ := hs.e.HostStatus("dlog.sec.test"); st.Delivered != 1 || st.Active != 0 {
		t.Errorf("host status %+v", st)
	}
}

// TestDANEOnlyForRelayed: DANE applies to relayed (outbound) mail only
// (SPEC.md §2): the same destination with a mismatching TLSA holds relayed
// mail and delivers other mail under its TLS setting.
func TestDANEOnlyForRelayed(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "onlyrelay", secure: true, tlsa: tlsaMismatch, kind: kindCA}}, nil)
	pol := Policy{TLS: TLSPreferred, DANE: DANEMandatory, Bounce: Bounce{InitialRetry: time.Hour, MaxQueueTime: time.Hour}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Policy: func(string) Policy { return pol }})
	relayed := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "r@onlyrelay.sec.test")
	inbound := hs.submit("", false, "Subject: x\r\n\r\nb\r\n", "i@onlyrelay.sec.test")
	evs := hs.waitAll(midSet([]uint64{relayed, inbound}))
	if evs[relayed].Outcome != Deferred {
		t.Errorf("relayed: %+v", evs[relayed])
	}
	if ev := evs[inbound]; ev.Outcome != Delivered || !ev.TLS || ev.DANE {
		t.Errorf("not relayed: %+v", ev)
	}
}
