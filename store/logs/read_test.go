package logs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/store"
	"esa/store/logs"
	"esa/store/logs/logstest"
)

// Three files (two saved, one current) of three lines each; see
// logstest.Fill for their layout.
const (
	f0 = "mail.log.@20190204T200847.s: "
	f1 = "mail.log.@20190204T200851.s: "
	f2 = "mail.log.@20190204T200855.c: "
)

func grep(t *testing.T, m *logs.Manager, o logs.GrepOptions) (string, int) {
	t.Helper()
	var b bytes.Buffer
	n, err := m.Grep(context.Background(), "mail_logs", o, &b)
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), n
}

func TestGrep(t *testing.T) {
	t.Parallel()
	m, _ := logstest.Mail(t, 2, 3)
	cases := []struct {
		name string
		o    logs.GrepOptions
		want string
		n    int
	}{
		{"plain", logs.GrepOptions{Pattern: regexp.MustCompile("line 1 of")},
			f0 + "Mon Feb  4 20:08:49 2019 Info: MID 1001 ICID 1 line 1 of file 0\n" +
				f1 + "Mon Feb  4 20:08:53 2019 Info: MID 2001 ICID 2 line 1 of file 1\n" +
				f2 + "Mon Feb  4 20:08:57 2019 Info: MID 3001 ICID 3 line 1 of file 2\n", 3},
		{"ignore case", logs.GrepOptions{Pattern: regexp.MustCompile("(?i)mid 2002")},
			f1 + "Mon Feb  4 20:08:54 2019 Info: MID 2002 ICID 2 line 2 of file 1\n", 1},
		{"case sensitive", logs.GrepOptions{Pattern: regexp.MustCompile("mid 2002")}, "", 0},
		{"count", logs.GrepOptions{Pattern: regexp.MustCompile("Begin Logfile"), Count: true}, "3\n", 3},
		{"count none", logs.GrepOptions{Pattern: regexp.MustCompile("nothing"), Count: true}, "0\n", 0},
		{"file pattern", logs.GrepOptions{Pattern: regexp.MustCompile("line 0"), FilePattern: "*.c"},
			"Mon Feb  4 20:08:56 2019 Info: MID 3000 ICID 3 line 0 of file 2\n", 1},
		{"file pattern saved", logs.GrepOptions{Pattern: regexp.MustCompile("line 0"), FilePattern: "*.s"},
			f0 + "Mon Feb  4 20:08:48 2019 Info: MID 1000 ICID 1 line 0 of file 0\n" +
				f1 + "Mon Feb  4 20:08:52 2019 Info: MID 2000 ICID 2 line 0 of file 1\n", 2},
		{"context", logs.GrepOptions{Pattern: regexp.MustCompile("line 1 of file [01]"), Context: 1},
			f0 + "Mon Feb  4 20:08:48 2019 Info: MID 1000 ICID 1 line 0 of file 0\n" +
				f0 + "Mon Feb  4 20:08:49 2019 Info: MID 1001 ICID 1 line 1 of file 0\n" +
				f0 + "Mon Feb  4 20:08:50 2019 Info: MID 1002 ICID 1 line 2 of file 0\n" +
				"--\n" +
				f1 + "Mon Feb  4 20:08:52 2019 Info: MID 2000 ICID 2 line 0 of file 1\n" +
				f1 + "Mon Feb  4 20:08:53 2019 Info: MID 2001 ICID 2 line 1 of file 1\n" +
				f1 + "Mon Feb  4 20:08:54 2019 Info: MID 2002 ICID 2 line 2 of file 1\n", 2},
		{"context merges", logs.GrepOptions{Pattern: regexp.MustCompile("line [02] of file 2"), Context: 1, FilePattern: "*.c"},
			"Mon Feb  4 20:08:55 2019 Info: Time offset from UTC: 0 seconds\n" +
				"Mon Feb  4 20:08:56 2019 Info: MID 3000 ICID 3 line 0 of file 2\n" +
				"Mon Feb  4 20:08:57 2019 Info: MID 3001 ICID 3 line 1 of file 2\n" +
				"Mon Feb  4 20:08:58 2019 Info: MID 3002 ICID 3 line 2 of file 2\n", 2},
		{"context gap", logs.GrepOptions{Pattern: regexp.MustCompile("Begin|line 2 of file 2"), Context: 1, FilePattern: "*.c"},
			"Mon Feb  4 20:08:55 2019 Info: Begin Logfile\n" +
				"Mon Feb  4 20:08:55 2019 Info: Time offset from UTC: 0 seconds\n" +
				"--\n" +
				"Mon Feb  4 20:08:57 2019 Info: MID 3001 ICID 3 line 1 of file 2\n" +
				"Mon Feb  4 20:08:58 2019 Info: MID 3002 ICID 3 line 2 of file 2\n", 2},
		{"no match", logs.GrepOptions{Pattern: regexp.MustCompile("nomatch")}, "", 0},
	}
	for _, c := range cases {
		got, n := grep(t, m, c.o)
		if got != c.want || n != c.n {
			t.Errorf("%s: %d matches:\n%s\nwant %d:\n%s", c.name, n, got, c.n, c.want)
		}
	}
	if _, err := m.Grep(context.Background(), "nosuch", logs.GrepOptions{Pattern: regexp.MustCompile("x")}, &bytes.Buffer{}); !errors.Is(err, logs.ErrNoSuchLog) {
		t.Errorf("unknown log: %v", err)
	}
	if _, err := m.Grep(context.Background(), "mail_logs", logs.GrepOptions{Pattern: regexp.MustCompile("x"), FilePattern: "["}, &bytes.Buffer{}); err == nil {
		t.Error("bad file pattern accepted")
	}
}

