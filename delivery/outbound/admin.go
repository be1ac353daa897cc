package outbound

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
//
// BounceNow is the administrator's bounce (bouncerecipients): status and
// hoststatus count it as an Other Hard Bounce. A message filter's bounce()
// goes through BounceFiltered.
func (e *Engine) BounceNow(mid uint64, rids []int, reason string) (int, error) {
	return e.bounceNow(mid, rids, reason, adminBounceReason)
}

// BounceFiltered is BounceNow for a message filter's bounce() action: the
// same bounce and report, logged "Bounced by filter" and counted as a
// Filter Hard Bounce (status's FltrHrdBnc, ESA-CLI §10.7 and §11.8) rather
// than an Other one.
func (e *Engine) BounceFiltered(mid uint64, rids []int, reason string) (int, error) {
	return e.bounceNow(mid, rids, reason, filterBounceReason)
}

// The reason texts of the gateway's own bounces: the log line's reason,
// and what the counters tell the causes by (bounce).
const (
	adminBounceReason  = "Bounced by administrator"
	filterBounceReason = "Bounced by filter"
)

func (e *Engine) bounceNow(mid uint64, rids []int, reason, cause string) (int, error) {
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
			reason: cause, code: "000", text: oneLine(reason), status: "5.3.0"}})
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
// own routes. It is kept as the queue's record "redirect" (redirectRecord),
// so a restart does not silently send the redirected mail back to the
// routes the administrator turned it away from; ClearRedirect ends it.
type redirect struct {
	route Route
	upTo  uint64
	held  map[uint64]bool
}

// redirectRecordName is the queue record (queue.PutRecord) of the redirect
// in force. It lives with the queue rather than in config.db because upTo
// names MIDs of this queue's counters: a queue wiped or replaced takes its
// redirect with it.
const redirectRecordName = "redirect"

