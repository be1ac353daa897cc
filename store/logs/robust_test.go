package logs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"esa/store"
	"esa/store/logs"
	"esa/store/logs/logstest"
)

// TestRolloverTimeClockBack: when the clock steps back before the current
// file was begun, the rollover interval restarts from the new time instead
// of waiting for the clock to catch up with the old one.
func TestRolloverTimeClockBack(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	s := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	s.RolloverInterval = 60
	m := logstest.NewManager(t, c, s)
	l := m.Logger(store.LogTypeMail)
	c.Advance(-time.Hour)
	l.Info("one")
	c.Advance(59 * time.Second)
	l.Info("two")
	if n := len(files(t, m, "a")); n != 1 {
		t.Fatalf("%d files before the interval", n)
	}
	c.Advance(time.Second)
	l.Info("three")
	fs := files(t, m, "a")
	if len(fs) != 2 {
		t.Fatalf("files %v: no rollover 60 s after the clock stepped back", bases(fs))
	}
	if got := body(t, fs[1]); !reflect.DeepEqual(got, []string{"Info: three"}) {
		t.Fatalf("new file %q", got)
	}
}

// TestSubDirRemoved: a subscription's directory removed while the appliance
// runs is made again, by the ticker and by RollOver; the new file says that
// lines may have been lost, and later lines can be read back.
func TestSubDirRemoved(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	sub := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	dir := filepath.Join(t.TempDir(), "logs")
	m := logs.New(dir, logs.Options{Now: c.Now, Tick: time.Millisecond})
	defer m.Close()
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{sub}}); err != nil {
		t.Fatal(err)
	}
	l := m.Logger(store.LogTypeMail)
	l.Info("one")
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fs := files(t, m, "a"); len(fs) == 1 && strings.Contains(read(t, fs[0]), "Warning: log file a.log.@20190204T200847.c was removed while in use") {
			break
		}
		if time.Now().After(deadline) {
			fs := files(t, m, "a")
			if len(fs) > 0 {
				t.Log(read(t, fs[0]))
			}
			t.Fatalf("the removed log directory was never made again: %v", fs)
		}
		time.Sleep(time.Millisecond)
	}
	l.Info("two")
	var out strings.Builder
	if n, err := m.Grep(context.Background(), "a", logs.GrepOptions{Pattern: regexp.MustCompile("two")}, &out); n != 1 || err != nil {
		t.Fatalf("grep after the directory came back: %d %v %q", n, err, out.String())
	}

	// Without a ticker: rollovernow makes the directory again.
	m2 := logstest.NewManager(t, c, sub)
	fs := files(t, m2, "a")
	if err := os.RemoveAll(filepath.Dir(fs[0])); err != nil {
		t.Fatal(err)
	}
	if err := m2.RollOver("a"); err != nil {
		// The old file cannot be saved (it is gone); the new one must exist.
		t.Logf("RollOver: %v", err)
	}
	m2.Logger(store.LogTypeMail).Info("three")
	fs = files(t, m2, "a")
	if len(fs) != 1 || !reflect.DeepEqual(body(t, fs[0]), []string{"Info: three"}) {
		t.Fatalf("after RollOver of a removed directory: %v", bases(fs))
	}
}

// The disk-full test runs in a child with a small RLIMIT_FSIZE (writes past
// it fail with EFBIG, SIGXFSZ being ignored by Go), which would break other
// tests if set in this process.
const childEnv = "ESA_LOGS_TEST_CHILD"

func TestWriteErrorChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("only runs as a child of TestWriteErrorSurfaced")
	}
	c := logstest.NewClock(time.Time{})
	sub := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	m := logs.New(dir, logs.Options{Now: c.Now, Tick: -1})
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{sub}}); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim)
	old := lim.Cur
	lim.Cur = 4096
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	l := m.Logger(store.LogTypeMail)
	for i := 0; i < 100; i++ {
		l.Info("line %d %s", i, strings.Repeat("x", 60))
	}
	fmt.Printf("full: %v\n", m.Err("a"))
	lim.Cur = old
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
	l.Info("after")
	fmt.Printf("again: %v\n", m.Err("a"))
	m.Close()
	os.Exit(0)
}

// TestWriteErrorSurfaced: lines that cannot be written (here: the file
// size limit, as a full disk would) are counted, reported by Manager.Err,
// and recorded in the file by a Warning line once writing works again.
func TestWriteErrorSurfaced(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteErrorChild$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("child said %q", out)
	}
	full, again := lines[len(lines)-2], lines[len(lines)-1]
	if !regexp.MustCompile(`^full: log a: \d+ lines could not be written: write .*: file too large$`).MatchString(full) {
		t.Fatalf("Err while the disk was full: %q", full)
	}
	if again != "again: <nil>" {
		t.Fatalf("Err after writing worked again: %q", again)
	}
	fs, _ := filepath.Glob(filepath.Join(dir, "a", "a.log.@*"))
	if len(fs) != 1 {
		t.Fatalf("files %v", fs)
	}
	text := read(t, fs[0])
	re := regexp.MustCompile(`(?m)^.{24} Warning: (\d+) log lines could not be written: write .*: file too large\n.{24} Info: after\n`)
	mt := re.FindStringSubmatch(text)
	if mt == nil {
		t.Fatalf("no lost-lines warning before the next line:\n%s", text)
	}
	if !strings.Contains(full, " "+mt[1]+" lines") {
		t.Fatalf("Err said %q, the file says %s lines", full, mt[1])
	}
	// Every line of the file is whole: the cut line was ended.
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} (Info|Warning): `).MatchString(l) {
			t.Fatalf("broken line %q", l)
		}
	}
}
