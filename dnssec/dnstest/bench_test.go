package dnstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkFrontQueryUDP is one secure A query with DO over UDP: the
// per-query cost the resolver benchmarks pay for the test bed.
func BenchmarkFrontQueryUDP(b *testing.B) {
	h := New(b, Options{Now: func() time.Time { return fixedNow }, Keys: testKeys})
	h.AddZone("test.", ZoneConfig{})
	h.Add("mail.test. 300 IN A 127.0.0.2")
	f := h.Serve(b)
	c := &dns.Client{}
	m := new(dns.Msg)
	m.SetQuestion("mail.test.", dns.TypeA)
	m.SetEdns0(1232, true)
	for b.Loop() {
		if _, _, err := c.Exchange(m, f.Addr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignZone re-signs a 100-name ECDSA P-256 NSEC3 zone, the cost
// of every Add or knob that changes zone data.
func BenchmarkSignZone(b *testing.B) {
	h := New(b, Options{Now: func() time.Time { return fixedNow }, Keys: testKeys})
	z := h.AddZone("test.", ZoneConfig{Denial: Denial{NSEC3: true}})
	for i := range 100 {
		h.Add(fmt.Sprintf("h%d.test. 300 IN A 127.0.0.%d", i, i+1))
	}
	for b.Loop() {
		h.mu.Lock()
		z.dirty = true
		if err := z.prepareLocked(); err != nil {
			b.Fatal(err)
		}
		h.mu.Unlock()
	}
}
