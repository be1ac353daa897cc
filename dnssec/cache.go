package dnssec

import (
	"context"
	"sync"
	"time"
)

// Cache lifetimes.
const (
	// maxTTL caps every cached entry: even a long-lived signed answer is
	// re-validated daily, so revoked keys and rolled zones are noticed.
	maxTTL = 24 * time.Hour
	// bogusTTL: RFC 4035 §4.7 lets a validator remember bogus data briefly
	// to avoid hammering servers; keep it short so repairs are seen quickly.
	bogusTTL = 5 * time.Second
)

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	ans     *Answer
	expires time.Time
}

// answerCache holds validated answers keyed by (name, type). It stores only
// what the validator produced, with its Security, so nothing unvalidated can
// ever come out of it (DANE.md §2.5 item 10).
type answerCache struct {
	mu  sync.RWMutex
	max int
	m   map[cacheKey]cacheEntry
}

func newAnswerCache(max int) *answerCache {
	return &answerCache{max: max, m: make(map[cacheKey]cacheEntry)}
}

// get returns the live entry for k. The *Answer is shared: callers must not
// modify it.
func (c *answerCache) get(k cacheKey, now time.Time) (*Answer, time.Time, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, time.Time{}, false
	}
	return e.ans, e.expires, true
}

// put stores a under k until expires. A Bogus or Indeterminate answer never
// replaces a live better one: an attacker who injects one forged reply must
// not be able to evict good data (or the other way round, good data is
// never hidden behind a bogus entry); it is cached only for bogusTTL.
func (c *answerCache) put(k cacheKey, a *Answer, now, expires time.Time) {
	bad := a.Security == Bogus || a.Security == Indeterminate
	if bad && expires.After(now.Add(bogusTTL)) {
		expires = now.Add(bogusTTL)
	}
	if limit := now.Add(maxTTL); expires.After(limit) {
		expires = limit
	}
	if !expires.After(now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok && bad && now.Before(old.expires) &&
		old.ans.Security != Bogus && old.ans.Security != Indeterminate {
		return
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		evict(c.m, c.max, now, func(e cacheEntry) time.Time { return e.expires })
	}
	c.m[k] = cacheEntry{ans: a, expires: expires}
}

// DefaultMaxAnswers bounds the answer cache: its names come from the
// network (every domain a message names), so a flood of distinct names
// must not grow memory without limit.
const DefaultMaxAnswers = 100000

// flight is one in-progress lookup that concurrent callers for the same key
// wait on instead of sending their own queries.
type flight struct {
	done chan struct{}
	val  any
	err  error
}

// group is a minimal singleflight: the first caller for a key runs fn, the
// others block until it finishes (or their context ends) and share the
// result.
type group struct {
	mu sync.Mutex
	m  map[any]*flight
}

func (g *group) do(ctx context.Context, key any, fn func() (any, error)) (any, error, bool) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[any]*flight)
	}
	if f, ok := g.m[key]; ok {
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.val, f.err, true
		case <-ctx.Done():
			return nil, ctx.Err(), true
		}
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	g.mu.Unlock()

	defer func() {
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = fn()
	return f.val, f.err, false
}
