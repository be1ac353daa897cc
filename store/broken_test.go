package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bigStore writes a valid config.db of several hundred KB (a large trust
// anchor in many rollback points) and returns its bytes and how far its
// pages reach (bbolt grows the file ahead of use, so the tail is slack).
func bigStore(t *testing.T) ([]byte, int) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss := s.NewSession("t")
	for i := 0; i < 8; i++ {
		if err := ss.Update(func(c *Config) error {
			c.DNS.TrustAnchor = strings.Repeat("; filler line "+itoa(i)+"\n", 4000)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Commit("big", true); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, "config.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	db.Close()
	b, err := os.ReadFile(filepath.Join(dir, "config.db"))
	if err != nil {
		t.Fatal(err)
	}
	return b, int(used)
}

// TestOpenBrokenStore: a config.db that is empty, random or truncated gives
// a *DamagedError naming the file at Open: never a panic, a hang, or a
// silent reset to the defaults.
func TestOpenBrokenStore(t *testing.T) {
	good, used := bigStore(t)
	if len(good) < 256<<10 {
		t.Fatalf("test store is only %d bytes", len(good))
	}
	random := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(random)
	const tail = "; move it away to start from the defaults, or restore a backup"
	cases := []struct {
		name string
		data []byte
		want string // regexp after "store: PATH is damaged: "
	}{
		{"empty", nil, `the file is empty \(0 bytes\)`},
		{"random", random, `not a bbolt database`},
		{"first 100 bytes", good[:100], `not a bbolt database`},
		{"first page", good[:4096], `file size too small 4096`},
		{"both meta pages only", good[:8192], `invalid freelist page: \d+, page type is .*`},
		{"first half", good[:len(good)/2/4096*4096], `the file is truncated \(\d+ bytes, its pages reach \d+\)|invalid freelist page: .*`},
		{"all but the last used page", good[:used-4096], `the file is truncated \(\d+ bytes, its pages reach \d+\)`},
		{"meta pages zeroed", append(make([]byte, 8192), good[8192:]...), `not a bbolt database`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.db")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				s, err := Open(dir, Options{})
				if err == nil {
					s.Close()
				}
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second): // a hang is the bug, not slowness
				t.Fatal("Open hangs")
			}
			var de *DamagedError
			if !errors.As(err, &de) || de.Path != path {
				t.Fatalf("got %v (%T), want a *DamagedError for %s", err, err, path)
			}
			re := regexp.MustCompile("^" + regexp.QuoteMeta("store: "+path+" is damaged: ") + "(" + tc.want + ")" + regexp.QuoteMeta(tail) + "$")
			if !re.MatchString(err.Error()) {
				t.Fatalf("got  %q\nwant %s", err, re)
			}
			// The damaged file is left as it was for the administrator.
			if b, _ := os.ReadFile(path); len(b) != len(tc.data) {
				t.Fatalf("Open changed the damaged file: %d bytes, was %d", len(b), len(tc.data))
			}
		})
	}
}

