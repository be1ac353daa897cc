package spf

import (
	"context"
	"net/netip"
	"sync"
)

// memo remembers every DNS answer of one check so that speculative lookups
// (prefetch.go) and the in-order evaluation share one query per name and
// type. It lives for a single check; caching across checks is the
// resolver's business.
type memo struct {
	r  Resolver
	mu sync.Mutex
	// concurrent is set once a second goroutine may use the memo; from
	// then on an entry is published before its answer, with a channel
	// closed when the answer is in.
	concurrent bool
	// A check makes a few dozen queries at most (RFC 7208 §4.6.4), so a
	// slice searched linearly beats a map.
	keys    []memoKey
	entries []*memoEntry
	// Inline storage for the usual handful of queries, so that a check
	// does not allocate per query.
	kbuf [8]memoKey
	pbuf [8]*memoEntry
	ebuf [8]memoEntry
	nbuf int
}

type qtype uint8

const (
	qTXT qtype = iota
	qA
	qAAAA
	qMX
	qPTR
)

type memoKey struct {
	t    qtype
	name string
	addr netip.Addr
}

type memoEntry struct {
	done  chan struct{} // nil: complete when published
	strs  []string
	addrs []netip.Addr
	err   error
}

func (m *memo) init(r Resolver) {
	m.r, m.concurrent = r, false
	m.keys, m.entries, m.nbuf = m.kbuf[:0], m.pbuf[:0], 0
}

// setConcurrent is called before a second goroutine uses the memo.
func (m *memo) setConcurrent() {
	m.mu.Lock()
	m.concurrent = true
	m.mu.Unlock()
}

func (m *memo) find(k memoKey) *memoEntry {
	for i := range m.keys {
		if m.keys[i] == k {
			return m.entries[i]
		}
	}
	return nil
}

// newEntry claims storage for an entry; m.mu is held.
func (m *memo) newEntry() *memoEntry {
	if m.nbuf < len(m.ebuf) {
		e := &m.ebuf[m.nbuf]
		m.nbuf++
		*e = memoEntry{}
		return e
	}
	return &memoEntry{}
}

// get returns the answer for k, querying the resolver once however many
// goroutines ask (while the memo is not shared, two askers cannot exist;
// in the instant it becomes shared a duplicate query is possible and
// harmless).
func (m *memo) get(ctx context.Context, k memoKey) *memoEntry {
	m.mu.Lock()
	if e := m.find(k); e != nil {
		m.mu.Unlock()
		if e.done != nil {
			select {
			case <-e.done:
			case <-ctx.Done():
				return &memoEntry{err: ctx.Err()}
			}
		}
		return e
	}
	e := m.newEntry()
	if !m.concurrent {
		// Publish only the finished answer: no channel needed.
		m.mu.Unlock()
		m.query(ctx, k, e)
		m.mu.Lock()
		m.keys = append(m.keys, k)
		m.entries = append(m.entries, e)
		m.mu.Unlock()
		return e
	}
	e.done = make(chan struct{})
	m.keys = append(m.keys, k)
	m.entries = append(m.entries, e)
	m.mu.Unlock()
	m.query(ctx, k, e)
	close(e.done)
	return e
}

func (m *memo) query(ctx context.Context, k memoKey, e *memoEntry) {
	switch k.t {
	case qTXT:
		e.strs, e.err = m.r.LookupTXT(ctx, k.name)
	case qA:
		e.addrs, e.err = m.r.LookupA(ctx, k.name)
	case qAAAA:
		e.addrs, e.err = m.r.LookupAAAA(ctx, k.name)
	case qMX:
		e.strs, e.err = m.r.LookupMX(ctx, k.name)
	case qPTR:
		e.strs, e.err = m.r.LookupPTR(ctx, k.addr)
	}
}

func (m *memo) txt(ctx context.Context, name string) ([]string, error) {
	e := m.get(ctx, memoKey{t: qTXT, name: name})
	return e.strs, e.err
}

func (m *memo) mx(ctx context.Context, name string) ([]string, error) {
	e := m.get(ctx, memoKey{t: qMX, name: name})
	return e.strs, e.err
}

func (m *memo) ptr(ctx context.Context, ip netip.Addr) ([]string, error) {
	e := m.get(ctx, memoKey{t: qPTR, addr: ip})
	return e.strs, e.err
}

// addrs looks up A for an IPv4 client and AAAA for an IPv6 one (RFC 7208
// §5.3: the record type follows the client's address family).
func (m *memo) addrs(ctx context.Context, name string, v6 bool) ([]netip.Addr, error) {
	t := qA
	if v6 {
		t = qAAAA
	}
	e := m.get(ctx, memoKey{t: t, name: name})
	return e.addrs, e.err
}
