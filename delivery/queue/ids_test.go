package queue

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCounterTempsRemovedAtOpen: the temporary files of counter
// reservations a crash interrupted (writeFileAtomic's ".ids.tmp*") are
// removed at Open and never read as the counters: the IDs go on from the
// counter file. Files that only look alike are left alone.
func TestCounterTempsRemovedAtOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q := openT(t, dir)
	first, err := q.IDs().Next(MID)
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	// What a crash between CreateTemp and the rename leaves: a whole
	// reservation far ahead, and a half-written one.
	temps := []string{".ids.tmp123456", ".ids.tmp7"}
	if err := os.WriteFile(filepath.Join(dir, temps[0]), []byte(`{"mid":900000,"icid":1,"dcid":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, temps[1]), []byte(`{"mid":`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Not the counter file's temporaries: another file's, and a directory.
	kept := []string{".idsx.tmp1", "ids.tmp1"}
	for _, n := range kept {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".ids.tmpdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	q = openT(t, dir)
	for _, n := range temps {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("temporary counter file %s left: %v", n, err)
		}
	}
	for _, n := range append(kept, ".ids.tmpdir") {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
	next, err := q.IDs().Next(MID)
	if err != nil {
		t.Fatal(err)
	}
	// The reopened counters skip the rest of the reserved block (idBlock),
	// never the temporary's far-ahead value.
	if next <= first || next >= 900000 {
		t.Errorf("MID after reopen %d (first %d): the temporary file was read", next, first)
	}
}