// TestOpenUnusableDir: a data directory that cannot be used gives an error
// naming the path, not a panic. (Permission bits cannot be tested here:
// tests may run as root, which ignores them; a file where a directory
// belongs fails the same system calls.)
func TestOpenUnusableDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := Open(file, Options{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("data directory is a file: %v", err)
	}
	dir := filepath.Join(base, "d")
	if err := os.MkdirAll(filepath.Join(dir, "config.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	want := "store: open " + filepath.Join(dir, "config.db") + ": "
	if _, err := Open(dir, Options{}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("config.db is a directory: got %v, want prefix %q", err, want)
	}
}

// twoPointStore writes a store with two rollback points (as in issue 12's
// reproduction) whose tables span several pages, and returns its
// directory (config.db and the key file).
func twoPointStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss := s.NewSession("t")
	for i := 0; i < 2; i++ {
		if err := ss.Update(func(c *Config) error {
			bigLogs(c, 40+i)
			c.DNS.TrustAnchor = strings.Repeat("; anchor filler "+itoa(i)+"\n", 600)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Commit("point "+itoa(i), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyDir copies the files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// pagesInUse lists config.db's pages that start a branch, leaf or freelist
// page (not free pages, not the meta pages, not the continuation pages of
// an overflow run), and the page size.
func pagesInUse(t *testing.T, path string) ([]int, int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []int
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p == nil {
				return nil
			}
			if p.Type != "free" {
				ids = append(ids, id)
			}
			id += p.OverflowCount
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, db.Info().PageSize
}

// zeroPage overwrites page id of the file at path with zeros, through a
// descriptor of its own: a store that has the file open sees the damage in
// its mapping at once.
func zeroPage(t *testing.T, path string, id, size int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, size), int64(id*size)); err != nil {
		t.Fatal(err)
	}
}

// within runs fn on its own goroutine and fails the test if it does not
// return within hangLimit (a hang is the bug) or panics.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn()
	}()
	select {
	case r := <-done:
		if r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	case <-time.After(hangLimit):
		t.Fatalf("%s hangs", what)
	}
}

// TestCommitOnDamagedPage: a page of config.db zeroed while the store is
// open (so Open's check did not see it) makes Commit fail with a
// *DamagedError naming the file, never panic; the session and the store
// stay usable and close (issue 12 item 15: the panic escaped Commit with
// the session lock held, and exit then blocked forever).
func TestCommitOnDamagedPage(t *testing.T) {
	tmpl := twoPointStore(t)
	ids, size := pagesInUse(t, filepath.Join(tmpl, "config.db"))
	if len(ids) < 3 {
		t.Fatalf("only %d pages in use", len(ids))
	}
	refused := 0
	for _, id := range ids {
		dir := copyDir(t, tmpl)
		path := filepath.Join(dir, "config.db")
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("page %d: open before damage: %v", id, err)
		}
		ss := s.NewSession("t")
		if err := ss.Update(func(c *Config) error { c.System.Hostname = "after.example.com"; return nil }); err != nil {
			t.Fatal(err)
		}
		zeroPage(t, path, id, size)
		var cerr error
		within(t, fmt.Sprintf("page %d: Commit", id), func() { _, cerr = ss.Commit("after damage", true) })
		var de *DamagedError
		switch {
		case cerr == nil:
		case errors.As(cerr, &de) && de.Path == path:
			refused++
			if n := len(cerr.Error()); n > 400 {
				t.Errorf("page %d: %d-byte message", id, n)
			}
			if !ss.Pending() {
				t.Errorf("page %d: the refused commit dropped the session's changes", id)
			}
		default:
			t.Errorf("page %d: Commit: %v (%T), want nil or a *DamagedError for %s", id, cerr, cerr, path)
		}
		within(t, fmt.Sprintf("page %d: session use after the commit", id), func() {
			ss.Pending()
			ss.Config()
		})
		within(t, fmt.Sprintf("page %d: Close", id), func() { s.Close() })
	}
	// Most pages the commit reads (the tables, the history it prunes)
	// are refused; a page it only frees is rewritten harmlessly.
	if refused == 0 {
		t.Fatal("no zeroed page made Commit fail: the test does not reach the damage")
	}
	t.Logf("%d of %d zeroed pages refused by Commit", refused, len(ids))
}

// TestOpenChecksEveryPage: whichever page in use is zeroed, Open refuses the
// file with a *DamagedError and leaves it as it was: bbolt's consistency
// check runs at Open, so damage is found before anything reads or commits
// (issue 12 item 16; before, a zeroed rollback-point page opened fine).
func TestOpenChecksEveryPage(t *testing.T) {
	tmpl := twoPointStore(t)
	ids, size := pagesInUse(t, filepath.Join(tmpl, "config.db"))
	for _, id := range ids {
		dir := copyDir(t, tmpl)
		path := filepath.Join(dir, "config.db")
		zeroPage(t, path, id, size)
		before, _ := os.ReadFile(path)
		var err error
		within(t, fmt.Sprintf("page %d: Open", id), func() {
			var s *Store
			if s, err = Open(dir, Options{}); err == nil {
				s.Close()
			}
		})
		var de *DamagedError
		if !errors.As(err, &de) || de.Path != path {
			t.Errorf("page %d zeroed: Open: %v, want a *DamagedError for %s", id, err, path)
			continue
		}
		if n := len(err.Error()); n > 400 {
			t.Errorf("page %d: %d-byte message: %.400s", id, n, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Errorf("page %d: Open changed the damaged file", id)
		}
	}
}

// rawEdit changes config.db directly through bbolt, as damage or a
// hand edit would.
func rawEdit(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "config.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestOpenNeverResets: a store that lost or renamed a table key, a bucket or
// its schema version is refused, never filled with factory defaults (before,
// renaming the "system" key reset the host name, and the reset persisted).
// Only a new, empty file gets the defaults.
func TestOpenNeverResets(t *testing.T) {
	tmpl := t.TempDir()
	s, err := Open(tmpl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss := s.NewSession("t")
	if err := ss.Update(func(c *Config) error { c.System.Hostname = "kept.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("", true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cases := []struct {
		name string
		edit func(tx *bolt.Tx) error
		want string
	}{
		{"system key renamed", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketTables)
			v := bytes.Clone(b.Get([]byte("system")))
			if err := b.Delete([]byte("system")); err != nil {
				return err
			}
			return b.Put([]byte("systen"), v)
		}, `it holds an unknown table "systen"`},
		{"system key deleted", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTables).Delete([]byte("system"))
		}, `table "system" is missing`},
		{"dns version deleted", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTableVer).Delete([]byte("dns"))
		}, `the version of table "dns" is missing or unreadable (0 bytes)`},
		{"tables bucket deleted", func(tx *bolt.Tx) error {
			return tx.DeleteBucket(bucketTables)
		}, `its "tables" bucket is missing`},
		{"dns deleted though listed", func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketMeta).Put(keyTableList, []byte(strings.Join(tableNames(allTables), "\n"))); err != nil {
				return err
			}
			return tx.Bucket(bucketTables).Delete([]byte("dns"))
		}, `table "dns" is missing`},
		{"table list names an unknown table", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyTableList, []byte(strings.Join(tableNames(allTables), "\n")+"\nfuture"))
		}, `its table list names an unknown table "future"`},
		{"schema deleted", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Delete(keySchema)
		}, `the schema version is missing`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, tmpl)
			rawEdit(t, dir, tc.edit)
			path := filepath.Join(dir, "config.db")
			before, _ := os.ReadFile(path)
			_, err := Open(dir, Options{})
			var de *DamagedError
			if !errors.As(err, &de) || de.Reason != tc.want {
				t.Fatalf("Open: %v, want a *DamagedError saying %q", err, tc.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("Open changed the damaged file")
			}
		})
	}
	// A table this version adds (here: dns, absent from the store's table
	// list) starts from its defaults; the others keep their values.
	t.Run("table added by a later version", func(t *testing.T) {
		dir := copyDir(t, tmpl)
		rawEdit(t, dir, func(tx *bolt.Tx) error {
			list := strings.Join(tableNames(allTables&^(1<<tableIndex("dns"))), "\n")
			if err := tx.Bucket(bucketMeta).Put(keyTableList, []byte(list)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketTables).Delete([]byte("dns")); err != nil {
				return err
			}
			return tx.Bucket(bucketTableVer).Delete([]byte("dns"))
		})
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if c := s.Snapshot(); c.System.Hostname != "kept.example.com" || c.DNS.Timeout != Defaults().DNS.Timeout {
			t.Fatalf("hostname %q, dns timeout %d", c.System.Hostname, c.DNS.Timeout)
		}
	})
	// A store written before config.db listed its tables holds the first
	// three; the tables added since start from their defaults.
	t.Run("store without a table list", func(t *testing.T) {
		dir := copyDir(t, tmpl)
		rawEdit(t, dir, func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketMeta).Delete(keyTableList); err != nil {
				return err
			}
			for _, name := range tableNames(allTables)[len(legacyTables):] {
				if err := tx.Bucket(bucketTables).Delete([]byte(name)); err != nil {
					return err
				}
				if err := tx.Bucket(bucketTableVer).Delete([]byte(name)); err != nil {
					return err
				}
			}
			return nil
		})
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if c := s.Snapshot(); c.System.Hostname != "kept.example.com" {
			t.Fatalf("hostname %q", c.System.Hostname)
		}
	})
	// The untouched store still has its host name.
	s, err = Open(copyDir(t, tmpl), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h := s.Snapshot().System.Hostname; h != "kept.example.com" {
		t.Fatalf("hostname %q", h)
	}
}

