package dnstest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

func TestChainAndTLSA(t *testing.T) {
	t.Parallel()
	o := ChainOptions{Names: []string{"mx.example.test"}, Now: fixedNow}
	c := NewChain(t, o)
	if again := NewChain(t, o); !bytes.Equal(again.Leaf.DER(), c.Leaf.DER()) || !bytes.Equal(again.Root.DER(), c.Root.DER()) {
		t.Errorf("chains are not reproducible")
	}
	// PKIX: leaf -> intermediate -> root verifies for the name.
	inter := x509.NewCertPool()
	inter.AddCert(c.Intermediate.Cert)
	if _, err := c.Leaf.Cert.Verify(x509.VerifyOptions{DNSName: "mx.example.test", Roots: c.Pool(), Intermediates: inter, CurrentTime: fixedNow}); err != nil {
		t.Errorf("chain does not verify: %v", err)
	}
	owner := TLSAName("mx.example.test")
	if owner != "_25._tcp.mx.example.test." {
		t.Errorf("TLSAName %q", owner)
	}
	for _, tc := range []struct {
		rr   *dns.TLSA
		cert *x509.Certificate
		rec  string
	}{
		{c.EE(owner, 1, 1), c.Leaf.Cert, "3 1 1"},
		{c.EE(owner, 0, 1), c.Leaf.Cert, "3 0 1"},
		{c.EE(owner, 1, 2), c.Leaf.Cert, "3 1 2"},
		{c.EE(owner, 0, 0), c.Leaf.Cert, "3 0 0"},
		{c.TA(owner, 0, 1), c.Root.Cert, "2 0 1"},
		{c.TAIntermediate(owner, 1, 1), c.Intermediate.Cert, "2 1 1"},
		{c.PKIX(owner, 0, 0, 1), c.Root.Cert, "0 0 1"},
		{c.PKIX(owner, 1, 1, 1), c.Leaf.Cert, "1 1 1"},
	} {
		if !strings.Contains(tc.rr.String(), "TLSA\t"+tc.rec+" ") {
			t.Errorf("record %v, want %s", tc.rr, tc.rec)
		}
		if err := tc.rr.Verify(tc.cert); err != nil {
			t.Errorf("%s does not match: %v", tc.rec, err)
		}
	}
	if err := NonMatchingTLSA(owner, 3, 1, 1).Verify(c.Leaf.Cert); err == nil {
		t.Errorf("non-matching TLSA matches")
	}
	exp := NewChain(t, ChainOptions{Names: []string{"mx.example.test"}, Now: fixedNow, Expired: true, SelfSigned: true})
	if !exp.Leaf.Cert.NotAfter.Before(fixedNow) || exp.Root != nil {
		t.Errorf("expired self-signed leaf: %v", exp.Leaf.Cert.NotAfter)
	}
}

func TestSMTPSTARTTLS(t *testing.T) {
	t.Parallel()
	s := StartSMTP(t, SMTPOptions{Hostname: "mx.example.test", Now: fixedNow})
	want := s.Chain.EE(TLSAName("mx.example.test"), 1, 1)
	cfg := &tls.Config{
		ServerName:         "mx.example.test",
		InsecureSkipVerify: true, // DANE-EE: match the TLSA record, not WebPKI
		VerifyConnection: func(cs tls.ConnectionState) error {
			return want.Verify(cs.PeerCertificates[0])
		},
	}
	c, err := smtp.DialStartTLS(s.Addr, cfg)
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.SendMail("a@example.org", []string{"b@example.test"}, strings.NewReader("Subject: hi\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.Quit()
	m := s.Messages()
	if len(m) != 1 || !m[0].TLS || m[0].From != "a@example.org" || !bytes.Contains(m[0].Data, []byte("body")) {
		t.Errorf("messages %+v", m)
	}
	if sni := s.SNI(); len(sni) != 1 || sni[0] != "mx.example.test" {
		t.Errorf("SNI %v", sni)
	}
}

func TestSMTPNoSTARTTLSAndDeadPorts(t *testing.T) {
	t.Parallel()
	s := StartSMTP(t, SMTPOptions{NoSTARTTLS: true})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Errorf("STARTTLS offered")
	}
	c.Close()

	addr := StartAcceptClose(t, "")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if n, err := conn.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("accept-close: %d %v", n, err)
	}
	conn.Close()

	p := ClosedPort(t, "127.0.0.1")
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
		c.Close()
		t.Errorf("closed port accepted")
	}
}
