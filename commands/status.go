package commands

import (
	"fmt"
	"strings"
	"time"

	"esa/delivery/counters"
	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/delivery/smtpd"
	"esa/shell"
)

// statusRow is one line of the counter and gauge tables: a label with its
// indentation and how many values it shows.
type statusRow struct {
	label  string
	kind   rowKind
	detail bool // only in `status detail`
}

type rowKind int

const (
	heading rowKind = iota // a group label, no value
	current                // one value: a gauge
	id                     // one value in the Uptime column: a current ID
	counter                // Reset, Uptime and Lifetime values
)

// statusSection is a titled table of rows with its column heads.
type statusSection struct {
	title, columns string
	detail         bool // the whole section only in `status detail`
	rows           []statusRow
}

// statusSections is the one description of both layouts: `status` shows
// the rows not marked detail, `status detail` all of them, with the labels
// Cisco's own CLI test library parses (ESA-CLI §10.7), so scripts written
// against the real layout parse ours. The counters and gauges come from the
// daemon's listeners, queue and delivery engine (statusValues). The system gauges (RAM, CPU, disk) are left
// out rather than shown as made-up zeros.
var statusSections = []statusSection{
	{title: "Counters:", columns: "Reset       Uptime     Lifetime", rows: []statusRow{
		{"  Receiving", heading, false},
		{"    Messages Received", counter, false},
		{"    Recipients Received", counter, false},
		{"    Gen. Bounce Recipients", counter, true},
		{"  Rejection", heading, false},
		{"    Rejected Recipients", counter, false},
		{"    Dropped Messages", counter, false},
		{"  Queue", heading, false},
		{"    Soft Bounced Events", counter, false},
		{"  Completion", heading, false},
		{"    Completed Recipients", counter, false},
		{"    Hard Bounced Recipients", counter, true},
		{"      DNS Hard Bounces", counter, true},
		{"      5XX Hard Bounces", counter, true},
		{"      Expired Hard Bounces", counter, true},
		{"      Filter Hard Bounces", counter, true},
		{"      Other Hard Bounces", counter, true},
		{"    Delivered Recipients", counter, true},
		{"    Deleted Recipients", counter, true},
		{"    Global Unsub. Hits", counter, true},
		{"  DomainKeys", heading, true},
		{"    DomainKeys Signed Msgs", counter, true},
		{"  Current IDs", heading, false},
		{"    Message ID (MID)", id, false},
		{"    Injection Conn. ID (ICID)", id, false},
		{"    Delivery Conn. ID (DCID)", id, false},
	}},
	{title: "Rates (Events Per Hour):", columns: "1-Minute     5-Minutes    15-Minutes", detail: true, rows: []statusRow{
		{"  Receiving", heading, false},
		{"    Messages Received", counter, false},
		{"    Recipients Received", counter, false},
		{"  Completion", heading, false},
		{"    Hard Bounced Recipients", counter, false},
		{"    Completed Recipients", counter, false},
		{"    Delivered Recipients", counter, false},
	}},
	{title: "Gauges:", columns: "Current", rows: []statusRow{
		{"  Connections", heading, false},
		{"    Current Inbound Conn.", current, false},
		{"    Current Outbound Conn.", current, false},
		{"  Queue", heading, false},
		{"    Active Recipients", current, false},
		{"    Unattempted Recipients", current, true},
		{"    Attempted Recipients", current, true},
		{"    Messages In Work Queue", current, false},
		{"    Messages In Quarantine", heading, true},
		{"      Policy, Virus and Outbreak", current, true},
		{"    Destinations In Memory", current, true},
		{"    Kilobytes Used", current, true},
		{"    Kilobytes In Quarantine", current, true},
	}},
}

// Column ends (the column just after a value's last digit) of the value
// columns. The counters keep the appliance's layout (ESA-CLI §10.7: each
// value ends two columns before the end of its head, "Reset", "Uptime",
// "Lifetime"); the rates follow the same rule under their wider heads, and
// every gauge ends in the "Current" column whatever its label's length.
var (
	counterEnds = []int{34, 47, 60}
	rateEnds    = []int{37, 51, 65}
	gaugeEnds   = []int{34}
)

// counterOf names the counter (delivery/counters) behind each counter row
// of the Counters: table; a row without one shows zeros.
var counterOf = map[string]string{
	"Messages Received":       counters.InjMsg,
	"Recipients Received":     counters.InjRcp,
	"Gen. Bounce Recipients":  counters.GenBncRcp,
	"Rejected Recipients":     counters.RejRcp,
	"Dropped Messages":        counters.DrpMsg,
	"Soft Bounced Events":     counters.SftBncEvnt,
	"Completed Recipients":    counters.CmpRcp,
	"Hard Bounced Recipients": counters.HrdBncRcp,
	"DNS Hard Bounces":        counters.DnsHrdBnc,
	"5XX Hard Bounces":        counters.FiveXXBnc,
	"Expired Hard Bounces":    counters.ExpHrdBnc,
	"Filter Hard Bounces":     counters.FltrHrdBnc,
	"Other Hard Bounces":      counters.OtrHrdBnc,
	"Delivered Recipients":    counters.DlvRcp,
	"Deleted Recipients":      counters.DelRcp,
	"Global Unsub. Hits":      counters.GlbUnsbHt,
	"DomainKeys Signed Msgs":  counters.DKSigned,
}

