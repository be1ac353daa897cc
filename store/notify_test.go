package store

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangLimit bounds a wait whose expiry means a hang (the bug under test),
// never a slow machine.
const hangLimit = 20 * time.Second

// commitHost commits hostname h (and nothing else) through ss.
func commitHost(t testing.TB, ss *Session, h string) {
	t.Helper()
	if err := ss.Update(func(c *Config) error { c.System.Hostname = h; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("", false); err != nil {
		t.Fatal(err)
	}
}

// TestSlowSubscriberDelaysNoCommit: while a subscriber is stuck in its call
// (a delivery engine reloading), other sessions keep committing; once it is
// released it hears, in one call, of every table changed meanwhile, with
// the newest configuration (issue 12 item 23).
func TestSlowSubscriberDelaysNoCommit(t *testing.T) {
	s := openTest(t)
	entered := make(chan Change, 10)
	release := make(chan struct{})
	cancel := s.Subscribe(func(c Change) {
		entered <- c
		<-release
	})
	defer cancel()

	commitHost(t, s.NewSession("a"), "first.example.com")
	var first Change
	select {
	case first = <-entered:
	case <-time.After(hangLimit):
		t.Fatal("subscriber never called")
	}
	if !reflect.DeepEqual(first.Tables, []string{"system"}) || first.Config.System.Hostname != "first.example.com" || first.User != "a" {
		t.Fatalf("first change: tables %v, hostname %q, user %q", first.Tables, first.Config.System.Hostname, first.User)
	}

	// The subscriber is now blocked. Two more commits, by other sessions,
	// on other tables, must return.
	done := make(chan error, 1)
	go func() {
		b := s.NewSession("b")
		if err := b.Update(func(c *Config) error { c.DNS.Timeout = 9; return nil }); err != nil {
			done <- err
			return
		}
		if _, err := b.Commit("dns", false); err != nil {
			done <- err
			return
		}
		c := s.NewSession("c")
		if err := c.Update(func(c *Config) error { c.Logs.MetricsFrequency = 77; return nil }); err != nil {
			done <- err
			return
		}
		_, err := c.Commit("logs", true)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hangLimit):
		close(release)
		t.Fatal("a commit waited for a busy subscriber")
	}
	if got := s.Snapshot(); got.DNS.Timeout != 9 || got.Logs.MetricsFrequency != 77 {
		t.Fatalf("commits not installed: timeout %d, metrics %d", got.DNS.Timeout, got.Logs.MetricsFrequency)
	}

	close(release)
	var merged Change
	select {
	case merged = <-entered:
	case <-time.After(hangLimit):
		t.Fatal("subscriber not called again")
	}
	if !reflect.DeepEqual(merged.Tables, []string{"logs", "dns"}) {
		t.Errorf("merged change names tables %v, want [logs dns]", merged.Tables)
	}
	if merged.Config != s.Snapshot() || merged.User != "c" || merged.Comment != "logs" || !merged.RollbackPoint {
		t.Errorf("merged change: config %p (snapshot %p), user %q, comment %q, rollback %v",
			merged.Config, s.Snapshot(), merged.User, merged.Comment, merged.RollbackPoint)
	}
	if !merged.Changed("dns") || merged.Changed("system") {
		t.Errorf("Changed: dns %v, system %v", merged.Changed("dns"), merged.Changed("system"))
	}
}

// TestSubscribeOrderAndCancel: a subscriber that keeps up hears of every
// commit, in commit order, one call at a time; after cancel it hears of
// nothing more.
func TestSubscribeOrderAndCancel(t *testing.T) {
	s := openTest(t)
	got := make(chan string, 100)
	var active atomic.Int32
	var overlapped atomic.Bool
	cancel := s.Subscribe(func(c Change) {
		if active.Add(1) > 1 {
			overlapped.Store(true)
		}
		defer active.Add(-1)
		got <- c.Config.System.Hostname
	})
	ss := s.NewSession("admin")
	var want []string
	for i := 0; i < 20; i++ {
		h := fmt.Sprintf("h%d.example.com", i)
		want = append(want, h)
		commitHost(t, ss, h)
	}
	// Calls may be merged, but the last one names the newest commit and
	// the names seen never go backwards.
	seen := -1
	for seen < len(want)-1 {
		select {
		case h := <-got:
			i := indexOf(want, h)
			if i <= seen {
				t.Fatalf("heard of %s after %s", h, want[seen])
			}
			seen = i
		case <-time.After(hangLimit):
			t.Fatalf("last heard %d of %d commits", seen+1, len(want))
		}
	}
	if overlapped.Load() {
		t.Fatal("subscriber calls overlapped")
	}
	cancel()
	commitHost(t, ss, "after.example.com")
	s.Close() // waits for calls in progress
	select {
	case h := <-got:
		t.Fatalf("heard of %s after cancel", h)
	default:
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// TestOnCommitBeforeReturn: an OnCommit hook has seen the commit when
// Commit returns, with the tables it changed.
func TestOnCommitBeforeReturn(t *testing.T) {
	s := openTest(t)
	var mu sync.Mutex
	var heard []Change
	cancel := s.OnCommit(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, c)
	})
	ss := s.NewSession("admin")
	commitHost(t, ss, "x.example.com")
	mu.Lock()
	if len(heard) != 1 || heard[0].Config.System.Hostname != "x.example.com" || !reflect.DeepEqual(heard[0].Tables, []string{"system"}) {
		t.Fatalf("hook heard %+v", heard)
	}
	mu.Unlock()
	cancel()
	commitHost(t, ss, "y.example.com")
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != 1 {
		t.Fatalf("hook called after cancel: %d calls", len(heard))
	}
}

// historyLines records what the commit path writes to the Configuration
// History log.
type historyLines struct {
	mu    sync.Mutex
	lines []string
}

func (h *historyLines) Info(format string, a ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, fmt.Sprintf(format, a...))
}

