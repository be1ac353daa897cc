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
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
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
	keyTableList   = []byte("tables") // names of the tables the store holds
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
	// BoltLogger receives bbolt's own messages; nil discards them. Its
	// debug lines "Committing transaction N" and "Committing transaction N
	// successfully" bracket the durable part of every commit (page writes
	// and fdatasync): the crash test kills a process between them.
	BoltLogger bolt.Logger
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

	// cur is the committed state. A commit installs a new one; none is
	// ever modified, so readers need no lock (Snapshot).
	cur atomic.Pointer[committedState]

	commitMu sync.Mutex // serialises commits
	// broken is set when a write transaction panicked (damage.go update):
	// bbolt's write lock may be held for good, so nothing writes again.
	broken atomic.Pointer[DamagedError]
	// notifyMu keeps commit announcements in commit order: a commit takes
	// it before it lets go of commitMu, and announces holding only it.
	notifyMu sync.Mutex

	hookMu   sync.Mutex // guards hooks, subs, history
	hooks    []hook
	nextHook int
	subs     []*subscriber
	history  HistoryLog
	subWG    sync.WaitGroup // subscriber goroutines running
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
	s := &Store{dir: abs, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	if err := s.openDB(filepath.Join(abs, "config.db"), timeout, o.BoltLogger); err != nil {
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
func (s *Store) openDB(path string, timeout time.Duration, lg bolt.Logger) (err error) {
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
				s.closeDB()
				s.db = nil
			}
			err = &DamagedError{Path: path, Reason: quoteFew(fmt.Sprint(r), 120)}
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, Logger: lg})
	if errors.Is(err, bberrors.ErrTimeout) {
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
	case errors.Is(err, bberrors.ErrInvalid):
		return &DamagedError{Path: path, Reason: "not a bbolt database"}
	default:
		// bbolt's own checks of the file: checksum, version, size.
		return &DamagedError{Path: path, Reason: err.Error()}
	}
	s.db = db
	for _, step := range []func() error{s.checkSize, s.checkDB, s.load} {
		if err := step(); err != nil {
			s.closeDB()
			s.db = nil
			return err
		}
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

// checkSize refuses a file shorter than its pages reach: the meta page says
// how far they go, and a file that lost its tail would fault when read.
func (s *Store) checkSize() error {
	st, err := os.Stat(s.db.Path())
	if err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Size() > st.Size() {
			return s.damaged("the file is truncated (%d bytes, its pages reach %d)", st.Size(), tx.Size())
		}
		return nil
	})
}

