package dkim

import (
	"context"
	"sync"
	"time"
)

// lookupCtx bounds one key query by the profile's key query timeout (seed
// 004) as context.WithTimeout does, but starts its timer only when the
// resolver asks for Done. A lookup answered from memory (a cache, the
// configuration snapshot's resolver) then costs no timer: with
// context.WithTimeout every verified message paid four allocations and a
// timer started and stopped, a noticeable share of verifying a 10 KiB
// message next to the RSA operation (issue 16's throughput target).
//
// The caller's context passes through: its values, its deadline when
// earlier, and its cancellation (which ends Done too, once Done exists).
type lookupCtx struct {
	context.Context
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{}
	err   error
	timer *time.Timer
	stop  func() bool // unregisters the watch on the caller's context
}

func newLookupCtx(parent context.Context, timeout time.Duration) *lookupCtx {
	return &lookupCtx{Context: parent, deadline: time.Now().Add(timeout)}
}

func (c *lookupCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lookupCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
			return c.done
		}
		// Both callbacks run on goroutines of their own, never under
		// c.mu, so cancel may take the lock.
		c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
		c.stop = context.AfterFunc(c.Context, func() { c.cancel(c.Context.Err()) })
	}
	return c.done
}

// Err reports the end of the context even when nobody asked for Done, so
// a resolver that only polls Err sees the deadline too.
func (c *lookupCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		c.cancel(err)
	} else if !time.Now().Before(c.deadline) {
		c.cancel(context.DeadlineExceeded)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// cancel ends the context with err unless it has ended already, and
// releases the timer and the watch on the caller's context.
func (c *lookupCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		if c.done != nil {
			close(c.done)
		}
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stop != nil {
		c.stop()
	}
}
