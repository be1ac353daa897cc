package smtpd

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"esa/auth/spf"
	"esa/delivery/queue"
	"esa/store/mailflow"

	"github.com/miekg/dns"
)

// spfZone is the DNS the SPF tests see, served by a miekg/dns server on
// 127.0.0.1 (never the system resolver). The client is 127.0.0.1.
const spfZone = `$TTL 300
pass.test.          TXT "v=spf1 ip4:127.0.0.1 -all"
fail.test.          TXT "v=spf1 -all"
explain.test.       TXT "v=spf1 -all exp=why.explain.test"
why.explain.test.   TXT "%{i} is not one of %{d}'s servers"
softfail.test.      TXT "v=spf1 ~all"
mx.pass.test.       TXT "v=spf1 a -all"
mx.pass.test.       A   127.0.0.1
helo.fail.test.     TXT "v=spf1 -all"
sidf.test.          TXT "v=spf1 ip4:127.0.0.1 -all"
sidf.test.          TXT "spf2.0/pra -all"
`

// serveSPFZone runs the zone on 127.0.0.1:0 (UDP and TCP): names not in it
// are NXDOMAIN, names under "servfail." SERVFAIL, names under "slow." get
// no answer at all.
func serveSPFZone(t testing.TB) string {
	t.Helper()
	records := map[string][]dns.RR{}
	zp := dns.NewZoneParser(strings.NewReader(spfZone), ".", "")
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
		case strings.HasSuffix(name, "slow."):
			return // never answered: the check's deadline decides
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
	srv := &dns.Server{PacketConn: pc, Handler: h}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// newSPFBed is a server whose SPF checker asks the test zone.
func newSPFBed(t *testing.T) *bed {
	t.Helper()
	addr := serveSPFZone(t)
	q, err := queue.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, q: q, log: newLog(), cmdTimeout: 5 * time.Second, dataTimeout: 5 * time.Second}
	checker := &spf.Checker{Resolver: spf.NewDNSResolver(spf.StubLookup(&dns.Client{Timeout: 30 * time.Second}, addr)), Receiver: "esa.example.com"}
	b.srv = New(Options{Queue: q, Log: b.log, SPF: checker})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.srv.Shutdown(ctx)
	})
	return b
}

// spfListener is a public listener for example.com whose DEFAULT policy has
// the given SPF parameters (key, value, key, value, ...) with verification
// on.
func spfListener(t *testing.T, kv ...string) mailflow.Listener {
	l := publicListener("IncomingMail")
	l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: "spf_verify", Value: "on"})
	for i := 0; i < len(kv); i += 2 {
		l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: kv[i], Value: kv[i+1]})
	}
	if err := l.HAT.Validate(); err != nil {
		t.Fatal(err)
	}
	return l
}

func msgFrom(from string, extra string) string {
	return extra + "From: " + from + "\r\nTo: b@example.com\r\nSubject: spf\r\n\r\nHello.\r\n.\r\n"
}

