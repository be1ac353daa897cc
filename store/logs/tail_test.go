package logs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esa/store"
)

// naiveLast is the obvious reading of "the last n complete lines".
func naiveLast(data []byte, n int) (string, int) {
	end := bytes.LastIndexByte(data, '\n') + 1
	lines := strings.SplitAfter(string(data[:end]), "\n")
	lines = lines[:len(lines)-1] // after the last "\n"
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, ""), len(lines)
}

func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestLastLinesRandom compares lastLines with naiveLast on random files:
// lines of random lengths (some longer than the 64 KiB read chunk), with
// or without a last unfinished line. The seed is logged so a failure can
// be replayed.
func TestLastLinesRandom(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for iter := 0; iter < 60; iter++ {
		var data []byte
		for l := rng.IntN(8); l > 0; l-- {
			size := rng.IntN(100)
			if rng.IntN(4) == 0 {
				size = rng.IntN(200 << 10)
			}
			data = append(data, bytes.Repeat([]byte{'a' + byte(l)}, size)...)
			data = append(data, '\n')
		}
		if rng.IntN(2) == 0 {
			data = append(data, "unfinished"...)
		}
		f := tempFile(t, data)
		for _, n := range []int{0, 1, 2, 3, 10} {
			start, end, count, err := lastLines(f, n)
			if err != nil {
				t.Fatal(err)
			}
			want, wantN := naiveLast(data, n)
			if got := string(data[start:end]); got != want || count != wantN {
				t.Fatalf("seed %d iter %d n %d: %d lines %.40q..., want %d lines %.40q...", seed, iter, n, count, got, wantN, want)
			}
			if wantEnd := int64(bytes.LastIndexByte(data, '\n') + 1); end != wantEnd && count > 0 {
				t.Fatalf("seed %d iter %d: end %d, want %d", seed, iter, end, wantEnd)
			}
		}
	}
}

// BenchmarkTailLongLine: the last two lines of a file whose first line is
// 32 MiB; MB/s is the figure (linear: it used to gather the line by
// re-copying a growing buffer, 3 minutes and 1 GB for 200 MB).
func BenchmarkTailLongLine(b *testing.B) {
	data := append(bytes.Repeat([]byte("y"), 32<<20), "\nshort line\nlast\n"...)
	f := tempFile(b, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		start, end, _, err := lastLines(f, 3)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, io.NewSectionReader(f, start, end-start)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenameKeepsFiles: a subscription renamed in place (logconfig EDIT)
// keeps its files, saved and current, readable under the new name, and
// goes on writing the same current file; the old name is gone.
func TestRenameKeepsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2019, 2, 4, 20, 8, 47, 0, time.UTC) }
	m := New(dir, Options{Now: now, Tick: -1})
	defer m.Close()
	mk := func(name string) store.LogSubscription {
		return store.LogSubscription{Name: name, Type: store.LogTypeMail, Level: store.LevelInfo,
			Retrieval: store.RetrievalManual, Filename: "mail.log", MaxSize: 1 << 20, MaxFiles: 10}
	}
	other := store.LogSubscription{Name: "sys", Type: store.LogTypeSystem, Level: store.LevelInfo,
		Retrieval: store.RetrievalManual, Filename: "system.log", MaxSize: 1 << 20, MaxFiles: 10}
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{mk("old_name"), other}}); err != nil {
		t.Fatal(err)
	}
	l := m.Logger(store.LogTypeMail)
	l.Info("before the rollover")
	if err := m.RollOver("old_name"); err != nil {
		t.Fatal(err)
	}
	l.Info("before the rename")
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{mk("new_name"), other}}); err != nil {
		t.Fatal(err)
	}
	l.Info("after the rename")
	var b bytes.Buffer
	if err := m.Tail(context.Background(), "new_name", 100, false, &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"before the rollover", "before the rename", "after the rename"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tail new_name lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Count(b.String(), "Begin Logfile") != 2 {
		t.Errorf("the rename began a file of its own:\n%s", b.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "old_name")); !os.IsNotExist(err) {
		t.Errorf("old directory still there: %v", err)
	}
	if err := m.Tail(context.Background(), "old_name", 1, false, &b); !errors.Is(err, ErrNoSuchLog) {
		t.Errorf("old name still readable: %v", err)
	}
	// A real removal plus an addition elsewhere in the list is no rename.
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{other, mk("third")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new_name")); err != nil {
		t.Errorf("a deleted subscription's files moved: %v", err)
	}
}
