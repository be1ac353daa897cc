package outbound

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
)

// restartHarness is newHarness as the daemon starts the engine: over the
// queue a previous run left in dir, with RestoreRedirect before Run.
func restartHarness(t *testing.T, dir string, cfg Config) *harness {
	t.Helper()
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	hs := &harness{t: t, q: q, events: make(chan Event, 1024), log: &memLog{}}
	cfg.Queue, cfg.Log, cfg.HeloName, cfg.Timeout = q, hs.log, "esa.test", 5*time.Second
	cfg.Notify = func(ev Event) { hs.events <- ev }
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.RestoreRedirect()
	hs.e = e
	ctx, cancel := context.WithCancel(context.Background())
	hs.cancel, hs.done = cancel, make(chan struct{})
	go func() { defer close(hs.done); _ = e.Run(ctx) }()
	t.Cleanup(hs.stop)
	return hs
}

// TestRedirectSurvivesRestart: a redirect set while delivery is paused
// outlives the engine and its queue: after a restart the redirected
// message still goes to the redirect host, not its own route (a closed
// port), while mail queued after the restart follows its own route;
// ClearRedirect removes the record, and the next start has no redirect.
func TestRedirectSurvivesRestart(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "raw", kind: kindRefuse}}, nil)
	rawIP := b.ips["raw.ins.test"]
	routes := map[string]Route{"held.invalid": {Hosts: []RouteHost{{Host: "127.0.0.1", Port: 1}}}}
	cfg := Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy {
			return Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: 72 * time.Hour}}
		},
		Route: func(d string) (Route, bool) { r, ok := routes[d]; return r, ok }}
	dir := t.TempDir()

	// First run: paused, so nothing is delivered before the restart.
	hs := newHarnessOpt(t, dir, cfg, true)
	m1 := hs.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "one@held.invalid")
	if n, err := hs.e.Redirect(rawIP, b.port); err != nil || n != 1 {
		t.Fatalf("Redirect = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "redirect.rec")); err != nil {
		t.Fatalf("Redirect returned before its record was written: %v", err)
	}
	hs.stop()

	hs2 := restartHarness(t, dir, cfg)
	if h, p, ok := hs2.e.Redirected(); !ok || h != rawIP || p != b.port {
		t.Fatalf("after a restart Redirected() = %s %d %v", h, p, ok)
	}
	if log := hs2.log.String(); !strings.Contains(log, "Info: Redirecting all messages in the queue (MID "+itoa(m1)+" and below) to "+rawIP+":"+strconv.Itoa(b.port)+" since ") ||
		!strings.Contains(log, "restored at start-up: 1 recipient") {
		t.Errorf("the restored redirect is not logged:\n%s", log)
	}
	m2 := hs2.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "two@held.invalid")
	if err := hs2.q.Resume(); err != nil {
		t.Fatal(err)
	}
	hs2.e.DeliverNow("all")
	if ev := hs2.waitFor(m1); ev.Outcome != Delivered {
		t.Fatalf("the redirected message after the restart: %+v", ev)
	}
	if got := b.delivered("raw.ins.test", "one@held.invalid"); len(got) != 1 {
		t.Errorf("the redirect host got %d copies", len(got))
	}
	if ev := hs2.waitFor(m2); ev.Outcome != Deferred {
		t.Errorf("mail queued after the restart must follow its own route: %+v", ev)
	}
	h, _, ok, err := hs2.e.ClearRedirect()
	if err != nil || !ok || h != rawIP {
		t.Fatalf("ClearRedirect = %s %v %v", h, ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "redirect.rec")); !os.IsNotExist(err) {
		t.Fatalf("the record survived ClearRedirect: %v", err)
	}
	if !strings.Contains(hs2.log.String(), "Info: Redirect to "+rawIP+":"+strconv.Itoa(b.port)+" cleared") {
		t.Errorf("the clearing is not logged:\n%s", hs2.log.String())
	}
	if _, _, ok, err := hs2.e.ClearRedirect(); ok || err != nil {
		t.Errorf("a second ClearRedirect = %v, %v", ok, err)
	}
	hs2.stop()

	hs3 := restartHarness(t, dir, cfg)
	if _, _, ok := hs3.e.Redirected(); ok {
		t.Fatal("a cleared redirect came back after a restart")
	}
	if strings.Contains(hs3.log.String(), "Redirect") {
		t.Errorf("a start without a redirect logged one:\n%s", hs3.log.String())
	}
}

