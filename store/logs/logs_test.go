package logs_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"esa/store"
	"esa/store/logs"
	"esa/store/logs/logstest"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func files(t *testing.T, m *logs.Manager, name string) []string {
	t.Helper()
	fs, err := m.Files(name)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func bases(paths []string) []string {
	var b []string
	for _, p := range paths {
		b = append(b, filepath.Base(p))
	}
	return b
}

// body returns the lines of a file without the header and trailer lines,
// with their times cut off.
func body(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(read(t, path), "\n"), "\n") {
		if len(l) < 25 {
			t.Fatalf("%s: short line %q", path, l)
		}
		text := l[25:]
		switch {
		case text == "Info: Begin Logfile", strings.HasPrefix(text, "Info: Time offset from UTC: "),
			text == "Info: Logfile rolled over", text == "Info: End Logfile":
			continue
		}
		out = append(out, text)
	}
	return out
}

// TestLineFormat: the appliance's line shape with a space-padded day, the
// header lines, the file name, and one call = one line.
func TestLineFormat(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{}) // Mon Feb  4 20:08:47 2019 UTC
	s := logstest.Sub("dbg", store.LogTypeSystem, store.LevelTrace)
	s.Filename = "system.log"
	m := logstest.NewManager(t, c, s)
	l := m.Logger(store.LogTypeSystem)
	l.Critical("Error while sending alert: %v", errors.New("boom"))
	l.Warning("w")
	l.Info("100% literal without arguments")
	l.Debugf("DNS query: Q(%s, %s)", "'ietf.org'", "'MX'")
	c.Advance(7 * 24 * time.Hour) // two-digit day
	l.Debug("two\nlines\r")
	l.Trace("t %d", 5)
	fs := files(t, m, "dbg")
	if want := []string{"system.log.@20190204T200847.c"}; !reflect.DeepEqual(bases(fs), want) {
		t.Fatalf("files %v, want %v", bases(fs), want)
	}
	want := `Mon Feb  4 20:08:47 2019 Info: Begin Logfile
Mon Feb  4 20:08:47 2019 Info: Time offset from UTC: 0 seconds
Mon Feb  4 20:08:47 2019 Critical: Error while sending alert: boom
Mon Feb  4 20:08:47 2019 Warning: w
Mon Feb  4 20:08:47 2019 Info: 100% literal without arguments
Mon Feb  4 20:08:47 2019 Debug: DNS query: Q('ietf.org', 'MX')
Mon Feb 11 20:08:47 2019 Debug: two\nlines\r
Mon Feb 11 20:08:47 2019 Trace: t 5
`
	if got := read(t, fs[0]); got != want {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
}

// TestTimeOffsetHeader: the header gives the clock zone's offset.
func TestTimeOffsetHeader(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Date(2024, time.October, 1, 10, 0, 0, 0, time.FixedZone("X", 19207)))
	m := logstest.NewManager(t, c, logstest.Sub("a", store.LogTypeMail, store.LevelInfo))
	want := "Tue Oct  1 10:00:00 2024 Info: Begin Logfile\nTue Oct  1 10:00:00 2024 Info: Time offset from UTC: 19207 seconds\n"
	if got := read(t, files(t, m, "a")[0]); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestLevels: a subscription receives the lines of its type at its level
// and the more important ones.
func TestLevels(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	var subs []store.LogSubscription
	for lv := store.LevelCritical; lv <= store.LevelTrace; lv++ {
		subs = append(subs, logstest.Sub("mail_"+lv.String(), store.LogTypeMail, lv))
	}
	subs = append(subs, logstest.Sub("cli", store.LogTypeCLI, store.LevelTrace))
	m := logstest.NewManager(t, c, subs...)
	l := m.Logger(store.LogTypeMail)
	l.Critical("c")
	l.Warning("w")
	l.Info("i")
	l.Debug("d")
	l.Trace("t")
	all := []string{"Critical: c", "Warning: w", "Info: i", "Debug: d", "Trace: t"}
	for lv := store.LevelCritical; lv <= store.LevelTrace; lv++ {
		got := body(t, files(t, m, "mail_"+lv.String())[0])
		if want := all[:lv]; !reflect.DeepEqual(got, want) {
			t.Errorf("level %v: got %q, want %q", lv, got, want)
		}
	}
	if got := body(t, files(t, m, "cli")[0]); len(got) != 0 {
		t.Errorf("CLI log got mail lines %q", got)
	}
	if !l.Enabled(store.LevelTrace) || m.Logger(store.LogTypeConfig).Enabled(store.LevelCritical) {
		t.Error("Enabled wrong")
	}
}

