package spf

import (
	"context"
	"strings"
	"time"
)

// prefetchDelay is how long the evaluation may wait on one DNS answer
// before the later targets of the same record are looked up concurrently.
// Answers from a cache (or the in-memory DNS of tests) come back long
// before it, and then no goroutine is started at all; a query that goes to
// the network takes longer, and the rest of the record's queries then
// overlap with it.
const prefetchDelay = time.Millisecond

// armPrefetch prepares the queries of the DNS-using terms of rec after the
// first one, within the lookup budget (RFC 7208 §4.6.4 counts terms, it
// does not order queries), and arms a timer that starts them if the
// evaluation is still waiting after prefetchDelay. Terms whose target needs
// %{p} are left alone (that macro needs DNS itself). Evaluation order,
// counting and results are unchanged: only the waiting overlaps.
func (ch *check) armPrefetch(domain string, rec *Record) *time.Timer {
	budget := maxLookups - ch.lookups
	v6 := ch.ip.Is6()
	var keys []memoKey
	first := true
	for i := range rec.Mechanisms {
		m := &rec.Mechanisms[i]
		if m.Kind == All || m.Kind == IP4 || m.Kind == IP6 || m.Kind == PTR {
			continue
		}
		if budget <= 0 {
			break
		}
		budget--
		if first {
			// The evaluation asks for the first target itself.
			first = false
			continue
		}
		if m.macro != nil && m.macro.uses('p') {
			continue
		}
		t := ch.target(m.macro, domain)
		if !validDomain(t) {
			continue
		}
		k := memoKey{name: t}
		switch m.Kind {
		case Include:
			k.t = qTXT
		case A:
			k.t = qA
			if v6 {
				k.t = qAAAA
			}
		case MX:
			k.t = qMX
		case Exists:
			k.t = qA
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	ch.refs.Add(1) // held by the timer until it fires or is stopped
	d := prefetchDelay
	switch {
	case ch.c.prefetchAfter < 0:
		ch.prefetch(keys, v6) // at once (tests)
		return nil
	case ch.c.prefetchAfter > 0:
		d = ch.c.prefetchAfter
	}
	return time.AfterFunc(d, func() { ch.prefetch(keys, v6) })
}

// disarm stops a timer that has not fired, dropping its hold.
func (ch *check) disarm(t *time.Timer) {
	if t.Stop() {
		ch.release()
	}
}

// prefetch runs on the timer's goroutine: one goroutine per query, under a
// context cancelled as soon as the check has its verdict.
func (ch *check) prefetch(keys []memoKey, v6 bool) {
	defer ch.release()
	ch.mu.Lock()
	if ch.finished {
		ch.mu.Unlock()
		return
	}
	if ch.pctx == nil {
		ch.pctx, ch.pcancel = context.WithCancel(ch.ctx)
	}
	ctx := ch.pctx
	ch.memo.setConcurrent()
	ch.refs.Add(int32(len(keys)))
	ch.mu.Unlock()
	for _, k := range keys {
		go func(k memoKey) {
			defer ch.release()
			e := ch.memo.get(ctx, k)
			if k.t == qMX && e.err == nil && len(e.strs) <= maxMXNames {
				for _, h := range e.strs {
					h = strings.TrimSuffix(h, ".")
					if validDomain(h) {
						ch.memo.addrs(ctx, h, v6)
					}
				}
			}
		}(k)
	}
}

// finish marks the verdict as known: no more speculative lookups start,
// and those running are cancelled.
func (ch *check) finish() {
	ch.mu.Lock()
	ch.finished = true
	if ch.pcancel != nil {
		ch.pcancel()
	}
	ch.mu.Unlock()
}
