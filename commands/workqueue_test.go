package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/delivery/smtpd"
)

// The queue commands' transcripts: they run without a daemon, over a real
// queue in a temporary directory holding the messages of withQueue, and a
// fixed Listeners function standing in for the daemon's SMTP server.
func init() {
	for name, tc := range map[string]transcript{
		"workqueue":                 {setup: withQueue, check: pausedIs(false)},
		"workqueue_args":            {setup: withQueue, check: pausedIs(true)},
		"workqueue_offline":         {},
		"showmessage":               {setup: withQueue},
		"showrecipients":            {setup: withQueue, check: queueHolds(3, 6)},
		"deleterecipients":          {setup: withQueue, check: queueHolds(2, 3)},
		"deleterecipients_all":      {setup: withQueue, check: queueHolds(0, 0)},
		"deleterecipients_declined": {setup: withQueue, check: queueHolds(3, 6)},
		"status_offline":            {},
	} {
		transcripts[name] = tc
	}
	// status and status detail show the daemon's numbers and servers.
	transcripts["status"] = transcript{setup: withDaemon}
	transcripts["status_detail"] = transcript{setup: withDaemon}
}

// withDaemon is withEngine plus the SSH server the daemon runs.
func withDaemon(t *testing.T, env *Env) {
	withEngine(t, env)
	env.SSHServer = func() SSHSettings { return SSHSettings{Addr: "127.0.0.1:2222", Password: true, PublicKey: true} }
}

// fixedStats is what the fake daemon's listeners report.
var fixedStats = smtpd.Stats{
	ConnectionsIn: 7, CurrentConnections: 2, Messages: 3, Recipients: 7, Rejected: 1234,
	Running: []smtpd.RunningListener{{Name: "IncomingMail", Addr: "127.0.0.1:2525"}, {Name: "OutgoingMail", Addr: "127.0.0.1:2587"}},
}

// testMessage is one message withQueue commits.
type testMessage struct {
	env   queue.Envelope
	body  string
	done  map[int]string // outcomes recorded after the commit
	retry time.Time      // a failed attempt recorded, the next one due then
}

var testMessages = []testMessage{{
	env: queue.Envelope{ICID: 1, Received: clock.Add(-(2*time.Hour + 3*time.Minute + 4*time.Second)), Listener: "IncomingMail",
		RemoteIP: "198.51.100.7", RemoteHost: "mx.sender.example", HELO: "mx.sender.example",
		SenderGroup: "UNKNOWNLIST", Policy: "$ACCEPTED", From: "alice@sender.example",
		Recipients: []string{"bob@example.com", "carol@example.org"},
		Prepend:    "Received: from mx.sender.example ([198.51.100.7])\r\n\tby esa.example.com with ESMTP id 1\r\n\tfor <bob@example.com>; Wed, 04 Mar 2026 08:17:26 +0000\r\n",
		Verdicts:   map[string]string{"spf.mailfrom": "Pass", "dkim": "pass signature verified (d=sender.example s=sel1 i=@sender.example)"},
		MessageID:  "<1@sender.example>", Subject: "Hello"},
	body: "From: Alice <alice@sender.example>\r\nTo: Bob <bob@example.com>, carol@example.org\r\nSubject: Hello\r\nMessage-ID: <1@sender.example>\r\n\r\nHi Bob.\r\n",
}, {
	env: queue.Envelope{ICID: 2, Received: clock.Add(-30 * time.Minute), Listener: "OutgoingMail",
		RemoteIP: "10.0.0.5", HELO: "client.internal", SenderGroup: "RELAYLIST", Policy: "$RELAYED", Relayed: true,
		From:       "news@example.com",
		Recipients: []string{"dave@example.org", "erin@example.net", "frank@EXAMPLE.org", "gina@example.net"},
		Prepend:    "Received: from client.internal ([10.0.0.5])\r\n\tby esa.example.com with ESMTPS id 2; Wed, 04 Mar 2026 09:50:30 +0000\r\n",
		Subject:    "Sale \x1b[31mtoday\x1b[0m"},
	// A hostile header: the escape sequences must reach the screen escaped.
	body:  "From: news@example.com\r\nSubject: Sale \x1b[31mtoday\x1b[0m\r\nX-Title: \x1b]0;owned\x07\r\n  folded continuation\r\n\r\nBuy.\r\n",
	done:  map[int]string{0: "delivered"},
	retry: clock.Add(10 * time.Minute),
}, {
	env: queue.Envelope{ICID: 3, Received: clock.Add(-5 * time.Minute), Listener: "IncomingMail",
		RemoteIP: "192.0.2.25", RemoteHost: "bounce.example.net", HELO: "bounce.example.net",
		SenderGroup: "UNKNOWNLIST", Policy: "$ACCEPTED", From: "",
		Recipients: []string{"alice@sender.example"},
		Subject:    "Delivery Status Notification (Failure)"},
	// No empty line: a message that is all header.
	body: "From: MAILER-DAEMON@bounce.example.net\r\nSubject: Delivery Status Notification (Failure)\r\n",
}}

// withQueue gives env a real queue with testMessages committed (MIDs 1, 2,
// 3), and the daemon's listeners as fixedStats.
func withQueue(t *testing.T, env *Env) {
	q := newTestQueue(t)
	env.Queue = q
	env.Listeners = func() smtpd.Stats { return fixedStats }
}

