package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// schemaVersion is the layout of config.db this binary writes. A data
// directory written by a newer binary is refused rather than misread.
const schemaVersion = 1

// Bucket and key names in config.db.
var (
	bucketMeta     = []byte("meta")     // schema, secret key
	bucketTables   = []byte("tables")   // table name -> text form
	bucketTableVer = []byte("tablever") // table name -> 8-byte version
	bucketHistory  = []byte("history")  // id -> versionRecord (JSON)
	bucketHistCfg  = []byte("histcfg")  // id -> historyConfig (JSON)
	bucketState    = []byte("state")    // runtime state, not configuration
	keySchema      = []byte("schema")
	keySecret      = []byte("secret_key")
)

// Options are the doors Open takes from its caller.
type Options struct {
	// Now is the clock for commit times and file names; nil means time.Now.
	Now func() time.Time
	// LockTimeout is how long Open waits for another owner to let go of
	// the data directory; 0 means 50ms, i.e. one try: a second esa must
	// stop at once, never hang (ARCHITECTURE.md "one owner of the store file").
	LockTimeout time.Duration
}

// LockedError is returned by Open when another live process owns the data
// directory.
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("data directory %s is in use by another process", e.Dir)
	}
	return fmt.Sprintf("data directory %s is in use by process %d", e.Dir, e.PID)
}

// ErrNothingToCommit is returned by Commit and Clear when the session has no
// pending changes.
var ErrNothingToCommit = errors.New("there is no data to commit")

// Store is the open data directory. It is safe for concurrent use by many
// sessions.
type Store struct {
	dir string
	db  *bolt.DB
	now func() time.Time
	key []byte // AES-256 key for EncryptSecrets

	mu        sync.RWMutex // guards committed, ver, enc
	committed Config
	ver       []uint64 // per table, parallel to tables
	enc       [][]byte // per table: committed text form (never mutated)

	commitMu sync.Mutex // serialises commits and their notifications

	subMu   sync.Mutex
	subs    map[int]func(Config)
	nextSub int
}

// Open opens (creating if needed) the data directory dir. The first open of
// a fresh directory commits Defaults() as version 1, "Initial configuration".
func Open(dir string, o Options) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	s := &Store{dir: abs, now: o.Now, subs: map[int]func(Config){}}
	if s.now == nil {
		s.now = time.Now
	}
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	if err := s.openDB(filepath.Join(abs, "config.db"), timeout); err != nil {
		return nil, err
	}
	db := s.db
	// Only the lock holder writes the PID, so the file names the live owner.
	if err := writeFileAtomic(filepath.Join(abs, "esa.pid"), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		db.Close()
		return nil, err
	}
	if err := os.MkdirAll(s.ConfigDir(), 0o700); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// DamagedError is returned by Open when config.db cannot be read as a
// configuration store: it is empty, truncated, or not a bbolt file. Open
// never repairs or replaces such a file (that would silently reset the
// appliance to its defaults and a new secret key); the administrator moves
// it away or restores a backup.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("store: %s is damaged: %s; move it away to start from the defaults, or restore a backup", e.Path, e.Reason)
}

