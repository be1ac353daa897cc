package spf

import (
	"context"
	"net/netip"
	"sync"
)

// memo remembers every DNS answer of one check so that a speculative
// prefetch (below) and the in-order evaluation share one query per name and
// type. It lives for a single check; caching across checks is the
// resolver's business.
type memo struct {
	r  Resolver
	mu sync.Mutex
	m  map[memoKey]*memoEntry
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
	done  chan struct{}
	strs  []string
	addrs []netip.Addr
	err   error
}

func newMemo(r Resolver) *memo { return &memo{r: r, m: make(map[memoKey]*memoEntry, 16)} }

// get returns the answer for k, querying the resolver once however many
// goroutines ask.
func (m *memo) get(ctx context.Context, k memoKey) *memoEntry {
	m.mu.Lock()
	e, ok := m.m[k]
	if ok {
		m.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return &memoEntry{err: ctx.Err()}
		}
		return e
	}
	e = &memoEntry{done: make(chan struct{})}
	m.m[k] = e
	m.mu.Unlock()
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
	close(e.done)
	return e
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
