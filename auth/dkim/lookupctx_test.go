package dkim

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The lazy key-query context ends as context.WithTimeout would: at its
// deadline, with its parent, or when released; and it starts no timer
// unless someone waits on Done.
func TestLookupCtx(t *testing.T) {
	t.Parallel()
	type key struct{}
	t.Run("deadline closes Done", func(t *testing.T) {
		t.Parallel()
		c := newLookupCtx(context.Background(), 5*time.Millisecond)
		defer c.cancel(context.Canceled)
		<-c.Done()
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("parent cancel closes Done", func(t *testing.T) {
		t.Parallel()
		parent, cancel := context.WithCancel(context.Background())
		c := newLookupCtx(parent, time.Hour)
		defer c.cancel(context.Canceled)
		done := c.Done()
		cancel()
		<-done
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err = %v, want Canceled", err)
		}
	})
	t.Run("parent already cancelled", func(t *testing.T) {
		t.Parallel()
		parent, cancel := context.WithCancel(context.Background())
		cancel()
		c := newLookupCtx(parent, time.Hour)
		defer c.cancel(context.Canceled)
		<-c.Done()
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err = %v, want Canceled", err)
		}
	})
	t.Run("Err without Done", func(t *testing.T) {
		t.Parallel()
		c := newLookupCtx(context.Background(), time.Nanosecond)
		defer c.cancel(context.Canceled)
		for c.Err() == nil { // the deadline is a nanosecond away
		}
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err = %v, want DeadlineExceeded", err)
		}
		if c.timer != nil {
			t.Fatal("a timer was started though nobody asked for Done")
		}
		select {
		case <-c.Done(): // an ended context hands out a closed channel
		default:
			t.Fatal("Done is open after Err reported the deadline")
		}
	})
	t.Run("no timer when not asked", func(t *testing.T) {
		t.Parallel()
		c := newLookupCtx(context.Background(), time.Hour)
		if c.Err() != nil {
			t.Fatal("ended early")
		}
		c.cancel(context.Canceled)
		if c.timer != nil || c.done != nil {
			t.Fatal("timer or channel made without a call to Done")
		}
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after release = %v, want Canceled", err)
		}
	})
	t.Run("release stops a started timer", func(t *testing.T) {
		t.Parallel()
		c := newLookupCtx(context.Background(), time.Hour)
		done := c.Done()
		c.cancel(context.Canceled)
		<-done
		if c.timer.Stop() {
			t.Fatal("timer still pending after release")
		}
	})
	t.Run("deadline and values", func(t *testing.T) {
		t.Parallel()
		early := time.Now().Add(time.Minute)
		parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), early)
		defer cancel()
		c := newLookupCtx(parent, time.Hour)
		defer c.cancel(context.Canceled)
		if d, ok := c.Deadline(); !ok || !d.Equal(early) {
			t.Errorf("Deadline = %v %v, want the parent's earlier %v", d, ok, early)
		}
		late := newLookupCtx(parent, time.Second)
		defer late.cancel(context.Canceled)
		if d, ok := late.Deadline(); !ok || !d.Before(early) {
			t.Errorf("Deadline = %v %v, want its own, before %v", d, ok, early)
		}
		if c.Value(key{}) != "v" {
			t.Error("parent's value lost")
		}
	})
	t.Run("derived context follows", func(t *testing.T) {
		t.Parallel()
		c := newLookupCtx(context.Background(), 5*time.Millisecond)
		defer c.cancel(context.Canceled)
		child, cancel := context.WithCancel(c)
		defer cancel()
		<-child.Done()
		if !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Fatalf("child Err = %v", child.Err())
		}
	})
}
