package smtpd

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/delivery/queue"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// dkimDNS is a loopback DNS server holding the test's key records; names
// under "servfail." answer SERVFAIL, unknown names NXDOMAIN.
type dkimDNS struct {
	mu      sync.Mutex
	records map[string][]string // lower-case FQDN -> TXT strings
	addr    string
}

func serveDKIMZone(t testing.TB) *dkimDNS {
	t.Helper()
	z := &dkimDNS{records: map[string][]string{}}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		z.mu.Lock()
		txt, ok := z.records[name]
		z.mu.Unlock()
		switch {
		case strings.HasSuffix(name, "servfail."):
			m.Rcode = dns.RcodeServerFailure
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Question[0].Qtype == dns.TypeTXT:
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300},
				Txt: dkim.SplitTXT(strings.Join(txt, "")),
			})
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	z.addr = pc.LocalAddr().String()
	return z
}

func (z *dkimDNS) publish(name, record string) {
	z.mu.Lock()
	z.records[dns.Fqdn(strings.ToLower(name))] = []string{record}
	z.mu.Unlock()
}

// LookupTXT makes the zone the verifier's resolver: a real DNS exchange
// over loopback UDP, NXDOMAIN and NODATA wrapping dkim.ErrNotFound.
func (z *dkimDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	c := &dns.Client{Timeout: 5 * time.Second}
	m, _, err := c.ExchangeContext(ctx, q, z.addr)
	if err != nil {
		return nil, err
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, dkim.ErrNotFound
	default:
		return nil, errors.New(dns.RcodeToString[m.Rcode])
	}
	var out []string
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	if len(out) == 0 {
		return nil, dkim.ErrNotFound
	}
	return out, nil
}

// newDKIMBed is a server verifying DKIM against the loopback zone; the
// STRICT profile rejects temporary and permanent failures.
func newDKIMBed(t *testing.T) (*bed, *dkimDNS) {
	t.Helper()
	z := serveDKIMZone(t)
	q, err := queue.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, q: q, log: newLog(), cmdTimeout: 5 * time.Second, dataTimeout: 5 * time.Second}
	profile := func(name string) dkim.VerifyProfile {
		p := dkim.DefaultVerifyProfile()
		if name == "STRICT" {
			p.Name = name
			p.TempFail.Reject = true
			p.PermFail.Reject = true
		}
		return p
	}
	b.srv = New(Options{Queue: q, Log: b.log, DKIM: z, DKIMProfile: profile})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.srv.Shutdown(ctx)
	})
	return b, z
}

func dkimListener(t *testing.T, kv ...string) mailflow.Listener {
	l := publicListener("IncomingMail")
	for i := 0; i < len(kv); i += 2 {
		l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: kv[i], Value: kv[i+1]})
	}
	if err := l.HAT.Validate(); err != nil {
		t.Fatal(err)
	}
	return l
}

