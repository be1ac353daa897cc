package commands

import (
	"fmt"
	"strings"
	"time"

	"esa/delivery/queue"
	"esa/shell"
	"esa/store"
	"esa/store/logs"
)

const workqueueHelp = `workqueue [STATUS | PAUSE | RESUME]

Show the work queue (the messages accepted and not yet delivered to every
recipient): whether it runs or is paused, how many messages and pending
recipients it holds and the age of the oldest message, the delivery
connections open now and the recipients delivered, hard bounced and soft
bounced (temporary failures) since "esa serve" started, then the operations:

  STATUS  show the status again.
  PAUSE   stop handing messages to delivery, with a reason that the status
          shows ("Paused by admin: ..."). The listeners keep accepting mail.
          The pause is saved with the queue: it lasts across restarts of
          "esa serve" until RESUME.
  RESUME  hand messages to delivery again.

PAUSE is offered while the queue runs, RESUME while it is paused. With an
operation as argument the command runs it and returns to the prompt.

Messages a quarantine holds are not in the work queue until they are
released: the status counts them on a line of their own ("Messages held in
quarantines: 2"), and quarantineconfig lists, releases and deletes them. The
queue belongs to the gateway daemon: the command needs a shell attached to a
running "esa serve".`

// noDaemon says that a command needs the daemon's queue, in a shell that
// opened the data directory itself, and fails the command (exit status 3 in
// a batch), since it could not do what was asked.
func noDaemon(io *shell.IO, name string) {
	io.Printf("The gateway is not running: %s works on the queue of a running \"esa serve\".\n", name)
	io.Fail()
}

func workqueueCommand(env *Env) shell.Command {
	return shell.Command{
		Name:     "workqueue",
		Summary:  "Show, pause or resume the work queue",
		Help:     workqueueHelp,
		Keywords: []string{"status", "pause", "resume"},
		Run: func(io *shell.IO, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("Invalid arguments when processing: workqueue takes one operation: STATUS, PAUSE or RESUME.")
			}
			q := env.Queue
			if q == nil {
				noDaemon(io, "workqueue")
				return nil
			}
			if len(args) == 1 {
				op := strings.ToUpper(args[0])
				if op != "STATUS" && op != "PAUSE" && op != "RESUME" {
					return fmt.Errorf("Invalid arguments when processing: workqueue takes one operation: STATUS, PAUSE or RESUME.")
				}
				return workqueueOp(env, io, q, op)
			}
			workqueueStatus(env, io, q)
			for {
				ops := []shell.Op{{Name: "STATUS", Desc: "Display work queue status."}}
				if q.Paused() {
					ops = append(ops, shell.Op{Name: "RESUME", Desc: "Resume the work queue."})
				} else {
					ops = append(ops, shell.Op{Name: "PAUSE", Desc: "Pause the work queue."})
				}
				op, err := io.Menu(ops)
				if err != nil || op == "" {
					return err
				}
				if err := workqueueOp(env, io, q, op); err != nil {
					return err
				}
			}
		},
	}
}

// workqueueOp runs one operation. PAUSE of a paused queue and RESUME of a
// running one say so instead of doing anything (the menu offers only the
// one that applies; an argument may name the other).
func workqueueOp(env *Env, io *shell.IO, q *queue.Queue, op string) error {
	switch op {
	case "PAUSE":
		if q.Paused() {
			io.Printf("The work queue is already paused.\n")
			io.Fail()
			return nil
		}
		ok, err := io.YesNo("Manually pause work queue? This will only affect unprocessed messages.", false)
		if err != nil || !ok {
			return err
		}
		reason, err := io.Ask("Reason for pausing work queue:", "", pauseReason)
		if err != nil {
			return err
		}
		// The pause is on disk before we say so: it outlives a restart
		// of the daemon (delivery/queue/pause.go).
		if err := q.PauseFor(env.User, reason, env.Now()); err != nil {
			mailLog(env).Warning("Work queue paused by %s: %s; not saved: %v", env.User, reason, err)
			return fmt.Errorf("The work queue is paused, but %v", err)
		}
		mailLog(env).Info("Work queue paused by %s: %s", env.User, reason)
	case "RESUME":
		if !q.Paused() {
			io.Printf("The work queue is not paused.\n")
			io.Fail()
			return nil
		}
		if err := q.Resume(); err != nil {
			return fmt.Errorf("The work queue was not resumed: %v", err)
		}
		mailLog(env).Info("Work queue resumed by %s", env.User)
	}
	workqueueStatus(env, io, q)
	return nil
}

// pauseReason accepts one line of text: the reason is shown in status and
// written to mail_logs, where a line break would forge a second log line.
func pauseReason(a string) (string, error) {
	if strings.ContainsFunc(a, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", fmt.Errorf("The value cannot contain control characters.")
	}
	if len(a) > 200 {
		return "", fmt.Errorf("The value must be at most 200 characters long.")
	}
	return a, nil
}

