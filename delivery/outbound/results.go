package outbound

import (
	"fmt"
	"strconv"
	"strings"

	"esa/delivery/queue"
	"esa/delivery/smtpclient"
)

// replyFailure classifies a remote reply: 5xx permanent, anything else
// temporary (RFC 5321 §4.2.1). The enhanced code is the server's when it
// sent one (RFC 3463), else the class default.
func replyFailure(rep smtpclient.Reply, greeting bool) *failure {
	f := &failure{perm: rep.Code/100 == 5, code: strconv.Itoa(rep.Code), text: strings.Join(rep.Lines, " ")}
	enh := ""
	if len(rep.Lines) > 0 {
		if w, _, _ := strings.Cut(rep.Lines[0], " "); isEnhanced(w) {
			enh = w
		}
	}
	f.status = enh
	switch {
	case f.perm && strings.HasPrefix(enh, "5.1."):
		f.enh, f.reason = "5.1.0", "Unknown address error"
	case f.perm:
		f.enh, f.reason = orDefault(enh, "5.0.0"), "Unknown error"
	case rep.Code == 421 || greeting:
		f.enh, f.reason = "4.3.2", "Not accepting messages at this time"
	default:
		f.enh, f.reason = orDefault(enh, "4.0.0"), "Temporary error"
	}
	return f
}

func isEnhanced(w string) bool {
	p := strings.Split(w, ".")
	if len(p) != 3 || (p[0] != "2" && p[0] != "4" && p[0] != "5") {
		return false
	}
	for _, x := range p[1:] {
		if n, err := strconv.Atoi(x); err != nil || n < 0 || n > 999 {
			return false
		}
	}
	return true
}

func (e *Engine) stripe(mid uint64) func() {
	m := &e.stripes[mid%uint64(len(e.stripes))]
	m.Lock()
	return m.Unlock
}

func (e *Engine) notify(ev Event) {
	if e.cfg.Notify != nil {
		e.cfg.Notify(ev)
	}
}

// markDelivered records the remote 250 for rids. Only now does the queue
// let them go (at-least-once when we die before this write).
func (e *Engine) markDelivered(env queue.Envelope, domain string, rids []int, s *session, _ string) {
	unlock := e.stripe(env.MID)
	err := e.cfg.Queue.SetDoneLazy(env.MID, "delivered", rids...)
	_, still := e.cfg.Queue.Get(env.MID)
	unlock()
	if err != nil {
		e.cfg.Log.Warning("MID %d: recording the delivery of RID %s failed: %v", env.MID, ridList(rids), err)
	}
	if !still {
		e.logf("Message finished MID %d done", env.MID)
	}
	ev := Event{MID: env.MID, Domain: domain, RIDs: rids, Outcome: Delivered}
	e.mu.Lock()
	st := e.statLocked(domain)
	st.Delivered += len(rids)
	st.Active = max(0, st.Active-len(rids))
	st.LastActivity = e.cfg.Now()
	st.DeliveredBytes += env.Size
	if s != nil {
		st.LastTLS = s.tls
		ev.TLS, ev.DANE, ev.Verified = s.tls, s.dane, s.verified
	}
	e.mu.Unlock()
	e.notify(ev)
}

// ridFail is one recipient's failure.
type ridFail struct {
	rid int
	f   *failure
}

func each(rids []int, f *failure) []ridFail {
	out := make([]ridFail, len(rids))
	for i, r := range rids {
		out[i] = ridFail{r, f}
	}
	return out
}

func ridsOf(rfs []ridFail) []int {
	out := make([]int, len(rfs))
	for i, rf := range rfs {
		out[i] = rf.rid
	}
	return out
}

