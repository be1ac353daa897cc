package commands

import (
	"fmt"

	"esa/shell"
)

const bouncerecipientsHelp = `bouncerecipients

Bounce recipients in the queue now: by recipient host (the domain after the
"@"), by envelope sender (<> for the null sender of bounces), or all. After
confirmation each chosen recipient ends as a hard bounce: mail_logs records
it ("Bounced: DCID 0 MID 3 ... RID 0 - 5.3.0 - Bounced by administrator"),
and the sender gets one RFC 3464 delivery status notification per message
and recipient domain when the domain's bounce profile sends hard bounce
messages (bounceconfig), as for a recipient the remote server refused. A
message whose last pending recipient is bounced leaves the queue. Messages
a quarantine holds are not in the work queue and are left alone: the
command says how many matched (quarantineconfig releases or deletes them).
The command needs a shell attached to a running "esa serve".`

func bouncerecipientsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "bouncerecipients",
		Summary: "Bounce messages from the queue by recipient host, sender or all",
		Help:    bouncerecipientsHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Delivery == nil || env.Queue == nil {
				noDaemon(io, "bouncerecipients")
				return nil
			}
			s, err := askSelection(io, "bounce")
			if err != nil {
				return err
			}
			var question string
			switch s.how {
			case byHost:
				question = fmt.Sprintf("Are you sure you want to bounce all messages being delivered to %q?", s.value)
			case bySender:
				question = fmt.Sprintf("Are you sure you want to bounce all messages with the Envelope From address of %q?", orNull(s.value))
			default:
				question = "Are you sure you want to bounce all messages in the delivery queue (all active recipients)?"
			}
			sure, err := io.YesNo(question, false)
			if err != nil {
				return err
			}
			// The replies follow deleterecipients' ("(\d+) recipients
			// deleted."), the form scripts read.
			if !sure {
				io.Printf("\nNo recipients bounced.\n")
				return nil
			}
			io.Printf("\nBouncing messages, please wait.\n")
			reason := fmt.Sprintf("bounced by %s with bouncerecipients", env.User)
			n, held := 0, 0
			for _, e := range env.Queue.List() {
				// Ctrl-C stops between messages; what was bounced is
				// reported.
				if err = io.Ctx.Err(); err != nil {
					break
				}
				rids := s.pending(e)
				if len(rids) == 0 {
					continue
				}
				if e.Held() {
					held++
					continue
				}
				k, berr := env.Delivery.BounceNow(e.Envelope.MID, rids, reason)
				n += k
				if berr != nil {
					err = fmt.Errorf("Bouncing recipients of MID %d failed: %v", e.Envelope.MID, berr)
					break
				}
			}
			if n == 0 {
				io.Printf("No recipients bounced.\n")
			} else {
				io.Printf("%d recipients bounced.\n", n)
			}
			leftHeld(io, held)
			return err
		},
	}
}