func newTestQueue(t *testing.T) *queue.Queue {
	t.Helper()
	q, err := queue.Open(filepath.Join(t.TempDir(), "queue"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	for _, m := range testMessages {
		mid, err := q.IDs().Next(queue.MID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.IDs().Next(queue.ICID); err != nil {
			t.Fatal(err)
		}
		w, err := q.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
		env := m.env
		env.MID = mid
		env.Recipients = append([]string(nil), m.env.Recipients...)
		if err := w.Commit(env); err != nil {
			t.Fatal(err)
		}
		for rid, outcome := range m.done {
			if err := q.SetDone(mid, outcome, rid); err != nil {
				t.Fatal(err)
			}
		}
		if !m.retry.IsZero() {
			if _, err := q.SetRetry(mid, m.retry, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	return q
}

func pausedIs(want bool) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		if got := env.Queue.Paused(); got != want {
			t.Errorf("queue paused = %v, want %v", got, want)
		}
	}
}

// queueHolds checks the messages and pending recipients left in the queue.
func queueHolds(msgs, rcpts int) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		if m, r := env.Queue.Len(); m != msgs || r != rcpts {
			t.Errorf("queue holds %d messages, %d recipients; want %d, %d", m, r, msgs, rcpts)
		}
	}
}

// TestStatusCompletionCounters: the recipients deleterecipients deletes
// and those delivered count in status detail's completion counters.
func TestStatusCompletionCounters(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withQueue(t, env)
	script(env, "deleterecipients\n3\ny\n")
	out := script(env, "status detail\n")
	for _, want := range []string{
		"    Completed Recipients         7            7            7\n",
		"    Delivered Recipients         1            1            1\n",
		"    Deleted Recipients           6            6            6\n",
		"    Active Recipients            0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status detail lacks %q:\n%s", want, out)
		}
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 secs"},
		{-time.Minute, "0 secs"},
		{time.Second, "1 sec"},
		{61 * time.Second, "1 min 1 sec"},
		{2*time.Hour + 3*time.Minute + 4*time.Second, "2 hours 3 mins 4 secs"},
		{4*7*24*time.Hour + 46*time.Minute + 53*time.Second, "4 weeks 46 mins 53 secs"},
		{8*24*time.Hour + time.Hour, "1 week 1 day 1 hour"},
	} {
		if got := age(c.d); got != c.want {
			t.Errorf("age(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestWorkqueuePauseSharedBySessions: the pause one session makes is what
// another session's workqueue shows, with who paused and why, since both
// work on the daemon's one queue.
func TestWorkqueuePauseSharedBySessions(t *testing.T) {
	t.Parallel()
	q := newTestQueue(t)
	a, b := newEnv(t), newEnv(t)
	a.Queue, b.Queue = q, q
	a.User = "operator1"
	script(a, "workqueue pause\ny\nLDAP maintenance\n")
	out := script(b, "workqueue status\n")
	if !strings.Contains(out, "Status:         Paused by operator1: LDAP maintenance\nMessages:       3\n") {
		t.Errorf("the other session's status:\n%s", out)
	}
	if st := script(b, "status\n"); !strings.Contains(st, "System status:                 Online (work queue paused)\n") {
		t.Errorf("status of a paused queue:\n%s", st)
	}
	script(b, "workqueue resume\n")
	if q.Paused() {
		t.Errorf("resumed in one session, still paused")
	}
}

// TestWorkqueuePauseDurable: a PAUSE is on disk when the command returns,
// so the queue the next daemon opens is paused by the same person for the
// same reason; when the pause cannot be saved the command says so, with
// delivery paused all the same, and mail_logs warns.
func TestWorkqueuePauseDurable(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	env.Queue = q
	script(env, "workqueue pause\ny\nLDAP maintenance\n")
	q.Close()
	q2, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	if by, why := q2.PausedBy(); !q2.Paused() || by != "admin" || why != "LDAP maintenance" {
		t.Fatalf("after a restart: paused %v by %q for %q", q2.Paused(), by, why)
	}
	env.Queue = q2
	script(env, "workqueue resume\n")

	// A non-empty directory where the record goes: the write fails even
	// for root.
	if err := os.MkdirAll(filepath.Join(dir, "paused.rec", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	session(env)(strings.NewReader("workqueue pause\ny\ndisk trouble\n"), &out)
	if !strings.Contains(out.String(), "The work queue is paused, but the pause was not saved and a restart would resume delivery: ") {
		t.Errorf("an unsaved pause:\n%s", out.String())
	}
	if !q2.Paused() {
		t.Error("an unsaved pause did not pause delivery")
	}
	if logs := script(env, "grep -e \"Work queue\" mail_logs\n"); !strings.Contains(logs, "Warning: Work queue paused by admin: disk trouble; not saved: ") {
		t.Errorf("mail_logs:\n%s", logs)
	}
	// Resume cannot remove a directory either: the queue stays paused.
	out.Reset()
	session(env)(strings.NewReader("workqueue resume\n"), &out)
	if !strings.Contains(out.String(), "The work queue was not resumed: ") || !q2.Paused() {
		t.Errorf("resume over an unremovable record:\n%s", out.String())
	}
}