// signed returns msg (CRLF, no final dot) with a DKIM-Signature by key for
// d=domain s=sel.
func signed(t *testing.T, msg string, domain, sel string, key *dkim.SignProfile) string {
	t.Helper()
	key.Domain, key.Selector = domain, sel
	sigs, err := dkim.Sign(strings.NewReader(msg), time.Now(), key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(sigs, "") + msg
}

// Inbound DKIM verification on a policy that enables it (issue 16 item 4):
// the verdict is logged (ESA-CLI §11.5), stamped as
// Authentication-Results: (RFC 8601) above the gateway's Received:, kept in
// the envelope, and the profile's actions refuse failures only where they
// say REJECT. A policy without verification stamps nothing.
func TestDKIMInbound(t *testing.T) {
	t.Parallel()
	b, z := newDKIMBed(t)
	ed, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.KeyRecordText(ed, dkim.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	z.publish("sel._domainkey.sender.test", rec)
	base := "From: a@sender.test\r\nTo: b@example.com\r\nSubject: dkim\r\nMessage-ID: <1@sender.test>\r\n\r\nHello.\r\n"
	good := signed(t, base, "sender.test", "sel", &dkim.SignProfile{Key: ed})
	tampered := strings.Replace(good, "Hello.", "Hello!", 1)
	missing := signed(t, base, "sender.test", "nokey", &dkim.SignProfile{Key: ed})
	temp := signed(t, base, "x.servfail", "sel", &dkim.SignProfile{Key: ed})

	cases := []struct {
		name    string
		l       mailflow.Listener
		msg     string
		reply   string // the reply after DATA
		ar      string // the Authentication-Results value's method part; "" = no field
		verdict string
		log     string // after "MID n "; "" = none expected
	}{
		{
			name: "pass", l: dkimListener(t, "dkim_verify", "on"), msg: good,
			reply: "250 ", ar: "esa.example.com; dkim=pass (signature verified) header.d=sender.test header.i=@sender.test header.s=sel header.a=ed25519-sha256 header.b=" + pvalue(bTag(good)[:8]),
			verdict: "pass", log: "DKIM: pass signature verified (d=sender.test s=sel i=@sender.test)",
		},
		{
			name: "no signature", l: dkimListener(t, "dkim_verify", "on"), msg: base,
			reply: "250 ", ar: "esa.example.com; dkim=none", verdict: "none", log: "DKIM: no signature",
		},
		{
			name: "body changed: hardfail, accepted by DEFAULT", l: dkimListener(t, "dkim_verify", "on"), msg: tampered,
			reply: "250 ", ar: "esa.example.com; dkim=fail (body hash did not verify) header.d=sender.test header.i=@sender.test header.s=sel header.a=ed25519-sha256 header.b=" + pvalue(bTag(good)[:8]),
			verdict: "hardfail", log: "DKIM: permfail body hash did not verify (d=sender.test s=sel i=@sender.test)",
		},
		{
			name: "body changed: rejected by STRICT's permfail action", l: dkimListener(t, "dkim_verify", "on", "dkim_profile", "STRICT"), msg: tampered,
			reply: "550 #5.7.5 DKIM unauthenticated mail is prohibited", log: "DKIM: permfail body hash did not verify",
		},
		{
			name: "no key: permerror rejected by STRICT", l: dkimListener(t, "dkim_verify", "on", "dkim_profile", "STRICT"), msg: missing,
			reply: "550 #5.7.5 DKIM unauthenticated mail is prohibited", log: "DKIM: permfail ",
		},
		{
			name: "key server failing: temperror deferred by STRICT", l: dkimListener(t, "dkim_verify", "on", "dkim_profile", "STRICT"), msg: temp,
			reply: "451 #4.7.5 Unable to verify signature - key server unavailable", log: "DKIM: tempfail ",
		},
		{
			name: "key server failing: temperror accepted by DEFAULT", l: dkimListener(t, "dkim_verify", "on"), msg: temp,
			reply: "250 ", ar: "esa.example.com; dkim=temperror (", verdict: "temperror", log: "DKIM: tempfail ",
		},
		{
			name: "verification off", l: dkimListener(t), msg: tampered, reply: "250 ",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{c.l}, CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second})
			before := len(b.q.List())
			r := dialRaw(t, b.addr("IncomingMail"))
			r.reply()
			r.cmd("EHLO mx.sender.test")
			r.cmd("MAIL FROM:<a@sender.test>")
			r.cmd("RCPT TO:<b@example.com>")
			if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
				t.Fatalf("DATA: %q", got)
			}
			got := r.cmd(c.msg + ".")
			if !strings.HasPrefix(got, c.reply) {
				t.Fatalf("after DATA: %q, want %q", got, c.reply)
			}
			r.cmd("QUIT")
			if !strings.HasPrefix(c.reply, "250") {
				if n := len(b.q.List()); n != before {
					t.Fatalf("a refused message was queued (%d -> %d)", before, n)
				}
				b.log.waitFor(t, c.log)
				return
			}
			var e queue.Envelope
			for _, m := range b.q.List() {
				if m.Envelope.MID > e.MID {
					e = m.Envelope
				}
			}
			if c.ar == "" {
				if strings.Contains(e.Prepend, "Authentication-Results") || e.Verdicts["dkim"] != "" {
					t.Fatalf("verification off, yet:\n%s%v", e.Prepend, e.Verdicts)
				}
				return
			}
			if !strings.HasPrefix(e.Prepend, "Authentication-Results: "+c.ar) {
				t.Fatalf("prepend:\n%s\nwant first Authentication-Results: %s", e.Prepend, c.ar)
			}
			if !strings.Contains(e.Prepend, "\r\nReceived: from mx.sender.test") {
				t.Fatalf("Received: missing below:\n%s", e.Prepend)
			}
			if e.Verdicts["dkim"] != c.verdict {
				t.Fatalf("verdict %q, want %q", e.Verdicts["dkim"], c.verdict)
			}
			b.log.waitFor(t, "Info: MID "+itoa(e.MID)+" "+c.log)
			// The stored message is the client's, byte for byte, below
			// the gateway's fields: verification read it, never changed it.
			m, err := b.q.Open(e.MID)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			all, err := io.ReadAll(m)
			if err != nil {
				t.Fatal(err)
			}
			if want := e.Prepend + c.msg; string(all) != want {
				t.Fatalf("stored message:\n%q\nwant\n%q", all, want)
			}
		})
	}
}

