package logins

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, time.March, 4, 10, 0, 0, 0, time.UTC)

func open(t testing.TB, dir string, max int) *Log {
	t.Helper()
	l, err := Open(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func login(i int) Login {
	return Login{User: fmt.Sprintf("user%d", i), RemoteAddr: "127.0.0.1", In: t0.Add(time.Duration(i) * time.Minute)}
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, 10)
	a, b := login(1), login(2)
	b.RemoteAddr = "::1"
	for _, r := range []Login{a, b} {
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	a.Out = a.In.Add(90 * time.Second)
	if err := l.Record(a); err != nil {
		t.Fatal(err)
	}
	got, err := l.Recent(10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Login{b, a}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Recent:\n got %v\nwant %v", got, want)
	}
	// The history outlives the process.
	l.Close()
	l2 := open(t, dir, 10)
	got2, err := l2.Recent(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got2) != 1 || got2[0] != b {
		t.Fatalf("after reopening, Recent(1) = %v, want [%v]", got2, b)
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", fi, err)
	}
}

// TestBounded: however many sessions are recorded, the file stays under
// 2*max+1 lines and the newest max sessions are kept, logouts merged.
func TestBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const max = 5
	l := open(t, dir, max)
	for i := 1; i <= 40; i++ {
		r := login(i)
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
		r.Out = r.In.Add(time.Second)
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte{'\n'}); n > 2*max {
			t.Fatalf("after %d sessions the file has %d lines, bound %d", i, n, 2*max)
		}
	}
	got, err := l.Recent(100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < max {
		t.Fatalf("kept %d sessions, want at least %d", len(got), max)
	}
	for i, r := range got[:max] {
		w := login(40 - i)
		w.Out = w.In.Add(time.Second)
		if r != w {
			t.Errorf("session %d = %v, want %v", i, r, w)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+".tmp")); !os.IsNotExist(err) {
		t.Errorf("compaction left its temporary file: %v", err)
	}
}

// TestDamagedFile: a torn last line (a crash mid-write) and garbage lines
// are skipped; the records around them survive, and the next record after
// a torn line starts on a line of its own.
func TestDamagedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, _ := format(login(1))
	good2, _ := format(login(2))
	content := string(good) + "garbage\x00line\n" + "v1 12 0 \"unterminated\n" + string(good2) +
		strings.Repeat("x", 5000) + "\n" + "v1 -5 0 \"a\" \"b\"\n" + string(good2[:len(good2)/2])
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	l := open(t, dir, 10)
	if err := l.Record(login(3)); err != nil {
		t.Fatal(err)
	}
	got, err := l.Recent(10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Login{login(3), login(2), login(1)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Recent:\n got %v\nwant %v", got, want)
	}
}

// TestHostileNames: a user name or address holding a newline or quote
// cannot forge a record.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := open(t, dir, 10)
	r := Login{User: "a\"\nv1 1 0 \"evil\" \"x", RemoteAddr: "1.2.3.4\n", In: t0}
	if err := l.Record(r); err != nil {
		t.Fatal(err)
	}
	got, err := l.Recent(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != r {
		t.Fatalf("Recent = %q, want the one record %q", got, r)
	}
	if err := l.Record(Login{User: strings.Repeat("u", 2000), In: t0}); err == nil {
		t.Errorf("an over-long record was accepted")
	}
	if err := l.Record(Login{User: "x"}); err == nil {
		t.Errorf("a record without a login time was accepted")
	}
}

func TestCloseOpen(t *testing.T) {
	t.Parallel()
	l := open(t, t.TempDir(), 10)
	a, b := login(1), login(2)
	b.Out = b.In.Add(time.Minute)
	for _, r := range []Login{a, b} {
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	down := t0.Add(time.Hour)
	if err := l.CloseOpen(down); err != nil {
		t.Fatal(err)
	}
	got, _ := l.Recent(10)
	if len(got) != 2 || got[1].Out != down || got[0].Out != b.Out {
		t.Fatalf("after CloseOpen: %v", got)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	l := open(t, t.TempDir(), 10)
	l.Close()
	if err := l.Record(login(1)); err == nil {
		t.Fatal("Record after Close succeeded")
	}
}

func FuzzParseLine(f *testing.F) {
	for _, r := range []Login{login(1), {User: "ü\"\\", RemoteAddr: "", In: t0, Out: t0.Add(time.Hour)}} {
		b, _ := format(r)
		f.Add(strings.TrimSuffix(string(b), "\n"))
	}
	f.Add("v1 1 0 \"a\" \"b\" ")
	f.Add("v1 0 0 \"a\" \"b\"")
	f.Add("v1 1 2 `a` \"b\"")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseLine(s)
		if err != nil {
			return
		}
		// What parses formats back to a line that parses to the same.
		b, err := format(r)
		if err != nil {
			return
		}
		r2, err := ParseLine(strings.TrimSuffix(string(b), "\n"))
		if err != nil || r2 != r {
			t.Fatalf("%q parsed to %v, formatted %q, reparsed %v %v", s, r, b, r2, err)
		}
	})
}

// BenchmarkRecord measures one durable login record (write + fsync).
func BenchmarkRecord(b *testing.B) {
	l := open(b, b.TempDir(), 1000)
	i := 0
	for b.Loop() {
		i++
		if err := l.Record(login(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrent: sessions logging in and out at once, with compactions
// among them, leave a file of whole records only, the newest kept.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const max = 20
	l := open(t, dir, max)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				r := Login{User: fmt.Sprintf("u%d", g), RemoteAddr: "::1", In: t0.Add(time.Duration(i*8+g) * time.Second)}
				if err := l.Record(r); err != nil {
					t.Error(err)
					return
				}
				r.Out = r.In.Add(time.Hour)
				if err := l.Record(r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) > 2*max {
		t.Errorf("%d lines, bound %d", len(lines), 2*max)
	}
	for _, line := range lines {
		if _, err := ParseLine(line); err != nil {
			t.Errorf("torn or mixed line %q", line)
		}
	}
	got, err := l.Recent(1)
	if err != nil || len(got) != 1 || !got[0].In.Equal(t0.Add((29*8+7)*time.Second)) || got[0].Out.IsZero() {
		t.Errorf("newest session = %v, %v", got, err)
	}
}

// BenchmarkRecent measures last's read of a full history (1000 sessions).
func BenchmarkRecent(b *testing.B) {
	l := open(b, b.TempDir(), 1000)
	for i := range 1000 {
		r := login(i)
		r.Out = r.In.Add(time.Minute)
		if err := l.Record(r); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if got, err := l.Recent(20); err != nil || len(got) != 20 {
			b.Fatal(len(got), err)
		}
	}
}

// FuzzFile: whatever the file holds, Open and Recent do not fail or panic,
// and a record written after opening is read back first.
func FuzzFile(f *testing.F) {
	good, _ := format(login(1))
	f.Add(good)
	f.Add(append(append([]byte{}, good...), good[:10]...))
	f.Add([]byte("\x00\xff\n\n\nv1 1 0 \"\" \"\"\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), content, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := l.Recent(10); err != nil {
			t.Fatal(err)
		}
		r := Login{User: "new", RemoteAddr: "::1", In: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
		got, err := l.Recent(1)
		// (The file may hold this very session already, logged out.)
		if err != nil || len(got) != 1 || got[0].User != r.User || got[0].RemoteAddr != r.RemoteAddr || !got[0].In.Equal(r.In) {
			t.Fatalf("after Record: %v, %v", got, err)
		}
	})
}
