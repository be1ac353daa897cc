package commands

import (
	"fmt"
	"strings"
	"time"

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
// mail flow, which later issues build; until then they are zero. The system
// gauges (RAM, CPU, disk) are left out rather than shown as made-up zeros.
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

// printStatusTables prints the sections of statusSections that the chosen
// layout shows, every value 0.
func printStatusTables(io *shell.IO, detail bool) {
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
			switch r.kind {
			case heading:
				io.Printf("%s\n", r.label)
			case current:
				io.Printf("%s\n", statusLine(r.label, ends[:1], "0"))
			case id:
				io.Printf("%s\n", statusLine(r.label, ends[1:2], "0"))
			case counter:
				io.Printf("%s\n", statusLine(r.label, ends, "0", "0", "0"))
			}
		}
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

Show when the appliance started, its uptime and its mail counters and gauges.
"status detail" adds the bounce breakdown, DomainKeys, the events-per-hour
rates and more queue gauges. The mail flow is not built yet, so every counter
and gauge is zero.`,
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
			io.Printf("%-31s%s (%s)\n", "Up since:", ctime(env.Started), uptime(now.Sub(env.Started)))
			io.Printf("%-31s%s\n", "Last counter reset:", "Never")
			io.Printf("%-31s%s\n", "System status:", "Online")
			io.Printf("%-31s%s\n", "Oldest Message:", "No Messages")
			printStatusTables(io, detail)
			return nil
		},
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