// openDB opens config.db and loads the committed tables. bbolt trusts the
// file it maps: on a truncated or scribbled-over file it panics (a freelist
// or branch page of the wrong type) or touches memory past the end of the
// file (SIGBUS). Both are turned into a *DamagedError here, in this
// goroutine, instead of taking the process down.
func (s *Store) openDB(path string, timeout time.Duration) (err error) {
	// A zero-length file is what bbolt would silently initialise as a new,
	// empty store; an existing store truncated to nothing must not come
	// back as factory defaults. (A file bbolt itself creates is never left
	// empty once Open returns: it writes and syncs its first pages first.)
	if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() && st.Size() == 0 {
		return &DamagedError{Path: path, Reason: "the file is empty (0 bytes)"}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if s.db != nil {
				s.db.Close()
				s.db = nil
			}
			err = &DamagedError{Path: path, Reason: fmt.Sprint(r)}
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return &LockedError{Dir: s.dir, PID: readPID(filepath.Join(s.dir, "esa.pid"))}
	}
	var pe *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.As(err, &pe) || errors.As(err, &errno):
		// The system refused (permissions, a directory in the way, no
		// space): the file itself may be fine.
		return fmt.Errorf("store: open %s: %w", path, err)
	case errors.Is(err, bolt.ErrInvalid):
		return &DamagedError{Path: path, Reason: "not a bbolt database"}
	default:
		// bbolt's own checks of the file: checksum, version, size.
		return &DamagedError{Path: path, Reason: err.Error()}
	}
	s.db = db
	if err := s.load(); err != nil {
		db.Close()
		s.db = nil
		return err
	}
	return nil
}

