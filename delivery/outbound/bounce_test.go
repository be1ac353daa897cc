package outbound

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"esa/dnssec/dnstest"
)

// rawBed is a bed with one clear-text raw server (domain raw.ins.test)
// whose RCPT replies the test chooses: reject* gets 550, later* gets 451.
func rawBed(t *testing.T) (*bed, *rawServer) {
	b := newBed(t, []row{{name: "raw", kind: kindRefuse}}, nil)
	r := b.raw["raw.ins.test"]
	r.rcpt = func(addr string) string {
		switch {
		case strings.HasPrefix(addr, "reject"):
			return "550 5.1.1 <" + addr + ">: Recipient address rejected: User unknown"
		case strings.HasPrefix(addr, "later"):
			return "451 4.3.0 <" + addr + ">: try again later"
		}
		return ""
	}
	return b, r
}

// dsnParts checks that m is an RFC 3464 report from <> and returns its
// delivery-status part.
func dsnParts(t *testing.T, m dnstest.Message) (hdr mail.Header, status string) {
	t.Helper()
	if m.From != "" {
		t.Fatalf("DSN from <%s>, want <>", m.From)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct := p.Header.Get("Content-Type")
		types = append(types, strings.Split(ct, ";")[0])
		if strings.HasPrefix(ct, "message/delivery-status") {
			b, _ := io.ReadAll(p)
			status = string(b)
		}
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Fatalf("parts %v", types)
	}
	return msg.Header, status
}

// TestBounce5xx: recipients refused with 5xx are bounced with one RFC 3464
// report to the sender; the accepted one is delivered.
func TestBounce5xx(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy { return Policy{TLS: TLSNo} }})
	mid := hs.submit("alice@raw.ins.test", true, "Subject: hello\r\nMessage-ID: <m1@x>\r\n\r\nbody\r\n",
		"ok@raw.ins.test", "reject1@raw.ins.test", "reject2@raw.ins.test")
	evs := map[Outcome][]int{}
	for len(evs[Delivered])+len(evs[Bounced]) < 3 {
		ev := hs.waitFor(mid)
		evs[ev.Outcome] = append(evs[ev.Outcome], ev.RIDs...)
	}
	if len(evs[Delivered]) != 1 || evs[Delivered][0] != 0 || len(evs[Bounced]) != 2 {
		t.Fatalf("outcomes %v", evs)
	}
	// One report for both bounced recipients: one generated bounce
	// recipient (status's Gen. Bounce Recipients).
	if st, _ := hs.e.HostStatus("raw.ins.test"); st.GenBounced != 1 {
		t.Errorf("GenBounced = %d, want 1", st.GenBounced)
	}
	// The DSN is a new message from <> delivered back to alice.
	dsnMID := hs.next(func(ev Event) bool { return ev.MID != mid && ev.Outcome == Delivered }).MID
	var dsns []dnstest.Message
	for _, m := range srv.messages() {
		if m.From == "" {
			dsns = append(dsns, m)
		}
	}
	if len(dsns) != 1 || dsnMID == 0 {
		t.Fatalf("%d DSNs (MID %d), want one", len(dsns), dsnMID)
	}
	if dsns[0].To[0] != "alice@raw.ins.test" {
		t.Fatalf("DSN to %v", dsns[0].To)
	}
	hdr, st := dsnParts(t, dsns[0])
	if hdr.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("Auto-Submitted %q", hdr.Get("Auto-Submitted"))
	}
	for _, w := range []string{"Reporting-MTA: dns; esa.test", "Final-Recipient: rfc822; reject1@raw.ins.test",
		"Final-Recipient: rfc822; reject2@raw.ins.test", "Action: failed", "Status: 5.1.1",
		"Diagnostic-Code: smtp; 550 5.1.1 <reject1@raw.ins.test>: Recipient address rejected: User unknown"} {
		if !strings.Contains(st, w) {
			t.Errorf("delivery-status lacks %q:\n%s", w, st)
		}
	}
	if strings.Contains(st, "ok@raw.ins.test") {
		t.Errorf("the delivered recipient is in the report")
	}
	if !bytes.Contains(dsns[0].Data, []byte("Message-ID: <m1@x>")) {
		t.Errorf("the original header is not returned")
	}
	// ESA-CLI §11.4 Bounced line and §11.3 delivery lines (after Run has
	// ended, so the connection's close is logged).
	hs.stop()
	log := hs.log.String()
	for _, re := range []string{
		`Info: Bounced: DCID \d+ MID ` + itoa(mid) + ` From: <alice@raw.ins.test> To: <reject1@raw.ins.test> RID 1 - 5\.1\.0 - Unknown address error \('550', \['5\.1\.1 <reject1@raw\.ins\.test>: Recipient address rejected: User unknown'\]\)`,
		`Info: New SMTP DCID \d+ interface 127\.0\.0\.1 address 127\.0\.14\.10 port \d+`,
		`Info: Delivery start DCID \d+ MID ` + itoa(mid) + ` to RID \[0, 1, 2\]`,
		`Info: Message done DCID \d+ MID ` + itoa(mid) + ` to RID \[0\]`,
		`Info: MID ` + itoa(mid) + ` RID \[0\] Response '2\.0\.0 Ok: queued'`,
		`Info: Message finished MID ` + itoa(mid) + ` done`,
		`Info: Start MID \d+ ICID 0`,
		`Info: DCID \d+ close`,
	} {
		if !regexp.MustCompile(`(?m)^` + re + `$`).MatchString(log) {
			t.Errorf("no line %s in\n%s", re, log)
		}
	}
	if _, ok := hs.q.Get(mid); ok {
		t.Errorf("MID %d still queued", mid)
	}
}

