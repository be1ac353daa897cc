package store

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ConflictError refuses a commit: since this session read them, another
// session committed the tables this session changed.
type ConflictError struct {
	Tables []string
}

func (e *ConflictError) Error() string {
	q := make([]string, len(e.Tables))
	for i, t := range e.Tables {
		q[i] = fmt.Sprintf("%q", t)
	}
	if len(q) == 1 {
		return fmt.Sprintf("Commit refused: table %s was changed by another session since you read it. Use clearchanges and redo your change.", q[0])
	}
	return fmt.Sprintf("Commit refused: tables %s were changed by another session since you read them. Use clearchanges and redo your changes.", strings.Join(q, ", "))
}

// Session is one administrator's pending changes (ESA-CLI.md §7.3). Tables
// the session has not changed always show the latest committed values;
// tables it changed show its pending values until Commit or Clear.
type Session struct {
	s    *Store
	user string

	mu      sync.Mutex
	pending Config       // valid for the tables in changed
	changed map[int]mark // table index -> what the change was made on
}

// mark records the committed table a pending change was made on: its version
// (for the conflict check) and its text (to notice a change undone by hand).
type mark struct {
	ver  uint64
	base []byte
	enc  []byte // the pending table's text form
}

// NewSession starts a session with no pending changes; user is recorded in
// the rollback points it commits.
func (s *Store) NewSession(user string) *Session {
	return &Session{s: s, user: user, changed: map[int]mark{}}
}

// view is the session's configuration: the latest committed tables with the
// session's changed tables laid over them. Called with ss.mu held.
func (ss *Session) view() (Config, []uint64, [][]byte) {
	c, ver, enc := ss.s.snapshot()
	for i := range ss.changed {
		tables[i].copyTable(&c, &ss.pending)
	}
	return c, ver, enc
}

// Config returns a copy of the session's pending view.
func (ss *Session) Config() Config {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	c, _, _ := ss.view()
	return c
}

// Update edits the pending view. If fn fails or the result does not pass
// Validate, the error is returned and nothing changes. fn edits a copy, so
// a panic in fn also changes nothing; it is not recovered here (it is a bug
// in the command, for the shell's own recover to report) and the session
// stays usable.
func (ss *Session) Update(fn func(c *Config) error) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	work, ver, enc := ss.view()
	if err := fn(&work); err != nil {
		return err
	}
	canonical(reflect.ValueOf(&work).Elem())
	if err := Validate(work); err != nil {
		return err
	}
	changed := map[int]mark{}
	for i, t := range tables {
		b := ss.s.encodeTable(t, &work)
		if m, ok := ss.changed[i]; ok {
			// Still compared with what the change was made on, so that a
			// commit of this table by someone else is still a conflict.
			if !bytes.Equal(b, m.base) {
				m.enc = b
				changed[i] = m
			}
			continue
		}
		if !bytes.Equal(b, enc[i]) {
			changed[i] = mark{ver: ver[i], base: enc[i], enc: b}
		}
	}
	ss.changed = changed
	ss.pending = work
	return nil
}

// Load replaces the whole pending configuration with c (loadconfig).
func (ss *Session) Load(c Config) error {
	c = c.Clone()
	return ss.Update(func(p *Config) error {
		*p = c
		return nil
	})
}

// Rollback makes the configuration saved with version id the pending
// configuration; Commit then applies it.
func (ss *Session) Rollback(id int) error {
	c, err := ss.s.versionConfig(id)
	if err != nil {
		return err
	}
	return ss.Load(c)
}

// Pending reports whether the session has changes to commit.
func (ss *Session) Pending() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.changed) > 0
}

// Changed names the tables with pending changes, in table order.
func (ss *Session) Changed() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out []string
	for i, t := range tables {
		if _, ok := ss.changed[i]; ok {
			out = append(out, t.name)
		}
	}
	return out
}

// Clear discards the pending changes (clearchanges).
func (ss *Session) Clear() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.changed) == 0 {
		return ErrNothingToCommit
	}
	ss.changed = map[int]mark{}
	ss.pending = Config{}
	return nil
}

// Commit applies the session's changed tables in one bbolt transaction and,
// if rollbackPoint, saves the resulting configuration as a new version. It
// refuses with *ConflictError, changing nothing, when another session
// committed one of those tables since this session read it; tables this
// session did not change stay as others committed them.
//
// Commit returns once the commit is durable and installed (Snapshot). Its
// OnCommit hooks and its Configuration History line have run by then;
// Subscribe subscribers hear of it on their own goroutines, so a slow one
// delays no commit. A panic or memory fault inside bbolt (a damaged page)
// is returned as a *DamagedError naming the file; the session keeps its
// changes and stays usable.
func (ss *Session) Commit(comment string, rollbackPoint bool) (time.Time, error) {
	c, mask, err := ss.commit(comment, rollbackPoint)
	if err != nil {
		return time.Time{}, err
	}
	// commit returned holding notifyMu, taken before it let go of
	// commitMu: announcements keep commit order without holding up the
	// next commit's write.
	defer ss.s.notifyMu.Unlock()
	ss.s.announce(c, mask)
	return c.Time, nil
}

// commit is Commit up to the announcement. On success it returns with
// s.notifyMu held, for Commit to release.
func (ss *Session) commit(comment string, rollbackPoint bool) (Change, uint64, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.changed) == 0 {
		return Change{}, 0, ErrNothingToCommit
	}
	s := ss.s
	s.commitMu.Lock()
	defer s.commitMu.Unlock()

	cur := s.cur.Load()
	var conflicts []string
	var mask uint64
	for i, t := range tables {
		if m, ok := ss.changed[i]; ok {
			mask |= 1 << i
			if m.ver != cur.ver[i] {
				conflicts = append(conflicts, t.name)
			}
		}
	}
	if conflicts != nil {
		return Change{}, 0, &ConflictError{Tables: conflicts}
	}
	// The new snapshot shares the tables this commit leaves alone with the
	// current one: neither is ever modified. Only changed tables are copied.
	next := *cur.cfg
	ver := append([]uint64(nil), cur.ver...)
	enc := append([][]byte(nil), cur.enc...)
	for i, m := range ss.changed {
		tables[i].copyTable(&next, &ss.pending)
		enc[i] = m.enc
		ver[i]++
	}
	if err := Validate(next); err != nil {
		return Change{}, 0, err
	}
	now := s.now()
	err := s.update(func(tx *bolt.Tx) error {
		tb, vb := tx.Bucket(bucketTables), tx.Bucket(bucketTableVer)
		for i := range ss.changed {
			name := []byte(tables[i].name)
			if err := tb.Put(name, enc[i]); err != nil {
				return err
			}
			if err := vb.Put(name, u64(ver[i])); err != nil {
				return err
			}
		}
		if rollbackPoint {
			return s.putVersion(tx, ss.user, comment, now, enc)
		}
		return nil
	})
	var damaged *DamagedError
	switch {
	case errors.As(err, &damaged):
		return Change{}, 0, err
	case err != nil:
		return Change{}, 0, fmt.Errorf("store: commit: %w", err)
	}
	s.cur.Store(&committedState{cfg: &next, ver: ver, enc: enc})
	ss.changed = map[int]mark{}
	ss.pending = Config{}
	s.notifyMu.Lock() // released by Commit once announced
	return Change{Config: &next, Tables: tableNames(mask), Time: now, User: ss.user, Comment: comment, RollbackPoint: rollbackPoint}, mask, nil
}
