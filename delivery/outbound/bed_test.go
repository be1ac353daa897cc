package outbound

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esa/delivery/queue"
	"esa/dnssec"
	"esa/dnssec/dnstest"
)

// mxKind is how a bed's mail host behaves.
type mxKind int

const (
	kindNoTLS     mxKind = iota // no STARTTLS in EHLO
	kindRefuse                  // STARTTLS offered, answered 454 (a failure before the 220)
	kindAfter220                // 220 to STARTTLS, then the handshake fails
	kindCA                      // a chain from a CA in the pool, right name
	kindSelf                    // self-signed, right name
	kindWrongName               // CA-signed, another name
	kindExpired                 // CA-signed, expired leaf
)

// tlsaKind is what the bed publishes at _25._tcp.<mx>.
type tlsaKind int

const (
	tlsaNone tlsaKind = iota
	tlsaMatch
	tlsaMismatch
	tlsaBogus // matching but with an expired RRSIG
)

// row is one destination of the bed: a domain, its zone's security, its
// TLSA and its mail host.
type row struct {
	name   string
	secure bool // the domain and its MX host live in the signed zone sec.test
	tlsa   tlsaKind
	kind   mxKind
	nullMX bool
	// proxied: the MX host's A record points at a listener of the test's
	// (bed.proxyLns) in front of the real server.
	proxied bool
	// implicit: no MX record; the domain's own A record (RFC 5321 §5.1).
	implicit bool
}

func (r row) domain() string {
	if r.secure {
		return r.name + ".sec.test"
	}
	return r.name + ".ins.test"
}

func (r row) mx() string { return "mx-" + r.domain() }

// bed is a signed loopback DNS hierarchy (sec.test signed, ins.test
// unsigned) with one SMTP server per row, all on one port.
type bed struct {
	h       *dnstest.Hierarchy
	dns     *dnstest.Front
	port    int
	roots   *x509.CertPool
	servers map[string]*dnstest.SMTPServer // by domain
	raw     map[string]*rawServer          // by domain (kindRefuse)
	res     *dnssec.Resolver
	ips     map[string]string // domain -> server IP
	// proxyLns are the listeners of proxied rows, by domain, on the port.
	proxyLns map[string]net.Listener
}

var bedRows = []row{
	{name: "clear", kind: kindNoTLS},
	{name: "refuse", kind: kindRefuse},
	{name: "after220", kind: kindAfter220},
	{name: "ca", kind: kindCA},
	{name: "self", kind: kindSelf},
	{name: "wrongname", kind: kindWrongName},
	{name: "expired", kind: kindExpired},
	{name: "danematch", secure: true, tlsa: tlsaMatch, kind: kindCA},
	{name: "danemismatch", secure: true, tlsa: tlsaMismatch, kind: kindCA},
	{name: "danebogus", secure: true, tlsa: tlsaBogus, kind: kindCA},
	{name: "nodane", secure: true, kind: kindCA},
	{name: "danenotls", secure: true, tlsa: tlsaMatch, kind: kindNoTLS},
	{name: "nullmx", secure: true, nullMX: true},
}

