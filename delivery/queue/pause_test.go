package queue

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openT(t testing.TB, dir string) *Queue {
	t.Helper()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// TestPauseSurvivesReopen: workqueue PAUSE is on disk when PauseFor
// returns, so the next Open (a restarted daemon) is paused by the same
// person for the same reason since the same time; RESUME removes it, and
// the Open after that delivers.
func TestPauseSurvivesReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q := openT(t, dir)
	if _, paused, _ := q.RestoredPause(); paused || q.Paused() {
		t.Fatal("a new queue starts paused")
	}
	since := time.Date(2026, 12, 1, 22, 47, 57, 0, time.UTC)
	if err := q.PauseFor("admin", "checking LDAP server", since); err != nil {
		t.Fatal(err)
	}
	q.Close()

	q2 := openT(t, dir)
	if !q2.Paused() {
		t.Fatal("the pause did not survive a restart")
	}
	if by, why := q2.PausedBy(); by != "admin" || why != "checking LDAP server" {
		t.Fatalf("PausedBy after restart = %q, %q", by, why)
	}
	p, paused, damaged := q2.RestoredPause()
	if !paused || damaged != nil || p.By != "admin" || !p.Since.Equal(since) {
		t.Fatalf("RestoredPause = %+v, %v, %v", p, paused, damaged)
	}
	if err := q2.Resume(); err != nil {
		t.Fatal(err)
	}
	if q2.Paused() {
		t.Fatal("still paused after Resume")
	}
	if _, err := os.Stat(filepath.Join(dir, "paused.rec")); !os.IsNotExist(err) {
		t.Fatalf("the pause record is still there after Resume: %v", err)
	}
	q2.Close()

	q3 := openT(t, dir)
	if q3.Paused() {
		t.Fatal("a resumed queue is paused again after a restart")
	}
}