// clock is a settable test clock.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

// TestTempFailureExpires: a 4xx is retried with back-off until the
// profile's maximum time in queue, then bounced (5.4.7) with a report.
func TestTempFailureExpires(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	var clk clock
	pol := Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Minute, MaxRetry: time.Hour, MaxQueueTime: 2 * time.Hour, HardBounce: true}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Now: clk.now,
		Policy: func(string) Policy { return pol }})
	mid := hs.submit("alice@raw.ins.test", true, "Subject: x\r\n\r\nbody\r\n", "later@raw.ins.test")
	if ev := hs.waitFor(mid); ev.Outcome != Deferred {
		t.Fatalf("first attempt %v", ev.Outcome)
	}
	e, _ := hs.q.Get(mid)
	if e.State.Attempts != 1 || e.State.Next.Sub(clk.now()) > time.Minute || e.State.Next.Before(clk.now()) {
		t.Fatalf("after one failure: %+v", e.State)
	}
	clk.advance(90 * time.Second)
	hs.e.kick()
	if ev := hs.waitFor(mid); ev.Outcome != Deferred {
		t.Fatalf("second attempt %v", ev.Outcome)
	}
	e, _ = hs.q.Get(mid)
	if d := e.State.Next.Sub(clk.now()); e.State.Attempts != 2 || d <= time.Minute || d > 2*time.Minute {
		t.Fatalf("the back-off did not double: %+v (next in %v)", e.State, d)
	}
	clk.advance(3 * time.Hour)
	hs.e.DeliverNow("raw.ins.test")
	ev := hs.waitFor(mid)
	if ev.Outcome != Bounced || !strings.Contains(ev.Reason, "5.4.7") {
		t.Fatalf("after the maximum time: %v %s", ev.Outcome, ev.Reason)
	}
	hs.next(func(ev Event) bool { return ev.MID != mid && ev.Outcome == Delivered })
	var dsn *dnstest.Message
	for _, m := range srv.messages() {
		if m.From == "" {
			dsn = &m
		}
	}
	if dsn == nil {
		t.Fatal("no bounce delivered")
	}
	if _, st := dsnParts(t, *dsn); !strings.Contains(st, "Status: 5.4.7") || !strings.Contains(st, "Action: failed") {
		t.Errorf("report:\n%s", st)
	}
	if !regexp.MustCompile(`Bounced: DCID \d+ MID \d+ From: <alice@raw.ins.test> To: <later@raw.ins.test> RID 0 - 5\.4\.7 - Delivery expired \(message too old\) \('451', \['4\.3\.0 <later@raw\.ins\.test>: try again later'\]\)`).MatchString(hs.log.String()) {
		t.Errorf("no expiry line in\n%s", hs.log.String())
	}
}

// TestDelayNotice: with delay warnings on, the first temporary failure
// sends one delay notice (Action: delayed), not one per attempt.
func TestDelayNotice(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	pol := Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: 72 * time.Hour,
		HardBounce: true, DelayWarning: true}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Policy: func(string) Policy { return pol }})
	mid := hs.submit("alice@raw.ins.test", true, "Subject: x\r\n\r\nbody\r\n", "later@raw.ins.test")
	var notices int
	for attempt := 0; attempt < 2; attempt++ {
		if ev := hs.waitFor(mid); ev.Outcome != Deferred {
			t.Fatalf("attempt %d: %v", attempt, ev.Outcome)
		}
		if attempt == 0 {
			// The notice's own delivery.
			hs.next(func(ev Event) bool { return ev.MID != mid && ev.Outcome == Delivered })
			notices++
		}
		hs.e.DeliverNow("all")
	}
	var dsns []dnstest.Message
	for _, m := range srv.messages() {
		if m.From == "" {
			dsns = append(dsns, m)
		}
	}
	if len(dsns) != 1 || notices != 1 {
		t.Fatalf("%d delay notices", len(dsns))
	}
	hdr, st := dsnParts(t, dsns[0])
	if !strings.Contains(hdr.Get("Subject"), "Delay") || !strings.Contains(st, "Action: delayed") ||
		!strings.Contains(st, "Will-Retry-Until: ") || !strings.Contains(st, "Status: 4.3.0") {
		t.Errorf("notice %q:\n%s", hdr.Get("Subject"), st)
	}
	if !regexp.MustCompile(`Delayed: DCID \d+ MID \d+ From: <alice@raw.ins.test> To: <later@raw.ins.test> RID 0 - 4\.3\.0 - Temporary error \('451', \['4\.3\.0 <later@raw\.ins\.test>: try again later'\]\)`).MatchString(hs.log.String()) {
		t.Errorf("no Delayed line in\n%s", hs.log.String())
	}
}

func itoa(n uint64) string { return strings.TrimSpace(strings.Repeat(" ", 0) + formatUint(n)) }

func formatUint(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