// screen is an output written by a follower while the test reads it.
type screen struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never appeared:\n%s", want, s.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGrepFollow: grep -t sees matching lines written after it started,
// also after a rollover, and stops with the context.
func TestGrepFollow(t *testing.T) {
	t.Parallel()
	m, c := logstest.Mail(t, 1, 3)
	ctx, cancel := context.WithCancel(context.Background())
	out := &screen{}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := m.Grep(ctx, "mail_logs", logs.GrepOptions{Pattern: regexp.MustCompile("(?i)match|rolled"), Follow: true}, out)
		done <- result{n, err}
	}()
	l := m.Logger(store.LogTypeMail)
	waitFollowing(t, m, "mail_logs")
	l.Info("MATCH early")
	out.waitFor(t, "MATCH early")
	before := out.String()
	l.Info("skip me")
	l.Info("match 1")
	c.Advance(time.Second)
	if err := m.RollOver("mail_logs"); err != nil {
		t.Fatal(err)
	}
	l.Info("match 2")
	out.waitFor(t, "match 2")
	cancel()
	r := <-done
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err %v", r.err)
	}
	got := strings.TrimPrefix(out.String(), before)
	want := "Mon Feb  4 20:08:54 2019 Info: match 1\n" +
		"Mon Feb  4 20:08:55 2019 Info: Logfile rolled over\n" +
		"Mon Feb  4 20:08:55 2019 Info: match 2\n"
	if got != want {
		t.Fatalf("followed:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(before, "line") {
		t.Fatalf("grep -t printed old lines:\n%s", before)
	}
	if r.n != strings.Count(out.String(), "\n") {
		t.Fatalf("%d matches for %q", r.n, out.String())
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	m, _ := logstest.Mail(t, 2, 3)
	var b bytes.Buffer
	if err := m.Tail(context.Background(), "mail_logs", 8, false, &b); err != nil {
		t.Fatal(err)
	}
	want := `Mon Feb  4 20:08:54 2019 Info: MID 2002 ICID 2 line 2 of file 1
Mon Feb  4 20:08:55 2019 Info: Logfile rolled over
Mon Feb  4 20:08:55 2019 Info: End Logfile
Mon Feb  4 20:08:55 2019 Info: Begin Logfile
Mon Feb  4 20:08:55 2019 Info: Time offset from UTC: 0 seconds
Mon Feb  4 20:08:56 2019 Info: MID 3000 ICID 3 line 0 of file 2
Mon Feb  4 20:08:57 2019 Info: MID 3001 ICID 3 line 1 of file 2
Mon Feb  4 20:08:58 2019 Info: MID 3002 ICID 3 line 2 of file 2
`
	if b.String() != want {
		t.Fatalf("tail 8:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, n := range []int{0, 2, 1000} {
		b.Reset()
		if err := m.Tail(context.Background(), "mail_logs", n, false, &b); err != nil {
			t.Fatal(err)
		}
		all := 3*(2+3+2) - 2 // three files; the current one has no trailer
		wantLines := min(n, all)
		if got := strings.Count(b.String(), "\n"); got != wantLines {
			t.Errorf("tail %d: %d lines:\n%s", n, got, b.String())
		}
	}
	if err := m.Tail(context.Background(), "nosuch", 1, false, &b); !errors.Is(err, logs.ErrNoSuchLog) {
		t.Errorf("unknown log: %v", err)
	}
}

// TestTailFollow: tail -f prints the last lines, then every new line,
// across rollovers, until the context ends.
func TestTailFollow(t *testing.T) {
	t.Parallel()
	m, c := logstest.Mail(t, 1, 3)
	ctx, cancel := context.WithCancel(context.Background())
	out := &screen{}
	done := make(chan error, 1)
	go func() { done <- m.Tail(ctx, "mail_logs", 1, true, out) }()
	out.waitFor(t, "line 2 of file 1\n")
	l := m.Logger(store.LogTypeMail)
	l.Info("new 1")
	c.Advance(time.Second)
	m.RollOver("mail_logs")
	m.RollOver("mail_logs")
	l.Info("new 2")
	out.waitFor(t, "new 2")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	want := `Mon Feb  4 20:08:54 2019 Info: MID 2002 ICID 2 line 2 of file 1
Mon Feb  4 20:08:54 2019 Info: new 1
Mon Feb  4 20:08:55 2019 Info: Logfile rolled over
Mon Feb  4 20:08:55 2019 Info: End Logfile
Mon Feb  4 20:08:55 2019 Info: Begin Logfile
Mon Feb  4 20:08:55 2019 Info: Time offset from UTC: 0 seconds
Mon Feb  4 20:08:55 2019 Info: Logfile rolled over
Mon Feb  4 20:08:55 2019 Info: End Logfile
Mon Feb  4 20:08:55 2019 Info: Begin Logfile
Mon Feb  4 20:08:55 2019 Info: Time offset from UTC: 0 seconds
Mon Feb  4 20:08:55 2019 Info: new 2
`
	if out.String() != want {
		t.Fatalf("tail -f:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestConcurrent: many goroutines write while the log rolls over by size
// and by rollovernow and a tail -f follows: every line is in the files
// exactly once and whole, and the follower saw each of them once.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	s := logstest.Sub("a", store.LogTypeMail, store.LevelInfo)
	s.MaxSize, s.MaxFiles = 8192, 100000
	m := logstest.NewManager(t, c, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &screen{}
	tailDone := make(chan error, 1)
	go func() { tailDone <- m.Tail(ctx, "a", 0, true, out) }()
	// Start writing once the follower has reached the end.
	waitFollowing(t, m, "a")

	const writers, per = 8, 400
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := m.Logger(store.LogTypeMail)
			for i := 0; i < per; i++ {
				l.Info("writer %d line %d %s", w, i, strings.Repeat("x", i%50))
			}
		}()
	}
	stop := make(chan struct{})
	rolled := make(chan struct{})
	go func() {
		defer close(rolled)
		for {
			select {
			case <-stop:
				return
			default:
				m.RollOver("a")
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-rolled
	m.Logger(store.LogTypeMail).Info("the end")
	out.waitFor(t, "Info: the end\n")
	cancel()
	if err := <-tailDone; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	lineRE := regexp.MustCompile(`^Mon Feb  4 20:08:47 2019 Info: writer (\d) line (\d+) x*$`)
	count := func(text, where string) {
		seen := map[string]int{}
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "writer") {
				mm := lineRE.FindStringSubmatch(l)
				if mm == nil {
					t.Fatalf("%s: torn line %q", where, l)
				}
				seen[mm[1]+"/"+mm[2]]++
			}
		}
		for w := 0; w < writers; w++ {
			for i := 0; i < per; i++ {
				if k := fmt.Sprintf("%d/%d", w, i); seen[k] != 1 {
					t.Fatalf("%s: line %s seen %d times", where, k, seen[k])
				}
			}
		}
	}
	fs := files(t, m, "a")
	if len(fs) < 10 {
		t.Fatalf("only %d files: no rollover under load", len(fs))
	}
	var all strings.Builder
	for _, f := range fs {
		all.WriteString(read(t, f))
	}
	count(all.String(), "files")
	count(out.String(), "tail -f")
}

// TestTailFollowReAdded: a follower outlives the removal of its
// subscription and goes on when the same name comes back.
func TestTailFollowReAdded(t *testing.T) {
	t.Parallel()
	m, c := logstest.Mail(t, 0, 1)
	subs := m.Subscriptions()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &screen{}
	done := make(chan error, 1)
	go func() { done <- m.Tail(ctx, "mail_logs", 1, true, out) }()
	out.waitFor(t, "line 0 of file 0\n")
	if err := m.Apply(store.Logs{}); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "Info: End Logfile\n")
	c.Advance(time.Second)
	if err := m.Apply(store.Logs{Subscriptions: subs}); err != nil {
		t.Fatal(err)
	}
	m.Logger(store.LogTypeMail).Info("back again")
	out.waitFor(t, "Mon Feb  4 20:08:49 2019 Info: Begin Logfile\nMon Feb  4 20:08:49 2019 Info: Time offset from UTC: 0 seconds\nMon Feb  4 20:08:49 2019 Info: back again\n")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// TestTailLongLines: lines longer than the backward read chunk.
func TestTailLongLines(t *testing.T) {
	t.Parallel()
	c := logstest.NewClock(time.Time{})
	m := logstest.NewManager(t, c, logstest.Sub("a", store.LogTypeMail, store.LevelInfo))
	long := strings.Repeat("y", 100<<10)
	l := m.Logger(store.LogTypeMail)
	l.Info("A%s", long)
	l.Info("B%s", long)
	var b bytes.Buffer
	if err := m.Tail(context.Background(), "a", 2, false, &b); err != nil {
		t.Fatal(err)
	}
	want := "Mon Feb  4 20:08:47 2019 Info: A" + long + "\nMon Feb  4 20:08:47 2019 Info: B" + long + "\n"
	if b.String() != want {
		t.Fatalf("tail of long lines: %d bytes, want %d", b.Len(), len(want))
	}
	var g bytes.Buffer
	n, err := m.Grep(context.Background(), "a", logs.GrepOptions{Pattern: regexp.MustCompile("^Mon.*B" + long[:10])}, &g)
	got := g.String()
	if err != nil || n != 1 || !strings.HasSuffix(got, "B"+long+"\n") {
		t.Fatalf("grep of a long line: %d %v", n, err)
	}
}

// TestGrepFollowCount: grep -t -c prints the count when the context ends.
func TestGrepFollowCount(t *testing.T) {
	t.Parallel()
	m, _ := logstest.Mail(t, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	out := &screen{}
	done := make(chan int, 1)
	go func() {
		n, _ := m.Grep(ctx, "mail_logs", logs.GrepOptions{Pattern: regexp.MustCompile("hit"), Follow: true, Count: true}, out)
		done <- n
	}()
	// Once the grep follows, every hit written before the cancellation
	// is counted: exactly three.
	waitFollowing(t, m, "mail_logs")
	l := m.Logger(store.LogTypeMail)
	for i := 0; i < 3; i++ {
		l.Info("hit %d", i)
	}
	cancel()
	n := <-done
	if n != 3 || out.String() != "3\n" {
		t.Fatalf("count %d, screen %q; want 3", n, out.String())
	}
}

// waitFollowing waits until a follower of subscription name has fixed
// where it reads from (Manager.Following, an event, not a delay).
func waitFollowing(t *testing.T, m *logs.Manager, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for m.Following(name) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no follower of %s registered", name)
		}
		runtime.Gosched()
	}
}
