package dnstest

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzResolve feeds arbitrary query names and types (untrusted input to
// the front) to the answer logic and checks the response is well formed.
func FuzzResolve(f *testing.F) {
	h := New(f, Options{Now: func() time.Time { return fixedNow }, Keys: testKeys})
	h.AddZone("test.", ZoneConfig{Denial: Denial{NSEC3: true, OptOut: true}})
	h.AddZone("example.test.", ZoneConfig{})
	h.AddZone("n3.test.", ZoneConfig{Denial: Denial{NSEC3: true, Iterations: 1, Salt: "ab"}})
	h.AddZone("plain.test.", ZoneConfig{Unsigned: true})
	h.Add("*.example.test. 300 IN TXT \"w\"",
		"a.b.example.test. 300 IN CNAME x.n3.test.",
		"*.n3.test. 300 IN CNAME a.b.example.test.",
		"\\046dot.example.test. 300 IN A 127.0.0.1")
	for _, s := range []struct {
		name  string
		qtype uint16
	}{{"example.test.", dns.TypeMX}, {"a.b.example.test.", dns.TypeA}, {"x.y.n3.test.", dns.TypeA},
		{"\\000.example.test.", dns.TypeTXT}, {"*.example.test.", dns.TypeANY}, {".", dns.TypeDS},
		{"plain.test.", dns.TypeDS}, {"ExAmple.TEST", dns.TypeNSEC}} {
		f.Add(s.name, s.qtype)
	}
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		name = dns.Fqdn(name)
		if _, ok := dns.IsDomainName(name); !ok || !dns.IsFqdn(name) {
			return
		}
		h.mu.Lock()
		res, err := h.resolveLocked(name, qtype, true, "udp")
		h.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if res.rcode == dns.RcodeNameError && len(res.answer) > 0 && res.answer[0].Header().Rrtype != dns.TypeCNAME {
			t.Fatalf("NXDOMAIN with data: %v", res.answer)
		}
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Answer, m.Ns = res.answer, res.ns
		if _, err := m.Pack(); err != nil {
			t.Fatalf("response does not pack: %v", err)
		}
	})
}