// TestDamagedPauseRecordKeepsPaused: a pause record that cannot be trusted
// (torn, a flipped byte, not a record at all, unreadable) never stops Open;
// the queue starts paused by nobody known, RestoredPause says why, and
// Resume clears it for good.
func TestDamagedPauseRecordKeepsPaused(t *testing.T) {
	t.Parallel()
	good, err := encodeRecord(Pause{By: "admin", Reason: "maintenance", Since: time.Unix(1700000000, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(string(good))
	flipped[len(flipped)-5] ^= 0x01
	badSum := []byte(string(good))
	badSum[0] = 'z'
	for name, damage := range map[string]func(p string) error{
		"empty":      func(p string) error { return os.WriteFile(p, nil, 0o600) },
		"torn":       func(p string) error { return os.WriteFile(p, good[:len(good)/2], 0o600) },
		"no newline": func(p string) error { return os.WriteFile(p, good[:len(good)-1], 0o600) },
		"flipped":    func(p string) error { return os.WriteFile(p, flipped, 0o600) },
		"checksum":   func(p string) error { return os.WriteFile(p, badSum, 0o600) },
		"not json": func(p string) error {
			// The checksum is right, the text is not JSON.
			js := []byte(`{"by":"admin"`)
			return os.WriteFile(p, fmt.Appendf(nil, "%08x %s\n", crc32.Checksum(js, castagnoli), js), 0o600)
		},
		"wrong type":  func(p string) error { b, _ := encodeRecord([]int{1, 2}); return os.WriteFile(p, b, 0o600) },
		"unreadable":  func(p string) error { return os.MkdirAll(filepath.Join(p, "x"), 0o700) },
		"binary junk": func(p string) error { return os.WriteFile(p, []byte("\x00\x01\x02\xff\xfe"), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := damage(filepath.Join(dir, "paused.rec")); err != nil {
				t.Fatal(err)
			}
			q := openT(t, dir)
			if !q.Paused() {
				t.Fatal("a damaged pause record let delivery run")
			}
			if by, why := q.PausedBy(); by != "" || why != "" {
				t.Fatalf("a damaged record named %q, %q", by, why)
			}
			_, paused, damaged := q.RestoredPause()
			if !paused || !errors.Is(damaged, ErrDamagedRecord) {
				t.Fatalf("RestoredPause = %v, %v; want paused and ErrDamagedRecord", paused, damaged)
			}
			if name == "unreadable" {
				// A directory in the record's place cannot be removed by
				// Resume: the queue stays paused and says why.
				if err := q.Resume(); err == nil || !q.Paused() {
					t.Fatalf("Resume over an unremovable record: %v, paused %v", err, q.Paused())
				}
				return
			}
			if err := q.Resume(); err != nil {
				t.Fatal(err)
			}
			q.Close()
			if q2 := openT(t, dir); q2.Paused() {
				t.Fatal("paused again after Resume and a restart")
			}
		})
	}
}

// TestPauseNotSavedStillPauses: when the record cannot be written
// PauseFor says so, and delivery is paused all the same (the administrator
// asked for it); the previous state on disk is untouched.
func TestPauseNotSavedStillPauses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q := openT(t, dir)
	// A non-empty directory where the record goes: the rename onto it
	// fails whatever our privileges (tests may run as root).
	if err := os.MkdirAll(filepath.Join(dir, "paused.rec", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := q.PauseFor("admin", "disk trouble", time.Now()); err == nil {
		t.Fatal("PauseFor reported success without a record")
	}
	if !q.Paused() {
		t.Fatal("a pause that could not be saved did not pause delivery")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestRecordTempsRemovedAtOpen: the temporary file of a record write a
// crash interrupted is removed at Open and never read as the record.
func TestRecordTempsRemovedAtOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openT(t, dir).Close()
	good, _ := encodeRecord(Pause{By: "admin"})
	tmp := filepath.Join(dir, ".paused.rec.tmp12345")
	if err := os.WriteFile(tmp, good, 0o600); err != nil {
		t.Fatal(err)
	}
	q := openT(t, dir)
	if q.Paused() {
		t.Fatal("an uncommitted temporary record paused the queue")
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary record left: %v", err)
	}
}

// TestRecords: PutRecord replaces, Record reads back exactly, DeleteRecord
// removes (and tolerates a missing record); names are checked so a record
// can never land outside the queue directory.
func TestRecords(t *testing.T) {
	t.Parallel()
	q := openT(t, t.TempDir())
	type rec struct {
		Host string   `json:"host"`
		MIDs []uint64 `json:"mids"`
	}
	var got rec
	if found, err := q.Record("redirect", &got); found || err != nil {
		t.Fatalf("missing record: found %v, %v", found, err)
	}
	for _, want := range []rec{{Host: "a.example", MIDs: []uint64{1, 2}}, {Host: "b.example\nforged line"}} {
		if err := q.PutRecord("redirect", want); err != nil {
			t.Fatal(err)
		}
		got = rec{}
		if found, err := q.Record("redirect", &got); !found || err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Record = %+v, %v, %v; want %+v", got, found, err, want)
		}
	}
	if err := q.DeleteRecord("redirect"); err != nil {
		t.Fatal(err)
	}
	if found, _ := q.Record("redirect", &got); found {
		t.Fatal("record found after DeleteRecord")
	}
	if err := q.DeleteRecord("redirect"); err != nil {
		t.Fatalf("deleting a missing record: %v", err)
	}
	for _, bad := range []string{"", "../ids", "msg/1", "Paused", "a.b"} {
		if err := q.PutRecord(bad, 1); err == nil {
			t.Errorf("record name %q accepted", bad)
		}
	}
}

// FuzzDecodeRecord: whatever bytes a record file holds, decoding never
// panics, and what it accepts encodes back to a record that decodes to the
// same value.
func FuzzDecodeRecord(f *testing.F) {
	for _, v := range []any{Pause{By: "admin", Reason: "why", Since: time.Unix(1, 0).UTC()}, Pause{}, map[string]any{"host": "x", "port": 25}} {
		b, _ := encodeRecord(v)
		f.Add(b)
	}
	f.Add([]byte("00000000 {}\n"))
	f.Add([]byte("zzzzzzzz {}\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Pause
		if err := decodeRecord(data, &p); err != nil {
			if !errors.Is(err, ErrDamagedRecord) {
				t.Fatalf("error %v does not wrap ErrDamagedRecord", err)
			}
			return
		}
		b, err := encodeRecord(p)
		if err != nil {
			t.Fatal(err)
		}
		var p2 Pause
		if err := decodeRecord(b, &p2); err != nil || p2.By != p.By || p2.Reason != p.Reason || !p2.Since.Equal(p.Since) {
			t.Fatalf("round trip: %+v -> %+v, %v", p, p2, err)
		}
	})
}

// BenchmarkPauseResume: one workqueue PAUSE and RESUME, each durable (a
// record write with its fsyncs, a removal with a directory fsync).
func BenchmarkPauseResume(b *testing.B) {
	q := openT(b, b.TempDir())
	for b.Loop() {
		if err := q.PauseFor("admin", "benchmark", time.Now()); err != nil {
			b.Fatal(err)
		}
		if err := q.Resume(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResumeNotifies: Resume tells the subscribers (a 0), so the delivery
// engine rescans at once instead of at its next safety rescan.
func TestResumeNotifies(t *testing.T) {
	t.Parallel()
	q := openT(t, t.TempDir())
	sub := q.Subscribe(1)
	if err := q.Pause(); err != nil {
		t.Fatal(err)
	}
	select {
	case mid := <-sub:
		t.Fatalf("Pause notified %d", mid)
	default:
	}
	if err := q.Resume(); err != nil {
		t.Fatal(err)
	}
	select {
	case mid := <-sub:
		if mid != 0 {
			t.Fatalf("Resume notified %d, want 0", mid)
		}
	default:
		t.Fatal("Resume did not notify the subscribers")
	}
}
