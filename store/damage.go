package store

import (
	"fmt"
	"runtime/debug"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Bounds on what config.db may hold. A stored value longer than its bound
// is a damaged length field, not data: it is never read, decoded or quoted
// (one flipped bit in a leaf element turns a value into 512 MiB of
// neighbouring pages, secret key included).
const (
	maxTableSize   = MaxConfigSize     // one table's text form
	maxHistCfgSize = 8 * MaxConfigSize // a rollback point: every table, JSON-escaped
	maxRecordSize  = 64 << 10          // a rollback point's description
	maxSchemaSize  = 8                 // the schema version, decimal
)

// guard runs fn, which reads or writes config.db through bbolt. bbolt trusts
// the pages it maps: a damaged page makes it panic (a page of the wrong
// type, an index out of range) or touch memory past the end of the file.
// Both become a *DamagedError naming the file, in this goroutine, so that
// the caller's deferred unlocks run and the process goes on (issue 12 item
// 15: a panic that escaped Commit left its session locked).
func (s *Store) guard(fn func() error) error {
	err, _ := s.guardPanic(fn)
	return err
}

// guardPanic is guard, also saying whether fn panicked.
func (s *Store) guardPanic(fn func() error) (err error, panicked bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &DamagedError{Path: s.dbPath(), Reason: "a page cannot be read: " + quoteFew(fmt.Sprint(r), 80)}
			panicked = true
		}
	}()
	return fn(), false
}

// view is db.View under guard.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	return s.guard(func() error { return s.db.View(fn) })
}

// update is db.Update under guard. bbolt rolls the transaction back when fn
// or its own commit panics, but when the damaged page is the freelist the
// rollback panics too, and bbolt's write lock stays taken: every later
// write, and db.Close, would wait for ever. So after a panic the store
// writes no more: update returns that *DamagedError at once, and Close
// leaves the file (and its lock) to the end of the process.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if d := s.broken.Load(); d != nil {
		return d
	}
	err, panicked := s.guardPanic(func() error { return s.db.Update(fn) })
	if panicked {
		s.broken.CompareAndSwap(nil, err.(*DamagedError))
	}
	return err
}

// closeDB closes config.db unless a write panicked (see update).
func (s *Store) closeDB() error {
	if d := s.broken.Load(); d != nil {
		return d
	}
	return s.db.Close()
}

// dbPath is config.db's path, known before and after the database is open.
func (s *Store) dbPath() string {
	if s.db != nil {
		return s.db.Path()
	}
	return s.dir + "/config.db"
}

// damaged is the *DamagedError for config.db with reason r.
func (s *Store) damaged(format string, a ...any) *DamagedError {
	return &DamagedError{Path: s.dbPath(), Reason: fmt.Sprintf(format, a...)}
}

// checkDB runs bbolt's consistency check (every reachable page reachable
// once, of the right type, keys in order, free pages not in use), so that
// a damaged file is refused when it is opened rather than misread or found
// half-way through a commit. Called by openDB inside guard.
//
// tx.Check reads the pages on a goroutine of its own, where a fault past
// the end of the file would end the process; every page, key and value is
// therefore first touched here, where guard turns a fault into an error.
func (s *Store) checkDB() error {
	return s.db.View(func(tx *bolt.Tx) error {
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			touch(name)
			touchBucket(b, 0)
			return nil
		})
		if err != nil {
			return err
		}
		var first error
		n := 0
		for err := range tx.Check(bolt.WithKVStringer(fewBytes{})) {
			// Drain the channel: the checker's goroutine ends only then.
			if first == nil {
				first = err
			}
			n++
		}
		if first != nil {
			return s.damaged("bbolt's consistency check found %d problem(s), the first: %s", n, quoteFew(first.Error(), 160))
		}
		return nil
	})
}

// touchBucket reads the first and last byte of every key and value in b and
// its nested buckets (depth bounds a loop of buckets made by damage).
func touchBucket(b *bolt.Bucket, depth int) {
	if depth > 8 {
		panic("buckets nested too deep")
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		touch(k)
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				touchBucket(nb, depth+1)
			}
			continue
		}
		touch(v)
	}
}

// touch reads p's first and last byte; the mapping is contiguous, so if
// both are inside the file every byte between is too. It is not inlined, so
// the reads are not optimised away although the result is unused.
//
//go:noinline
func touch(p []byte) byte {
	if len(p) == 0 {
		return 0
	}
	return p[0] ^ p[len(p)-1]
}

// fewBytes is the consistency check's KVStringer: a few bytes in hex and
// the length, never a whole key or value.
type fewBytes struct{}

func (fewBytes) KeyToString(b []byte) string   { return hexFew(b) }
func (fewBytes) ValueToString(b []byte) string { return hexFew(b) }

func hexFew(b []byte) string {
	const n = 8
	if len(b) <= n {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x… (%d bytes)", b[:n], len(b))
}

// quoteFew quotes at most n bytes of s, escaped (Go syntax), marking a cut:
// a damaged value's bytes may be a neighbouring secret, and its control
// characters must not reach the terminal.
func quoteFew(s string, n int) string {
	if len(s) <= n {
		q := strconv.Quote(s)
		return q[1 : len(q)-1]
	}
	q := strconv.Quote(s[:n])
	return q[1:len(q)-1] + fmt.Sprintf("… (%d bytes)", len(s))
}
