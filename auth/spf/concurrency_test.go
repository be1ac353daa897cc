package spf

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// gateZone wraps a zone; TXT lookups of the names in gate block until all
// of them have been asked for at the same time. Only concurrent lookups
// can get past it.
type gateZone struct {
	zone
	mu      sync.Mutex
	gate    map[string]bool
	waiting int
	open    chan struct{}
}

func (g *gateZone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if g.gate[name] {
		g.mu.Lock()
		g.waiting++
		if g.waiting == len(g.gate) {
			close(g.open)
		}
		g.mu.Unlock()
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.zone.LookupTXT(ctx, name)
}

func includeZone(t *testing.T) zone {
	z := zone{}
	add := func(name, txt string) {
		if err := z.addName(name, []any{map[string]any{"TXT": txt}}); err != nil {
			t.Fatal(err)
		}
	}
	add("example.com", "v=spf1 include:one.example include:two.example include:three.example -all")
	add("one.example", "v=spf1 ip4:198.51.100.1 -all")
	add("two.example", "v=spf1 ip4:198.51.100.2 -all")
	add("three.example", "v=spf1 ip4:192.0.2.1 -all")
	return z
}

// TestIncludesAreLookedUpConcurrently: the three include targets of one
// record are queried at the same time (RFC 7208 §4.6.4 counts them; it does
// not order the queries), and the verdict is the in-order one.
func TestIncludesAreLookedUpConcurrently(t *testing.T) {
	g := &gateZone{zone: includeZone(t), open: make(chan struct{}),
		gate: map[string]bool{"one.example": true, "two.example": true, "three.example": true}}
	ck := &Checker{Resolver: g, Timeout: 10 * time.Second}
	v := ck.CheckMailFrom(context.Background(), netip.MustParseAddr("192.0.2.1"), "a@example.com", "mx.example")
	if v.Result != Pass {
		t.Fatalf("got %s (%s), want Pass", v.Result, v.Reason())
	}
}

// TestSequentialTimesOut shows the gate above really needs concurrency and
// that the per-check deadline turns a hung lookup into TempError.
func TestSequentialTimesOut(t *testing.T) {
	g := &gateZone{zone: includeZone(t), open: make(chan struct{}),
		gate: map[string]bool{"one.example": true, "two.example": true, "three.example": true}}
	ck := &Checker{Resolver: g, Timeout: 50 * time.Millisecond, Sequential: true}
	v := ck.CheckMailFrom(context.Background(), netip.MustParseAddr("192.0.2.1"), "a@example.com", "mx.example")
	if v.Result != TempError || v.Reason() != "SPF check timed out" {
		t.Fatalf("got %s (%s), want TempError by timeout", v.Result, v.Reason())
	}
}

// countingZone counts the queries made.
type countingZone struct {
	zone
	mu sync.Mutex
	n  map[string]int
}

func (c *countingZone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
	return c.zone.LookupTXT(ctx, name)
}

// TestLookupLimitWithPrefetch: an 11th DNS term is PermError whether or
// not lookups run ahead, and speculative lookups stay within the budget.
func TestLookupLimitWithPrefetch(t *testing.T) {
	z := zone{}
	rec := "v=spf1"
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11", "a12"} {
		rec += " include:" + n + ".example"
		if err := z.addName(n+".example", []any{map[string]any{"TXT": "v=spf1 -all"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.addName("example.com", []any{map[string]any{"TXT": rec + " +all"}}); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []bool{false, true} {
		cz := &countingZone{zone: z, n: map[string]int{}}
		ck := &Checker{Resolver: cz, Sequential: seq}
		v := ck.CheckMailFrom(context.Background(), netip.MustParseAddr("192.0.2.1"), "a@example.com", "mx.example")
		if v.Result != PermError {
			t.Errorf("sequential=%v: got %s (%s), want PermError", seq, v.Result, v.Reason())
		}
		cz.mu.Lock()
		if cz.n["a11.example"] != 0 || cz.n["a12.example"] != 0 {
			t.Errorf("sequential=%v: looked up terms beyond the 10-lookup budget: %v", seq, cz.n)
		}
		cz.mu.Unlock()
	}
}

// TestContextCancelled: a check under an already-cancelled context is
// TempError, never a verdict made up from missing answers.
func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ck := &Checker{Resolver: includeZone(t)}
	v := ck.CheckMailFrom(ctx, netip.MustParseAddr("192.0.2.1"), "a@example.com", "mx.example")
	if v.Result != TempError {
		t.Fatalf("got %s, want TempError", v.Result)
	}
}

// errZone answers every query with a fixed error.
type errZone struct{ err error }

func (e errZone) LookupTXT(context.Context, string) ([]string, error)      { return nil, e.err }
func (e errZone) LookupA(context.Context, string) ([]netip.Addr, error)    { return nil, e.err }
func (e errZone) LookupAAAA(context.Context, string) ([]netip.Addr, error) { return nil, e.err }
func (e errZone) LookupMX(context.Context, string) ([]string, error)       { return nil, e.err }
func (e errZone) LookupPTR(context.Context, netip.Addr) ([]string, error)  { return nil, e.err }

// TestDNSOutcomes: NXDOMAIN (wrapped or not) is None, any other error is
// TempError (RFC 7208 §4.3, §4.4).
func TestDNSOutcomes(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		err  error
		want Result
	}{
		{ErrNXDomain, None},
		{errors.Join(errors.New("lookup x: no such host"), ErrNXDomain), None},
		{errors.New("i/o timeout"), TempError},
		{context.DeadlineExceeded, TempError},
		{nil, None}, // NODATA
	} {
		ck := &Checker{Resolver: errZone{tc.err}}
		if v := ck.CheckMailFrom(context.Background(), ip, "a@example.com", "mx.example"); v.Result != tc.want {
			t.Errorf("%v: got %s, want %s", tc.err, v.Result, tc.want)
		}
	}
}
