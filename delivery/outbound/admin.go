package outbound

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"esa/delivery/queue"
)

// The administrator's queue operations (bouncerecipients,
// redirectrecipients): they act on queued mail through the engine, so the
// bounce goes out as the engine's own bounces do and a redirect changes the
// engine's routing rather than the queued envelopes.

// BounceNow bounces the pending recipients rids of mid at once: each is
// logged "Bounced: DCID 0 MID ...", recorded as bounced in the queue, and the
// sender gets one RFC 3464 report per recipient domain when that domain's
// bounce profile sends hard bounces (the same rule as a 5xx reply). reason
// is the text the log line and the report's Diagnostic-Code carry. It
// returns how many recipients it bounced: those already done (delivered
// meanwhile) are skipped, and so is a message a quarantine holds
// (queue.Entry.Held): it is not in the work queue, and only releasing or
// deleting it from its quarantine ends it (quarantineconfig).
func (e *Engine) BounceNow(mid uint64, rids []int, reason string) (int, error) {
	en, ok := e.cfg.Queue.Get(mid)
	if !ok || en.Held() {
		return 0, nil
	}
	pending := en.Pending()
	byDomain := map[string][]ridFail{}
	var domains []string
	for _, rid := range rids {
		if !slices.Contains(pending, rid) {
			continue
		}
		pending = slices.DeleteFunc(pending, func(r int) bool { return r == rid }) // once each
		d := domainOf(en.Envelope.Recipients[rid])
		if _, seen := byDomain[d]; !seen {
			domains = append(domains, d)
		}
		// RFC 3463 §3.4 5.3.0: "Other or undefined mail system status",
		// the class of a bounce the gateway itself decided.
		byDomain[d] = append(byDomain[d], ridFail{rid, &failure{perm: true, enh: "5.3.0",
			reason: "Bounced by administrator", code: "000", text: oneLine(reason), status: "5.3.0"}})
	}
	n := 0
	for _, d := range domains {
		e.bounce(en.Envelope, d, byDomain[d], 0, e.cfg.Policy(d).normalised())
		n += len(byDomain[d])
	}
	return n, nil
}

// redirect is the override route of redirectrecipients: the messages queued
// when it was set (MID up to upTo) go to route's host, whatever their
// recipient domain's MX or smtproutes entry. Mail that arrives later is
// routed as usual, and so are the messages a quarantine held then (held):
// they were not in the work queue, and once released they follow their
// own routes. It lives in memory: after a restart the queued mail follows
// its normal routes again.
type redirect struct {
	route Route
	upTo  uint64
	held  map[uint64]bool
}

// Redirect sends every message now in the queue to host (a host name or IP
// address) on port (0: the MX port), as an SMTP route for all domains
// would, and makes them due at once. It returns how many pending
// recipients it redirected. Messages a quarantine holds are left out
// (queue.Entry.Held), released later or not. DANE is skipped for
// redirected mail unless host is the recipient domain's own MX (SPEC.md
// §2, as for smtproutes). A second call replaces the first.
func (e *Engine) Redirect(host string, port int) (int, error) {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if host == "" || port < 0 || port > 65535 {
		return 0, errors.New("outbound: redirect needs a host and a port between 0 and 65535")
	}
	upTo := e.cfg.Queue.IDs().Current(queue.MID)
	n := 0
	held := map[uint64]bool{}
	for _, en := range e.cfg.Queue.List() {
		switch {
		case en.Envelope.MID > upTo:
			// Committed after upTo was read: routed as usual.
		case en.Held():
			held[en.Envelope.MID] = true
		default:
			n += len(en.Pending())
		}
	}
	e.mu.Lock()
	e.redirect = &redirect{route: Route{Hosts: []RouteHost{{Host: host, Port: port}}}, upTo: upTo, held: held}
	e.mu.Unlock()
	e.cfg.Queue.ClearNext(func(en *queue.Entry) bool { return en.Envelope.MID <= upTo && !held[en.Envelope.MID] })
	e.logf("Redirecting all messages in the queue (MID %d and below) to %s", upTo, hostPort(host, port))
	e.kick()
	return n, nil
}

// Redirected returns the host and port of the current redirect, if any.
func (e *Engine) Redirected() (host string, port int, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.redirect == nil {
		return "", 0, false
	}
	h := e.redirect.route.Hosts[0]
	return h.Host, h.Port, true
}

func hostPort(host string, port int) string {
	if port == 0 {
		return host
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// routeFor is the route of job j: the redirect when j's message was in the
// work queue when it was set, else the domain's smtproutes entry.
func (e *Engine) routeFor(j job) (route Route, routed, redirected bool) {
	e.mu.Lock()
	r := e.redirect
	e.mu.Unlock()
	if r != nil && j.mid <= r.upTo && !r.held[j.mid] {
		return r.route, true, true
	}
	route, routed = e.cfg.Route(j.domain)
	return route, routed, false
}