// memKeys is an in-memory key resolver, so the benchmark measures the
// verification in the mail flow, not a DNS server.
type memKeys map[string]string

func (m memKeys) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := m[strings.TrimSuffix(name, ".")]; ok {
		return []string{v}, nil
	}
	return nil, dkim.ErrNotFound
}

// BenchmarkDKIMInbound: 10 KiB messages over one connection with DKIM
// verification off, and on with an RSA-2048 signature; "verify-only" is the
// library verifying the same message from memory, for comparison. The
// difference between "off" and "rsa2048" is what verification adds to a
// message's acceptance (it runs beside the queue write).
func BenchmarkDKIMInbound(b *testing.B) {
	key, err := dkim.GenerateRSAKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(key, dkim.RecordOptions{})
	keys := memKeys{"sel._domainkey.example.org": rec}
	sigs, err := dkim.Sign(strings.NewReader(benchBody), time.Now(), &dkim.SignProfile{Domain: "example.org", Selector: "sel", Key: key})
	if err != nil {
		b.Fatal(err)
	}
	msg := sigs[0] + benchBody
	b.Run("verify-only", func(b *testing.B) {
		v := &dkim.Verifier{Resolver: keys, Profile: dkim.DefaultVerifyProfile()}
		for b.Loop() {
			res, err := v.Verify(context.Background(), strings.NewReader(msg))
			if err != nil || res[0].Status != dkim.Pass {
				b.Fatal(res, err)
			}
		}
	})
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "rsa2048"
		}
		b.Run(name, func(b *testing.B) {
			q, err := queue.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			log := newLog()
			srv := New(Options{Queue: q, Log: log, DKIM: keys})
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
				q.Close()
			}()
			l := publicListener("IncomingMail")
			onOff := map[bool]string{true: "on", false: "off"}
			for i := range l.HAT.Policies {
				l.HAT.Policies[i].Params = append(l.HAT.Policies[i].Params,
					mailflow.Param{Key: "max_msgs_per_session", Value: "1000000"}, mailflow.Param{Key: "dkim_verify", Value: onOff[on]})
			}
			if err := srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l}}); err != nil {
				b.Fatal(err)
			}
			c, err := smtp.Dial(srv.Addrs()["IncomingMail"].String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello("client.example.org"); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := send(c, "a@example.org", []string{"b@example.com"}, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			want := map[bool]string{true: "pass", false: ""}[on]
			for _, m := range q.List() {
				if m.Envelope.Verdicts["dkim"] != want {
					b.Fatalf("verdict %q, want %q", m.Envelope.Verdicts["dkim"], want)
				}
			}
		})
	}
}

// A message refused while it streams (too large, here) stops its
// verification with it: the refusal is the size's, and the session goes
// on to verify the next message.
func TestDKIMAbortedMessage(t *testing.T) {
	t.Parallel()
	b, z := newDKIMBed(t)
	ed, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(ed, dkim.RecordOptions{})
	z.publish("sel._domainkey.sender.test", rec)
	small := signed(t, "From: a@sender.test\r\nTo: b@example.com\r\n\r\nHello.\r\n", "sender.test", "sel", &dkim.SignProfile{Key: ed})
	big := signed(t, "From: a@sender.test\r\nTo: b@example.com\r\n\r\n"+strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 64), "sender.test", "sel", &dkim.SignProfile{Key: ed})
	l := dkimListener(t, "dkim_verify", "on")
	for i := range l.HAT.Policies {
		ps := l.HAT.Policies[i].Params[:0]
		for _, p := range l.HAT.Policies[i].Params {
			if p.Key != "max_message_size" {
				ps = append(ps, p)
			}
		}
		l.HAT.Policies[i].Params = append(ps, mailflow.Param{Key: "max_message_size", Value: "1024"})
	}
	b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l}, CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second})
	r := dialRaw(t, b.addr("IncomingMail"))
	r.reply()
	r.cmd("EHLO mx.sender.test")
	for _, c := range []struct{ msg, want string }{{big, "552 "}, {small, "250 "}} {
		r.cmd("MAIL FROM:<a@sender.test>")
		r.cmd("RCPT TO:<b@example.com>")
		if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
			t.Fatalf("DATA: %q", got)
		}
		if got := r.cmd(c.msg + "."); !strings.HasPrefix(got, c.want) {
			t.Fatalf("after DATA: %q, want %q", got, c.want)
		}
	}
	list := b.q.List()
	if len(list) != 1 || list[0].Envelope.Verdicts["dkim"] != "pass" {
		t.Fatalf("queued %+v", list)
	}
}
