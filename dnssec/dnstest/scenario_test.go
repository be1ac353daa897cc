package dnstest

import (
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

func TestScenario(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return fixedNow }
	s := NewScenario(t, ScenarioOptions{Now: now})
	addr := s.DNS.Addr
	rcode := func(name string, qtype uint16) (int, []dns.RR) {
		r := query(t, addr, name, qtype, "tcp")
		return r.Rcode, r.Answer
	}
	if rc, _ := rcode(DomainNX, dns.TypeMX); rc != dns.RcodeNameError {
		t.Errorf("%s: rcode %d", DomainNX, rc)
	}
	if _, ans := rcode(DomainUnsigned, dns.TypeMX); len(ans) != 3 {
		t.Errorf("unsigned MX: %v", ans)
	}
	if _, ans := rcode(DomainNullMX, dns.TypeMX); len(ans) != 2 || ans[0].(*dns.MX).Mx != "." {
		t.Errorf("null MX: %v", ans)
	}
	if _, ans := rcode("mx."+DomainTwoA, dns.TypeA); len(ans) != 3 {
		t.Errorf("two A: %v", ans)
	}
	_, ans := rcode(DomainBogusMX, dns.TypeMX)
	if sigs := rrsigs(ans); len(sigs) != 1 || sigs[0].ValidityPeriod(fixedNow) {
		t.Errorf("bogus MX signature is valid: %v", ans)
	}
	for _, n := range []string{"mx." + DomainTLSAServFail, "mx." + DomainUnsigned} {
		if rc, _ := rcode(TLSAName(n), dns.TypeTLSA); rc != dns.RcodeServerFailure {
			t.Errorf("TLSA %s servfail: %d", n, rc)
		}
	}
	if _, ans := rcode("mx."+DomainUnsigned, dns.TypeA); len(ans) != 1 {
		t.Errorf("insecure host A: %v", ans)
	}
	if _, ans := rcode("mx."+DomainCNAME, dns.TypeA); len(ans) != 4 {
		t.Errorf("CNAME MX host: %v", ans)
	}
	_, tl := rcode(TLSAName("mx."+DomainExpiredEE), dns.TypeTLSA)
	ee := s.SMTP["mx."+DomainExpiredEE].Chain.Leaf.Cert
	if err := tl[0].(*dns.TLSA).Verify(ee); err != nil || !ee.NotAfter.Before(fixedNow) {
		t.Errorf("expired EE: %v %v", err, ee.NotAfter)
	}

	// The good domain end to end: MX -> A -> TLSA -> STARTTLS, all secure.
	keys := keysOf(t, s.DNS, s.H, DomainGood)
	_, mx := rcode(DomainGood, dns.TypeMX)
	verifySigs(t, mx, keys)
	host := mx[0].(*dns.MX).Mx
	_, a := rcode(host, dns.TypeA)
	verifySigs(t, a, keys)
	_, tl = rcode(TLSAName(host), dns.TypeTLSA)
	verifySigs(t, tl, keys)
	rec := tl[0].(*dns.TLSA)
	ip := a[0].(*dns.A).A.String()
	c, err := smtp.DialStartTLS(net.JoinHostPort(ip, strconv.Itoa(s.Port)), &tls.Config{
		ServerName: trimDot(host), InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error { return rec.Verify(cs.PeerCertificates[0]) },
	})
	if err != nil {
		t.Fatalf("DANE-good STARTTLS: %v", err)
	}
	c.Quit()

	// The TLSA mismatch host presents a certificate the record does not
	// match; the no-STARTTLS host offers no STARTTLS; dead addresses refuse.
	_, tl = rcode(TLSAName("mx."+DomainMismatch), dns.TypeTLSA)
	if err := tl[0].(*dns.TLSA).Verify(s.SMTP["mx."+DomainMismatch].Chain.Leaf.Cert); err == nil {
		t.Errorf("mismatch TLSA matches")
	}
	pc, err := smtp.Dial(net.JoinHostPort("127.0.0.7", strconv.Itoa(s.Port)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := pc.Extension("STARTTLS"); ok {
		t.Errorf("no-starttls host offers STARTTLS")
	}
	pc.Close()
	for _, ip := range []string{"127.0.0.11", "127.0.0.14"} {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(s.Port)), time.Second); err == nil {
			c.Close()
			t.Errorf("%s accepts connections", ip)
		}
	}

	// Reproducible: a second scenario with the same clock serves the same
	// keys and TLSA records.
	s2 := NewScenario(t, ScenarioOptions{Now: now})
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{DomainGood, dns.TypeDNSKEY}, {TLSAName(host), dns.TypeTLSA}, {".", dns.TypeDNSKEY}} {
		a1 := query(t, addr, q.name, q.qtype, "tcp").Answer
		a2 := query(t, s2.DNS.Addr, q.name, q.qtype, "tcp").Answer
		if len(a1) != len(a2) {
			t.Fatalf("%s: %d vs %d records", q.name, len(a1), len(a2))
		}
		for i := range a1 {
			if a1[i].String() != a2[i].String() {
				t.Errorf("not reproducible:\n%v\n%v", a1[i], a2[i])
			}
		}
	}
}
