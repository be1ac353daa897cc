package commands

import (
	"fmt"
	"strings"
	"time"

	"esa/shell"
)

// The counters and gauges come from the mail flow, which later issues build;
// until then they are the appliance's labels with zero values, so scripts
// written against the real layout (ESA-CLI §10.7) already parse this one.
const statusCounters = `
Counters:                      Reset       Uptime     Lifetime
  Receiving
    Messages Received            0            0            0
    Recipients Received          0            0            0
  Rejection
    Rejected Recipients          0            0            0
    Dropped Messages             0            0            0
  Queue
    Soft Bounced Events          0            0            0
  Completion
    Completed Recipients         0            0            0
  Current IDs
    Message ID (MID)                          0
    Injection Conn. ID (ICID)                 0
    Delivery Conn. ID (DCID)                  0

Gauges:                        Current
  Connections
    Current Inbound Conn.        0
    Current Outbound Conn.       0
  Queue
    Active Recipients            0
    Messages In Work Queue       0
`

// statusDetailCounters is the longer set `status detail` shows, with the
// labels Cisco's own CLI test library parses (ESA-CLI §10.7). The system
// gauges (RAM, CPU, disk) are left out rather than shown as made-up zeros.
const statusDetailCounters = `
Counters:                      Reset       Uptime     Lifetime
  Receiving
    Messages Received            0            0            0
    Recipients Received          0            0            0
    Gen. Bounce Recipients       0            0            0
  Rejection
    Rejected Recipients          0            0            0
    Dropped Messages             0            0            0
  Queue
    Soft Bounced Events          0            0            0
  Completion
    Completed Recipients         0            0            0
    Hard Bounced Recipients      0            0            0
      DNS Hard Bounces           0            0            0
      5XX Hard Bounces           0            0            0
      Expired Hard Bounces       0            0            0
      Filter Hard Bounces        0            0            0
      Other Hard Bounces         0            0            0
    Delivered Recipients         0            0            0
    Deleted Recipients           0            0            0
    Global Unsub. Hits           0            0            0
  DomainKeys
    DomainKeys Signed Msgs       0            0            0
  Current IDs
    Message ID (MID)                          0
    Injection Conn. ID (ICID)                 0
    Delivery Conn. ID (DCID)                  0

Rates (Events Per Hour):       1-Minute     5-Minutes    15-Minutes
  Receiving
    Messages Received            0            0            0
    Recipients Received          0            0            0
  Completion
    Hard Bounced Recipients      0            0            0
    Completed Recipients         0            0            0
    Delivered Recipients         0            0            0

Gauges:                        Current
  Connections
    Current Inbound Conn.        0
    Current Outbound Conn.       0
  Queue
    Active Recipients            0
    Unattempted Recipients       0
    Attempted Recipients         0
    Messages In Work Queue       0
    Messages In Quarantine
      Policy, Virus and Outbreak    0
    Destinations In Memory       0
    Kilobytes Used               0
    Kilobytes In Quarantine      0
`

func statusCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "status",
		Summary: "System status",
		Help: `status

Show when the appliance started, its uptime and its mail counters.
"status detail" adds the bounce, rate and system gauges. The mail flow is
not built yet, so every counter and gauge is zero.`,
		Keywords: []string{"detail"},
		Run: func(io *shell.IO, args []string) error {
			detail := len(args) == 1 && strings.EqualFold(args[0], "detail")
			if len(args) > 0 && !detail {
				return fmt.Errorf("Invalid arguments when processing: %s", strings.Join(args, " "))
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
			if detail {
				io.Printf("%s", statusDetailCounters)
			} else {
				io.Printf("%s", statusCounters)
			}
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
