package queue

import (
	"testing"
	"time"
)

// TestSetRetrySurvivesReopen: the back-off of a delivery attempt (attempt
// count, next attempt time, delay notice sent) is on disk, so a restarted
// engine continues it; SetDone keeps it.
func TestSetRetrySurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mid, _ := q.IDs().Next(MID)
	w, _ := q.NewMessage()
	w.Write([]byte("x\r\n"))
	if err := w.Commit(Envelope{MID: mid, From: "a@b", Recipients: []string{"c@d", "e@f"}}); err != nil {
		t.Fatal(err)
	}
	next := time.Now().Add(time.Hour).Round(time.Second)
	if _, err := q.SetRetry(mid, next, true); err != nil {
		t.Fatal(err)
	}
	st, err := q.SetRetry(mid, next, false)
	if err != nil || st.Attempts != 2 || !st.DelayNotified {
		t.Fatalf("state %+v, %v", st, err)
	}
	if err := q.SetDone(mid, "delivered", 0); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := q.Get(mid)
	if !ok || e.State.Attempts != 2 || !e.State.Next.Equal(next) || !e.State.DelayNotified || e.State.Done[0] != "delivered" {
		t.Fatalf("after reopen: %+v", e.State)
	}
	if n := q.ClearNext(nil); n != 1 {
		t.Fatalf("ClearNext cleared %d", n)
	}
	if e, _ := q.Get(mid); !e.State.Next.IsZero() {
		t.Fatalf("Next %v after ClearNext", e.State.Next)
	}
}

// TestSetDoneLazy: the lazy variant records outcomes like SetDone and
// removes the finished message's files (without the directory fsync).
func TestSetDoneLazy(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mid, _ := q.IDs().Next(MID)
	w, _ := q.NewMessage()
	w.Write([]byte("x\r\n"))
	if err := w.Commit(Envelope{MID: mid, From: "a@b", Recipients: []string{"c@d", "e@f"}}); err != nil {
		t.Fatal(err)
	}
	if err := q.SetDoneLazy(mid, "delivered", 1); err != nil {
		t.Fatal(err)
	}
	if e, ok := q.Get(mid); !ok || e.State.Done[1] != "delivered" {
		t.Fatalf("after one RID: %+v", e.State)
	}
	if err := q.SetDoneLazy(mid, "delivered", 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Get(mid); ok {
		t.Fatal("still indexed")
	}
	q.Close()
	q, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Get(mid); ok {
		t.Fatal("back after reopen")
	}
}
