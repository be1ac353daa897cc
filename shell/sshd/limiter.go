package sshd

import (
	"sync"
	"time"
)

// Limiter counts failed logins per source address. After max failures
// within window an address is refused until the window has passed since
// its last failure; a success clears its count. The table is bounded: the
// oldest entries go first when it is full, so a flood of addresses cannot
// grow it without limit.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[string]*record
}

type record struct {
	n    int
	last time.Time
}

const limiterSize = 10000

// NewLimiter returns a limiter.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{max: max, window: window, now: now, fails: map[string]*record{}}
}

// Allow reports whether src may try to log in now.
func (l *Limiter) Allow(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.fails[src]
	if r == nil {
		return true
	}
	if l.now().Sub(r.last) > l.window {
		delete(l.fails, src)
		return true
	}
	return r.n < l.max
}

// Fail records a failed attempt from src.
func (l *Limiter) Fail(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.fails[src]
	if r == nil {
		if len(l.fails) >= limiterSize {
			l.evict()
		}
		r = &record{}
		l.fails[src] = r
	}
	if l.now().Sub(r.last) > l.window {
		r.n = 0
	}
	r.n++
	r.last = l.now()
}

// Succeed clears src's failures.
func (l *Limiter) Succeed(src string) {
	l.mu.Lock()
	delete(l.fails, src)
	l.mu.Unlock()
}

func (l *Limiter) evict() {
	var oldest string
	var t time.Time
	for k, r := range l.fails {
		if oldest == "" || r.last.Before(t) {
			oldest, t = k, r.last
		}
	}
	delete(l.fails, oldest)
}
