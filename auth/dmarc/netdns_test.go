package dmarc

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// loopbackZone serves a small zone with miekg/dns on 127.0.0.1:0 (UDP and
// TCP, its own handler): TXT records as given, NODATA for names that only
// have an A record, SERVFAIL for names in servfail, NXDOMAIN for the rest.
func loopbackZone(t *testing.T, txt map[string][]string, aOnly, servfail []string) *net.Resolver {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true // a recursive resolver answers; without RA Go calls NODATA a lame referral
		q := req.Question[0]
		name := strings.TrimSuffix(strings.ToLower(q.Name), ".")
		switch {
		case contains(servfail, name):
			m.Rcode = dns.RcodeServerFailure
		case txt[name] != nil && q.Qtype == dns.TypeTXT:
			for _, s := range txt[name] {
				// Split long strings into 255-octet character-strings, as a
				// zone file would (RFC 7208 §3.3 joins them back).
				var parts []string
				for len(s) > 255 {
					parts, s = append(parts, s[:255]), s[255:]
				}
				parts = append(parts, s)
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts})
			}
		case txt[name] != nil || contains(aOnly, name):
			// The name exists with other types: NODATA.
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStdlibResolverOverLoopback: the standard library resolver, talking
// real DNS to a loopback server, fits Resolver as it is: NXDOMAIN and NODATA
// mean "no record", SERVFAIL is temperror, and split TXT strings are joined.
func TestStdlibResolverOverLoopback(t *testing.T) {
	long := "v=DMARC1; p=reject; rua=mailto:" + strings.Repeat("a", 300) + "@example.com"
	r := loopbackZone(t, map[string][]string{
		"_dmarc.example.com": {long},
		"_dmarc.example.net": {"v=spf1 -all"},
		"_dmarc.example.org": {"v=DMARC1; p=none", "v=DMARC1; p=reject"},
		"nodata.example.com": nil,
	}, []string{"_dmarc.nodata.example", "nodata.example"}, []string{"_dmarc.broken.example"})
	e := New(r, Options{})
	for _, tc := range []struct {
		from    string
		verdict Verdict
		reason  string
	}{
		{"mail.example.com", VerdictFail, "No aligned SPF or DKIM pass; policy p=reject from example.com"},
		{"example.net", VerdictNone, "No record found for the sending domain"},
		{"nodata.example", VerdictNone, "No record found for the sending domain"},
		{"nxdomain.example", VerdictNone, "No record found for the sending domain"},
		{"example.org", VerdictPermError, "Multiple DMARC records for example.org"},
		{"broken.example", VerdictTempError, ""},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res := e.Evaluate(ctx, Input{FromDomains: []string{tc.from}})
		cancel()
		if res.Verdict != tc.verdict || (tc.reason != "" && res.Reason != tc.reason) {
			t.Errorf("%s: %s (%s), want %s (%s)", tc.from, res.Verdict, res.Reason, tc.verdict, tc.reason)
		}
		if tc.from == "mail.example.com" && (res.Record == nil || len(res.Record.RUA) != 1 || len(res.Record.RUA[0].URI) != len("mailto:")+300+len("@example.com")) {
			t.Errorf("split TXT record not joined: %+v", res.Record)
		}
	}
}