// fail applies the failures of one attempt: the permanent ones bounce;
// the temporary ones schedule one retry with the profile's back-off, or
// bounce when the profile's retries or time in queue are used up.
func (e *Engine) fail(en queue.Entry, domain string, rfs []ridFail, dcid uint64, pol Policy) {
	var perm, temp []ridFail
	for _, rf := range rfs {
		if rf.f.perm {
			perm = append(perm, rf)
		} else {
			temp = append(temp, rf)
		}
	}
	if len(perm) > 0 {
		e.bounce(en.Envelope, domain, perm, dcid, pol)
	}
	if len(temp) == 0 {
		return
	}
	env := en.Envelope
	now := e.cfg.Now()
	unlock := e.stripe(env.MID)
	cur, ok := e.cfg.Queue.Get(env.MID)
	if !ok {
		unlock()
		return
	}
	attempts := cur.State.Attempts + 1
	b := pol.Bounce
	if (b.MaxQueueTime > 0 && !env.Received.IsZero() && now.Sub(env.Received) >= b.MaxQueueTime) || (b.MaxRetries > 0 && attempts >= b.MaxRetries) {
		unlock()
		for i, rf := range temp {
			temp[i].f = &failure{perm: true, enh: "5.4.7", reason: "Delivery expired (message too old)",
				code: rf.f.code, text: rf.f.text, status: "5.4.7"}
		}
		e.bounce(env, domain, temp, dcid, pol)
		return
	}
	notice := b.DelayWarning && !cur.State.DelayNotified && env.From != ""
	next := now.Add(b.backoff(attempts))
	_, err := e.cfg.Queue.SetRetry(env.MID, next, notice)
	unlock()
	e.kick() // the scheduler's timer must see the new due time
	if err != nil {
		e.cfg.Log.Warning("MID %d: recording the retry failed: %v", env.MID, err)
	}
	for _, rf := range temp {
		f := rf.f
		e.logf("Delayed: DCID %d MID %d From: <%s> To: <%s> RID %d - %s - %s ('%s', ['%s'])",
			dcid, env.MID, env.From, env.Recipients[rf.rid], rf.rid, f.enh, f.reason, f.code, f.text)
	}
	if notice {
		until := next
		if b.MaxQueueTime > 0 {
			until = env.Received.Add(b.MaxQueueTime)
		}
		e.injectDSN(env, temp, pol, true, until)
	}
	e.mu.Lock()
	st := e.statLocked(domain)
	st.SoftBounced += len(temp)
	st.LastActivity, st.LastError = now, temp[0].f.Error()
	e.mu.Unlock()
	e.notify(Event{MID: env.MID, Domain: domain, RIDs: ridsOf(temp), Outcome: Deferred, Reason: temp[0].f.Error()})
}

// bounce ends rfs with a permanent failure and tells the sender (one RFC
// 3464 report for all of them) when the profile sends bounces.
func (e *Engine) bounce(env queue.Envelope, domain string, rfs []ridFail, dcid uint64, pol Policy) {
	for _, rf := range rfs {
		f := rf.f
		e.logf("Bounced: DCID %d MID %d From: <%s> To: <%s> RID %d - %s - %s ('%s', ['%s'])",
			dcid, env.MID, env.From, env.Recipients[rf.rid], rf.rid, f.enh, f.reason, f.code, f.text)
	}
	rids := ridsOf(rfs)
	report := pol.Bounce.HardBounce && env.From != ""
	var header []byte
	if report {
		// Read before SetDone: when these are the message's last
		// recipients its files go with it, and the report must still
		// return the original header (RFC 3464 §2, text/rfc822-headers).
		header = e.originalHeader(env.MID)
	}
	unlock := e.stripe(env.MID)
	err := e.cfg.Queue.SetDone(env.MID, "bounced", rids...)
	_, still := e.cfg.Queue.Get(env.MID)
	unlock()
	if err != nil {
		e.cfg.Log.Warning("MID %d: recording the bounce of RID %s failed: %v", env.MID, ridList(rids), err)
	}
	generated := report && e.injectDSNHeader(env, rfs, pol, false, e.cfg.Now(), header)
	if !still {
		e.logf("Message finished MID %d done", env.MID)
	}
	f := rfs[0].f
	e.mu.Lock()
	st := e.statLocked(domain)
	st.HardBounced += len(rids)
	if generated {
		st.GenBounced++ // the report's one recipient, the sender
	}
	for _, rf := range rfs {
		switch {
		case rf.f.enh == "5.4.7":
			st.ExpiredBounced++
		case rf.f.reason == "Bad destination host":
			st.DNSBounced++
		case strings.HasPrefix(rf.f.code, "5"):
			st.FiveXXBounced++
		case rf.f.reason == filterBounceReason:
			st.FilterBounced++
		default:
			st.OtherBounced++
		}
	}
	st.Active = max(0, st.Active-len(rids))
	st.LastActivity, st.LastError = e.cfg.Now(), f.Error()
	e.mu.Unlock()
	e.notify(Event{MID: env.MID, Domain: domain, RIDs: rids, Outcome: Bounced, Reason: fmt.Sprintf("%s - %s", f.enh, f.Error())})
}
