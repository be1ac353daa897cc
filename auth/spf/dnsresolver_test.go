package spf

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serveZone runs a miekg/dns server on 127.0.0.1:0 (UDP and TCP) that
// answers from zone text: names not in it are NXDOMAIN, names under
// "servfail." SERVFAIL.
func serveZone(t *testing.T, text string) string {
	t.Helper()
	records := map[string][]dns.RR{}
	zp := dns.NewZoneParser(strings.NewReader(text), ".", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n := strings.ToLower(rr.Header().Name)
		records[n] = append(records[n], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		rrs, ok := records[name]
		switch {
		case strings.HasSuffix(name, "servfail."):
			m.Rcode = dns.RcodeServerFailure
		case !ok:
			m.Rcode = dns.RcodeNameError
		default:
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Question[0].Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	<-started
	<-started
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return pc.LocalAddr().String()
}

// TestOverLoopbackDNS runs checks against a real DNS server: TXT records
// split into several character-strings, every record type, NXDOMAIN and
// SERVFAIL through the adapter.
func TestOverLoopbackDNS(t *testing.T) {
	addr := serveZone(t, `
example.com.            300 IN TXT "v=spf1 ip4:192.0.2.0/24 " "mx a:%{d}.hosts.example.net include:inc.example.org" " -all"
example.com.            300 IN MX 10 mx.example.com.
mx.example.com.         300 IN A 198.51.100.25
mx.example.com.         300 IN AAAA 2001:db8::25
example.com.hosts.example.net. 300 IN A 203.0.113.9
inc.example.org.        300 IN TXT "v=spf1 ptr:trusted.example.org ?all"
77.113.0.203.in-addr.arpa. 300 IN PTR relay.trusted.example.org.
relay.trusted.example.org. 300 IN A 203.0.113.77
broken.example.        300 IN TXT "v=spf1 include:x.servfail -all"
`)
	c := &dns.Client{Timeout: 2 * time.Second}
	ck := &Checker{Resolver: NewDNSResolver(StubLookup(c, addr)), Timeout: 5 * time.Second}
	ctx := context.Background()
	for _, tc := range []struct {
		ip, from string
		want     Result
	}{
		{"192.0.2.200", "a@example.com", Pass},       // ip4, from the first string
		{"198.51.100.25", "a@example.com", Pass},     // mx → A
		{"2001:db8::25", "a@example.com", Pass},      // mx → AAAA
		{"203.0.113.9", "a@example.com", Pass},       // a: with a macro
		{"203.0.113.77", "a@example.com", Pass},      // include: validated PTR name
		{"203.0.113.78", "a@example.com", Fail},      // include ?all is no match, then -all
		{"198.51.100.99", "a@example.com", Fail},     // -all, the last string
		{"192.0.2.1", "a@nxdomain.example", None},    // NXDOMAIN
		{"192.0.2.1", "a@broken.example", TempError}, // SERVFAIL inside include
	} {
		v := ck.CheckMailFrom(ctx, netip.MustParseAddr(tc.ip), tc.from, "helo.example.com")
		if v.Result != tc.want {
			t.Errorf("%s from %s: got %s (%s), want %s", tc.from, tc.ip, v.Result, v.Reason(), tc.want)
		}
	}
}
