package main

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// deferSink is a loopback SMTP server that answers RCPT with 451 until
// accept is set, then keeps what it receives like sink.
type deferSink struct {
	sink
	accept atomic.Bool
	tries  atomic.Int32
}

func (d *deferSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &deferSession{sinkSession{s: &d.sink}, d}, nil
}

type deferSession struct {
	sinkSession
	d *deferSink
}

func (x *deferSession) Rcpt(to string, o *smtp.RcptOptions) error {
	x.d.tries.Add(1)
	if !x.d.accept.Load() {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return x.sinkSession.Rcpt(to, o)
}

// submit sends one message in clear (the relay listener offers no
// STARTTLS, which smtp.SendMail would insist on).
func submit(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// waitScreen runs script in a shell attached to the daemon until its
// screen matches re (the daemon's state changes with delivery attempts
// the test does not see directly), and returns that screen.
func waitScreen(t *testing.T, dir, script, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ := pipe(t, dir, script)
		if rx.MatchString(out) {
			return out
		}
		if time.Now().After(deadline) {
			logs, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("%q never showed %s; last screen:\n%s\nmail_logs:\n%s", script, re, out, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDeliveryCommandsEndToEnd: with the real daemon, a message relayed to
// a host that defers it shows in hoststatus (host down, one soft bounced
// event, one attempted active recipient) and in tophosts (marked down);
// once the host accepts, delivernow sends it at once instead of after the
// Default profile's 60-second back-off, and hoststatus counts it
// delivered. workqueue and status show the engine's counters.
func TestDeliveryCommandsEndToEnd(t *testing.T) {
	t.Parallel()
	ds := &deferSink{}
	sinkPort := serveSink(t, ds)

	dir := t.TempDir()
	startServe(t, dir)
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n"+
		"smtproutes\nnew\nexample.com\n127.0.0.1:%d\n\ncommit\nrelay and route\n\n", smtpPort, sinkPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	addr := "127.0.0.1:" + strconv.Itoa(smtpPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := submit(addr, "alice@example.org", "bob@example.com", "Subject: deferred\r\n\r\nwaits for delivernow\r\n")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("submitting: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The first attempt is deferred: the host is down with one soft
	// bounced event and the recipient waits for its retry.
	out := waitScreen(t, dir, "hoststatus example.com\n", `Soft Bounced Events\s+1\n`)
	for _, re := range []string{
		`Host mail status for: 'example\.com'`, `Host up/down:\s+down`,
		`Active Recipients\s+1\n`, `Attempted Recipients\s+1\n`, `Unattempted Recipients\s+0\n`,
		`Delivered Recipients\s+0\n`, `Last error:\s+.*try again later`,
		`SMTP routes for this host:\n  127\.0\.0\.1:` + strconv.Itoa(sinkPort) + `\n`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("hoststatus lacks %s:\n%s", re, out)
		}
	}
	out, _, _ = pipe(t, dir, "tophosts\n5\n")
	if !regexp.MustCompile(`(?m)^  1  \*example\.com\s+1\s+0\s+0\s+1\s+0$`).MatchString(out) {
		t.Errorf("tophosts by soft bounces does not rank example.com first, down:\n%s", out)
	}
	ds.mu.Lock()
	n := len(ds.msgs)
	ds.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d messages delivered while the host deferred", n)
	}

	// The host accepts now; without delivernow the retry would wait for
	// the profile's 60-second back-off.
	ds.accept.Store(true)
	out, _, _ = pipe(t, dir, "delivernow\n1\nexample.com\n")
	if !strings.Contains(out, "Rescheduling all messages to example.com for immediate delivery.\n1 recipient rescheduled.") {
		t.Fatalf("delivernow:\n%s", out)
	}
	out = waitScreen(t, dir, "hoststatus example.com\n", `Delivered Recipients\s+1\n`)
	for _, re := range []string{`Host up/down:\s+up`, `Active Recipients\s+0\n`, `Completed Recipients\s+1\n`, `Last TLS status:\s+clear`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("after delivernow, hoststatus lacks %s:\n%s", re, out)
		}
	}
	ds.mu.Lock()
	msgs, rcpt := append([]string(nil), ds.msgs...), append([]string(nil), ds.rcpt...)
	ds.mu.Unlock()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "waits for delivernow") || strings.Join(rcpt, ",") != "bob@example.com" {
		t.Fatalf("the host received %d messages for %v", len(msgs), rcpt)
	}
	out, _, _ = pipe(t, dir, "workqueue status\nstatus\n")
	for _, re := range []string{`Delivered:\s+1\n`, `Soft Bounced:\s+1\n`, `Soft Bounced Events\s+1\s+1\s+1\n`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("workqueue/status lack %s:\n%s", re, out)
		}
	}
}

// TestBounceAndRedirectEndToEnd: with the real daemon, bouncerecipients
// ends a deferred recipient with an RFC 3464 report that reaches the
// sender, and redirectrecipients sends the mail its route defers to
// another host at once.
func TestBounceAndRedirectEndToEnd(t *testing.T) {
	t.Parallel()
	serve := func(b smtp.Backend) int {
		srv := smtp.NewServer(b)
		srv.Domain = "sink.example"
		srv.AllowInsecureAuth = true
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().(*net.TCPAddr).Port
	}
	deferring := &deferSink{}
	other := &sink{}
	deferPort, otherPort := serve(deferring), serve(other)

	dir := t.TempDir()
	startServe(t, dir)
	smtpPort := freePort(t)
	// example.com's route defers; the senders' domain example.org is
	// routed to the other host, where the bounce report arrives.
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n"+
		"smtproutes\nnew\nexample.com\n127.0.0.1:%d\nnew\nexample.org\n127.0.0.1:%d\n\ncommit\nroutes\n\n", smtpPort, deferPort, otherPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	addr := "127.0.0.1:" + strconv.Itoa(smtpPort)
	send := func(to, body string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := submit(addr, "alice@example.org", to, "Subject: held\r\nMessage-ID: <"+body+"@example.org>\r\n\r\n"+body+"\r\n")
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("submitting: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	received := func(pred func(msg string) bool) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			other.mu.Lock()
			for _, m := range other.msgs {
				if pred(m) {
					other.mu.Unlock()
					return m
				}
			}
			other.mu.Unlock()
			if time.Now().After(deadline) {
				logs, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
				t.Fatalf("the other host never received the message; mail_logs:\n%s", logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	send("bob@example.com", "first")
	waitScreen(t, dir, "hoststatus example.com\n", `Soft Bounced Events\s+1\n`)
	out, _, _ := pipe(t, dir, "bouncerecipients\n1\nexample.com\ny\n")
	if !strings.Contains(out, "1 recipients bounced.") {
		t.Fatalf("bouncerecipients:\n%s", out)
	}
	dsn := received(func(m string) bool { return strings.Contains(m, "message/delivery-status") })
	for _, w := range []string{"Final-Recipient: rfc822; bob@example.com", "Action: failed", "Status: 5.3.0", "Message-ID: <first@example.org>"} {
		if !strings.Contains(dsn, w) {
			t.Errorf("the report lacks %q:\n%s", w, dsn)
		}
	}
	out = waitScreen(t, dir, "hoststatus example.com\n", `Other Hard Bounces\s+1\n`)
	if !regexp.MustCompile(`Active Recipients\s+0\n`).MatchString(out) {
		t.Errorf("the bounced recipient is still active:\n%s", out)
	}

	send("carol@example.com", "second")
	waitScreen(t, dir, "hoststatus example.com\n", `Soft Bounced Events\s+2\n`)
	out, _, _ = pipe(t, dir, fmt.Sprintf("redirectrecipients\n127.0.0.1:%d\ny\n", otherPort))
	if !strings.Contains(out, "1 recipients redirected.") {
		t.Fatalf("redirectrecipients:\n%s", out)
	}
	msg := received(func(m string) bool { return strings.Contains(m, "second") })
	if !strings.Contains(msg, "Message-ID: <second@example.org>") {
		t.Errorf("redirected message:\n%s", msg)
	}
	deferring.mu.Lock()
	n := len(deferring.msgs)
	deferring.mu.Unlock()
	if n != 0 {
		t.Errorf("the deferring host received %d messages", n)
	}
	logs, _, _ := pipe(t, dir, "grep -e \"Bounced:|Redirect\" mail_logs\n")
	for _, re := range []string{`Bounced: DCID 0 MID \d+ From: <alice@example\.org> To: <bob@example\.com> RID 0 - 5\.3\.0 - Bounced by administrator`,
		`Redirecting all messages in the queue \(MID \d+ and below\) to 127\.0\.0\.1:\d+`} {
		if !regexp.MustCompile(re).MatchString(logs) {
			t.Errorf("mail_logs lacks %s:\n%s", re, logs)
		}
	}
}
