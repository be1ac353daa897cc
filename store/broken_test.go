package store

import (
	"errors"
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
