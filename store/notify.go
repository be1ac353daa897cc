package store

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// committedState is one committed configuration with its per-table versions
// and text forms. A commit replaces the whole value (Store.cur); nothing in
// it is ever modified afterwards, so readers hold it without a lock.
type committedState struct {
	cfg *Config
	ver []uint64 // per table, parallel to tables
	enc [][]byte // per table: the committed text form
}

// Snapshot returns the committed configuration, shared and not copied: it
// costs one atomic load, and every caller gets the same pointer until the
// next commit, which installs a new value instead of changing this one. A
// reader on a hot path (one lookup per message) may therefore keep it, and
// tell a change by comparing pointers.
//
// The value is read-only: nothing it holds (slices, maps) may be modified,
// since every other reader sees the same memory. Use Committed for a copy
// to edit.
func (s *Store) Snapshot() *Config { return s.cur.Load().cfg }

// Committed returns a deep copy of the committed configuration, free to
// edit. Readers that only look should use Snapshot.
func (s *Store) Committed() Config { return s.Snapshot().Clone() }

// snapshot returns an editable copy of the committed configuration with its
// table versions and text forms.
func (s *Store) snapshot() (Config, []uint64, [][]byte) {
	st := s.cur.Load()
	return st.cfg.Clone(), append([]uint64(nil), st.ver...), append([][]byte(nil), st.enc...)
}

// Change is what a subscriber learns of a commit.
type Change struct {
	// Config is the configuration after the commit: the shared, read-only
	// snapshot (see Snapshot). It must not be modified.
	Config *Config
	// Tables names the tables the commit changed, in table order.
	Tables []string
	// Time, User, Comment and RollbackPoint describe the commit.
	Time          time.Time
	User          string
	Comment       string
	RollbackPoint bool
}

// Changed reports whether table name is among c.Tables.
func (c Change) Changed(name string) bool {
	for _, t := range c.Tables {
		if t == name {
			return true
		}
	}
	return false
}

// HistoryLog receives the Configuration History line the commit path writes
// for every commit (logs.Logger satisfies it).
type HistoryLog interface {
	Info(format string, a ...any)
}

// SetHistoryLog names where every commit's Configuration History line goes
// ("A new configuration history log is created each time a user commits a
// change", ESA-CLI §7.1); nil writes none. The line is written by Commit
// itself, so no command can commit without it.
func (s *Store) SetHistoryLog(l HistoryLog) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.history = l
}

// OnCommit registers fn to run inside Commit, after the commit is durable
// and visible to every reader and after the store's commit lock is released,
// before Commit returns: when the committing session's next command runs,
// fn has seen its commit (the log manager applying new log subscriptions).
// Calls are in commit order and never overlap. fn must be quick and must not
// commit: a later commit, although it is written without waiting, returns
// only once the earlier commits' OnCommit calls finished. Slow work (a
// delivery engine reloading) belongs in Subscribe.
func (s *Store) OnCommit(fn func(Change)) (cancel func()) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	id := s.nextHook
	s.nextHook++
	s.hooks = append(s.hooks, hook{id: id, fn: fn})
	return func() {
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		for i, h := range s.hooks {
			if h.id == id {
				s.hooks = append(s.hooks[:i:i], s.hooks[i+1:]...)
				return
			}
		}
	}
}

type hook struct {
	id int
	fn func(Change)
}

// Subscribe registers fn to learn of every commit, on a goroutine of its
// own: no commit, and no other subscriber, ever waits for fn. Calls are in
// commit order and never overlap. A subscriber still busy when several
// commits happen is called once for them all, with the newest configuration
// and every table any of them changed (Time, User and Comment are the
// newest commit's). cancel stops further calls; a call in progress finishes.
// Close waits for calls in progress, so fn must not call Close.
func (s *Store) Subscribe(fn func(Change)) (cancel func()) {
	sub := &subscriber{fn: fn, wg: &s.subWG}
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.subs = append(s.subs, sub)
	return func() {
		sub.close()
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		for i, x := range s.subs {
			if x == sub {
				s.subs = append(s.subs[:i:i], s.subs[i+1:]...)
				return
			}
		}
	}
}

// subscriber is one Subscribe: a mailbox of at most one merged Change and a
// goroutine that runs while there is something to deliver.
type subscriber struct {
	fn func(Change)
	wg *sync.WaitGroup

	mu      sync.Mutex
	pending *Change
	mask    uint64 // tables changed in pending, by index
	running bool
	closed  bool
}

// close stops deliveries; one in progress finishes.
func (sub *subscriber) close() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.closed = true
	sub.pending = nil
}

// post queues c (with its changed-table mask) for delivery, merging it into
// a delivery not yet started.
func (sub *subscriber) post(c Change, mask uint64) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return
	}
	if sub.pending != nil {
		mask |= sub.mask
		c.Tables = tableNames(mask)
	}
	sub.pending, sub.mask = &c, mask
	if !sub.running {
		sub.running = true
		sub.wg.Add(1)
		go sub.run()
	}
}

func (sub *subscriber) run() {
	defer sub.wg.Done()
	for {
		c := sub.take()
		if c == nil {
			return
		}
		sub.deliver(*c)
	}
}

// subscriberPanicked reports a subscriber that panicked.
func subscriberPanicked(r any, stack []byte) {
	fmt.Fprintf(os.Stderr, "store: a commit subscriber failed: %v\n%s", r, stack)
}

// deliver calls fn with c. A subscriber that panics (a bug in one part of
// the daemon reacting to a commit) is reported on standard error and keeps
// its later commits: the commit itself is already durable, and one part's
// bug must not take the whole gateway down with mail in flight.
func (sub *subscriber) deliver(c Change) {
	defer func() {
		if r := recover(); r != nil {
			subscriberPanicked(r, debug.Stack())
		}
	}()
	sub.fn(c)
}

// take returns the next Change to deliver, or nil (and marks the goroutine
// gone) when there is none.
func (sub *subscriber) take() *Change {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	c := sub.pending
	sub.pending, sub.mask = nil, 0
	if c == nil || sub.closed {
		sub.running = false
		return nil
	}
	return c
}

// tableNames lists the tables in mask, in table order.
func tableNames(mask uint64) []string {
	var out []string
	for i, t := range tables {
		if mask&(1<<i) != 0 {
			out = append(out, t.name)
		}
	}
	return out
}

// listeners returns copies of the subscriber and hook lists, and the
// history log, so that they are called without hookMu held.
func (s *Store) listeners() ([]*subscriber, []hook, HistoryLog) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	return append([]*subscriber(nil), s.subs...), append([]hook(nil), s.hooks...), s.history
}

// forget drops every subscriber and hook (Close) and returns the
// subscribers.
func (s *Store) forget() []*subscriber {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	subs := s.subs
	s.subs, s.hooks = nil, nil
	return subs
}

// announce tells everyone of a commit that is durable and installed.
// Commit calls it holding s.notifyMu, which it took before letting go of
// s.commitMu, so announcements keep commit order.
func (s *Store) announce(c Change, mask uint64) {
	subs, hooks, history := s.listeners()
	// Subscribers first: posting never blocks, and a panicking hook below
	// must not keep them from hearing of a commit that happened.
	for _, sub := range subs {
		sub.post(c, mask)
	}
	for _, h := range hooks {
		h.fn(c)
	}
	if history != nil {
		history.Info("Configuration committed: tables %s; rollback point %v; comment: %q",
			strings.Join(c.Tables, ", "), c.RollbackPoint, c.Comment)
	}
}
