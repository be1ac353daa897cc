package main

import (
	"context"
	"time"

	"esa/delivery/queue"
	"esa/store"
	"esa/store/logs"
	"esa/store/quarantines"
)

// quarantinePolicy is ExpireQuarantined's policy from the committed
// quarantineconfig table: a quarantine's retention and default action; a
// name no longer configured takes the Policy quarantine's settings (its
// messages are not kept forever because their quarantine was deleted).
func quarantinePolicy(t quarantines.Table) func(string) (time.Duration, bool) {
	return func(name string) (time.Duration, bool) {
		q := t.Quarantine(name)
		if q == nil {
			q = t.Quarantine("Policy")
		}
		if q == nil {
			f := quarantines.Factory()
			q = &f.Quarantines[0]
		}
		return time.Duration(q.RetentionHours) * time.Hour, q.DefaultAction == quarantines.ActionRelease
	}
}

// sweepQuarantines applies the quarantines' retention every minute until
// ctx ends: expired messages are released to delivery or deleted, as their
// quarantine's default action says, and each is logged.
func sweepQuarantines(ctx context.Context, st *store.Store, q *queue.Queue, log *logs.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		sweepOnce(st, q, log, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sweepOnce(st *store.Store, q *queue.Queue, log *logs.Logger, now time.Time) {
	held := map[uint64]string{}
	for _, e := range q.Quarantined("") {
		held[e.Envelope.MID] = e.Envelope.Quarantine
	}
	if len(held) == 0 {
		return
	}
	released, deleted, err := q.ExpireQuarantined(now, quarantinePolicy(st.Snapshot().Quarantines))
	for _, mid := range released {
		log.Info("MID %d released from quarantine %s (retention expired)", mid, held[mid])
	}
	for _, mid := range deleted {
		log.Info("MID %d deleted from quarantine %s (retention expired)", mid, held[mid])
	}
	if err != nil {
		log.Warning("Quarantine retention: %v", err)
	}
}
