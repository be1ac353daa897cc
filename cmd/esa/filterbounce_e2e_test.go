package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFilterBounceCounters: with the real daemon, a message filter's
// bounce() reaches the engine as a filter bounce: status detail and
// hoststatus count it under Filter Hard Bounces (ESA-CLI §10.4, §10.7),
// not Other, the Status: line carries it as FltrHrdBnc (§11.8), and the
// sender still gets the report.
func TestFilterBounceCounters(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	sinkPort := serveSink(t, sk)

	dir := t.TempDir()
	startServe(t, dir)
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n"+
		"smtproutes\nnew\nexample.com\n127.0.0.1:%d\nnew\nexample.org\n127.0.0.1:%d\n\n"+
		"filters\nnew\nbounce-marked:\nif (subject == \"^bounce me$\") {\nbounce();\n}\n.\n\n"+
		"logconfig\nsetup\n1\n\n\n\n\n"+
		"commit\nroutes, a bouncing filter, metrics every second\n\n", smtpPort, sinkPort, sinkPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	addr := "127.0.0.1:" + strconv.Itoa(smtpPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := submit(addr, "alice@example.org", "bob@example.com", "Subject: bounce me\r\nMessage-ID: <fb1@example.org>\r\n\r\nreturned\r\n")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("submitting: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	row := func(label string, v int) string {
		return fmt.Sprintf(`%s\s+%d\s+%d\s+%d\n`, regexp.QuoteMeta(label), v, v, v)
	}
	out := waitScreen(t, dir, "status detail\n", row("Filter Hard Bounces", 1))
	// Delivered Recipients is left out: the report to the sender counts
	// there once delivered.
	for _, re := range []string{row("Hard Bounced Recipients", 1), row("Other Hard Bounces", 0)} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status detail lacks %s:\n%s", re, out)
		}
	}
	out, _, _ = pipe(t, dir, "hoststatus example.com\n")
	for _, re := range []string{`Filter Hard Bounces\s+1\n`, `Other Hard Bounces\s+0\n`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("hoststatus lacks %s:\n%s", re, out)
		}
	}
	waitScreen(t, dir, "grep -e \"Status: \" mail_logs\n", `Info: Status: .* 5XXHrdBnc 0 FltrHrdBnc 1 ExpHrdBnc 0 OtrHrdBnc 0 `)
	logs, _, _ := pipe(t, dir, "grep -e \"Bounced:\" mail_logs\n")
	if !regexp.MustCompile(`Bounced: DCID 0 MID \d+ From: <alice@example\.org> To: <bob@example\.com> RID 0 - 5\.3\.0 - Bounced by filter`).MatchString(logs) {
		t.Errorf("mail_logs lacks the filter's bounce:\n%s", logs)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		sk.mu.Lock()
		var dsn string
		for _, m := range sk.msgs {
			if strings.Contains(m, "message/delivery-status") {
				dsn = m
			}
		}
		n, rcpts := len(sk.msgs), slices.Clone(sk.rcpt)
		sk.mu.Unlock()
		if dsn != "" {
			if !strings.Contains(dsn, "Final-Recipient: rfc822; bob@example.com") {
				t.Errorf("the report:\n%s", dsn)
			}
			if !slices.Equal(rcpts, []string{"alice@example.org"}) {
				t.Errorf("the host received mail for %v; want only the report to the sender", rcpts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bounce report reached the sender's host (%d messages there)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
