package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPauseAndRedirectSurviveRestart: with the real daemon, a workqueue
// PAUSE and a redirectrecipients redirect outlive SIGTERM and a new start.
// The restarted daemon logs both (mail_logs and, for the pause,
// system_logs), delivers nothing while paused and workqueue says who paused
// it and why; after RESUME the message goes to the redirect host, not to
// its route's (which would defer it). Clearing the redirect removes its
// record: the next start restores none.
func TestPauseAndRedirectSurviveRestart(t *testing.T) {
	t.Parallel()
	deferring, other := &deferSink{}, &sink{}
	deferPort, otherPort := serveSink(t, deferring), serveSink(t, other)
	dir := t.TempDir()
	s := startServe(t, dir)
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n"+
		"smtproutes\nnew\nexample.com\n127.0.0.1:%d\n\ncommit\nrelay and route\n\n", smtpPort, deferPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	if out, _, code := pipe(t, dir, "workqueue pause\ny\nmaintenance window\n"); code != 0 || !strings.Contains(out, "Paused by admin: maintenance window") {
		t.Fatalf("workqueue pause: exit %d\n%s", code, out)
	}
	addr := "127.0.0.1:" + strconv.Itoa(smtpPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := submit(addr, "alice@example.org", "bob@example.com", "Subject: kept\r\nMessage-ID: <kept@example.org>\r\n\r\nwaits for resume\r\n")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("submitting: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	target := "127.0.0.1:" + strconv.Itoa(otherPort)
	if out, _, code := pipe(t, dir, "redirectrecipients\n"+target+"\ny\n"); code != 0 || !strings.Contains(out, "1 recipients redirected.") {
		t.Fatalf("redirectrecipients: exit %d\n%s", code, out)
	}
	s.stop()

	s2 := startServe(t, dir)
	out, _, _ := pipe(t, dir, "workqueue status\n")
	if !regexp.MustCompile(`Status:\s+Paused by admin: maintenance window\nMessages:\s+1\n`).MatchString(out) {
		t.Fatalf("after a restart workqueue shows:\n%s", out)
	}
	logs, _, _ := pipe(t, dir, "grep -e \"Work queue|Redirect|Delivery start\" mail_logs\ngrep -e \"Work queue\" system_logs\n")
	paused := `Info: Work queue paused by admin \(maintenance window\) since \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}; delivery stays paused`
	for _, re := range []string{
		`(?s)mail_logs\n.*` + paused + `.*system_logs\n.*` + paused,
		`Info: Redirecting all messages in the queue \(MID 1 and below\) to ` + regexp.QuoteMeta(target) + ` since .*, restored at start-up: 1 recipient`,
	} {
		if !regexp.MustCompile(re).MatchString(logs) {
			t.Errorf("the logs lack %s:\n%s", re, logs)
		}
	}
	if strings.Contains(logs, "Info: Delivery start") || deferring.tries.Load() != 0 {
		t.Fatalf("a delivery was attempted while the queue was paused:\n%s", logs)
	}
	other.mu.Lock()
	n := len(other.msgs)
	other.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d messages delivered while the queue was paused", n)
	}

	// RESUME: the message goes to the redirect host, not its route.
	if out, _, code := pipe(t, dir, "workqueue resume\n"); code != 0 || !strings.Contains(out, "Status:         Operational") {
		t.Fatalf("workqueue resume: exit %d\n%s", code, out)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		other.mu.Lock()
		n = len(other.msgs)
		other.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			logs, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("the redirect host never got the message; mail_logs:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	other.mu.Lock()
	msg := other.msgs[0]
	other.mu.Unlock()
	if !strings.Contains(msg, "Message-ID: <kept@example.org>") || deferring.tries.Load() != 0 {
		t.Errorf("the route's host was tried %d times; the redirect host got:\n%s", deferring.tries.Load(), msg)
	}

	// The redirect is shown and cleared; a later start restores nothing.
	out, _, code := pipe(t, dir, "redirectrecipients\nclear\n")
	if code != 0 || !strings.Contains(out, "The mail queued before the last redirect goes to "+target+".") ||
		!strings.Contains(out, "The redirect to "+target+" is cleared") {
		t.Fatalf("redirectrecipients clear: exit %d\n%s", code, out)
	}
	s2.stop()

	startServe(t, dir)
	out, _, _ = pipe(t, dir, "workqueue status\nredirectrecipients\n")
	if !strings.Contains(out, "Status:         Operational") || strings.Contains(out, "The mail queued before the last redirect") {
		t.Errorf("after RESUME, CLEAR and a restart:\n%s", out)
	}
	logs, _, _ = pipe(t, dir, "grep -e \"restored at start-up|delivery stays paused\" mail_logs\n")
	if n := len(regexp.MustCompile(`(?m)^.* Info: .*restored at start-up`).FindAllString(logs, -1)); n != 1 ||
		len(regexp.MustCompile(`(?m)^.* Info: .*delivery stays paused`).FindAllString(logs, -1)) != 1 {
		t.Errorf("the third start restored a pause or redirect:\n%s", logs)
	}
}

// TestDamagedRecordsAtStart: garbled pause and redirect records never stop
// the daemon: it starts, delivery stays paused (by nobody known) with a
// warning in system_logs and mail_logs, and the redirect is dropped with a
// warning in mail_logs.
func TestDamagedRecordsAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"paused.rec": "1234abcd {\"by\":\"adm", "redirect.rec": "\x00\x00\x00"} {
		if err := os.WriteFile(filepath.Join(qdir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	startServe(t, dir)
	out, _, _ := pipe(t, dir, "workqueue status\nredirectrecipients\n")
	if !regexp.MustCompile(`Status:\s+Paused\n`).MatchString(out) || strings.Contains(out, "The mail queued before the last redirect") {
		t.Errorf("after a start over damaged records:\n%s", out)
	}
	logs, _, _ := pipe(t, dir, "grep -e \"Warning: (Work queue|Redirect)\" mail_logs\ngrep -e \"Warning: Work queue\" system_logs\n")
	paused := `Warning: Work queue pause record damaged \(damaged record: .*\); delivery stays paused until workqueue RESUME`
	for _, re := range []string{`(?s)mail_logs\n.*` + paused + `.*system_logs\n.*` + paused,
		`Warning: Redirect record dropped \(damaged record: .*\): the mail in the queue follows its own routes`} {
		if !regexp.MustCompile(re).MatchString(logs) {
			t.Errorf("the logs lack %s:\n%s", re, logs)
		}
	}
}
