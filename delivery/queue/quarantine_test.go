package queue

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var quarantineEpoch = time.Date(2026, time.March, 4, 10, 0, 0, 0, time.UTC)

// commitHeld commits a message received at received, held by quarantine
// ("" for none).
func commitHeld(t testing.TB, q *Queue, quarantine string, received time.Time, rcpts ...string) uint64 {
	t.Helper()
	mid, err := q.IDs().Next(MID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: held\r\n\r\nbody\r\n")
	env := Envelope{MID: mid, Received: received, From: "ceo@forged.example", Recipients: rcpts, Quarantine: quarantine}
	if quarantine != "" {
		env.QuarantineReason = "test reason"
	}
	if err := w.Commit(env); err != nil {
		t.Fatal(err)
	}
	return mid
}

func mids(es []Entry) []uint64 {
	out := []uint64{}
	for _, e := range es {
		out = append(out, e.Envelope.MID)
	}
	return out
}

// TestQuarantinedList: the messages a quarantine holds, oldest first (not
// in MID order), without the released ones, those of other quarantines and
// those never quarantined; "" lists every quarantine's.
func TestQuarantinedList(t *testing.T) {
	t.Parallel()
	q, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	late := commitHeld(t, q, "Policy", quarantineEpoch.Add(time.Hour), "a@example.com")
	early := commitHeld(t, q, "Policy", quarantineEpoch, "b@example.com")
	hr := commitHeld(t, q, "HR", quarantineEpoch.Add(30*time.Minute), "c@example.com")
	commitHeld(t, q, "", quarantineEpoch, "d@example.com")
	gone := commitHeld(t, q, "Policy", quarantineEpoch.Add(-time.Hour), "e@example.com")
	if err := q.Release(gone); err != nil {
		t.Fatal(err)
	}
	if got, want := mids(q.Quarantined("Policy")), []uint64{early, late}; !reflect.DeepEqual(got, want) {
		t.Errorf("Policy holds %v, want %v", got, want)
	}
	if got, want := mids(q.Quarantined("")), []uint64{early, hr, late}; !reflect.DeepEqual(got, want) {
		t.Errorf("all quarantines hold %v, want %v", got, want)
	}
	if got := q.Quarantined("policy"); len(got) != 0 {
		t.Errorf("names are exact: policy holds %v", mids(got))
	}
	// A copy: changing it does not reach the queue.
	l := q.Quarantined("HR")
	l[0].Envelope.Recipients[0] = "changed"
	if e, _ := q.Get(hr); e.Envelope.Recipients[0] != "c@example.com" {
		t.Errorf("Quarantined returned the queue's own recipients")
	}
}

// TestReleaseSurvivesReopen: a release is on disk when Release returns;
// the queue opened again on the same directory holds the message as
// released, with its recorded outcomes, and no longer lists it.
func TestReleaseSurvivesReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mid := commitHeld(t, q, "Policy", quarantineEpoch, "a@example.com", "b@example.com")
	kept := commitHeld(t, q, "Policy", quarantineEpoch, "c@example.com")
	// deleterecipients took one recipient while it was held.
	if err := q.SetDone(mid, "deleted", 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Release(mid); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	e, ok := q.Get(mid)
	if !ok || !e.State.Released || e.State.Done[0] != "deleted" || !reflect.DeepEqual(e.Pending(), []int{1}) {
		t.Fatalf("after reopening: %+v, %v", e, ok)
	}
	if got := mids(q.Quarantined("")); !reflect.DeepEqual(got, []uint64{kept}) {
		t.Errorf("after reopening the quarantine holds %v, want only %d", got, kept)
	}
	// A released message is no longer held: releasing or deleting it
	// again is refused, as for a message never quarantined or unknown.
	plain := commitHeld(t, q, "", quarantineEpoch, "d@example.com")
	for _, m := range []uint64{mid, plain, 999} {
		if err := q.Release(m); !errors.Is(err, ErrNotQuarantined) || err.Error() != fmt.Sprintf("MID %d is not in a quarantine", m) {
			t.Errorf("Release(%d): %v", m, err)
		}
		if err := q.DeleteQuarantined(m); !errors.Is(err, ErrNotQuarantined) {
			t.Errorf("DeleteQuarantined(%d): %v", m, err)
		}
	}
	if _, ok := q.Get(plain); !ok {
		t.Errorf("DeleteQuarantined removed a message no quarantine held")
	}
}

// TestReleaseInterrupted: a crash in the middle of Release's state-file
// replacement leaves a dot-named temporary file; Open removes it and the
// message is still held (the release was never confirmed).
func TestReleaseInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mid := commitHeld(t, q, "Policy", quarantineEpoch, "a@example.com")
	q.Close()
	tmp := filepath.Join(dir, "msg", fmt.Sprintf(".%d.st.tmp123", mid))
	if err := os.WriteFile(tmp, []byte(`{"released":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got := mids(q.Quarantined("Policy")); !reflect.DeepEqual(got, []uint64{mid}) {
		t.Errorf("after an interrupted release Policy holds %v, want [%d]", got, mid)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the temporary state file is still there: %v", err)
	}
}

// TestReleaseAnnounced: a released message reaches Subscribe's channels
// as a newly committed one does, so the delivery engine takes it at once;
// it is announced only after it is released.
func TestReleaseAnnounced(t *testing.T) {
	t.Parallel()
	q, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	mid := commitHeld(t, q, "Policy", quarantineEpoch, "a@example.com")
	c := q.Subscribe(4)
	if err := q.Release(mid); err != nil {
		t.Fatal(err)
	}
	// Release sends before it returns (never blocking): no waiting.
	select {
	case got := <-c:
		if got != mid {
			t.Errorf("announced MID %d, want %d", got, mid)
		}
		if e, _ := q.Get(got); !e.State.Released {
			t.Errorf("MID %d announced before it was released", got)
		}
	default:
		t.Fatal("the released message was not announced")
	}
	// A refused release announces nothing.
	if err := q.Release(mid); err == nil {
		t.Fatal("a second release was accepted")
	}
	select {
	case got := <-c:
		t.Errorf("a refused release announced MID %d", got)
	default:
	}
}

// TestDeleteQuarantined: the message's files go, its recipients count as
// deleted, and the queue opened again does not have it.
func TestDeleteQuarantined(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mid := commitHeld(t, q, "Policy", quarantineEpoch, "a@example.com", "b@example.com", "c@example.com")
	if err := q.SetDone(mid, "deleted", 2); err != nil { // gives it a state file
		t.Fatal(err)
	}
	if err := q.DeleteQuarantined(mid); err != nil {
		t.Fatal(err)
	}
	if o := q.Outcomes(); o["deleted"] != 3 {
		t.Errorf("outcomes %v, want 3 deleted", o)
	}
	for _, name := range []string{"1.msg", "1.st"} {
		if _, err := os.Stat(filepath.Join(dir, "msg", name)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", name, err)
		}
	}
	q.Close()
	q, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, ok := q.Get(mid); ok {
		t.Errorf("MID %d is back after reopening", mid)
	}
}

// TestExpireQuarantined: each quarantine's retention period and default
// action, measured from the time received; a message younger than its
// retention stays; a quarantine the configuration lost is asked about
// like the others.
func TestExpireQuarantined(t *testing.T) {
	t.Parallel()
	q, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	now := quarantineEpoch.Add(240 * time.Hour)
	oldPolicy := commitHeld(t, q, "Policy", now.Add(-240*time.Hour), "a@example.com")
	newPolicy := commitHeld(t, q, "Policy", now.Add(-240*time.Hour+time.Second), "b@example.com")
	oldHR := commitHeld(t, q, "HR", now.Add(-2*time.Hour), "c@example.com")
	newHR := commitHeld(t, q, "HR", now.Add(-30*time.Minute), "d@example.com")
	orphan := commitHeld(t, q, "Gone", now.Add(-241*time.Hour), "e@example.com")
	plain := commitHeld(t, q, "", now.Add(-1000*time.Hour), "f@example.com")
	c := q.Subscribe(8)
	asked := map[string]int{}
	policy := func(name string) (time.Duration, bool) {
		asked[name]++
		switch name {
		case "HR":
			return time.Hour, true
		default: // Policy, and what the daemon gives a lost quarantine
			return 240 * time.Hour, false
		}
	}
	released, deleted, err := q.ExpireQuarantined(now, policy)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(released, []uint64{oldHR}) || !reflect.DeepEqual(deleted, []uint64{orphan, oldPolicy}) {
		t.Errorf("released %v, deleted %v; want [%d], [%d %d]", released, deleted, oldHR, orphan, oldPolicy)
	}
	if !reflect.DeepEqual(asked, map[string]int{"Policy": 1, "HR": 1, "Gone": 1}) {
		t.Errorf("policy asked %v, want each quarantine once", asked)
	}
	if got := mids(q.Quarantined("")); !reflect.DeepEqual(got, []uint64{newPolicy, newHR}) {
		t.Errorf("still held %v, want [%d %d]", got, newPolicy, newHR)
	}
	for _, m := range []uint64{orphan, oldPolicy} {
		if _, ok := q.Get(m); ok {
			t.Errorf("expired MID %d is still queued", m)
		}
	}
	if e, ok := q.Get(oldHR); !ok || !e.State.Released {
		t.Errorf("MID %d not released: %+v", oldHR, e)
	}
	if _, ok := q.Get(plain); !ok {
		t.Errorf("a message never quarantined was expired")
	}
	if got := <-c; got != oldHR {
		t.Errorf("announced %d, want %d", got, oldHR)
	}
	// A second run finds nothing more to do.
	if r, d, err := q.ExpireQuarantined(now, policy); len(r)+len(d) != 0 || err != nil {
		t.Errorf("second run: %v %v %v", r, d, err)
	}
}

// BenchmarkQuarantined: listing one quarantine of a queue of 10,000
// messages, half of them held.
func BenchmarkQuarantined(b *testing.B) {
	q, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for i := 0; i < 10000; i++ {
		name := ""
		if i%2 == 0 {
			name = "Policy"
		}
		commitHeld(b, q, name, quarantineEpoch.Add(time.Duration(i%977)*time.Second), "a@example.com")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := len(q.Quarantined("Policy")); n != 5000 {
			b.Fatalf("%d held", n)
		}
	}
}

// BenchmarkRelease: one durable release (a state-file replacement with
// its fsyncs).
func BenchmarkRelease(b *testing.B) {
	q, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	ms := make([]uint64, b.N)
	for i := range ms {
		ms[i] = commitHeld(b, q, "Policy", quarantineEpoch, "a@example.com")
	}
	b.ResetTimer()
	for _, m := range ms {
		if err := q.Release(m); err != nil {
			b.Fatal(err)
		}
	}
}
