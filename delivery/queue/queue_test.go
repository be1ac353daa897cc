package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func commit(t testing.TB, q *Queue, body string, rcpts ...string) uint64 {
	t.Helper()
	mid, err := q.IDs().Next(MID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(Envelope{MID: mid, ICID: 7, From: "a@example.org", Recipients: rcpts, Prepend: "Received: from x\r\n", Listener: "IncomingMail"}); err != nil {
		t.Fatal(err)
	}
	return mid
}

func readAll(t *testing.T, q *Queue, mid uint64) (string, string) {
	t.Helper()
	m, err := q.Open(mid)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	whole, err := io.ReadAll(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := q.Body(mid)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	body, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(whole), string(body)
}

func TestCommitReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: hi\r\n\r\nline\r\n" + strings.Repeat("x", 100000) + "\r\n"
	mid := commit(t, q, body, "b@example.com", "c@example.com")
	whole, got := readAll(t, q, mid)
	if got != body || whole != "Received: from x\r\n"+body {
		t.Fatal("body not byte-identical")
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := q2.Get(mid)
	if !ok || e.Envelope.Size != int64(len(body)) || len(e.Envelope.Recipients) != 2 || e.Envelope.Listener != "IncomingMail" {
		t.Fatalf("after reopen: %+v %v", e, ok)
	}
	if _, got := readAll(t, q2, mid); got != body {
		t.Fatal("body changed across reopen")
	}
	// IDs only grow across restarts.
	next, _ := q2.IDs().Next(MID)
	if next <= mid {
		t.Fatalf("MID %d handed out again after %d", next, mid)
	}
}

func TestAbortAndTmpLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	w, _ := q.NewMessage()
	io.WriteString(w, "partial")
	w.Abort()
	// A write in flight when the process died leaves a dot file in msg/.
	w2, _ := q.NewMessage()
	io.WriteString(w2, "died here")
	w2.bw.Flush()
	if !strings.HasPrefix(filepath.Base(w2.f.Name()), ".p") || filepath.Dir(w2.f.Name()) != filepath.Join(dir, "msg") {
		t.Fatalf("message written at %s", w2.f.Name())
	}
	q2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := q2.Len(); n != 0 {
		t.Fatalf("%d messages from uncommitted writes", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "msg")); len(ents) != 0 {
		t.Fatalf("msg/ not cleaned: %v", ents)
	}
}

func TestDamagedFilesSetAside(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	good := commit(t, q, "good\r\n", "r@example.com")
	bad := commit(t, q, "bad body\r\n", "r@example.com")
	trunc := commit(t, q, "truncated\r\n", "r@example.com")
	// Flip an envelope byte of one file, cut another short, and drop a stray
	// file name in.
	p := q.msgPath(bad)
	data, _ := os.ReadFile(p)
	data[headerLen+len("bad body\r\n")+3] ^= 0x20
	os.WriteFile(p, data, 0o600)
	pt := q.msgPath(trunc)
	data, _ = os.ReadFile(pt)
	os.WriteFile(pt, data[:len(data)-5], 0o600)
	os.WriteFile(filepath.Join(dir, "msg", "junk.msg"), []byte("x"), 0o600)

	q2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q2.Get(good); !ok {
		t.Fatal("good message lost")
	}
	for _, mid := range []uint64{bad, trunc} {
		if _, ok := q2.Get(mid); ok {
			t.Fatalf("damaged MID %d served", mid)
		}
	}
	if got := strings.Join(q2.SetAside(), ","); !strings.Contains(got, "junk.msg") || len(q2.SetAside()) != 3 {
		t.Fatalf("set aside: %v", got)
	}
}

func TestBodyChecksum(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	mid := commit(t, q, "hello world\r\n", "r@example.com")
	p := q.msgPath(mid)
	data, _ := os.ReadFile(p)
	data[headerLen+2] ^= 1
	os.WriteFile(p, data, 0o600)
	b, err := q.Body(mid)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := io.ReadAll(b); !errors.Is(err, ErrDamaged) {
		t.Fatalf("flipped body bit read without error: %v", err)
	}
}

func TestSetDoneAndRemove(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	mid := commit(t, q, "x\r\n", "a@x.example", "b@y.example", "c@x.example")
	if err := q.SetDone(mid, "delivered", 0, 2); err != nil {
		t.Fatal(err)
	}
	if err := q.SetDone(mid, "delivered", 5); err == nil {
		t.Fatal("RID 5 accepted")
	}
	q2, _ := Open(dir)
	e, ok := q2.Get(mid)
	if !ok || fmt.Sprint(e.Pending()) != "[1]" || e.State.Done[0] != "delivered" {
		t.Fatalf("state after reopen: %+v", e)
	}
	if _, r := q2.Len(); r != 1 {
		t.Fatalf("pending recipients %d", r)
	}
	if err := q2.SetDone(mid, "bounced", 1); err != nil {
		t.Fatal(err)
	}
	if _, ok := q2.Get(mid); ok {
		t.Fatal("finished message still queued")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "msg")); len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
	other := commit(t, q2, "y\r\n", "z@z.example")
	if err := q2.Remove(other); err != nil {
		t.Fatal(err)
	}
	if err := q2.Remove(other); err == nil {
		t.Fatal("second Remove succeeded")
	}
}