// TestRedirectRecordDamaged: a redirect record that cannot be trusted —
// garbled on disk, or whole but naming no usable host — is dropped with a
// warning and removed: the engine starts, with no redirect, and the mail
// follows its own routes. A whole record whose messages have all left the
// queue has done its work and is removed too.
func TestRedirectRecordDamaged(t *testing.T) {
	t.Parallel()
	b, _ := rawBed(t)
	cfg := Config{Resolver: b.res, Port: b.port}
	for name, tc := range map[string]struct {
		write func(t *testing.T, dir string)
		log   string
	}{
		"garbled": {func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "redirect.rec"), []byte("1234abcd {\"host\":\"relay.exa"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "Warning: Redirect record dropped (damaged record: "},
		"no host": {func(t *testing.T, dir string) { putRedirect(t, dir, redirectRecord{Port: 25, UpTo: 1}) },
			`Warning: Redirect record dropped (bad host "")`},
		"forged host": {func(t *testing.T, dir string) { putRedirect(t, dir, redirectRecord{Host: "a\nb", UpTo: 1}) },
			"Warning: Redirect record dropped (bad host "},
		"bad port": {func(t *testing.T, dir string) {
			putRedirect(t, dir, redirectRecord{Host: "relay.example", Port: 70000, UpTo: 1})
		},
			"Warning: Redirect record dropped (bad port 70000)"},
		"done": {func(t *testing.T, dir string) { putRedirect(t, dir, redirectRecord{Host: "relay.example", UpTo: 7}) },
			"Info: Redirect to relay.example ended: no redirected message is left in the queue"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.write(t, dir)
			hs := restartHarness(t, dir, cfg)
			if _, _, ok := hs.e.Redirected(); ok {
				t.Fatal("an untrusted or finished redirect was restored")
			}
			if !strings.Contains(hs.log.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, hs.log.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "redirect.rec")); !os.IsNotExist(err) {
				t.Errorf("the record was not removed: %v", err)
			}
			// The engine runs: mail is delivered along its own route.
			mid := hs.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "later1@raw.ins.test")
			if ev := hs.waitFor(mid); ev.MID != mid {
				t.Fatalf("no attempt: %+v", ev)
			}
		})
	}
}

// putRedirect writes a redirect record as a previous run would have.
func putRedirect(t *testing.T, dir string, r redirectRecord) {
	t.Helper()
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.PutRecord(redirectRecordName, r); err != nil {
		t.Fatal(err)
	}
}

// TestRedirectNotSaved: when the record cannot be written Redirect fails
// and redirects nothing (the command then says so), rather than routing
// mail in a way the next start would forget.
func TestRedirectNotSaved(t *testing.T) {
	t.Parallel()
	b, _ := rawBed(t)
	dir := t.TempDir()
	hs := newHarnessOpt(t, dir, Config{Resolver: b.res, Port: b.port}, true)
	hs.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "later1@raw.ins.test")
	// A non-empty directory where the record goes: the rename fails even
	// for root.
	if err := os.MkdirAll(filepath.Join(dir, "redirect.rec", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := hs.e.Redirect("relay.example", 0); err == nil {
		t.Fatalf("Redirect = %d without its record", n)
	}
	if _, _, ok := hs.e.Redirected(); ok {
		t.Error("an unsaved redirect is in force")
	}
	if strings.Contains(hs.log.String(), "Redirecting") {
		t.Errorf("an unsaved redirect was logged:\n%s", hs.log.String())
	}
}