// Quarantined messages stay in the queue's files (delivery/queue keeps
// them durably with the rest), but they are not in the work queue: on the
// appliance a message a filter or DMARC policy quarantined waits in the
// quarantine until it is released into the work queue, and is managed
// from there (quarantineconfig here). So the queue commands leave held
// messages out of what they list, count and act on, and say how many they
// left alone, rather than hiding them.

// splitHeld separates the work queue's messages from those a quarantine
// holds (queue.Entry.Held: a released message is back in the work queue).
func splitHeld(entries []queue.Entry) (work, held []queue.Entry) {
	work = make([]queue.Entry, 0, len(entries))
	for _, e := range entries {
		if e.Held() {
			held = append(held, e)
		} else {
			work = append(work, e)
		}
	}
	return work, held
}

// heldLine is how status and workqueue show the held messages beside the
// work queue's.
func heldLine(io *shell.IO, n int) {
	io.Printf("Messages held in quarantines: %d (see quarantineconfig)\n", n)
}

// leftHeld is the note of a command that acts on the work queue when held
// messages matched what it was asked to act on.
func leftHeld(io *shell.IO, n int) {
	switch {
	case n == 1:
		io.Printf("1 held message was left in its quarantine; use quarantineconfig.\n")
	case n > 1:
		io.Printf("%d held messages were left in their quarantines; use quarantineconfig.\n", n)
	}
}

// workqueueStatus prints the status block. Its first two lines are the
// appliance's ("Status: Operational", "Messages: 1243"), which Cisco's CLI
// test library reads with Status:\s+(.+)\nMessages:\s+(\d+); the pending
// recipients and the oldest message's age follow.
func workqueueStatus(env *Env, io *shell.IO, q *queue.Queue) {
	state := "Operational"
	if q.Paused() {
		state = "Paused"
		if by, why := q.PausedBy(); by != "" {
			state = "Paused by " + by + ": " + why
		}
	}
	// The work queue only: held messages are counted apart, below.
	work, held := splitHeld(q.List())
	rcpts := 0
	for _, e := range work {
		rcpts += len(e.Pending())
	}
	io.Printf("\n%-16s%s\n", "Status:", state)
	io.Printf("%-16s%d\n", "Messages:", len(work))
	io.Printf("%-16s%d\n", "Recipients:", rcpts)
	io.Printf("%-16s%s\n", "Oldest Message:", oldestMessage(env, work))
	if env.Delivery != nil {
		// The delivery engine's counters since the daemon started, and
		// its connections open now.
		var conns, deliv, hard, soft int
		for _, s := range env.Delivery.Stats() {
			conns += s.ActiveConns
			deliv += s.Delivered
			hard += s.HardBounced
			soft += s.SoftBounced
		}
		io.Printf("%-16s%d\n", "Conn. Out:", conns)
		io.Printf("%-16s%d\n", "Delivered:", deliv)
		io.Printf("%-16s%d\n", "Hard Bounced:", hard)
		io.Printf("%-16s%d\n", "Soft Bounced:", soft)
	}
	if len(held) > 0 {
		io.Printf("\n")
		heldLine(io, len(held))
	}
}

// oldestMessage is the age of the oldest message of entries, as status shows
// it ("4 weeks 46 mins 53 secs"), or "No Messages".
func oldestMessage(env *Env, entries []queue.Entry) string {
	if len(entries) == 0 {
		return "No Messages"
	}
	oldest := entries[0].Envelope.Received
	for _, e := range entries[1:] {
		if e.Envelope.Received.Before(oldest) {
			oldest = e.Envelope.Received
		}
	}
	return age(env.Now().Sub(oldest))
}

// age renders a duration as the appliance's status does ("4 weeks 46 mins
// 53 secs"): weeks, days, hours, minutes and seconds, the units that are
// zero left out.
func age(d time.Duration) string {
	if d < time.Second {
		return "0 secs"
	}
	s := int64(d / time.Second)
	var parts []string
	for _, u := range []struct {
		secs       int64
		one, other string
	}{{7 * 86400, "week", "weeks"}, {86400, "day", "days"}, {3600, "hour", "hours"}, {60, "min", "mins"}, {1, "sec", "secs"}} {
		n := s / u.secs
		s %= u.secs
		switch {
		case n == 1:
			parts = append(parts, "1 "+u.one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, u.other))
		}
	}
	return strings.Join(parts, " ")
}

// mailLog is the mail_logs logger (IronPort Text Mail Logs), where queue
// operations are recorded next to the mail flow they change.
func mailLog(env *Env) *logs.Logger { return env.Logs.Logger(store.LogTypeMail) }
