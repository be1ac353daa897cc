package store

import (
	"errors"
	"reflect"
	"sync"
	"testing"
)

func setHost(h string) func(*Config) error {
	return func(c *Config) error { c.System.Hostname = h; return nil }
}

func TestUpdateIsAtomic(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("admin")
	boom := errors.New("boom")
	err := ss.Update(func(c *Config) error {
		c.System.Hostname = "half.example.com"
		return boom
	})
	if err != boom || ss.Pending() || ss.Config().System.Hostname != "esa.example.com" {
		t.Fatalf("failed fn left changes: err=%v pending=%v", err, ss.Pending())
	}
	err = ss.Update(func(c *Config) error {
		c.DNS.Timeout = 7
		c.System.Hostname = "bad_host"
		return nil
	})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Table != "system" || ve.Key != "hostname" {
		t.Fatalf("invalid update: %v", err)
	}
	if ss.Pending() || ss.Config().DNS.Timeout != 5 {
		t.Fatal("invalid update left changes")
	}
	// The fn's Config is the session's own: keeping a pointer to it and
	// writing later must not reach the session.
	var kept *Config
	ss.Update(func(c *Config) error { kept = c; c.DNS.Timeout = 8; return nil })
	kept.DNS.Timeout = 9
	got := ss.Config()
	got.DNS.Timeout = 10
	if ss.Config().DNS.Timeout != 8 {
		t.Fatalf("pending timeout %d, want 8", ss.Config().DNS.Timeout)
	}
}

func TestPendingChangedCommitClear(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("admin")
	if _, err := ss.Commit("x", true); err != ErrNothingToCommit {
		t.Fatalf("empty commit: %v", err)
	}
	if err := ss.Clear(); err != ErrNothingToCommit {
		t.Fatalf("empty clear: %v", err)
	}
	ss.Update(func(c *Config) error { c.DNS.Timeout = 9; c.System.Hostname = "m.example.com"; return nil })
	if !ss.Pending() || !reflect.DeepEqual(ss.Changed(), []string{"system", "dns"}) {
		t.Fatalf("pending %v changed %v", ss.Pending(), ss.Changed())
	}
	if s.Committed().DNS.Timeout != 5 {
		t.Fatal("pending change visible as committed")
	}
	// Undoing a change by hand leaves nothing pending for that table.
	ss.Update(func(c *Config) error { c.DNS.Timeout = 5; return nil })
	if !reflect.DeepEqual(ss.Changed(), []string{"system"}) {
		t.Fatalf("changed after undo %v", ss.Changed())
	}
	if err := ss.Clear(); err != nil {
		t.Fatal(err)
	}
	if ss.Pending() || ss.Config().System.Hostname != "esa.example.com" {
		t.Fatal("Clear kept changes")
	}
	ss.Update(setHost("m.example.com"))
	when, err := ss.Commit("renamed", false)
	if err != nil || !when.Equal(testTime) {
		t.Fatalf("commit: %v %v", when, err)
	}
	if ss.Pending() || s.Committed().System.Hostname != "m.example.com" {
		t.Fatal("commit did not apply")
	}
	if vs, _ := s.Versions(); len(vs) != 1 {
		t.Fatalf("commit without rollback point saved a version: %+v", vs)
	}
}

