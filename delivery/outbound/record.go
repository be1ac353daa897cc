package outbound

import "esa/delivery/queue"

// Recording a delivery (the queue's unlink of a finished message) is a
// metadata write that can take a millisecond or more on a busy disk. A
// connection does not wait for it: after the remote 250 the record runs
// beside the next message's MAIL, RCPT, DATA and body, and the connection
// waits for it only before sending that message's final "." (awaitRecord
// in sendBody). The peer cannot accept the next message before that dot,
// so a connection still has at most one message whose 250 was seen but
// not yet recorded, as when the record ran inline: a crash repeats at most
// one delivery per connection (at-least-once, RFC 5321 §6.1). The job
// stays in flight until its record is written, so the scheduler never
// hands the same message to another connection meanwhile.

// recordDelivered records the remote 250 for rids of j in the background
// and hands j's release to it.
func (e *Engine) recordDelivered(s *session, j job, env queue.Envelope, rids []int) {
	s.awaitRecord() // at most one record in flight per connection
	done := make(chan struct{})
	s.rec, s.async = done, true
	go func() {
		defer close(done)
		e.markDelivered(env, j.domain, rids, s, "")
		e.jobDone(j)
	}()
}

// awaitRecord waits until the previous delivery on s is recorded.
func (s *session) awaitRecord() {
	if s.rec != nil {
		<-s.rec
		s.rec = nil
	}
}

// recording reports whether a delivery on s is still being recorded.
func (s *session) recording() bool { return s != nil && s.rec != nil }

// handedOff reports (once) whether the last job on s was handed to a
// background record, which then releases it.
func (s *session) handedOff() bool {
	if s == nil || !s.async {
		return false
	}
	s.async = false
	return true
}

// jobDone releases a job: it is no longer in flight, and when recipients
// are left (deferred or partly done) the scheduler looks again. (A
// delivered message needs no rescan; one per message would copy the queue
// index each time.)
func (e *Engine) jobDone(j job) {
	e.mu.Lock()
	delete(e.inflight, j)
	e.mu.Unlock()
	if _, left := e.cfg.Queue.Get(j.mid); left {
		e.kick()
	}
}