// newBed builds the hierarchy, the servers and a validating resolver.
// extra are more rows (e.g. a proxy's address) served by the caller:
// their A records point at extraIPs.
func newBed(t testing.TB, rows []row, extra map[string]string) *bed {
	t.Helper()
	now := time.Now()
	ed := dnstest.KeyConfig{Algorithm: dns.ED25519}
	h := dnstest.New(t, dnstest.Options{Now: func() time.Time { return now }, Deterministic: true, Root: dnstest.ZoneConfig{Keys: ed}})
	h.AddZone("test.", dnstest.ZoneConfig{Keys: ed, Denial: dnstest.Denial{NSEC3: true, OptOut: true}})
	h.AddZone("sec.test.", dnstest.ZoneConfig{Keys: ed})
	h.AddZone("ins.test.", dnstest.ZoneConfig{Unsigned: true})
	b := &bed{h: h, roots: x509.NewCertPool(), servers: map[string]*dnstest.SMTPServer{}, raw: map[string]*rawServer{},
		ips: map[string]string{}, proxyLns: map[string]net.Listener{}}
	var ips, proxyIPs []string
	var served, proxied []row
	for i, r := range rows {
		if r.nullMX {
			h.Add(r.domain() + ". 300 IN MX 0 .")
			continue
		}
		ip := fmt.Sprintf("127.0.14.%d", 10+i)
		ips = append(ips, ip)
		served = append(served, r)
		b.ips[r.domain()] = ip
		if r.proxied {
			proxyIPs = append(proxyIPs, fmt.Sprintf("127.0.14.%d", 100+i))
			proxied = append(proxied, r)
		}
	}
	all := dnstest.ListenShared(t, append(append([]string(nil), ips...), proxyIPs...))
	lns := all[:len(ips)]
	aIP := map[string]string{}
	for i, r := range proxied {
		b.proxyLns[r.domain()] = all[len(ips)+i]
		aIP[r.domain()] = proxyIPs[i]
	}
	b.port = lns[0].Addr().(*net.TCPAddr).Port
	for i, r := range served {
		d, mx, ip := r.domain(), r.mx(), ips[i]
		if p, ok := aIP[d]; ok {
			ip = p
		}
		if r.implicit {
			mx = d
			h.Add(d + ". 300 IN A " + ip)
		} else {
			h.Add(d+". 300 IN MX 10 "+mx+".", mx+". 300 IN A "+ip)
		}
		co := dnstest.ChainOptions{Names: []string{mx}, Now: now}
		switch r.kind {
		case kindSelf:
			co.SelfSigned = true
		case kindWrongName:
			co.Names = []string{"other.example"}
		case kindExpired:
			co.Expired = true
		}
		chain := dnstest.NewChain(t, co)
		if chain.Root != nil {
			b.roots.AddCert(chain.Root.Cert)
		}
		switch r.kind {
		case kindRefuse:
			b.raw[d] = serveRaw(t, lns[i], true)
		default:
			b.servers[d] = dnstest.ServeSMTP(t, lns[i], dnstest.SMTPOptions{Hostname: mx, Chain: chain,
				NoSTARTTLS: r.kind == kindNoTLS, FailHandshake: r.kind == kindAfter220})
		}
		tn := dnstest.TLSAName(mx)
		switch r.tlsa {
		case tlsaMatch, tlsaBogus:
			h.Add(chain.EE(tn, 1, 1).String())
		case tlsaMismatch:
			h.Add(dnstest.NonMatchingTLSA(tn, 3, 1, 1).String())
		}
		if r.tlsa == tlsaBogus {
			h.Break(tn, dns.TypeTLSA, dnstest.ExpiredSig)
		}
	}
	for name, ip := range extra {
		h.Add(name + ". 300 IN A " + ip)
	}
	b.dns = h.Serve(t)
	res, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: b.dns.Addr}}, Anchors: h.Anchors(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b.res = res
	return b
}

