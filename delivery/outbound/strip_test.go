package outbound

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// stripProxy relays SMTP between the engine and a real server and, when
// strip is set, removes STARTTLS from the server's EHLO reply, as an
// active attacker on the path would. It keeps every byte the client sent.
type stripProxy struct {
	strip bool
	mu    sync.Mutex
	seen  bytes.Buffer
}

func (p *stripProxy) clientBytes() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen.String()
}

func (p *stripProxy) serve(t *testing.T, ln net.Listener, backend string) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c, backend)
		}
	}()
}

func (p *stripProxy) relay(c net.Conn, backend string) {
	defer c.Close()
	s, err := net.DialTimeout("tcp", backend, 5*time.Second)
	if err != nil {
		return
	}
	defer s.Close()
	p.mu.Lock()
	strip := p.strip // the cases change it between connections
	p.mu.Unlock()
	go func() {
		br := bufio.NewReader(s)
		for n := 0; ; n++ {
			line, err := br.ReadString('\n')
			if n > 0 && strings.HasPrefix(line, "220 ") {
				// The reply to STARTTLS: TLS records follow, relay them as is.
				io.WriteString(c, line)
				io.Copy(c, br)
				c.Close()
				return
			}
			if strip && strings.HasPrefix(line, "250") && strings.Contains(strings.ToUpper(line), "STARTTLS") {
				line = line[:4] + "XXXXXXXX\r\n"
			}
			if _, werr := io.WriteString(c, line); werr != nil || err != nil {
				c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		p.mu.Lock()
		p.seen.Write(buf[:n])
		p.mu.Unlock()
		if _, werr := s.Write(buf[:n]); werr != nil || err != nil {
			return
		}
	}
}

// TestSTARTTLSStripping: a proxy that strips STARTTLS in front of a
// DANE-Mandatory, DANE-Opportunistic (with a secure matching TLSA) or
// Required-Verify destination never receives the message in clear; the
// message stays queued. Without stripping the same path delivers
// encrypted, so the proxy itself is not what stops the mail.
func TestSTARTTLSStripping(t *testing.T) {
	t.Parallel()
	rows := []row{
		{name: "strip-dane", secure: true, tlsa: tlsaMatch, kind: kindCA, proxied: true},
		{name: "strip-verify", kind: kindCA, proxied: true},
	}
	b := newBed(t, rows, nil)
	proxies := map[string]*stripProxy{}
	for _, r := range rows {
		p := &stripProxy{strip: true}
		proxies[r.domain()] = p
		p.serve(t, b.proxyLns[r.domain()], fmt.Sprintf("%s:%d", b.ips[r.domain()], b.port))
	}
	cases := []struct {
		domain string
		pol    Policy
	}{
		{"strip-dane.sec.test", Policy{TLS: TLSPreferred, DANE: DANEMandatory}},
		{"strip-dane.sec.test", Policy{TLS: TLSPreferred, DANE: DANEOpportunistic}},
		{"strip-verify.ins.test", Policy{TLS: TLSRequiredVerify}},
		{"strip-verify.ins.test", Policy{TLS: TLSRequiredVerifyHosted, DANE: DANEOpportunistic}},
	}
	for i, c := range cases {
		for _, strip := range []bool{true, false} {
			name := fmt.Sprintf("%d_%s_strip=%v", i, c.domain, strip)
			t.Run(name, func(t *testing.T) {
				// The proxies are shared; run these cases in sequence.
				p := proxies[c.domain]
				p.mu.Lock()
				p.strip = strip
				p.seen.Reset()
				p.mu.Unlock()
				pol := c.pol
				pol.Bounce = Bounce{InitialRetry: time.Hour, MaxQueueTime: time.Hour * 24, HardBounce: true}
				hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Roots: b.roots,
					Policy: func(string) Policy { return pol }})
				rcpt := fmt.Sprintf("case%d-%v@%s", i, strip, c.domain)
				mid := hs.submit("", true, "Subject: secret\r\n\r\nTOP-SECRET-BODY\r\n", rcpt)
				ev := hs.waitFor(mid)
				hs.stop()
				seen := p.clientBytes()
				if strip {
					if ev.Outcome != Deferred {
						t.Fatalf("stripped: %v, want held", ev.Outcome)
					}
					for _, w := range []string{"MAIL FROM", "RCPT TO", "TOP-SECRET-BODY", "DATA"} {
						if strings.Contains(seen, w) {
							t.Errorf("the proxy saw %q in clear:\n%s", w, seen)
						}
					}
					if len(b.delivered(c.domain, rcpt)) != 0 {
						t.Errorf("delivered despite the stripping")
					}
					if _, ok := hs.q.Get(mid); !ok {
						t.Errorf("the message left the queue")
					}
					return
				}
				if ev.Outcome != Delivered || !ev.TLS {
					t.Fatalf("not stripped: %v TLS %v (%s)", ev.Outcome, ev.TLS, ev.Reason)
				}
				if strings.Contains(seen, "TOP-SECRET-BODY") || !strings.Contains(seen, "STARTTLS") {
					t.Errorf("the proxy's client bytes:\n%s", seen)
				}
			})
		}
	}
}
