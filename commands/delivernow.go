package commands

import (
	"strings"

	"esa/shell"
)

const delivernowHelp = `delivernow

Schedule queued mail for immediate delivery, whatever its retry back-off:
the recipients of one recipient domain, or all messages. The command says
how many queued recipients were rescheduled. For all messages it also
resets the recipient-rate windows of destconfig's limits, as the
appliance's delivernow resets the counters destconfig tracks. Messages a
quarantine holds are not in the work queue and are left alone: the command
says how many matched (quarantineconfig releases them). The command needs a
shell attached to a running "esa serve".`

func delivernowCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "delivernow",
		Summary: "Reschedule messages for immediate delivery",
		Help:    delivernowHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Delivery == nil || env.Queue == nil {
				noDaemon(io, "delivernow")
				return nil
			}
			how, err := io.Choose("Please choose an option for scheduling immediate delivery.",
				[]string{"By recipient domain", "All messages"}, 1)
			if err != nil {
				return err
			}
			domain := "all"
			if how == 1 {
				domain, err = io.Ask("Please enter the domain to schedule for immediate delivery.", "", recipientHost)
				if err != nil {
					return err
				}
			}
			// The engine passes held messages by too (Engine.DeliverNow).
			n, held := 0, 0
			for _, e := range env.Queue.List() {
				k := 0
				for _, rid := range e.Pending() {
					if domain == "all" || strings.EqualFold(domainOf(e.Envelope.Recipients[rid]), domain) {
						k++
					}
				}
				switch {
				case k == 0:
				case e.Held():
					held++
				default:
					n += k
				}
			}
			if domain == "all" {
				io.Printf("\nRescheduling all messages for immediate delivery.\n")
			} else {
				io.Printf("\nRescheduling all messages to %s for immediate delivery.\n", domain)
			}
			env.Delivery.DeliverNow(domain)
			mailLog(env).Info("Delivernow by %s: %s rescheduled for %s", env.User, plural(n, "recipient"), domain)
			if n == 0 {
				io.Printf("No recipients rescheduled: none is queued for %s.\n", domain)
			} else {
				io.Printf("%s rescheduled.\n", plural(n, "recipient"))
			}
			leftHeld(io, held)
			return nil
		},
	}
}
