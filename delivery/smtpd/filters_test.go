package smtpd

import (
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/filter"
	"esa/auth/spf"
	"esa/delivery/queue"
	"esa/store/mailflow"

	"github.com/miekg/dns"
)

// seedFilters are the seed's three example message filters (seed 004,
// "CLI での spf-status フィルタ ルールの使用") and filters for the other
// actions the listener applies.
var seedFilters = strings.TrimSuffix(seedFile("seed_examples.txt"), ".\n") + `drop-it: if (subject == "^DROP") { drop(); }
bounce-it: if (subject == "^BOUNCE") { bounce(); }
executives: if (forged-email-detection("Execs", 85)) { fed("from", ""); log-entry("forged executive"); }
.
`

type bounced struct {
	mu   sync.Mutex
	mids []uint64
}

func (b *bounced) add(mid uint64, _ string) { b.mu.Lock(); b.mids = append(b.mids, mid); b.mu.Unlock() }
func (b *bounced) has(mid uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.mids {
		if m == mid {
			return true
		}
	}
	return false
}

// seedFile reads one of the seed's filter texts from testdata/filters.
func seedFile(name string) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "filters", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestFiltersInbound runs the seed's example filters and the other actions
// on mail received over SMTP with SPF/SIDF on: each message is
// quarantined, stamped, dropped, bounced or has its forged From: replaced
// exactly as the filter says, before the 250, and the message sent on is
// the edited one.
func TestFiltersInbound(t *testing.T) {
	t.Parallel()
	addr := serveSPFZone(t)
	q, err := queue.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := filter.Parse(seedFilters)
	if err != nil {
		t.Fatal(err)
	}
	env := filter.Env{Dictionary: func(name string) (filter.Dictionary, bool) {
		return filter.Dictionary{Terms: []string{"Olivia Smith"}, IgnoreCase: true}, name == "Execs"
	}}
	var forged sync.Map
	bl := &bounced{}
	b := &bed{t: t, q: q, log: newLog(), cmdTimeout: 5 * time.Second, dataTimeout: 5 * time.Second}
	checker := &spf.Checker{Resolver: spf.NewDNSResolver(spf.StubLookup(&dns.Client{Timeout: 30 * time.Second}, addr)), Receiver: "esa.example.com"}
	b.srv = New(Options{Queue: q, Log: b.log, SPF: checker,
		Filters: func() ([]*filter.Filter, filter.Env) { return fs, env },
		Forged: func(ms []filter.Match) {
			for _, m := range ms {
				forged.Store(m.Term, true)
			}
		},
		Bounce: bl.add,
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.srv.Shutdown(ctx)
	})
	l := publicListener("IncomingMail")
	l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: "spf_verify", Value: "on"}, mailflow.Param{Key: "spf_conformance", Value: "sidf_compatible"})
	b.apply(l)

	cases := []struct {
		name, mailFrom, from, subject string
		quarantine                    string
		dropped, bounce               bool
		sentHas, sentLacks            []string
		log                           string
	}{
		{name: "pra and mailfrom Fail: quarantined", mailFrom: "a@fail.test", from: "x@sidf.test", subject: "q1", quarantine: "Policy",
			log: "matched message filter 'quarantine-spf-failed-mail'"},
		{name: "pra Fail, mailfrom SoftFail: quarantined", mailFrom: "a@softfail.test", from: "x@sidf.test", subject: "q2", quarantine: "Policy"},
		{name: "pra Fail, mailfrom Pass: delivered", mailFrom: "a@pass.test", from: "x@sidf.test", subject: "q3"},
		{name: "mailfrom TempError: subject stamped", mailFrom: "a@x.servfail", from: "x@pass.test", subject: "s1",
			sentHas: []string{"Subject: [POTENTIAL PHISHING] s1\r\n"}, sentLacks: []string{"Subject: s1\r\n"}},
		{name: "drop", mailFrom: "a@pass.test", from: "x@pass.test", subject: "DROP me", dropped: true, log: "dropped by message filter"},
		{name: "bounce", mailFrom: "a@pass.test", from: "x@pass.test", subject: "BOUNCE me", bounce: true},
		{name: "forged executive: From: replaced by the envelope sender", mailFrom: "a@pass.test", from: `"Olivia Smith" <ceo@evil.test>`, subject: "f1",
			sentHas: []string{"From: a@pass.test\r\n"}, sentLacks: []string{"Olivia Smith"}, log: "Custom Log Entry: forged executive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := "From: " + c.from + "\r\nTo: b@example.com\r\nSubject: " + c.subject + "\r\nMessage-ID: <" + strings.ReplaceAll(c.subject, " ", "") + "@t>\r\n\r\nHello.\r\n"
			r := dialRaw(t, b.addr("IncomingMail"))
			r.reply()
			r.cmd("EHLO mx.pass.test")
			r.cmd("MAIL FROM:<" + c.mailFrom + ">")
			r.cmd("RCPT TO:<b@example.com>")
			r.cmd("DATA")
			if got := r.cmd(msg + "."); !strings.HasPrefix(got, "250") {
				t.Fatalf("after DATA: %q", got)
			}
			r.cmd("QUIT")
			if c.log != "" {
				b.log.waitFor(t, c.log)
			}
			var e *queue.Entry
			for _, m := range q.List() {
				if m.Envelope.Subject == c.subject {
					e = &m
				}
			}
			if c.dropped {
				if e != nil {
					t.Fatal("a dropped message was queued")
				}
				// status's Dropped Messages counts it (the only drop case).
				if n := b.srv.Stats().Dropped; n != 1 {
					t.Fatalf("Stats().Dropped = %d, want 1", n)
				}
				return
			}
			if e == nil {
				t.Fatal("message not queued")
			}
			if e.Envelope.Quarantine != c.quarantine || e.Held() != (c.quarantine != "") {
				t.Fatalf("quarantine %q (held %v), want %q", e.Envelope.Quarantine, e.Held(), c.quarantine)
			}
			if bl.has(e.Envelope.MID) != c.bounce {
				t.Fatalf("bounced %v, want %v", bl.has(e.Envelope.MID), c.bounce)
			}
			m, err := q.Open(e.Envelope.MID)
			if err != nil {
				t.Fatal(err)
			}
			sent, _ := io.ReadAll(m)
			m.Close()
			for _, s := range c.sentHas {
				if !strings.Contains(string(sent), s) {
					t.Errorf("sent message lacks %q:\n%s", s, sent)
				}
			}
			for _, s := range c.sentLacks {
				if strings.Contains(string(sent), s) {
					t.Errorf("sent message still has %q:\n%s", s, sent)
				}
			}
		})
	}
	if _, ok := forged.Load("Olivia Smith"); !ok {
		t.Error("the forged email match was not counted")
	}
}