// readPID reads the owner's PID; the owner may be between taking the lock
// and writing the file, so a few short retries cover that window.
func readPID(path string) int {
	for i := 0; i < 5; i++ {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// load checks the schema, seeds a fresh store and reads the committed tables.
func (s *Store) load() error {
	s.ver = make([]uint64, len(tables))
	s.enc = make([][]byte, len(tables))
	st, err := os.Stat(s.db.Path())
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		// The meta page says how far the pages reach; a file shorter than
		// that lost its tail, and reading those pages would fault.
		if tx.Size() > st.Size() {
			return &DamagedError{Path: s.db.Path(), Reason: fmt.Sprintf("the file is truncated (%d bytes, its pages reach %d)", st.Size(), tx.Size())}
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for _, b := range [][]byte{bucketTables, bucketTableVer, bucketHistory, bucketHistCfg, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		fresh := meta.Get(keySchema) == nil
		if !fresh {
			v, err := strconv.Atoi(string(meta.Get(keySchema)))
			if err != nil {
				return fmt.Errorf("store: %s: unreadable schema version %q", s.dir, meta.Get(keySchema))
			}
			if v > schemaVersion {
				return fmt.Errorf("store: data directory %s has configuration schema %d, newer than the %d this program knows; use a newer esa", s.dir, v, schemaVersion)
			}
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
			return err
		}
		// The secret key lives in its own 0600 file, not in config.db
		// (secret.go).
		if err := s.loadKey(meta); err != nil {
			return err
		}
		// Tables missing from the file (a fresh store, or a table added by
		// a later version) start from their defaults at version 1.
		def := Defaults()
		s.committed = Defaults()
		tb, vb := tx.Bucket(bucketTables), tx.Bucket(bucketTableVer)
		for i, t := range tables {
			data := tb.Get([]byte(t.name))
			if data == nil {
				s.enc[i] = s.encodeTable(t, &def)
				s.ver[i] = 1
				if err := tb.Put([]byte(t.name), s.enc[i]); err != nil {
					return err
				}
				if err := vb.Put([]byte(t.name), u64(1)); err != nil {
					return err
				}
				continue
			}
			if err := s.decodeTable(t, data, &s.committed); err != nil {
				return fmt.Errorf("store: %s: %w", s.dir, err)
			}
			s.enc[i] = s.encodeTable(t, &s.committed)
			if v := vb.Get([]byte(t.name)); len(v) == 8 {
				s.ver[i] = binary.BigEndian.Uint64(v)
			}
		}
		if err := s.sealStored(tx); err != nil {
			return err
		}
		if fresh {
			return s.putVersion(tx, "system", "Initial configuration", s.now(), s.enc)
		}
		return nil
	})
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// versionRecord is a rollback point's description; its configuration is kept
// apart (bucketHistCfg) so listing versions does not read every snapshot.
type versionRecord struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Comment string    `json:"comment"`
}

// putVersion stores a rollback point holding the given table texts.
func (s *Store) putVersion(tx *bolt.Tx, user, comment string, t time.Time, enc [][]byte) error {
	h := tx.Bucket(bucketHistory)
	id, err := h.NextSequence()
	if err != nil {
		return err
	}
	rec, err := json.Marshal(versionRecord{Time: t, User: user, Comment: comment})
	if err != nil {
		return err
	}
	cfg := map[string]string{}
	for i, tb := range tables {
		cfg[tb.name] = string(enc[i])
	}
	cb, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := h.Put(u64(id), rec); err != nil {
		return err
	}
	hc := tx.Bucket(bucketHistCfg)
	if err := hc.Put(u64(id), cb); err != nil {
		return err
	}
	// Keep the newest MaxVersions rollback points: each holds a whole
	// configuration, so an unpruned history would grow the file forever.
	n := 0
	c := h.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	for ; n > MaxVersions; n-- {
		k, _ := c.First()
		if k == nil {
			break
		}
		if err := hc.Delete(k); err != nil {
			return err
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// MaxVersions is how many rollback points are kept (the appliance offers
// the last ten committed configurations).
const MaxVersions = 10

// Close releases the data directory.
func (s *Store) Close() error {
	pidFile := filepath.Join(s.dir, "esa.pid")
	if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(pidFile)
	}
	return s.db.Close()
}

// Dir is the data directory (absolute).
func (s *Store) Dir() string { return s.dir }

// Committed returns a deep copy of the committed configuration.
func (s *Store) Committed() Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.committed.Clone()
}

// snapshot returns a copy of the committed config with its table versions
// and text forms.
func (s *Store) snapshot() (Config, []uint64, [][]byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.committed.Clone(), append([]uint64(nil), s.ver...), append([][]byte(nil), s.enc...)
}

// Subscribe registers fn to be called, in commit order, with a copy of the
// new committed configuration after every commit. fn must not commit.
func (s *Store) Subscribe(fn func(Config)) (cancel func()) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		delete(s.subs, id)
	}
}

func (s *Store) notify(c Config) {
	s.subMu.Lock()
	fns := make([]func(Config), 0, len(s.subs))
	for id := 0; id < s.nextSub; id++ {
		if fn, ok := s.subs[id]; ok {
			fns = append(fns, fn)
		}
	}
	s.subMu.Unlock()
	for _, fn := range fns {
		fn(c.Clone())
	}
}

// Version is a rollback point.
type Version struct {
	ID      int
	Time    time.Time
	User    string
	Comment string
}

// Versions lists the rollback points, newest first.
func (s *Store) Versions() ([]Version, error) {
	var out []Version
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r versionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: version %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, Version{ID: int(binary.BigEndian.Uint64(k)), Time: r.Time, User: r.User, Comment: r.Comment})
		}
		return nil
	})
	return out, err
}

// versionConfig returns the full configuration saved with version id.
func (s *Store) versionConfig(id int) (Config, error) {
	c := Defaults()
	err := s.db.View(func(tx *bolt.Tx) error {
		if id <= 0 {
			return fmt.Errorf("no configuration version %d", id)
		}
		data := tx.Bucket(bucketHistCfg).Get(u64(uint64(id)))
		if data == nil {
			return fmt.Errorf("no configuration version %d", id)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("version %d: %w", id, err)
		}
		for _, t := range tables {
			if text, ok := m[t.name]; ok {
				if err := s.decodeTable(t, []byte(text), &c); err != nil {
					return fmt.Errorf("version %d: %w", id, err)
				}
			}
		}
		return nil
	})
	return c, err
}

// GetState returns runtime state stored under key (e.g. RFC 5011 trust
// anchor state), or nil, nil if there is none. State is not configuration:
// it is not versioned, not in sessions and not in configuration files.
func (s *Store) GetState(key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketState).Get([]byte(key)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}

// PutState stores val under key in one durable transaction.
func (s *Store) PutState(key string, val []byte) error {
	if key == "" {
		return errors.New("store: empty state key")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).Put([]byte(key), bytes.Clone(val))
	})
}