func TestConcurrentCommitsShareDirSyncs(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	var syncs int
	var mu sync.Mutex
	q.sync.syncFn = func(d string) error {
		mu.Lock()
		syncs++
		mu.Unlock()
		return syncDir(d)
	}
	sub := q.Subscribe(1000)
	const n = 200
	var wg sync.WaitGroup
	bodies := make([]string, n)
	mids := make([]uint64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			bodies[i] = fmt.Sprintf("message %d\r\n%s", i, bytes.Repeat([]byte{'a' + byte(i%26)}, i*37))
			mids[i] = commit(t, q, bodies[i], "r@example.com")
		}(i)
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i := 0; i < n; i++ {
		if _, body := readAll(t, q, mids[i]); body != bodies[i] {
			t.Fatalf("message %d differs", i)
		}
		if seen[mids[i]] {
			t.Fatalf("MID %d twice", mids[i])
		}
		seen[mids[i]] = true
	}
	if len(sub) != n {
		t.Fatalf("%d notifications for %d commits", len(sub), n)
	}
	t.Logf("%d commits, %d directory fsyncs", n, syncs)
	if syncs > n {
		t.Fatalf("%d directory fsyncs for %d commits", syncs, n)
	}
}

func TestDirSyncFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	fail := errors.New("EIO")
	calls := 0
	q.sync.syncFn = func(string) error {
		calls++
		if calls == 1 {
			return fail
		}
		return nil
	}
	w, _ := q.NewMessage()
	if err := w.Commit(Envelope{MID: 1, Recipients: []string{"a@b"}}); !errors.Is(err, fail) {
		t.Fatalf("first commit: %v", err)
	}
	if _, ok := q.Get(1); ok {
		t.Fatal("a message whose commit failed is indexed")
	}
	w, _ = q.NewMessage()
	if err := w.Commit(Envelope{MID: 2, Recipients: []string{"a@b"}}); !errors.Is(err, fail) {
		t.Fatalf("after a failed fsync every commit must fail, got %v", err)
	}
}

func TestCloseWaitsAndRefuses(t *testing.T) {
	q, _ := Open(t.TempDir())
	w, _ := q.NewMessage()
	done := make(chan struct{})
	go func() { q.Close(); close(done) }()
	io.WriteString(w, "x")
	if err := w.Commit(Envelope{MID: 1, Recipients: []string{"a@b"}}); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := q.NewMessage(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewMessage after Close: %v", err)
	}
}

func TestCountersSurviveDamage(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	mid := commit(t, q, "x\r\n", "r@example.com")
	// A lost counter file must not lead to a MID below one on disk.
	os.WriteFile(filepath.Join(dir, "ids"), []byte("{}"), 0o600)
	q2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := q2.IDs().Next(MID); n <= mid {
		t.Fatalf("MID %d reused after counter loss (max on disk %d)", n, mid)
	}
	os.WriteFile(filepath.Join(dir, "ids"), []byte("garbage"), 0o600)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "damaged counter file") {
		t.Fatalf("garbage counter file: %v", err)
	}
}

// A body crafted to end in a plausible envelope and trailer (what a power
// loss could leave as the end of a short file) does not pass for a whole
// message: the trailer must carry the file's own nonce, which the client
// never sees.
func TestForgedTrailerRefused(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	env, _ := json.Marshal(&Envelope{MID: 99, Recipients: []string{"victim@example.com"}})
	forged := append(append([]byte("Subject: x\r\n\r\n"), env...), encodeTrailer(16, env, 0, make([]byte, nonceLen))...)
	mid := commit(t, q, string(forged), "r@example.com")
	// Cut the file right after the forged trailer, as a power loss might.
	p := q.msgPath(mid)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, data[:headerLen+len(forged)], 0o600)
	q2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q2.Get(mid); ok {
		t.Fatal("a cut file with a forged trailer was served")
	}
	if _, ok := q2.Get(99); ok {
		t.Fatal("the forged envelope was taken")
	}
	if len(q2.SetAside()) != 1 {
		t.Fatalf("set aside: %v", q2.SetAside())
	}
}

// A state file written before a restart is removed with its message after
// it; a message that never had one costs no second unlink.
func TestStateFileRemovedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir)
	mid := commit(t, q, "x\r\n", "a@x.example")
	if _, err := q.SetRetry(mid, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	q2, _ := Open(dir)
	if e, ok := q2.Get(mid); !ok || e.State.Attempts != 1 || !e.stateFile {
		t.Fatalf("after reopen: %+v", e)
	}
	if err := q2.SetDone(mid, "delivered", 0); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "msg")); len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
	plain := commit(t, q2, "y\r\n", "b@x.example")
	if e, _ := q2.Get(plain); e.stateFile {
		t.Fatal("a new message is taken to have a state file")
	}
}
