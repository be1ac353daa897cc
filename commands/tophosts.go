package commands

import (
	"sort"
	"strconv"
	"strings"

	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/shell"
)

const tophostsHelp = `tophosts

List the recipient hosts of the delivery engine, ranked by the counter
chosen from the menu: active recipients (in the work queue now, messages
held in quarantines left out), connections out (open now), delivered
recipients, hard bounced recipients or soft bounced events (counted since
"esa serve" started). A host marked with "*" was down as of its last
delivery attempt (it failed and its recipients wait for a retry). Hosts
with the same value are listed by name. The command needs a shell attached
to a running "esa serve".`

// tophostsSorts are the menu's counters, in the appliance's order
// (ESA-CLI §10.5).
var tophostsSorts = []string{"Active Recipients", "Connections Out", "Delivered Recipients", "Hard Bounced Recipients", "Soft Bounced Events"}

// topRow is one host of the table.
type topRow struct {
	host                                  string
	down                                  bool
	active, conns, deliv, soft, hard, key int
}

// topHosts merges the engine's counters with the queue's active
// recipients (the queue is the truth of what is queued now; the engine's
// copy is as of its last scan) and ranks them by the sort-th counter.
func topHosts(stats []outbound.DomainStats, entries []queue.Entry, sort1 int, down func(outbound.DomainStats) bool) []topRow {
	rows := map[string]*topRow{}
	get := func(h string) *topRow {
		r := rows[h]
		if r == nil {
			r = &topRow{host: h}
			rows[h] = r
		}
		return r
	}
	for _, s := range stats {
		r := get(strings.ToLower(s.Domain))
		r.conns, r.deliv, r.soft, r.hard, r.down = s.ActiveConns, s.Delivered, s.SoftBounced, s.HardBounced, down(s)
	}
	for _, e := range entries {
		if e.Held() {
			continue // in a quarantine, not in the work queue
		}
		for _, rid := range e.Pending() {
			get(strings.ToLower(domainOf(e.Envelope.Recipients[rid]))).active++
		}
	}
	out := make([]topRow, 0, len(rows))
	for _, r := range rows {
		r.key = [...]int{r.active, r.conns, r.deliv, r.hard, r.soft}[sort1-1]
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key != out[j].key {
			return out[i].key > out[j].key
		}
		return out[i].host < out[j].host
	})
	return out
}

// Column ends of tophosts' values (ESA-CLI §10.5's sample row).
var topEnds = []int{36, 43, 51, 59, 67}

func tophostsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "tophosts",
		Summary: "Display the top hosts by queue size",
		Help:    tophostsHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Delivery == nil || env.Queue == nil {
				noDaemon(io, "tophosts")
				return nil
			}
			by, err := io.Choose("Sort results by:", tophostsSorts, 1)
			if err != nil {
				return err
			}
			now := env.Now()
			rows := topHosts(env.Delivery.Stats(), env.Queue.List(), by,
				func(s outbound.DomainStats) bool { return hostDown(s, now) })
			io.Printf("\n%-31s%s\n", "Status as of:", ctime(now))
			io.Printf("Hosts marked with '*' were down as of the last delivery attempt.\n")
			io.Printf("                              Active   Conn.  Deliv.   Soft    Hard\n")
			io.Printf("  #  Recipient Host            Recip.   Out   Recip.  Bounced Bounced\n")
			for i, r := range rows {
				host := r.host
				if r.down {
					host = "*" + host
				}
				lead := strconv.Itoa(i + 1)
				lead = strings.Repeat(" ", max(0, 3-len(lead))) + lead + "  " + host
				io.Printf("%s\n", statusLine(lead, topEnds, thousands(r.active), thousands(r.conns),
					thousands(r.deliv), thousands(r.soft), thousands(r.hard)))
			}
			if len(rows) == 0 {
				io.Printf("\nNo hosts: nothing has been delivered or queued since the gateway started.\n")
			}
			return nil
		},
	}
}