// printStatusTables prints the sections of statusSections that the chosen
// layout shows: the Counters: rows from view's three columns, the Rates
// rows from view's rates over 1, 5 and 15 minutes, every other
// value from vals by its section and label ("Gauges:Kilobytes Used"), 0
// when vals has none.
func printStatusTables(io *shell.IO, detail bool, view counters.View, vals map[string]int64) {
	for _, sec := range statusSections {
		if sec.detail && !detail {
			continue
		}
		io.Printf("\n%-31s%s\n", sec.title, sec.columns)
		ends := counterEnds
		switch {
		case strings.HasPrefix(sec.title, "Rates"):
			ends = rateEnds
		case strings.HasPrefix(sec.title, "Gauges"):
			ends = gaugeEnds
		}
		for _, r := range sec.rows {
			if r.detail && !detail {
				continue
			}
			label := strings.TrimSpace(r.label)
			v := thousands(int(vals[sec.title+label]))
			switch r.kind {
			case heading:
				io.Printf("%s\n", r.label)
			case current:
				io.Printf("%s\n", statusLine(r.label, ends[:1], v))
			case id:
				io.Printf("%s\n", statusLine(r.label, ends[1:2], v))
			case counter:
				name, ok := counterOf[label]
				switch {
				case ok && sec.title == "Counters:":
					io.Printf("%s\n", statusLine(r.label, ends, thousands(int(view.Reset[name])),
						thousands(int(view.Uptime[name])), thousands(int(view.Lifetime[name]))))
					continue
				case ok && len(view.Rates[name]) == 3:
					rt := view.Rates[name]
					io.Printf("%s\n", statusLine(r.label, ends, thousands(int(rt[0])), thousands(int(rt[1])), thousands(int(rt[2]))))
					continue
				}
				io.Printf("%s\n", statusLine(r.label, ends, v, v, v))
			}
		}
	}
}

// statusProcess names this run of the daemon for delivery/counters: the
// totals it keeps tell this run's counts from an earlier run's.
func statusProcess(env *Env) string { return counters.ProcessID(env.PID, env.Started) }

// liveCounters are the counters of this run of the daemon: the
// listeners', the queue's outcomes and the delivery engine's.
func liveCounters(env *Env) counters.Values {
	var st smtpd.Stats
	if env.Listeners != nil {
		st = env.Listeners()
	}
	var eng []outbound.DomainStats
	if env.Delivery != nil {
		eng = env.Delivery.Stats()
	}
	return counters.Live(st, env.Queue.Outcomes(), eng)
}

// statusValues gathers the gauges of the queue's entries and the current
// IDs (counters.Measure): the work queue's gauges leave out the messages a
// quarantine holds, which the appliance counts on their own (Messages In
// Quarantine, Kilobytes In Quarantine); Kilobytes Used is all the queue's
// storage, quarantined messages included, as they are kept in the same
// queue.
func statusValues(env *Env, entries []queue.Entry) map[string]int64 {
	var st smtpd.Stats
	if env.Listeners != nil {
		st = env.Listeners()
	}
	var eng []outbound.DomainStats
	if env.Delivery != nil {
		eng = env.Delivery.Stats()
	}
	g := counters.Measure(entries, env.Queue.IDs(), st, eng)
	return map[string]int64{
		"Counters:Message ID (MID)":          g.MID,
		"Counters:Injection Conn. ID (ICID)": g.ICID,
		"Counters:Delivery Conn. ID (DCID)":  g.DCID,
		"Gauges:Current Inbound Conn.":       g.ConnIn,
		"Gauges:Current Outbound Conn.":      g.ConnOut,
		"Gauges:Active Recipients":           g.Active,
		"Gauges:Unattempted Recipients":      g.Unattempted,
		"Gauges:Attempted Recipients":        g.Attempted,
		"Gauges:Messages In Work Queue":      g.WorkQueue,
		"Gauges:Policy, Virus and Outbreak":  g.Quarantined,
		"Gauges:Destinations In Memory":      g.Destinations,
		"Gauges:Kilobytes Used":              g.KilobytesUsed,
		"Gauges:Kilobytes In Quarantine":     g.KilobytesInQuarantine,
	}
}

// statusLine writes label and right-aligns each value to end at its column
// end, with at least one space before it, so a long label ("Policy, Virus
// and Outbreak") does not push its value out of the column.
func statusLine(label string, ends []int, values ...string) string {
	var b strings.Builder
	b.WriteString(label)
	for i, v := range values {
		pad := ends[i] - b.Len() - len(v)
		if pad < 1 {
			pad = 1
		}
		b.WriteString(strings.Repeat(" ", pad))
		b.WriteString(v)
	}
	return b.String()
}

func statusCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "status",
		Summary: "System status",
		Help: `status [detail]

Show the gateway's state: when it started and its uptime, whether it is
online, the age of the oldest message in the queue, the listeners running
with their addresses and the SSH server, then its mail counters (messages
and recipients received, rejected recipients, the current MID, ICID and
DCID) and gauges (inbound connections, active recipients, messages in the
work queue). "status detail" adds the bounce breakdown, DomainKeys, the
events-per-hour rates and more queue gauges.

Messages a quarantine holds are not in the work queue: the oldest message,
the active recipients and the messages in the work queue leave them out.
"status" counts them on a line of its own ("Messages held in quarantines:
2"), "status detail" under Messages In Quarantine and Kilobytes In
Quarantine; Kilobytes Used is the whole queue's, theirs included.

Each counter has three columns: Reset counts since the last
"resetcounters" (since the first start when there was none: "Last counter
reset: Never"), Uptime since this "esa serve" started, Lifetime since the
first "esa serve" on this data directory. The daemon adds what it counted
to the kept totals every minute and when it stops, so a crash loses at
most the last minute's counts. Completed Recipients counts those
delivered, hard-bounced and deleted (deleterecipients); Dropped Messages
those a message filter's drop() discarded; Soft Bounced Events each
temporary delivery failure of a recipient and Current Outbound Conn. the
delivery connections open now; the hard bounces by cause are the engine's
(DNS, 5XX, Expired, Filter: a message filter's bounce(), Other: such as
bouncerecipients). Gen. Bounce Recipients counts the senders of the bounce
reports hard bounces generated. Global Unsub. Hits is zero: there is no
global unsubscribe list. DomainKeys Signed Msgs counts the messages a host accepted with our
DKIM or DomainKeys signatures. The rates are events per hour over the last
1, 5 and 15 minutes of this "esa serve", from the counts the daemon keeps
each minute (over the time it has run while that is shorter). In a shell
not attached to a running "esa serve" there are no counters to show, and
status says the gateway is not running.`,
		Keywords: []string{"detail"},
		Run: func(io *shell.IO, args []string) error {
			detail := len(args) == 1 && strings.EqualFold(args[0], "detail")
			if len(args) > 0 && !detail {
				io.Printf("Invalid arguments when processing: status takes no argument, or detail.\n")
				io.Fail()
				return nil
			}
			now := env.Now()
			if detail {
				io.Printf("\n")
			} else {
				io.Printf("\nEnter \"status detail\" for more information.\n\n")
			}
			io.Printf("%-31s%s\n", "Status as of:", ctime(now))
			if env.Queue == nil {
				// A shell that opened the data directory itself: no
				// listener runs and no counter counts, so none is shown.
				io.Printf("%-31s%s\n", "System status:", "Offline")
				io.Printf("\nThe gateway is not running: start \"esa serve\" on this data directory for\nits listeners, queue and mail counters.\n")
				return nil
			}
			all := env.Queue.List()
			entries, held := splitHeld(all)
			system := "Online"
			if env.Queue.Paused() {
				system = "Online (work queue paused)"
			}
			io.Printf("%-31s%s (%s)\n", "Up since:", ctime(env.Started), uptime(now.Sub(env.Started)))
			view, err := counters.Load(env.Store, statusProcess(env), liveCounters(env), now)
			if err != nil {
				// The kept totals are unreadable: no column is shown
				// rather than columns that lie (the appliance's words).
				io.Printf("Couldn't obtain mail stats: %v\n", err)
				io.Fail()
				return nil
			}
			last := "Never"
			if !view.ResetAt.IsZero() {
				last = ctime(view.ResetAt)
			}
			io.Printf("%-31s%s\n", "Last counter reset:", last)
			io.Printf("%-31s%s\n", "System status:", system)
			io.Printf("%-31s%s\n", "Oldest Message:", oldestMessage(env, entries))
			printRunning(io, env)
			printStatusTables(io, detail, view, statusValues(env, all))
			if len(held) > 0 && !detail {
				// status detail has the appliance's gauges for them.
				io.Printf("\n")
				heldLine(io, len(held))
			}
			return nil
		},
	}
}

// printRunning says what runs besides the queue: the listeners with their
// addresses, and the SSH server.
func printRunning(io *shell.IO, env *Env) {
	var running []smtpd.RunningListener
	if env.Listeners != nil {
		running = env.Listeners().Running
	}
	if len(running) == 0 {
		io.Printf("%-31s%s\n", "Listeners:", "None running")
	} else {
		io.Printf("%-31s%d running\n", "Listeners:", len(running))
		for _, l := range running {
			io.Printf("  %-29s%s\n", l.Name, l.Addr)
		}
	}
	if env.SSHServer != nil {
		io.Printf("%-31s%s\n", "SSH server:", env.SSHServer().Addr)
	}
}

// uptime renders a duration the way status does ("1d 22h 45m 29s").
func uptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	if days > 0 {
		return fmt.Sprintf("%dd %dh %dm %ds", days, h, m, s)
	}
	return fmt.Sprintf("%dh %dm %ds", h, m, s)
}