// load checks the schema, seeds a fresh store and reads the committed tables.
// Factory defaults are written only into a new, empty file: a store that has
// any of its buckets but lacks a table (a renamed or lost key) is damaged,
// and writing defaults over it would reset the appliance silently.
func (s *Store) load() error {
	ver := make([]uint64, len(tables))
	enc := make([][]byte, len(tables))
	committed := Defaults()
	err := s.update(func(tx *bolt.Tx) error {
		fresh, err := s.freshOrWhole(tx)
		if err != nil {
			return err
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
		if !fresh {
			raw := meta.Get(keySchema)
			v, err := strconv.Atoi(string(raw))
			if err != nil || len(raw) > maxSchemaSize || v < 1 {
				return s.damaged("the schema version is unreadable (%d bytes)", len(raw))
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
		held, err := s.heldTables(meta, fresh)
		if err != nil {
			return err
		}
		tb, vb := tx.Bucket(bucketTables), tx.Bucket(bucketTableVer)
		for i, t := range tables {
			if !held[t.name] {
				// New in this version (or a new store): its defaults.
				if !fresh && tb.Get([]byte(t.name)) != nil {
					return s.damaged("table %q is stored but not in its table list", t.name)
				}
				enc[i] = s.encodeTable(t, &committed)
				ver[i] = 1
				if err := tb.Put([]byte(t.name), enc[i]); err != nil {
					return err
				}
				if err := vb.Put([]byte(t.name), u64(1)); err != nil {
					return err
				}
				continue
			}
			data := tb.Get([]byte(t.name))
			if err := s.readStoredTable(t, data, &committed); err != nil {
				return err
			}
			enc[i] = s.encodeTable(t, &committed)
			v := vb.Get([]byte(t.name))
			if len(v) != 8 {
				return s.damaged("the version of table %q is missing or unreadable (%d bytes)", t.name, len(v))
			}
			ver[i] = binary.BigEndian.Uint64(v)
		}
		if err := meta.Put(keyTableList, []byte(strings.Join(tableNames(allTables), "\n"))); err != nil {
			return err
		}
		if err := s.sealStored(tx, enc); err != nil {
			return err
		}
		if fresh {
			return s.putVersion(tx, "system", "Initial configuration", s.now(), enc)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.cur.Store(&committedState{cfg: &committed, ver: ver, enc: enc})
	return nil
}

// legacyTables are the tables of stores written before config.db listed
// its tables (keyTableList).
var legacyTables = []string{"system", "logs", "dns"}

// allTables is the mask of every table (tableNames).
var allTables = uint64(1)<<len(tables) - 1

// heldTables is the set of tables the store says it holds. A table of this
// version that the store does not list was added after the store was
// written and starts from its defaults; a listed table that is missing is
// damage.
func (s *Store) heldTables(meta *bolt.Bucket, fresh bool) (map[string]bool, error) {
	held := map[string]bool{}
	if fresh {
		return held, nil
	}
	names := legacyTables
	if raw := meta.Get(keyTableList); raw != nil {
		if len(raw) > 4096 {
			return nil, s.damaged("its table list has an impossible size (%d bytes)", len(raw))
		}
		names = strings.Split(string(raw), "\n")
	}
	for _, n := range names {
		if tableIndex(n) < 0 {
			return nil, s.damaged("its table list names an unknown table %q", quoteFew(n, 16))
		}
		held[n] = true
	}
	return held, nil
}

// freshOrWhole tells a new, empty file (bbolt's own initial pages, no
// bucket) from a store, and refuses a store missing a bucket or holding a
// table this program does not know (a later schema would have said so in
// its schema version).
func (s *Store) freshOrWhole(tx *bolt.Tx) (fresh bool, err error) {
	empty := true
	tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
	if empty {
		return true, nil
	}
	for _, b := range [][]byte{bucketMeta, bucketTables, bucketTableVer, bucketHistory, bucketHistCfg, bucketState} {
		if tx.Bucket(b) == nil {
			return false, s.damaged("its %q bucket is missing", b)
		}
	}
	if tx.Bucket(bucketMeta).Get(keySchema) == nil {
		return false, s.damaged("the schema version is missing")
	}
	c := tx.Bucket(bucketTables).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if tableIndex(string(k)) < 0 {
			return false, s.damaged("it holds an unknown table %q", quoteFew(string(k), 16))
		}
	}
	return false, nil
}

// readStoredTable decodes table t's stored text form into c. A missing,
// oversized or unreadable value is damage; the message gives its size and
// the line only, never its bytes (they may be a passphrase, or a
// neighbouring page's).
func (s *Store) readStoredTable(t table, data []byte, c *Config) error {
	switch {
	case data == nil:
		return s.damaged("table %q is missing", t.name)
	case len(data) > maxTableSize:
		return s.damaged("table %q has an impossible size (%d bytes)", t.name, len(data))
	}
	if err := s.decodeTable(t, data, c); err != nil {
		// A passphrase this key file does not open is a key problem, not
		// damage: with secrets set aside the table reads. That message is
		// the store's own and quotes nothing.
		var scratch Config
		if decodeTableWith(t, data, &scratch, func(Secret) (Secret, error) { return "", nil }) == nil {
			return fmt.Errorf("store: %s: %w", s.dir, err)
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			return s.damaged("table %q is unreadable at line %d of its stored form", t.name, pe.Line)
		}
		return s.damaged("table %q is unreadable", t.name)
	}
	return nil
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

// Close releases the data directory. Subscribers hear of nothing after it;
// Close waits for the calls already running.
func (s *Store) Close() error {
	for _, sub := range s.forget() {
		sub.close()
	}
	s.subWG.Wait()
	pidFile := filepath.Join(s.dir, "esa.pid")
	if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(pidFile)
	}
	return s.closeDB()
}

// Dir is the data directory (absolute).
func (s *Store) Dir() string { return s.dir }

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
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if len(k) != 8 || len(v) > maxRecordSize {
				return s.damaged("a rollback point's record is unreadable (%d-byte key, %d bytes)", len(k), len(v))
			}
			var r versionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return s.damaged("the record of rollback point %d is unreadable", binary.BigEndian.Uint64(k))
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
	err := s.view(func(tx *bolt.Tx) error {
		if id <= 0 {
			return fmt.Errorf("no configuration version %d", id)
		}
		data := tx.Bucket(bucketHistCfg).Get(u64(uint64(id)))
		if data == nil {
			return fmt.Errorf("no configuration version %d", id)
		}
		if len(data) > maxHistCfgSize {
			return s.damaged("rollback point %d has an impossible size (%d bytes)", id, len(data))
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return s.damaged("rollback point %d is unreadable", id)
		}
		for _, t := range tables {
			if text, ok := m[t.name]; ok {
				if len(text) > maxTableSize {
					return s.damaged("rollback point %d: table %q has an impossible size (%d bytes)", id, t.name, len(text))
				}
				if err := s.decodeTable(t, []byte(text), &c); err != nil {
					line := 0
					var pe *ParseError
					if errors.As(err, &pe) {
						line = pe.Line
					}
					return s.damaged("rollback point %d: table %q is unreadable at line %d of its stored form", id, t.name, line)
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
	err := s.view(func(tx *bolt.Tx) error {
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
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).Put([]byte(key), bytes.Clone(val))
	})
}