// delivered returns the server's messages addressed to rcpt.
func (b *bed) delivered(domain, rcpt string) []dnstest.Message {
	var out []dnstest.Message
	if s := b.servers[domain]; s != nil {
		for _, m := range s.Messages() {
			for _, to := range m.To {
				if to == rcpt {
					out = append(out, m)
				}
			}
		}
	}
	if r := b.raw[domain]; r != nil {
		for _, m := range r.messages() {
			for _, to := range m.To {
				if to == rcpt {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// harness is an engine over a fresh queue, with its events on a channel.
type harness struct {
	t      testing.TB
	q      *queue.Queue
	e      *Engine
	events chan Event
	// backlog keeps events read while waiting for another message.
	backlog []Event
	log     *memLog
	cancel  context.CancelFunc
	done    chan struct{}
}

func newHarness(t testing.TB, dir string, cfg Config) *harness {
	t.Helper()
	return newHarnessOpt(t, dir, cfg, false)
}

// newHarnessOpt is newHarness with the queue paused before the engine
// starts, when paused is set.
func newHarnessOpt(t testing.TB, dir string, cfg Config, paused bool) *harness {
	t.Helper()
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if paused {
		q.Pause()
	}
	hs := &harness{t: t, q: q, events: make(chan Event, 1024), log: &memLog{}}
	cfg.Queue = q
	if cfg.Log == nil {
		cfg.Log = hs.log
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "esa.test"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.Notify = func(ev Event) { hs.events <- ev }
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.e = e
	ctx, cancel := context.WithCancel(context.Background())
	hs.cancel, hs.done = cancel, make(chan struct{})
	go func() { defer close(hs.done); _ = e.Run(ctx) }()
	t.Cleanup(hs.stop)
	return hs
}

func (hs *harness) stop() {
	hs.cancel()
	<-hs.done
	hs.e.Close()
	hs.q.Close()
}

// submit queues one message.
func (hs *harness) submit(from string, relayed bool, body string, rcpts ...string) uint64 {
	hs.t.Helper()
	return submitTo(hs.t, hs.q, from, relayed, body, rcpts...)
}

func submitTo(t testing.TB, q *queue.Queue, from string, relayed bool, body string, rcpts ...string) uint64 {
	t.Helper()
	mid, err := q.IDs().Next(queue.MID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(queue.Envelope{MID: mid, ICID: 1, Received: time.Now(), From: from, Recipients: rcpts, Relayed: relayed}); err != nil {
		t.Fatal(err)
	}
	return mid
}

// waitFor waits for the first event about mid (skipping others).
func (hs *harness) waitFor(mid uint64) Event {
	hs.t.Helper()
	for i, ev := range hs.backlog {
		if ev.MID == mid {
			hs.backlog = append(hs.backlog[:i:i], hs.backlog[i+1:]...)
			return ev
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-hs.events:
			if ev.MID == mid {
				return ev
			}
			hs.backlog = append(hs.backlog, ev)
		case <-timeout:
			hs.t.Fatalf("no outcome for MID %d; log:\n%s", mid, hs.log.String())
			return Event{}
		}
	}
}

// next waits for the first event that pred accepts.
func (hs *harness) next(pred func(Event) bool) Event {
	hs.t.Helper()
	for i, ev := range hs.backlog {
		if pred(ev) {
			hs.backlog = append(hs.backlog[:i:i], hs.backlog[i+1:]...)
			return ev
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-hs.events:
			if pred(ev) {
				return ev
			}
			hs.backlog = append(hs.backlog, ev)
		case <-timeout:
			hs.t.Fatalf("no such event; log:\n%s", hs.log.String())
			return Event{}
		}
	}
}

// waitAll waits for one event for each of mids.
func (hs *harness) waitAll(mids map[uint64]bool) map[uint64]Event {
	hs.t.Helper()
	out := map[uint64]Event{}
	var keep []Event
	for _, ev := range hs.backlog {
		if _, seen := out[ev.MID]; mids[ev.MID] && !seen {
			out[ev.MID] = ev
		} else {
			keep = append(keep, ev)
		}
	}
	hs.backlog = keep
	timeout := time.After(30 * time.Second)
	for len(out) < len(mids) {
		select {
		case ev := <-hs.events:
			if _, seen := out[ev.MID]; mids[ev.MID] && !seen {
				out[ev.MID] = ev
			} else {
				hs.backlog = append(hs.backlog, ev)
			}
		case <-timeout:
			hs.t.Fatalf("only %d of %d outcomes; log:\n%s", len(out), len(mids), hs.log.String())
		}
	}
	return out
}

// memLog keeps the mail_logs lines.
type memLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *memLog) add(level, format string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, a...))
	l.mu.Unlock()
}
func (l *memLog) Info(format string, a ...any)    { l.add("Info", format, a...) }
func (l *memLog) Warning(format string, a ...any) { l.add("Warning", format, a...) }
func (l *memLog) Debug(format string, a ...any)   { l.add("Debug", format, a...) }
func (l *memLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
func (l *memLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// rawServer is a minimal clear-text SMTP server that offers STARTTLS and
// refuses it with 454 (a failure before the 220 reply).
type rawServer struct {
	mu  sync.Mutex
	msg []dnstest.Message
	// rcpt, when set, answers RCPT TO for an address (default 250).
	rcpt func(addr string) string
	// conns counts accepted connections.
	conns int
}

func (r *rawServer) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

func (r *rawServer) messages() []dnstest.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dnstest.Message(nil), r.msg...)
}

func serveRaw(t testing.TB, ln net.Listener, offerTLS bool) *rawServer {
	r := &rawServer{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
			go r.serve(c, offerTLS)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *rawServer) serve(c net.Conn, offerTLS bool) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "220 raw.test ESMTP\r\n")
	var cur dnstest.Message
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if offerTLS {
				fmt.Fprintf(c, "250-raw.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
			} else {
				fmt.Fprintf(c, "250-raw.test\r\n250 8BITMIME\r\n")
			}
		case cmd == "STARTTLS":
			fmt.Fprintf(c, "454 4.7.0 TLS not available due to temporary reason\r\n")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = dnstest.Message{From: strings.Trim(strings.TrimSpace(line)[10:], "<>")}
			fmt.Fprintf(c, "250 2.1.0 Ok\r\n")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			addr := strings.Trim(strings.TrimSpace(line)[8:], "<>")
			r.mu.Lock()
			f := r.rcpt
			r.mu.Unlock()
			if f != nil {
				if rep := f(addr); rep != "" {
					fmt.Fprintf(c, "%s\r\n", rep)
					continue
				}
			}
			cur.To = append(cur.To, addr)
			fmt.Fprintf(c, "250 2.1.5 Ok\r\n")
		case cmd == "DATA":
			if len(cur.To) == 0 {
				fmt.Fprintf(c, "554 5.5.1 no valid recipients\r\n")
				continue
			}
			fmt.Fprintf(c, "354 go ahead\r\n")
			var data strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = []byte(data.String())
			r.mu.Lock()
			r.msg = append(r.msg, cur)
			r.mu.Unlock()
			fmt.Fprintf(c, "250 2.0.0 Ok: queued\r\n")
		case cmd == "QUIT":
			fmt.Fprintf(c, "221 2.0.0 Bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 Ok\r\n")
		}
	}
}
