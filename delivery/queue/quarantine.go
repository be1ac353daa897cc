package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// A quarantined message stays in the queue: the listener commits it with
// Envelope.Quarantine set, and the delivery engine passes it by until
// State.Released is set. Releasing writes that flag to the message's state
// file; deleting removes the message like any other. Nothing else about
// the message changes, so a quarantined message survives restarts,
// crashes and a full queue scan exactly as a message waiting for delivery
// does.

// ErrNotQuarantined is wrapped by Release and DeleteQuarantined when the
// message is not in the queue, or not (or no longer) in a quarantine.
var ErrNotQuarantined = errors.New("not in a quarantine")

// Quarantined returns copies of the messages quarantine name holds (every
// quarantine's for ""), oldest first: not released, not done (a message
// whose recipients are all done has left the queue).
func (q *Queue) Quarantined(name string) []Entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	// Sort pointers and copy each entry once into its place: sorting the
	// copies swapped whole entries (368 bytes each), most of the cost of
	// a long list.
	var found []*Entry
	for _, e := range q.index {
		if e.Held() && (name == "" || e.Envelope.Quarantine == name) {
			found = append(found, e)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := &found[i].Envelope, &found[j].Envelope
		if !a.Received.Equal(b.Received) {
			return a.Received.Before(b.Received)
		}
		return a.MID < b.MID
	})
	out := make([]Entry, len(found))
	for i, e := range found {
		out[i] = copyEntry(e)
	}
	return out
}

// heldEntry returns the entry of mid if a quarantine holds it; q.mu is held.
func (q *Queue) heldEntry(mid uint64) (*Entry, error) {
	e, ok := q.index[mid]
	if !ok || !e.Held() {
		return nil, fmt.Errorf("MID %d is %w", mid, ErrNotQuarantined)
	}
	return e, nil
}

// Release lets a quarantined message go on to delivery. It returns once
// the release is durable, and then announces the message to Subscribe's
// channels as Commit announces a new one, so the delivery engine takes it
// at once.
//
// Crash safety: the state file is replaced atomically (writeFileAtomic:
// temporary file, fsync, rename, directory fsync) before the memory copy
// changes and before anyone is told. A crash before the rename leaves the
// message quarantined (the temporary file is a dot name, which Open
// removes) and the administrator saw no confirmation; a crash after it
// leaves the message released, and the engine's scan at start delivers it.
// Either way no message is delivered whose release is not on disk.
//
// The write happens under the queue's lock. That makes the state written
// the newest one: a SetDone or SetRetry that ran before has its outcomes
// in it, and one that runs after starts from Released. (Their own writes
// happen after they let go of the lock; one that started before the
// release and writes after it leaves the file without the flag, so after
// a crash the message would be held again, never delivered twice.)
// Holding the lock through one fsync delays the listeners' commits by as
// much, which a release, a rare act of an administrator or of the
// retention job, can afford.
func (q *Queue) Release(mid uint64) error {
	q.mu.Lock()
	e, err := q.heldEntry(mid)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	st := e.State
	st.Released = true
	data, _ := json.Marshal(&st)
	if err := writeFileAtomic(q.statePath(mid), data); err != nil {
		q.mu.Unlock()
		return fmt.Errorf("releasing MID %d: %w", mid, err)
	}
	e.State.Released = true
	e.stateFile = true
	subs := append([]chan uint64(nil), q.notify...)
	q.mu.Unlock()
	for _, c := range subs {
		select {
		case c <- mid:
		default: // a slow consumer rescans with List
		}
	}
	return nil
}

// DeleteQuarantined deletes a message a quarantine holds: its pending
// recipients count as "deleted" (Outcomes) and its files go as when
// deleterecipients takes a message's last recipient. The check that a
// quarantine still holds it and its removal from the index happen under
// one lock, so a message released meanwhile is never deleted, nor one
// deleted released.
//
// Crash safety: the message file is unlinked before its state file and the
// directory is fsynced before DeleteQuarantined returns. A crash before the
// unlink reaches the disk brings the message back, still quarantined (the
// deletion was never confirmed); a state file left without its message is
// removed by Open.
func (q *Queue) DeleteQuarantined(mid uint64) error {
	q.mu.Lock()
	e, err := q.heldEntry(mid)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	delete(q.index, mid)
	if q.outcomes == nil {
		q.outcomes = map[string]int64{}
	}
	q.outcomes["deleted"] += int64(len(e.Envelope.Recipients) - len(e.State.Done))
	q.mu.Unlock()
	if err := q.remove(mid, e.stateFile); err != nil {
		return fmt.Errorf("deleting MID %d: %w", mid, err)
	}
	return nil
}

// ExpireQuarantined applies each quarantine's retention period: a message
// held at least retention since it was received (when the listener
// quarantined it) is released when release is true, deleted otherwise.
// policy gives a quarantine's settings by name; it is asked about every
// name the queue holds, including a quarantine the configuration no longer
// has. The daemon calls it every minute with the time of the call; it
// returns the MIDs it released and deleted, for mail_logs. A message
// released or deleted by someone else meanwhile is passed by; the first
// write that fails stops the run (the next run starts over).
func (q *Queue) ExpireQuarantined(now time.Time, policy func(name string) (retention time.Duration, release bool)) (released, deleted []uint64, err error) {
	type setting struct {
		retention time.Duration
		release   bool
	}
	settings := map[string]setting{}
	for _, e := range q.Quarantined("") {
		name := e.Envelope.Quarantine
		s, ok := settings[name]
		if !ok {
			s.retention, s.release = policy(name)
			settings[name] = s
		}
		if now.Sub(e.Envelope.Received) < s.retention {
			continue
		}
		mid := e.Envelope.MID
		if s.release {
			err = q.Release(mid)
		} else {
			err = q.DeleteQuarantined(mid)
		}
		switch {
		case errors.Is(err, ErrNotQuarantined):
			err = nil
		case err != nil:
			return released, deleted, err
		case s.release:
			released = append(released, mid)
		default:
			deleted = append(deleted, mid)
		}
	}
	return released, deleted, nil
}
