package main

import (
	"context"
	"time"

	"esa/delivery/counters"
	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/delivery/smtpd"
	"esa/store"
	"esa/store/logs"
)

// counterFlushEvery is how often the daemon adds its counts to the kept
// totals: a crash loses at most this much of status's Lifetime and Reset
// columns.
const counterFlushEvery = time.Minute

// statusCounters keeps status's counters across restarts
// (delivery/counters) and writes the periodic Status: line (ESA-CLI
// §11.8) to mail_logs every logconfig "system metrics frequency" seconds.
// AsyncOS 5.5 and later write that line to a log type of its own
// ("status"); we have no such log type, so it goes to the mail logs as in
// AsyncOS 5.x.
type statusCounters struct {
	st      *store.Store
	q       *queue.Queue
	smtp    func() smtpd.Stats
	engine  func() []outbound.DomainStats
	process string
	mail    *logs.Logger
	warn    func(string, ...any)

	k      *counters.Keeper
	cancel context.CancelFunc
	done   chan struct{}
}

func (c *statusCounters) live() counters.Values {
	return counters.Live(c.smtp(), c.q.Outcomes(), c.engine())
}

// start takes over the kept totals and starts the flush and Status: line
// loop. It runs before any session can run resetcounters.
func (c *statusCounters) start(now time.Time) error {
	k, err := counters.Start(c.st, c.process, c.live, now)
	if err != nil {
		return err
	}
	c.k = k
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	// A commit of the logs table may change the metrics frequency: the
	// loop re-arms its timer at once rather than after the old period.
	changed := make(chan struct{}, 1)
	unsub := c.st.Subscribe(func(ch store.Change) {
		if ch.Changed("logs") {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	go func() {
		defer close(c.done)
		defer unsub()
		c.run(ctx, changed)
	}()
	return nil
}

// frequency is logconfig's system metrics frequency.
func (c *statusCounters) frequency() time.Duration {
	f := c.st.Snapshot().Logs.MetricsFrequency
	if f < 1 {
		f = 60 // the factory default (store.DefaultConfig)
	}
	return time.Duration(f) * time.Second
}

func (c *statusCounters) run(ctx context.Context, changed <-chan struct{}) {
	flush := time.NewTicker(counterFlushEvery)
	defer flush.Stop()
	metrics := time.NewTimer(c.frequency())
	defer metrics.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := c.k.Flush(time.Now()); err != nil {
				c.warn("Status counters not saved: %v", err)
			}
		case <-changed:
			metrics.Reset(c.frequency())
		case <-metrics.C:
			c.writeStatus()
			metrics.Reset(c.frequency())
		}
	}
}

// writeStatus writes one Status: line.
func (c *statusCounters) writeStatus() {
	v, err := counters.Load(c.st, c.process, c.live(), time.Now())
	if err != nil {
		c.warn("Status line not written: %v", err)
		return
	}
	c.mail.Info("%s", counters.StatusLine(v.Lifetime, counters.Measure(c.q.List(), c.q.IDs(), c.smtp(), c.engine())))
}

// stop ends the loop and adds the last counts to the totals. Call it once
// the listeners and the delivery engine have stopped counting.
func (c *statusCounters) stop() {
	if c.k == nil {
		return
	}
	c.cancel()
	<-c.done
	if err := c.k.Flush(time.Now()); err != nil {
		c.warn("Status counters not saved: %v", err)
	}
}
