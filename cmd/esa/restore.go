package main

import (
	"esa/delivery/queue"
	"esa/store/logs"
)

// logRestoredPause tells system_logs and mail_logs (where workqueue
// records its pauses) that a workqueue PAUSE outlived the restart, or that
// its record was damaged and delivery stays paused anyway: an
// administrator reading why nothing leaves the gateway finds it in either.
func logRestoredPause(q *queue.Queue, to ...*logs.Logger) {
	p, paused, damaged := q.RestoredPause()
	for _, l := range to {
		switch {
		case damaged != nil:
			l.Warning("Work queue pause record damaged (%v); delivery stays paused until workqueue RESUME", damaged)
		case paused:
			by := ""
			if p.By != "" {
				by = " by " + p.By + " (" + p.Reason + ")"
			}
			since := ""
			if !p.Since.IsZero() {
				// The log lines' own layout and zone (ESA-CLI §11).
				since = " since " + p.Since.Local().Format("Mon Jan _2 15:04:05 2006")
			}
			l.Info("Work queue paused%s%s; delivery stays paused", by, since)
		}
	}
}