// redirectRecord is the redirect as stored.
type redirectRecord struct {
	Host  string    `json:"host"`
	Port  int       `json:"port,omitempty"`
	UpTo  uint64    `json:"up_to"`
	Held  []uint64  `json:"held,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// check refuses a record that parses but could not have been written by
// Redirect: a half-trusted destination is worse than none.
func (r redirectRecord) check() error {
	if r.Host == "" || r.Host != strings.ToLower(strings.TrimSpace(r.Host)) || strings.ContainsFunc(r.Host, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
		return fmt.Errorf("bad host %q", r.Host)
	}
	if r.Port < 0 || r.Port > 65535 {
		return fmt.Errorf("bad port %d", r.Port)
	}
	if r.UpTo == 0 {
		return errors.New("no MID")
	}
	return nil
}

func (r redirectRecord) redirect() *redirect {
	held := make(map[uint64]bool, len(r.Held))
	for _, mid := range r.Held {
		held[mid] = true
	}
	return &redirect{route: Route{Hosts: []RouteHost{{Host: r.Host, Port: r.Port}}}, upTo: r.UpTo, held: held}
}

// Redirect sends every message now in the queue to host (a host name or IP
// address) on port (0: the MX port), as an SMTP route for all domains
// would, and makes them due at once. It returns how many pending
// recipients it redirected. Messages a quarantine holds are left out
// (queue.Entry.Held), released later or not. DANE is skipped for
// redirected mail unless host is the recipient domain's own MX (SPEC.md
// §2, as for smtproutes). A second call replaces the first. The redirect
// is on disk before Redirect returns: on error nothing was redirected.
func (e *Engine) Redirect(host string, port int) (int, error) {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if host == "" || port < 0 || port > 65535 {
		return 0, errors.New("outbound: redirect needs a host and a port between 0 and 65535")
	}
	upTo := e.cfg.Queue.IDs().Current(queue.MID)
	n := 0
	rec := redirectRecord{Host: host, Port: port, UpTo: upTo, Since: e.cfg.Now()}
	for _, en := range e.cfg.Queue.List() {
		switch {
		case en.Envelope.MID > upTo:
			// Committed after upTo was read: routed as usual.
		case en.Held():
			rec.Held = append(rec.Held, en.Envelope.MID)
		default:
			n += len(en.Pending())
		}
	}
	slices.Sort(rec.Held)
	e.redirectMu.Lock()
	defer e.redirectMu.Unlock()
	if err := e.cfg.Queue.PutRecord(redirectRecordName, rec); err != nil {
		return 0, fmt.Errorf("outbound: the redirect could not be saved: %w", err)
	}
	r := rec.redirect()
	e.mu.Lock()
	e.redirect = r
	e.mu.Unlock()
	e.cfg.Queue.ClearNext(func(en *queue.Entry) bool { return en.Envelope.MID <= upTo && !r.held[en.Envelope.MID] })
	e.logf("Redirecting all messages in the queue (MID %d and below) to %s", upTo, hostPort(host, port))
	e.kick()
	return n, nil
}

// ClearRedirect ends the redirect in force (redirectrecipients CLEAR): the
// mail still queued follows its own routes again. The record goes first,
// so a failure leaves the redirect in force in memory and on disk alike.
// ok is false when there was no redirect.
func (e *Engine) ClearRedirect() (host string, port int, ok bool, err error) {
	e.redirectMu.Lock()
	defer e.redirectMu.Unlock()
	host, port, ok = e.Redirected()
	if err := e.cfg.Queue.DeleteRecord(redirectRecordName); err != nil {
		return host, port, ok, fmt.Errorf("outbound: the redirect record could not be removed: %w", err)
	}
	e.mu.Lock()
	e.redirect = nil
	e.mu.Unlock()
	if ok {
		e.logf("Redirect to %s cleared: the mail in the queue follows its own routes", hostPort(host, port))
	}
	return host, port, ok, nil
}

// RestoreRedirect puts back the redirect a previous run of the daemon
// left in the queue (Redirect), before Run starts, and logs what it found.
// A damaged record is dropped with a warning: sending mail to a host read
// from a half-trusted record would be worse than sending it along its own
// routes. A redirect none of whose messages is left in the queue has done
// its work and is removed.
func (e *Engine) RestoreRedirect() {
	e.redirectMu.Lock()
	defer e.redirectMu.Unlock()
	var rec redirectRecord
	found, err := e.cfg.Queue.Record(redirectRecordName, &rec)
	if !found {
		return
	}
	if err == nil {
		err = rec.check()
	}
	if err != nil {
		e.cfg.Log.Warning("Redirect record dropped (%v): the mail in the queue follows its own routes", err)
		if err := e.cfg.Queue.DeleteRecord(redirectRecordName); err != nil {
			e.cfg.Log.Warning("Redirect record not removed: %v", err)
		}
		return
	}
	r := rec.redirect()
	n := 0
	for _, en := range e.cfg.Queue.List() {
		if en.Envelope.MID <= r.upTo && !r.held[en.Envelope.MID] && !en.Held() {
			n += len(en.Pending())
		}
	}
	to := hostPort(rec.Host, rec.Port)
	if n == 0 {
		if err := e.cfg.Queue.DeleteRecord(redirectRecordName); err != nil {
			e.cfg.Log.Warning("Redirect record not removed: %v", err)
		}
		e.logf("Redirect to %s ended: no redirected message is left in the queue", to)
		return
	}
	e.mu.Lock()
	e.redirect = r
	e.mu.Unlock()
	since := ""
	if !rec.Since.IsZero() {
		since = " since " + rec.Since.Local().Format(logTime)
	}
	rcpts := "recipients"
	if n == 1 {
		rcpts = "recipient"
	}
	e.logf("Redirecting all messages in the queue (MID %d and below) to %s%s, restored at start-up: %d %s", rec.UpTo, to, since, n, rcpts)
}

// logTime is the time layout of the log lines (ESA-CLI §11).
const logTime = "Mon Jan _2 15:04:05 2006"

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
