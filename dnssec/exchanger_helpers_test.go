package dnssec

import (
	"context"
	"errors"
	"time"

	"github.com/miekg/dns"
)

// replay is an Exchanger answering from recorded replies by question
// instead of the network, so benchmarks measure validation alone and tests
// can serve records no dnstest zone holds. The reply gets the query's ID
// and question, as a real server's would.
type replay func(name string, qtype uint16) *dns.Msg

func (f replay) Exchange(_ context.Context, _, _ string, q *dns.Msg) (*dns.Msg, error) {
	m := f(q.Question[0].Name, q.Question[0].Qtype)
	if m == nil {
		return nil, errors.New("not recorded")
	}
	m = m.Copy()
	m.Id, m.Response, m.Question = q.Id, true, q.Question
	return m, nil
}

// tap is the network with a hook that sees (and may alter) every reply.
type tap struct {
	timeout time.Duration
	fn      func(q, m *dns.Msg)
}

func (t tap) Exchange(ctx context.Context, network, addr string, q *dns.Msg) (*dns.Msg, error) {
	m, err := netExchanger{timeout: t.timeout}.Exchange(ctx, network, addr, q)
	if err == nil && m != nil {
		t.fn(q, m)
	}
	return m, err
}

// observerFunc is an Observer.
type observerFunc func(name string, qtype uint16, b *Budget)

func (f observerFunc) Validated(name string, qtype uint16, b *Budget) { f(name, qtype, b) }

// resolverWith is bed.resolver with an Exchanger and an Observer.
func (b *bed) resolverWith(t interface {
	Helper()
	Fatal(...any)
}, x Exchanger, o Observer) *Resolver {
	t.Helper()
	r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Timeout: time.Second, Anchors: b.h.Anchors(),
		Now: b.clock.Now, Exchanger: x, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