// Each level with a REJECT action answers with the configured reply at
// the stage of the identity: HELO at EHLO, MAIL FROM at MAIL, PRA after
// DATA; nothing is queued.
func TestSPFRejectsAtItsStage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		params []string
		helo   string
		from   string
		header string // From: of the message
		stage  string // EHLO, MAIL or DATA
		want   string
	}{
		{
			name:   "spf_only HELO Fail",
			params: []string{"spf_conformance", "spf_only", "spf_helo_reject", "fail"},
			helo:   "helo.fail.test", stage: "EHLO",
			want: "550 #5.7.1 SPF unauthorized mail is prohibited.",
		},
		{
			name:   "spf_only MAIL FROM Fail with the publisher's explanation",
			params: []string{"spf_conformance", "spf_only", "spf_mailfrom_reject", "softfail,fail"},
			helo:   "mx.pass.test", from: "a@explain.test", stage: "MAIL",
			want: "550-#5.7.1 SPF unauthorized mail is prohibited.\n550-The domain explain.test explains:\n550 127.0.0.1 is not one of explain.test's servers",
		},
		{
			name:   "spf_only MAIL FROM Fail without the publisher's text, custom reply",
			params: []string{"spf_conformance", "spf_only", "spf_mailfrom_reject", "fail", "spf_publisher_text", "off", "spf_reject_code", "554", "spf_reject_text", "#5.7.1 Go away."},
			helo:   "mx.pass.test", from: "a@explain.test", stage: "MAIL",
			want: "554 #5.7.1 Go away.",
		},
		{
			name:   "SIDF compatible MAIL FROM TempError is deferred",
			params: []string{"spf_mailfrom_reject", "temperror"},
			helo:   "mx.pass.test", from: "a@x.servfail", stage: "MAIL",
			want: "451 #4.4.3 Temporary error occurred during SPF verification.",
		},
		{
			name:   "the verification timeout ends a check that gets no answer as TempError",
			params: []string{"spf_mailfrom_reject", "temperror", "spf_timeout", "1", "spf_defer_text", "#4.4.3 Too slow."},
			helo:   "mx.pass.test", from: "a@x.slow", stage: "MAIL",
			want: "451 #4.4.3 Too slow.",
		},
		{
			name:   "SIDF compatible PRA Fail after DATA",
			params: []string{"spf_pra_reject", "fail"},
			helo:   "mx.pass.test", from: "a@pass.test", header: "b@sidf.test", stage: "DATA",
			want: "550 #5.7.1 SPF unauthorized mail is prohibited.",
		},
		{
			name:   "SIDF strict HELO Fail is always rejected",
			params: []string{"spf_conformance", "sidf_strict", "spf_helo_check", "off"},
			helo:   "helo.fail.test", stage: "EHLO",
			want: "550 #5.7.1 SPF unauthorized mail is prohibited.",
		},
		{
			name:   "SIDF strict PRA of a header without From: is Fail",
			params: []string{"spf_conformance", "sidf_strict", "spf_pra_reject", "fail"},
			helo:   "nohelo.test", from: "a@pass.test", header: "-", stage: "DATA",
			want: "550 #5.7.1 SPF unauthorized mail is prohibited.",
		},
	}
	b := newSPFBed(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// One listener per case, each on its own port.
			l := spfListener(t, c.params...)
			b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l}, CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second})
			before := len(b.q.List())
			r := dialRaw(t, b.addr("IncomingMail"))
			r.reply()
			got := r.cmd("EHLO " + c.helo)
			if c.stage == "EHLO" {
				if got != c.want {
					t.Fatalf("EHLO: %q, want %q", got, c.want)
				}
				// The first REJECT ends the session: greeting again does
				// not get round it.
				if again := r.cmd("HELO mx.pass.test"); !strings.HasPrefix(again, "ERR ") {
					t.Fatalf("the session goes on after a refused HELO: %q", again)
				}
				return
			}
			if !strings.HasPrefix(got, "250") {
				t.Fatalf("EHLO: %q", got)
			}
			got = r.cmd("MAIL FROM:<" + c.from + ">")
			if c.stage == "MAIL" {
				if got != c.want {
					t.Fatalf("MAIL: %q, want %q", got, c.want)
				}
				// The first REJECT ends the session.
				if rcpt := r.cmd("RCPT TO:<b@example.com>"); !strings.HasPrefix(rcpt, "ERR ") {
					t.Fatalf("the session goes on after a refused MAIL: %q", rcpt)
				}
				return
			}
			if !strings.HasPrefix(got, "250") {
				t.Fatalf("MAIL: %q", got)
			}
			r.cmd("RCPT TO:<b@example.com>")
			if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
				t.Fatalf("DATA: %q", got)
			}
			msg := msgFrom(c.header, "")
			if c.header == "-" {
				msg = "To: b@example.com\r\nSubject: no from\r\n\r\nHello.\r\n.\r\n"
			}
			if got := r.cmd(strings.TrimSuffix(msg, "\r\n")); got != c.want {
				t.Fatalf("after DATA: %q, want %q", got, c.want)
			}
			if n := len(b.q.List()); n != before {
				t.Fatalf("a refused message was queued (%d -> %d)", before, n)
			}
			if next := r.cmd("MAIL FROM:<a@pass.test>"); !strings.HasPrefix(next, "ERR ") {
				t.Fatalf("the session goes on after a refused message: %q", next)
			}
		})
	}
}