func TestDifferentTablesBothCommit(t *testing.T) {
	s := openTest(t)
	a, b := s.NewSession("a"), s.NewSession("b")
	if err := a.Update(setHost("a.example.com")); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(c *Config) error { c.DNS.Timeout = 30; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit("", false); err != nil {
		t.Fatal(err)
	}
	// b's view shows a's committed hostname: b did not change that table.
	if h := b.Config().System.Hostname; h != "a.example.com" {
		t.Fatalf("b sees hostname %q", h)
	}
	if _, err := b.Commit("", false); err != nil {
		t.Fatalf("b commit: %v", err)
	}
	c := s.Committed()
	if c.System.Hostname != "a.example.com" || c.DNS.Timeout != 30 {
		t.Fatalf("one commit undid the other: %+v %+v", c.System, c.DNS)
	}
}

func TestSameTableConflict(t *testing.T) {
	s := openTest(t)
	a, b := s.NewSession("a"), s.NewSession("b")
	a.Update(func(c *Config) error { c.Logs.MetricsFrequency = 10; return nil })
	b.Update(func(c *Config) error { c.Logs.MetricsFrequency = 20; c.DNS.Timeout = 3; return nil })
	if _, err := a.Commit("", false); err != nil {
		t.Fatal(err)
	}
	_, err := b.Commit("", true)
	var ce *ConflictError
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Tables, []string{"logs"}) {
		t.Fatalf("second commit: %v, want ConflictError on logs", err)
	}
	want := `Commit refused: table "logs" was changed by another session since you read it. Use clearchanges and redo your change.`
	if err.Error() != want {
		t.Errorf("message %q", err)
	}
	c := s.Committed()
	if c.Logs.MetricsFrequency != 10 || c.DNS.Timeout != 5 {
		t.Fatalf("refused commit changed something: %d %d", c.Logs.MetricsFrequency, c.DNS.Timeout)
	}
	if vs, _ := s.Versions(); len(vs) != 1 {
		t.Fatalf("refused commit saved a version")
	}
	// Still refused on retry; after clearchanges and redo it goes through.
	if _, err := b.Commit("", false); !errors.As(err, &ce) {
		t.Fatalf("retry: %v", err)
	}
	b.Clear()
	b.Update(func(c *Config) error { c.Logs.MetricsFrequency = 20; return nil })
	if _, err := b.Commit("", false); err != nil {
		t.Fatal(err)
	}
	if s.Committed().Logs.MetricsFrequency != 20 {
		t.Fatal("redo not committed")
	}
}

