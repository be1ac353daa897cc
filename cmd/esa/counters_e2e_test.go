package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCountersSurviveRestart: with the real daemon, status's Lifetime
// column keeps what an earlier run counted (flushed when SIGTERM stopped
// it) while Uptime starts again at zero; resetcounters zeroes the Reset
// column only; and with logconfig's system metrics frequency at one second
// the Status: line (ESA-CLI §11.8) reaches mail_logs with the lifetime
// counts.
func TestCountersSurviveRestart(t *testing.T) {
	t.Parallel()
	ds := &deferSink{}
	ds.accept.Store(true)
	sinkPort := serveSink(t, ds)

	dir := t.TempDir()
	s := startServe(t, dir)
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n"+
		"smtproutes\nnew\nexample.com\n127.0.0.1:%d\n\ncommit\nrelay and route\n\n", smtpPort, sinkPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	addr := "127.0.0.1:" + strconv.Itoa(smtpPort)
	send := func(subject string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := submit(addr, "alice@example.org", "bob@example.com", "Subject: "+subject+"\r\n\r\ncounted\r\n")
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("submitting: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	row := func(label string, reset, uptime, lifetime int) string {
		return fmt.Sprintf(`%s\s+%d\s+%d\s+%d\n`, regexp.QuoteMeta(label), reset, uptime, lifetime)
	}
	send("one")
	send("two")
	waitScreen(t, dir, "status\n", row("Messages Received", 2, 2, 2)+`(?s).*`+row("Completed Recipients", 2, 2, 2))

	// A restart: the SIGTERM flush kept the counts.
	s.stop()
	startServe(t, dir)
	out, _, _ := pipe(t, dir, "status\n")
	for _, re := range []string{row("Messages Received", 2, 0, 2), row("Recipients Received", 2, 0, 2),
		row("Delivered Recipients", 0, 0, 0) + "|" + row("Completed Recipients", 2, 0, 2), `Last counter reset:\s+Never\n`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status after a restart lacks %s:\n%s", re, out)
		}
	}

	// resetcounters: Reset starts again, Uptime and Lifetime go on.
	out, _, code := pipe(t, dir, "resetcounters\n")
	if code != 0 || !regexp.MustCompile(`^esa\.example\.com> resetcounters\nCounters reset: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \w+\n`).MatchString(out) {
		t.Fatalf("resetcounters: exit %d\n%s", code, out)
	}
	send("three")
	out = waitScreen(t, dir, "status\n", row("Messages Received", 1, 1, 3))
	if regexp.MustCompile(`Last counter reset:\s+Never`).MatchString(out) {
		t.Errorf("status after resetcounters still says Never:\n%s", out)
	}

	// The Status: line, every second once logconfig says so.
	if out, errs, code := pipe(t, dir, "logconfig\nsetup\n1\n\n\n\n\ncommit\nmetrics every second\n\n"); code != 0 {
		t.Fatalf("logconfig setup: exit %d\n%s\n%s", code, out, errs)
	}
	out = waitScreen(t, dir, "grep -e \"Status: \" mail_logs\n", `Info: Status: QKUsd \d+ CrtMID \d+ CrtICID \d+ CrtDCID \d+ InjMsg 3 InjRcp 3 GenBncRcp 0 RejRcp 0 DrpMsg 0 `)
	if strings.Contains(out, "CPULd") || strings.Contains(out, "QKFre") {
		t.Errorf("the Status: line shows what is not measured:\n%s", out)
	}
}
