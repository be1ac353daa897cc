package dnssec

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esa/dnssec/dnstest"
)

// TestZoneCacheBounded: the zone key cache and the not-a-cut set never
// hold more than their bound; expired entries are the first to go, and a
// live entry being refreshed is never evicted for itself (issue 12 item 25).
func TestZoneCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c := newZoneCache(8)
	// Two expired entries among live ones: the overflow takes them first.
	for i := range 8 {
		exp := now.Add(time.Hour)
		if i < 2 {
			exp = now.Add(-time.Second)
		}
		c.put(&zoneState{zone: fmt.Sprintf("z%d.test.", i), sec: Secure, expires: exp}, now)
	}
	c.put(&zoneState{zone: "new.test.", sec: Secure, expires: now.Add(time.Hour)}, now)
	if n, _ := c.len(); n != 7 {
		t.Errorf("%d zones after evicting the 2 expired ones and adding 1, want 7", n)
	}
	for i := 2; i < 8; i++ {
		if c.get(fmt.Sprintf("z%d.test.", i), now) == nil {
			t.Errorf("live z%d evicted while expired entries were there", i)
		}
	}
	// A flood of distinct zones stays within the bound, the newest in.
	for i := range 1000 {
		z := fmt.Sprintf("flood%d.test.", i)
		c.put(&zoneState{zone: z, sec: Secure, expires: now.Add(time.Hour)}, now)
		c.setNotCut("x."+z, now.Add(time.Hour), now)
		if n, m := c.len(); n > 8 || m > 8 {
			t.Fatalf("after %d zones: %d zones, %d not-cut names (bound 8)", i+1, n, m)
		}
		if c.get(z, now) == nil || !c.isNotCut("x."+z, now) {
			t.Fatalf("the entry just put (%s) is missing", z)
		}
	}
	// Replacing an entry in a full cache evicts nothing.
	n0, _ := c.len()
	c.put(&zoneState{zone: "flood999.test.", sec: Secure, expires: now.Add(2 * time.Hour)}, now)
	if n, _ := c.len(); n != n0 {
		t.Errorf("refreshing a cached zone changed the size from %d to %d", n0, n)
	}
}

// TestResolverZoneCacheBound: a resolver with a tiny zone cache still
// validates every answer (an evicted key set is fetched again) and keeps
// the cache within the bound.
func TestResolverZoneCacheBound(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	for i := range 6 {
		z := fmt.Sprintf("z%d.test.", i)
		b.h.AddZone(z, dnstest.ZoneConfig{})
		b.h.Add(fmt.Sprintf("mx.%s 300 IN A 127.0.0.%d", z, 20+i))
	}
	r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Timeout: time.Second, Anchors: b.h.Anchors(),
		Now: b.clock.Now, MaxZones: 3})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range 6 {
			name := fmt.Sprintf("mx.z%d.test.", i)
			a, err := r.Lookup(context.Background(), name, dns.TypeA)
			if err != nil || a.Security != Secure {
				t.Fatalf("round %d %s: %+v %v", round, name, a, err)
			}
			if n, m := r.zones.len(); n > 3 || m > 3 {
				t.Fatalf("zone cache holds %d zones, %d not-cut names; bound 3", n, m)
			}
		}
		r.cache.mu.Lock()
		clear(r.cache.m) // make the second round go through the key cache again
		r.cache.mu.Unlock()
	}
}

// TestAnswerCacheBounded: the answer cache never holds more than its
// bound under a flood of distinct names, expired answers go first, and
// the answer just stored is always there.
func TestAnswerCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c := newAnswerCache(8)
	for i := range 8 {
		exp := now.Add(time.Hour)
		if i%4 == 0 {
			exp = now.Add(time.Second) // expired at now+1m below
		}
		c.put(cacheKey{fmt.Sprintf("a%d.", i), dns.TypeA}, &Answer{Security: Secure}, now, exp)
	}
	later := now.Add(time.Minute)
	c.put(cacheKey{"new.", dns.TypeA}, &Answer{Security: Secure}, later, later.Add(time.Hour))
	for i := range 8 {
		if _, _, ok := c.get(cacheKey{fmt.Sprintf("a%d.", i), dns.TypeA}, later); !ok && i%4 != 0 {
			t.Errorf("live a%d evicted while expired answers were there", i)
		}
	}
	for i := range 1000 {
		k := cacheKey{fmt.Sprintf("flood%d.", i), dns.TypeMX}
		c.put(k, &Answer{Security: Insecure}, later, later.Add(time.Hour))
		c.mu.RLock()
		n := len(c.m)
		c.mu.RUnlock()
		if n > 8 {
			t.Fatalf("after %d names the cache holds %d answers (bound 8)", i+1, n)
		}
		if _, _, ok := c.get(k, later); !ok {
			t.Fatalf("%s missing right after put", k.name)
		}
	}
}