// TestTrace runs messages through the listener's policy, SPF and the seed's
// filters without a connection: the report has the HAT decision, every
// verdict's log line, the replies and the message as it would be sent; the
// queue stays empty.
func TestTrace(t *testing.T) {
	t.Parallel()
	addr := serveSPFZone(t)
	q, err := queue.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := filter.Parse(seedFilters)
	if err != nil {
		t.Fatal(err)
	}
	bl := &bounced{}
	checker := &spf.Checker{Resolver: spf.NewDNSResolver(spf.StubLookup(&dns.Client{Timeout: 30 * time.Second}, addr)), Receiver: "esa.example.com"}
	srv := New(Options{Queue: q, Log: newLog(), SPF: checker, Bounce: bl.add,
		Filters: func() ([]*filter.Filter, filter.Env) { return fs, filter.Env{} }})
	l := publicListener("IncomingMail")
	l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: "spf_verify", Value: "on"}, mailflow.Param{Key: "spf_conformance", Value: "sidf_compatible"})
	in := func(mailFrom, from, subject string, rcpts ...string) TraceInput {
		return TraceInput{Listener: l, Hostname: "esa.example.com", IP: netip.MustParseAddr("127.0.0.1"), HELO: "mx.pass.test",
			From: mailFrom, Rcpts: rcpts,
			Message: []byte("From: " + from + "\r\nTo: b@example.com\r\nSubject: " + subject + "\r\n\r\nHello.\r\n")}
	}
	has := func(t *testing.T, list []string, want string) {
		t.Helper()
		for _, s := range list {
			if strings.Contains(s, want) {
				return
			}
		}
		t.Errorf("no %q in:\n%s", want, strings.Join(list, "\n"))
	}

	r := srv.Trace(in("a@fail.test", "x@sidf.test", "q1", "b@example.com", "c@elsewhere.test"))
	if r.Decision.Action != mailflow.ActAccept || !r.Accepted || !r.Queued || r.Envelope.Quarantine != "Policy" {
		t.Fatalf("quarantine trace: %+v", r)
	}
	has(t, r.Lines, "SPF: mailfrom identity a@fail.test Fail")
	has(t, r.Lines, "SPF: pra identity x@sidf.test Fail")
	has(t, r.Lines, "matched message filter 'quarantine-spf-failed-mail'")
	has(t, r.Replies, "RCPT TO:<c@elsewhere.test>: 550")
	if len(r.Envelope.Recipients) != 1 {
		t.Errorf("recipients %v", r.Envelope.Recipients)
	}

	r = srv.Trace(in("a@x.servfail", "x@pass.test", "s1", "b@example.com"))
	if !r.Queued || !strings.Contains(string(r.Result), "Subject: [POTENTIAL PHISHING] s1\r\n") || strings.Contains(string(r.Result), "Subject: s1\r\n") {
		t.Fatalf("stamped trace result:\n%s", r.Result)
	}

	r = srv.Trace(in("a@pass.test", "x@pass.test", "BOUNCE", "b@example.com"))
	has(t, r.Lines, "bounced by message filter")
	r = srv.Trace(in("a@pass.test", "x@pass.test", "DROP", "b@example.com"))
	if !r.Accepted || r.Queued {
		t.Fatalf("drop: accepted %v queued %v", r.Accepted, r.Queued)
	}
	bl.mu.Lock()
	n := len(bl.mids)
	bl.mu.Unlock()
	if n != 0 || len(q.List()) != 0 {
		t.Fatalf("a trace bounced (%d) or queued (%d) something", n, len(q.List()))
	}
	if r := srv.Trace(in("a@pass.test", "x@pass.test", "x", "nobody@elsewhere.test")); r.Queued || len(r.Replies) != 3 {
		t.Fatalf("no recipient accepted, yet: %+v", r)
	}
}