// TestRolloverSize: files roll over before a line would take them past
// MaxSize, saved files end with the rollover lines, nothing is lost.
func TestRolloverSize(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	s := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	s.MaxSize, s.MaxFiles = 400, 100
	m := logstest.NewManager(t, c, s)
	for i := 0; i < 40; i++ {
		m.Logger(store.LogTypeMail).Info("MID %d line", i)
	}
	fs := files(t, m, "a")
	if len(fs) < 5 {
		t.Fatalf("only %d files", len(fs))
	}
	var lines []string
	for i, f := range fs {
		text := read(t, f)
		if !strings.HasPrefix(text, "Mon Feb  4 20:08:47 2019 Info: Begin Logfile\n") {
			t.Errorf("%s does not begin with Begin Logfile", f)
		}
		if i < len(fs)-1 {
			if !strings.HasSuffix(f, ".s") || !strings.HasSuffix(text, " Info: Logfile rolled over\nMon Feb  4 20:08:47 2019 Info: End Logfile\n") {
				t.Errorf("saved file %s:\n%s", f, text)
			}
			if len(text) > 400 {
				t.Errorf("%s has %d bytes > MaxSize", f, len(text))
			}
		} else if !strings.HasSuffix(f, ".c") {
			t.Errorf("last file %s not current", f)
		}
		lines = append(lines, body(t, f)...)
	}
	if len(lines) != 40 || lines[0] != "Info: MID 0 line" || lines[39] != "Info: MID 39 line" {
		t.Fatalf("lines %q", lines)
	}
}

