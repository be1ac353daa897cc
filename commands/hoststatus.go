package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/shell"
)

// DeliveryEngine is what the delivery commands need of the daemon's
// delivery engine (*outbound.Engine satisfies it). Env.Delivery is nil in a
// shell not attached to a running "esa serve".
type DeliveryEngine interface {
	// Stats and HostStatus are the per-domain counters (hoststatus,
	// tophosts, status, workqueue).
	Stats() []outbound.DomainStats
	HostStatus(domain string) (outbound.DomainStats, bool)
	// DeliverNow makes a domain's queued recipients ("all": every
	// domain's) due at once (delivernow).
	DeliverNow(domain string)
	// BounceNow bounces pending recipients of a message at once, with an
	// RFC 3464 report to the sender as the bounce profile says
	// (bouncerecipients); it returns how many it bounced, none of a
	// message a quarantine holds.
	BounceNow(mid uint64, rids []int, reason string) (int, error)
	// Redirect sends the mail queued now to host:port (port 0: the MX
	// port) and returns how many recipients that is (redirectrecipients);
	// messages a quarantine holds are not redirected.
	Redirect(host string, port int) (int, error)
	// Redirected and ClearRedirect show and end the redirect in force,
	// which outlives restarts (redirectrecipients shows it and ends it on
	// the answer CLEAR).
	Redirected() (host string, port int, ok bool)
	ClearRedirect() (host string, port int, ok bool, err error)
}

const hoststatusHelp = `hoststatus [DOMAIN]

Show the delivery status of one recipient host (the domain after the "@"),
as the delivery engine of the running "esa serve" knows it: whether the host
is up or down (down: its last attempt failed and its recipients wait for a
retry), the counters since the daemon started (soft bounced events,
delivered and hard-bounced recipients, the hard bounces by cause: the domain
or its mail host does not exist (DNS), a 5xx reply, the bounce profile gave
up (Expired), a message filter's bounce() (Filter), others such as
bouncerecipients), the gauges (active recipients, those
not yet attempted and those attempted, current outbound connections), the
age of the oldest message queued for it, the last activity, whether the last
delivery went over TLS, the last error, and the SMTP route (smtproutes)
that delivers its mail, if any. The host is asked for when not given as
argument. Messages a quarantine holds are not in the work queue: the
gauges and the oldest message leave them out.

The labels are the appliance's. Values the gateway does not count per host
show "n/a" (deleted recipients, pending connections); the MX addresses are resolved at each connection and not
kept, so no ordered IP address list is shown. A host the engine has never
seen and the queue does not hold is reported as "No record of host".`

// hostLine is a counter or gauge line of hoststatus: its value ends in
// column 42 (ESA-CLI §10.4).
func hostLine(io *shell.IO, label, value string) {
	io.Printf("%s\n", statusLine(label, []int{42}, value))
}

// notTracked is the value of a counter the gateway does not keep per host.
const notTracked = "n/a"

// hostQueue is what the queue holds for one recipient host: pending
// recipients, those of messages never attempted and attempted, and the
// oldest message's receive time.
type hostQueue struct {
	active, unattempted, attempted int
	oldest                         time.Time
}

func queuedFor(entries []queue.Entry, host string) hostQueue {
	var h hostQueue
	for _, e := range entries {
		if e.Held() {
			continue // in a quarantine, not in the work queue
		}
		n := 0
		for _, rid := range e.Pending() {
			if strings.EqualFold(domainOf(e.Envelope.Recipients[rid]), host) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		h.active += n
		if e.State.Attempts == 0 {
			h.unattempted += n
		} else {
			h.attempted += n
		}
		if h.oldest.IsZero() || e.Envelope.Received.Before(h.oldest) {
			h.oldest = e.Envelope.Received
		}
	}
	return h
}

// hostDown reports a host down: its last attempt failed and its
// recipients wait for the next one.
func hostDown(s outbound.DomainStats, now time.Time) bool {
	return s.LastError != "" && s.NextAttempt.After(now)
}

func hoststatusCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "hoststatus",
		Summary: "Get the status of the given hostname",
		Help:    hoststatusHelp,
		Run: func(io *shell.IO, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("Invalid arguments when processing: hoststatus takes one recipient host.")
			}
			if env.Delivery == nil || env.Queue == nil {
				noDaemon(io, "hoststatus")
				return nil
			}
			var host string
			var err error
			if len(args) == 1 {
				if host, err = recipientHost(args[0]); err != nil {
					return fmt.Errorf("Invalid arguments when processing: %v", err)
				}
			} else if host, err = io.Ask("Recipient host:", "", recipientHost); err != nil {
				return err
			}
			printHostStatus(env, io, host)
			return nil
		},
	}
}