// TestHistoryLineOnEveryCommit: every commit writes its Configuration
// History line, whoever commits (the commit command is not involved).
func TestHistoryLineOnEveryCommit(t *testing.T) {
	s := openTest(t)
	h := &historyLines{}
	s.SetHistoryLog(h)
	ss := s.NewSession("admin")
	if err := ss.Rollback(1); err != nil { // nothing to change yet
		t.Fatal(err)
	}
	if err := ss.Update(func(c *Config) error {
		c.System.Hostname = "h.example.com"
		c.DNS.Timeout = 7
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("two tables\x1b[2J", true); err != nil {
		t.Fatal(err)
	}
	if err := ss.Rollback(1); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("back", false); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`Configuration committed: tables system, dns; rollback point true; comment: "two tables\x1b[2J"`,
		`Configuration committed: tables system, dns; rollback point false; comment: "back"`,
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !reflect.DeepEqual(h.lines, want) {
		t.Fatalf("history lines\n got %q\nwant %q", h.lines, want)
	}
}

// TestSnapshotShared: Snapshot is the same pointer until a commit; a commit
// installs a new one and leaves the old one as it was; the tables a commit
// did not change are shared, not copied; and a Snapshot costs no allocation
// (issue 12 item 24).
func TestSnapshotShared(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("admin")
	if err := ss.Update(func(c *Config) error { bigLogs(c, 100); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("", false); err != nil {
		t.Fatal(err)
	}
	a := s.Snapshot()
	if b := s.Snapshot(); a != b {
		t.Fatal("two Snapshots without a commit differ")
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.Snapshot() }); n != 0 {
		t.Fatalf("Snapshot allocates %v times", n)
	}
	commitHost(t, ss, "new.example.com")
	b := s.Snapshot()
	if a == b {
		t.Fatal("commit did not install a new snapshot")
	}
	if a.System.Hostname != "esa.example.com" || b.System.Hostname != "new.example.com" {
		t.Fatalf("hostnames: old snapshot %q, new %q", a.System.Hostname, b.System.Hostname)
	}
	if &a.Logs.Subscriptions[0] != &b.Logs.Subscriptions[0] {
		t.Error("a table the commit did not change was copied")
	}
	// Committed is still a copy to edit.
	c := s.Committed()
	c.Logs.Subscriptions[0].Name = "edited"
	if s.Snapshot().Logs.Subscriptions[0].Name == "edited" {
		t.Fatal("Committed shares memory with the snapshot")
	}
}

// BenchmarkSnapshot is the hot-path read of the committed configuration
// with 1,000 log subscriptions: Snapshot (shared) against Committed (a
// deep copy), the difference issue 12 item 24 is about.
func BenchmarkSnapshot(b *testing.B) {
	s := seed1000(b)
	b.Run("Snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if len(s.Snapshot().Logs.Subscriptions) != 1000 {
				b.Fatal("table lost")
			}
		}
	})
	b.Run("Committed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if len(s.Committed().Logs.Subscriptions) != 1000 {
				b.Fatal("table lost")
			}
		}
	})
}

// TestPanickingSubscriberSurvives: a subscriber that panics on one commit
// (reported on standard error) neither takes the process down nor loses
// the next commits.
func TestPanickingSubscriberSurvives(t *testing.T) {
	s := openTest(t)
	got := make(chan string, 4)
	cancel := s.Subscribe(func(c Change) {
		got <- c.Config.System.Hostname
		if c.Config.System.Hostname == "boom.example.com" {
			panic("a subscriber's bug (this test's; the report above is expected)")
		}
	})
	defer cancel()
	ss := s.NewSession("admin")
	commitHost(t, ss, "boom.example.com")
	select {
	case <-got:
	case <-time.After(hangLimit):
		t.Fatal("the subscriber was not called")
	}
	commitHost(t, ss, "after.example.com")
	select {
	case h := <-got:
		if h != "after.example.com" {
			t.Fatalf("got %q", h)
		}
	case <-time.After(hangLimit):
		t.Fatal("the subscriber heard nothing after it panicked")
	}
}