// Accepted mail carries a Received-SPF: field per checked identity, above
// the gateway's Received:, its verdicts in the envelope and a mail_logs
// line per identity. Relayed mail and a policy without SPF get none.
func TestSPFAcceptedHeaders(t *testing.T) {
	t.Parallel()
	b := newSPFBed(t)
	cases := []struct {
		name    string
		l       mailflow.Listener
		helo    string
		from    string
		header  string
		headers []string // Received-SPF values in order
		logs    []string // after "MID n "
	}{
		{
			name: "spf_only with HELO",
			l:    spfListener(t, "spf_conformance", "spf_only"),
			helo: "mx.pass.test", from: "a@pass.test", header: "x@fail.test",
			headers: []string{
				`Pass identity=helo; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from=""; x-sender="postmaster@mx.pass.test"; x-conformance=spf_only`,
				`Pass identity=mailfrom; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from="a@pass.test"; x-sender="a@pass.test"; x-conformance=spf_only`,
			},
			logs: []string{"SPF: helo identity postmaster@mx.pass.test Pass", "SPF: mailfrom identity a@pass.test Pass"},
		},
		{
			name: "SIDF compatible, accepting every result",
			l:    spfListener(t, "spf_helo_check", "off"),
			helo: "mx.pass.test", from: "a@softfail.test", header: "x@sidf.test",
			headers: []string{
				`SoftFail identity=mailfrom; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from="a@softfail.test"; x-sender="a@softfail.test"; x-conformance=sidf_compatible`,
				`Fail identity=pra; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from="a@softfail.test"; x-sender="x@sidf.test"; x-conformance=sidf_compatible`,
			},
			logs: []string{"SPF: mailfrom identity a@softfail.test SoftFail", "SPF: pra identity x@sidf.test Fail"},
		},
		{
			name: "SIDF strict",
			l:    spfListener(t, "spf_conformance", "sidf_strict"),
			helo: "unknown.test", from: "a@pass.test", header: "x@pass.test",
			headers: []string{
				`None identity=helo; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from=""; x-sender="postmaster@unknown.test"; x-conformance=sidf_strict`,
				`Pass identity=mailfrom; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from="a@pass.test"; x-sender="a@pass.test"; x-conformance=sidf_strict`,
				`Pass identity=pra; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from="a@pass.test"; x-sender="x@pass.test"; x-conformance=sidf_strict`,
			},
			logs: []string{"SPF: helo identity postmaster@unknown.test None", "SPF: mailfrom identity a@pass.test Pass", "SPF: pra identity x@pass.test Pass"},
		},
		{
			name: "SPF off",
			l:    publicListener("IncomingMail"),
			helo: "helo.fail.test", from: "a@fail.test", header: "x@fail.test",
		},
		{
			name: "relayed mail is not checked",
			l: func() mailflow.Listener {
				l := relayListener("IncomingMail")
				l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: "spf_verify", Value: "on"}, mailflow.Param{Key: "spf_mailfrom_reject", Value: "fail"})
				l.HAT.Policies[0].Params = append(l.HAT.Policies[0].Params, mailflow.Param{Key: "spf_verify", Value: "on"})
				return l
			}(),
			helo: "helo.fail.test", from: "a@fail.test", header: "x@fail.test",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{c.l}, CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second})
			r := dialRaw(t, b.addr("IncomingMail"))
			r.reply()
			r.cmd("EHLO " + c.helo)
			r.cmd("MAIL FROM:<" + c.from + ">")
			r.cmd("RCPT TO:<b@example.com>")
			r.cmd("DATA")
			got := r.cmd(strings.TrimSuffix(msgFrom(c.header, ""), "\r\n"))
			if !strings.HasPrefix(got, "250 ") {
				t.Fatalf("after DATA: %q", got)
			}
			r.cmd("QUIT")
			var e queue.Envelope
			for _, m := range b.q.List() {
				if m.Envelope.From == c.from && m.Envelope.HELO == c.helo && (e.MID == 0 || m.Envelope.MID > e.MID) {
					e = m.Envelope
				}
			}
			if e.MID == 0 {
				t.Fatal("not queued")
			}
			var want strings.Builder
			for _, h := range c.headers {
				want.WriteString(foldSPF("Received-SPF: " + h))
			}
			if !strings.HasPrefix(e.Prepend, want.String()+"Received: from "+c.helo) {
				t.Fatalf("prepend:\n%s\nwant first:\n%s", e.Prepend, want.String())
			}
			if len(c.headers) == 0 && strings.Contains(e.Prepend, "Received-SPF") {
				t.Fatalf("unexpected Received-SPF:\n%s", e.Prepend)
			}
			if len(e.Verdicts) != len(c.headers) {
				t.Fatalf("verdicts %v", e.Verdicts)
			}
			for _, h := range c.headers {
				res, rest, _ := strings.Cut(h, " identity=")
				id, _, _ := strings.Cut(rest, ";")
				if e.Verdicts["spf."+id] != res {
					t.Errorf("verdict spf.%s = %q, want %q", id, e.Verdicts["spf."+id], res)
				}
			}
			for _, l := range c.logs {
				b.log.waitFor(t, "Info: MID "+itoa(e.MID)+" "+l)
			}
			// The body is what the client sent; the headers come first.
			m, err := b.q.Open(e.MID)
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// foldSPF folds a Received-SPF: field as RFC 5322 §2.2.3 allows, the way
// the checker does: before a key, where a line would pass 78 characters.
func foldSPF(s string) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.SplitAfter(s, "; ") {
		if i > 0 && line+len(strings.TrimRight(w, " ")) > 78 {
			out := strings.TrimRight(b.String(), " ")
			b.Reset()
			b.WriteString(out + "\r\n\t")
			line = 8
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String() + "\r\n"
}

// headerFields keeps the fields in order, unfolds continuations and skips
// what is not a field.
func TestHeaderFields(t *testing.T) {
	in := "Resent-From: a@x.test\r\nFrom: b@y.test,\r\n\tc@z.test\r\n not a field\r\nbad line\r\n: empty\r\nSender:c@z.test\r\n\r\nBody: no\r\n"
	got := headerFields([]byte(in))
	want := []spf.HeaderField{{Name: "Resent-From", Value: " a@x.test"}, {Name: "From", Value: " b@y.test,\tc@z.test not a field"}, {Name: "Sender", Value: "c@z.test"}}
	if len(got) != len(want) {
		t.Fatalf("%q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// FuzzHeaderFields: the header of an untrusted message never makes the
// splitter panic, and every field it returns has a valid name and no line
// feed in its value.
func FuzzHeaderFields(f *testing.F) {
	f.Add([]byte("From: a@b.test\r\n\r\n"))
	f.Add([]byte("Resent-Sender: x\r\n  folded\r\nResent-From:\r\nFrom: <a@b>\r\n"))
	f.Add([]byte(" leading continuation\r\nX:\ny\r\n\r"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, h := range headerFields(b) {
			if h.Name == "" || !fieldName([]byte(h.Name)) {
				t.Fatalf("bad name %q", h.Name)
			}
			if strings.Contains(h.Value, "\n") {
				t.Fatalf("line break in %q", h.Value)
			}
		}
	})
}

// BenchmarkSPFTransaction: one whole SMTP transaction over loopback (EHLO,
// MAIL, RCPT, DATA, queue commit) with SPF off and at SIDF strict (three
// identities, records from the loopback DNS server: the checker caches
// parsed records, not DNS answers), to show what verification adds.
func BenchmarkSPFTransaction(b *testing.B) {
	for _, level := range []string{"off", "sidf_strict"} {
		b.Run(level, func(b *testing.B) {
			addr := serveSPFZone(b)
			q, err := queue.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			checker := &spf.Checker{Resolver: spf.NewDNSResolver(spf.StubLookup(&dns.Client{Timeout: 5 * time.Second}, addr))}
			srv := New(Options{Queue: q, Log: newLog(), SPF: checker})
			defer srv.Shutdown(context.Background())
			l := publicListener("IncomingMail")
			if level != "off" {
				l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: "spf_verify", Value: "on"}, mailflow.Param{Key: "spf_conformance", Value: level})
			}
			l.HAT.Default[2].Value = "1000" // max_concurrency
			if err := srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l}}); err != nil {
				b.Fatal(err)
			}
			a := srv.Addrs()["IncomingMail"].String()
			msg := msgFrom("x@pass.test", "")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, err := net.Dial("tcp", a)
				if err != nil {
					b.Fatal(err)
				}
				br := bufio.NewReader(c)
				readReply(br)
				for _, cmd := range []string{"EHLO unknown.test", "MAIL FROM:<a@pass.test>", "RCPT TO:<b@example.com>", "DATA", strings.TrimSuffix(msg, "\r\n"), "QUIT"} {
					c.Write([]byte(cmd + "\r\n"))
					if got := readReply(br); !strings.HasPrefix(got, "2") && !strings.HasPrefix(got, "3") {
						b.Fatalf("%s: %s", cmd, got)
					}
				}
				c.Close()
			}
		})
	}
}

// readReply reads one whole reply (the benchmark's client).
func readReply(br *bufio.Reader) string {
	var out []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return strings.Join(append(out, "ERR "+err.Error()), "\n")
		}
		out = append(out, strings.TrimRight(l, "\r\n"))
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(out, "\n")
		}
	}
}