// TestDamageQuotesFewBytes: a damaged value is reported by size and line,
// never by content: an oversized schema version, an unreadable table
// holding a secret, an impossible table size (before, one flipped length
// bit made esa format a 512 MiB value and print the secret key).
func TestDamageQuotesFewBytes(t *testing.T) {
	tmpl := t.TempDir()
	s, err := Open(tmpl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	const secret = "TOPSECRET-0123456789"
	cases := []struct {
		name string
		edit func(tx *bolt.Tx) error
		want string
	}{
		{"schema value of 1 MiB", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, []byte(strings.Repeat(secret, 1<<16)))
		}, `the schema version is unreadable (1310720 bytes)`},
		{"schema value not a number", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, []byte(secret[:7]+"\x1b"))
		}, `the schema version is unreadable (8 bytes)`},
		{"table with a secret where a number belongs", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTables).Put([]byte("logs"), []byte("<logs>\n  <metrics_frequency>"+secret+"</metrics_frequency>\n</logs>\n"))
		}, `table "logs" is unreadable at line 2 of its stored form`},
		{"table of 17 MiB", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTables).Put([]byte("dns"), bytes.Repeat([]byte(secret), (17<<20)/len(secret)))
		}, `table "dns" has an impossible size (17825780 bytes)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, tmpl)
			rawEdit(t, dir, tc.edit)
			_, err := Open(dir, Options{})
			var de *DamagedError
			if !errors.As(err, &de) || de.Reason != tc.want {
				t.Fatalf("Open: %.300v, want a *DamagedError saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret[:5]) || len(err.Error()) > 400 {
				t.Fatalf("the message quotes the damaged data: %.500s", err)
			}
		})
	}
}

// TestWritesStopAfterPanickedWrite: with every page past the meta pages
// zeroed under an open store, bbolt's rollback of the failed commit panics
// too (it rereads the freelist page) and keeps its write lock. Commit
// reports the damaged file, a second Commit and PutState say the same at
// once instead of waiting on that lock, and Close returns.
func TestWritesStopAfterPanickedWrite(t *testing.T) {
	dir := copyDir(t, twoPointStore(t))
	path := filepath.Join(dir, "config.db")
	_, size := pagesInUse(t, path) // before Open takes the file's lock
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss := s.NewSession("t")
	if err := ss.Update(func(c *Config) error { c.System.Hostname = "after.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for id := 2; id < int(st.Size())/size; id++ {
		zeroPage(t, path, id, size)
	}
	for i := 0; i < 2; i++ {
		var err error
		within(t, fmt.Sprintf("commit %d", i+1), func() { _, err = ss.Commit("", false) })
		var de *DamagedError
		if !errors.As(err, &de) || de.Path != path {
			t.Fatalf("commit %d: %v, want a *DamagedError for %s", i+1, err, path)
		}
	}
	within(t, "PutState", func() {
		if err := s.PutState("k", []byte("v")); err == nil {
			t.Error("PutState succeeded on a store whose write panicked")
		}
	})
	within(t, "Close", func() { s.Close() })
}