// printHostStatus prints ESA-CLI §10.4's layout for host.
func printHostStatus(env *Env, io *shell.IO, host string) {
	now := env.Now()
	s, known := env.Delivery.HostStatus(host)
	q := queuedFor(env.Queue.List(), host)
	if !known && q.active == 0 {
		io.Printf("\nNo record of host: %s\n", host)
		return
	}
	updown := "up"
	if hostDown(s, now) {
		updown = "down"
	}
	io.Printf("\n%-22s'%s'\n", "Host mail status for:", host)
	io.Printf("%-22s%s\n", "Status as of:", ctime(now))
	io.Printf("%-22s%s\n", "Host up/down:", updown)

	n := func(v int) string { return thousands(v) }
	io.Printf("\nCounters:\n  Queue\n")
	hostLine(io, "    Soft Bounced Events", n(s.SoftBounced))
	io.Printf("  Completion\n")
	// Completed counts what the engine ended for the host; recipients
	// deleted with deleterecipients are not counted per host.
	hostLine(io, "    Completed Recipients", n(s.Delivered+s.HardBounced))
	hostLine(io, "      Hard Bounced Recipients", n(s.HardBounced))
	hostLine(io, "        DNS Hard Bounces", n(s.DNSBounced))
	hostLine(io, "        5XX Hard Bounces", n(s.FiveXXBounced))
	hostLine(io, "        Filter Hard Bounces", n(s.FilterBounced))
	hostLine(io, "        Expired Hard Bounces", n(s.ExpiredBounced))
	hostLine(io, "        Other Hard Bounces", n(s.OtherBounced))
	hostLine(io, "      Delivered Recipients", n(s.Delivered))
	hostLine(io, "      Deleted Recipients", notTracked)

	io.Printf("\nGauges:\n  Queue\n")
	hostLine(io, "    Active Recipients", n(q.active))
	hostLine(io, "      Unattempted Recipients", n(q.unattempted))
	hostLine(io, "      Attempted Recipients", n(q.attempted))
	io.Printf("  Connections\n")
	hostLine(io, "    Current Outbound Connections", n(s.ActiveConns))
	hostLine(io, "    Pending Outbound Connections", notTracked)

	oldest := "No Messages"
	if q.active > 0 {
		oldest = age(now.Sub(q.oldest))
	}
	last := "Never"
	if !s.LastActivity.IsZero() {
		last = ctime(s.LastActivity)
	}
	io.Printf("\n%-22s%s\n", "Oldest Message", oldest)
	io.Printf("%-22s%s\n", "Last Activity", last)
	if !s.NextAttempt.IsZero() && q.active > 0 {
		io.Printf("%-22s%s\n", "Next Attempt", ctime(s.NextAttempt))
	}
	if env.Store != nil {
		// The committed smtproutes entry the engine follows for the host
		// (the most specific match, as the engine looks it up).
		if r, ok := env.Store.Committed().Routes.Lookup(host); ok {
			io.Printf("\nSMTP routes for this host:\n  %s\n", r.DestinationsText())
		}
	}
	io.Printf("\nOrdered IP addresses: not kept (the MX hosts are resolved at each connection)\n")

	tlsState := "----------"
	switch {
	case s.Delivered == 0:
	case s.LastTLS:
		tlsState = "encrypted"
	default:
		tlsState = "clear"
	}
	lastErr := "----------"
	if s.LastError != "" {
		lastErr = strconv.Quote(s.LastError)
		lastErr = lastErr[1 : len(lastErr)-1] // the remote's text, escaped
	}
	io.Printf("\n%-22s%s\n", "Last TLS status:", tlsState)
	io.Printf("%-22s%s\n", "Last error:", lastErr)
}
