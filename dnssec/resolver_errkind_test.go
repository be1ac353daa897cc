package dnssec

import (
	"context"
	"errors"
	"testing"
	"time"

	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// TestErrorKindMostInformative: when every resolver fails, each in its own
// way, the LookupError carries the most informative failure, whatever the
// order the servers were asked in: an answer from a resolver (SERVFAIL,
// then FORMERR, then REFUSED) says more about the name than a resolver
// that never answered (timeout, then network error). Before, the last
// server asked decided, so a dead backup resolver hid the SERVFAIL of the
// primary behind "timeout".
func TestErrorKindMostInformative(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	serve := func(f dnstest.Fault) string {
		fr := b.h.Serve(t)
		fr.SetFault(f)
		return fr.Addr
	}
	servfail, refused, timeout := serve(dnstest.ServFail), serve(dnstest.Refused), serve(dnstest.Timeout)
	for _, c := range []struct {
		name    string
		servers []string // in priority order
		kind    ErrorKind
	}{
		{"servfail then timeout", []string{servfail, timeout}, ErrServFail},
		{"timeout then servfail", []string{timeout, servfail}, ErrServFail},
		{"servfail then refused", []string{servfail, refused}, ErrServFail},
		{"refused then timeout", []string{refused, timeout}, ErrRefused},
	} {
		var ss []Server
		for i, a := range c.servers {
			ss = append(ss, Server{Addr: a, Priority: i})
		}
		r, err := New(Config{Servers: ss, Timeout: 300 * time.Millisecond, Anchors: b.h.Anchors(), Now: b.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Lookup(context.Background(), "mail.example.test.", dns.TypeA)
		var le *LookupError
		if !errors.As(err, &le) || le.Kind != c.kind {
			t.Errorf("%s: err = %v, want kind %d", c.name, err, c.kind)
		}
	}
}

// TestLookupCancelInFlight: cancelling the context (Ctrl-C) ends a query
// waiting on a silent resolver at once, although the per-query timeout is
// an hour (miekg/dns alone waits for the socket deadline), and does not
// mark the resolver down: it did nothing wrong.
func TestLookupCancelInFlight(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.h.Break("mail.example.test.", dns.TypeA, dnstest.Timeout)
	r, err := New(Config{Servers: []Server{{Addr: b.front.Addr}}, Timeout: time.Hour, Anchors: b.h.Anchors(), Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	asked := b.front.Asked("mail.example.test.", dns.TypeA)
	go func() {
		<-asked
		cancel()
	}()
	_, err = r.Lookup(ctx, "mail.example.test.", dns.TypeA)
	var le *LookupError
	if !errors.As(err, &le) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a LookupError wrapping context.Canceled", err)
	}
	if r.ex.isDown(b.front.Addr) {
		t.Error("the resolver was marked down for a query we cancelled")
	}
}