// TestRolloverTime: RolloverInterval seconds after a file began, the next
// write rolls it over; the ticker does it for an idle log.
func TestRolloverTime(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	s := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	s.RolloverInterval = 60
	m := logstest.NewManager(t, c, s)
	l := m.Logger(store.LogTypeMail)
	c.Advance(59 * time.Second)
	l.Info("one")
	if n := len(files(t, m, "a")); n != 1 {
		t.Fatalf("%d files before the interval", n)
	}
	c.Advance(time.Second)
	l.Info("two")
	fs := files(t, m, "a")
	if want := []string{"a.log.@20190204T200847.s", "a.log.@20190204T200947.c"}; !reflect.DeepEqual(bases(fs), want) {
		t.Fatalf("files %v, want %v", bases(fs), want)
	}
	if got := body(t, fs[1]); !reflect.DeepEqual(got, []string{"Info: two"}) {
		t.Fatalf("new file %q", got)
	}

	// The ticker, with no writes.
	tm := logs.New(t.TempDir(), logs.Options{Now: c.Now, Tick: time.Millisecond})
	defer tm.Close()
	if err := tm.Apply(store.Logs{Subscriptions: []store.LogSubscription{s}}); err != nil {
		t.Fatal(err)
	}
	c.Advance(61 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(files(t, tm, "a")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("ticker never rolled the idle log over")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRollOverNow: rollovernow in the same second keeps names unique and
// ordered; MaxFiles keeps the newest saved files.
func TestRollOverNow(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	s := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	s.MaxFiles = 3
	m := logstest.NewManager(t, c, s)
	for i := 0; i < 6; i++ {
		m.Logger(store.LogTypeMail).Info("file %d", i)
		if err := m.RollOver("a"); err != nil {
			t.Fatal(err)
		}
	}
	m.Logger(store.LogTypeMail).Info("file 6")
	fs := files(t, m, "a")
	want := []string{"a.log.@20190204T200847_3.s", "a.log.@20190204T200847_4.s", "a.log.@20190204T200847_5.s", "a.log.@20190204T200847_6.c"}
	if !reflect.DeepEqual(bases(fs), want) {
		t.Fatalf("files %v, want %v", bases(fs), want)
	}
	for i, f := range fs {
		if got := body(t, f); !reflect.DeepEqual(got, []string{"Info: file " + string(rune('3'+i))}) {
			t.Errorf("%s: %q", f, got)
		}
	}
	if err := m.RollOver("nosuch"); !errors.Is(err, logs.ErrNoSuchLog) {
		t.Errorf("RollOver(nosuch) = %v", err)
	}
}

// TestApply: added subscriptions begin a file, removed ones save theirs
// and stop, changed ones take effect at once.
func TestApply(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	a := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	m := logstest.NewManager(t, c, a)
	l := m.Logger(store.LogTypeMail)
	l.Debug("not yet")

	b := logstest.Sub("b", store.LogTypeMail, store.LevelInfo)
	a2 := a
	a2.Level = store.LevelDebug
	c.Advance(time.Second)
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{b, a2}}); err != nil {
		t.Fatal(err)
	}
	if got := m.Subscriptions(); len(got) != 2 || got[0].Name != "b" || got[1].Level != store.LevelDebug {
		t.Fatalf("Subscriptions %+v", got)
	}
	l.Debug("now")
	if got := body(t, files(t, m, "a")[0]); !reflect.DeepEqual(got, []string{"Debug: now"}) {
		t.Fatalf("a after level change: %q", got)
	}
	if fs := files(t, m, "b"); len(fs) != 1 || !strings.HasSuffix(fs[0], "b.log.@20190204T200848.c") {
		t.Fatalf("b files %v", fs)
	}

	// New Filename: the current file is saved under the old name.
	a3 := a2
	a3.Filename = "renamed.log"
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{b, a3}}); err != nil {
		t.Fatal(err)
	}
	l.Info("after rename")
	if got, want := bases(files(t, m, "a")), []string{"a.log.@20190204T200847.s", "renamed.log.@20190204T200848.c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("a files %v, want %v", got, want)
	}

	// Removed: the file is saved with its end line and kept; no more
	// lines; the name is unknown.
	bFile := files(t, m, "b")[0]
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{a3}}); err != nil {
		t.Fatal(err)
	}
	l.Info("after removal")
	saved := strings.TrimSuffix(bFile, ".c") + ".s"
	text := read(t, saved)
	if strings.Contains(text, "after removal") || !strings.HasSuffix(text, "Info: after rename\nMon Feb  4 20:08:48 2019 Info: End Logfile\n") {
		t.Fatalf("removed log's file:\n%s", text)
	}
	if _, err := m.Files("b"); !errors.Is(err, logs.ErrNoSuchLog) {
		t.Fatalf("Files(b) = %v", err)
	}

	// Lower MaxFiles prunes at once.
	for i := 0; i < 4; i++ {
		m.RollOver("a")
	}
	a4 := a3
	a4.MaxFiles = 2
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{a4}}); err != nil {
		t.Fatal(err)
	}
	if n := len(files(t, m, "a")); n != 3 {
		t.Fatalf("%d files after MaxFiles 2", n)
	}

	// Invalid names are refused, the rest applied.
	bad := logstest.Sub("../x", store.LogTypeMail, store.LevelInfo)
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{bad, b}}); err == nil {
		t.Fatal("bad name accepted")
	}
	if _, err := m.Files("b"); err != nil {
		t.Fatal(err)
	}
}

// TestRestart: Close leaves the current file current and a new manager on
// the same directory continues it, so starting the shell again and again
// does not roll (and at last prune) the logs; a file left current under
// another name by a crash is saved.
func TestRestart(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	dir := t.TempDir()
	s := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	m := logs.New(dir, logs.Options{Now: c.Now, Tick: -1})
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{s}}); err != nil {
		t.Fatal(err)
	}
	m.Logger(store.LogTypeMail).Info("first run")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Logger(store.LogTypeMail).Info("after close")
	// A crash left an older current file behind.
	crashed := filepath.Join(dir, "a", "a.log.@20190204T200846.c")
	os.WriteFile(crashed, []byte("Mon Feb  4 20:08:46 2019 Info: crashed\n"), 0o644)

	c.Advance(time.Second)
	m2 := logs.NewManager(dir, c.Now)
	defer m2.Close()
	if err := m2.Apply(store.Logs{Subscriptions: []store.LogSubscription{s}}); err != nil {
		t.Fatal(err)
	}
	m2.Logger(store.LogTypeMail).Info("second run")
	fs := files(t, m2, "a")
	want := []string{"a.log.@20190204T200846.s", "a.log.@20190204T200847.c"}
	if !reflect.DeepEqual(bases(fs), want) {
		t.Fatalf("files %v, want %v", bases(fs), want)
	}
	got := read(t, fs[1])
	if !strings.Contains(got, "Info: first run\nMon Feb  4 20:08:48 2019 Info: second run\n") || strings.Contains(got, "after close") || strings.Contains(got, "End Logfile") {
		t.Fatalf("continued file:\n%s", got)
	}
}