func TestConflictMessageManyTables(t *testing.T) {
	err := &ConflictError{Tables: []string{"logs", "dns"}}
	want := `Commit refused: tables "logs", "dns" were changed by another session since you read them. Use clearchanges and redo your changes.`
	if err.Error() != want {
		t.Fatalf("got %q", err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	s := openTest(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts, commits := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ss := s.NewSession("u")
			for j := 0; j < 5; j++ {
				ss.Update(func(c *Config) error {
					if i%2 == 0 {
						c.Logs.MetricsFrequency = 100 + i*10 + j
					} else {
						c.DNS.Timeout = 1 + i*5 + j // unique per (i, j): each Update is a change
					}
					return nil
				})
				_, err := ss.Commit("", j%2 == 0)
				var ce *ConflictError
				mu.Lock()
				switch {
				case err == nil:
					commits++
				case errors.As(err, &ce):
					conflicts++
					ss.Clear()
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if commits == 0 || commits+conflicts != 40 {
		t.Fatalf("commits %d conflicts %d", commits, conflicts)
	}
	if err := Validate(s.Committed()); err != nil {
		t.Fatal(err)
	}
}

func TestRollbackAndLoad(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("admin")
	ss.Update(setHost("v2.example.com"))
	ss.Commit("v2", true)
	ss.Update(func(c *Config) error { c.System.Hostname = "v3.example.com"; c.DNS.Timeout = 9; return nil })
	ss.Commit("v3", true)
	vs, _ := s.Versions()
	if len(vs) != 3 || vs[0].ID != 3 || vs[2].ID != 1 {
		t.Fatalf("versions %+v", vs)
	}
	if err := ss.Rollback(2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ss.Changed(), []string{"system", "dns"}) {
		t.Fatalf("rollback changed %v", ss.Changed())
	}
	if s.Committed().System.Hostname != "v3.example.com" {
		t.Fatal("rollback applied before commit")
	}
	ss.Commit("back to 2", true)
	if c := s.Committed(); c.System.Hostname != "v2.example.com" || c.DNS.Timeout != 5 {
		t.Fatalf("after rollback %+v %+v", c.System, c.DNS)
	}
	if err := ss.Rollback(99); err == nil {
		t.Fatal("rollback to a missing version succeeded")
	}
	// Rolling back to what is committed is no change.
	if err := ss.Rollback(2); err != nil || ss.Pending() {
		t.Fatalf("rollback to current: %v pending=%v", err, ss.Pending())
	}
	bad := Defaults()
	bad.DNS.Timeout = 0
	var ve *ValidationError
	if err := ss.Load(bad); !errors.As(err, &ve) || ss.Pending() {
		t.Fatalf("Load of invalid config: %v", err)
	}
	good := Defaults()
	good.Logs.Subscriptions = good.Logs.Subscriptions[:1]
	if err := ss.Load(good); err != nil {
		t.Fatal(err)
	}
	good.Logs.Subscriptions[0].Name = "mutated" // Load keeps its own copy
	if !reflect.DeepEqual(ss.Changed(), []string{"system", "logs"}) || ss.Config().Logs.Subscriptions[0].Name != "cli_logs" {
		t.Fatalf("Load: changed %v, %+v", ss.Changed(), ss.Config().Logs.Subscriptions)
	}
}

func TestEmptyListIsNoChange(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("admin")
	if err := ss.Update(func(c *Config) error { c.Logs.Headers = []string{}; c.DNS.Resolvers = []DNSResolver{}; return nil }); err != nil {
		t.Fatal(err)
	}
	if ss.Pending() {
		t.Fatalf("empty lists counted as changes: %v", ss.Changed())
	}
	// The session's view equals the same configuration read from a file.
	b, _ := s.MarshalConfig(ss.Config(), PlainSecrets)
	c, err := s.UnmarshalConfig(b)
	if err != nil || !reflect.DeepEqual(c, ss.Config()) {
		t.Fatalf("file form differs from the view: %v", err)
	}
}

// TestUpdatePanic: a panic in fn propagates, leaves the pending changes as
// they were and does not leave the session locked.
func TestUpdatePanic(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("a")
	if err := ss.Update(setHost("p.example.com")); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		ss.Update(func(c *Config) error {
			c.System.Hostname = "half.example.com"
			c.DNS.Timeout = 9
			panic("boom")
		})
	}()
	c := ss.Config() // would deadlock if the panic left ss.mu held
	if c.System.Hostname != "p.example.com" || c.DNS.Timeout != 5 || !reflect.DeepEqual(ss.Changed(), []string{"system"}) {
		t.Fatalf("after the panic: %+v %+v %v", c.System, c.DNS, ss.Changed())
	}
}

// TestVersionsPruned: only the newest MaxVersions rollback points are kept,
// with their configurations; older ones are gone entirely.
func TestVersionsPruned(t *testing.T) {
	s := openTest(t)
	ss := s.NewSession("admin")
	for i := 0; i < MaxVersions+3; i++ {
		ss.Update(func(c *Config) error { c.DNS.Timeout = 10 + i; return nil })
		if _, err := ss.Commit("c", true); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.Versions()
	if err != nil {
		t.Fatal(err)
	}
	// Version 1 (the factory configuration) plus 13 commits = 14 made.
	if len(vs) != MaxVersions || vs[0].ID != MaxVersions+4 || vs[len(vs)-1].ID != 5 {
		t.Fatalf("kept %d versions, newest %d oldest %d", len(vs), vs[0].ID, vs[len(vs)-1].ID)
	}
	if err := ss.Rollback(4); err == nil {
		t.Fatal("a pruned version can still be rolled back to")
	}
	if err := ss.Rollback(5); err != nil || ss.Config().DNS.Timeout != 13 {
		t.Fatalf("oldest kept version: %v, timeout %d", err, ss.Config().DNS.Timeout)
	}
}
