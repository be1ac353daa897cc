package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"esa/delivery/queue"
	"esa/shell"
)

const deleterecipientsHelp = `deleterecipients

Delete recipients from the queue: by recipient host (the domain after the
"@"), by envelope sender (<> for the null sender of bounces), or all. The
command asks for confirmation, then reports how many recipients it deleted.
A message whose last pending recipient is deleted leaves the queue. Each
message is recorded in mail_logs ("Deleted: MID 3 to [0, 1]"). Messages a
quarantine holds are not in the work queue and are left alone: the command
says how many matched (quarantineconfig deletes them). The queue belongs to
the gateway daemon: the command needs a shell attached to a running
"esa serve".`

func deleterecipientsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "deleterecipients",
		Summary: "Delete messages from the queue by recipient host, sender or all",
		Help:    deleterecipientsHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Queue == nil {
				noDaemon(io, "deleterecipients")
				return nil
			}
			s, err := askSelection(io, "delete")
			if err != nil {
				return err
			}
			var question string
			switch s.how {
			case byHost:
				question = fmt.Sprintf("Are you sure you want to delete all messages being delivered to %q?", s.value)
			case bySender:
				question = fmt.Sprintf("Are you sure you want to delete all messages with the Envelope From address of %q?", orNull(s.value))
			default:
				question = "Are you sure you want to delete all messages in the delivery queue (all active recipients)?"
			}
			sure, err := io.YesNo(question, false)
			if err != nil {
				return err
			}
			// The replies are those Cisco's CLI test library waits for:
			// "(\d+) recipients deleted." and "No recipients deleted.", so
			// the count stays plural even for one.
			if !sure {
				io.Printf("\nNo recipients deleted.\n")
				return nil
			}
			io.Printf("\nDeleting messages, please wait.\n")
			// Ctrl-C stops between messages; what was deleted is reported.
			n, held, err := deleteRecipients(io.Ctx, env.Queue, s, mailLog(env).Info)
			if n == 0 {
				io.Printf("No recipients deleted.\n")
			} else {
				io.Printf("%d recipients deleted.\n", n)
			}
			leftHeld(io, held)
			return err
		},
	}
}

func orNull(sender string) string {
	if sender == "" {
		return "<>"
	}
	return sender
}

// deleteRecipients marks every pending recipient s selects as deleted and
// returns how many it deleted, and how many held messages it left alone
// because a quarantine holds them (they are not in the work queue; a
// message released meanwhile counts as held, as it was when listed). A
// message whose last recipient goes leaves
// the queue (queue.SetDone). Each message deleted from is logged as the
// appliance logs it (ESA-CLI §11.2 "Deleted: MID 3 to [0]"), and a message
// that leaves the queue with "Message finished MID 3 aborted" (§11.3), the
// end of its life in the log. A message delivered meanwhile is skipped.
// When ctx is done it stops before the next message and returns ctx's error.
func deleteRecipients(ctx context.Context, q *queue.Queue, s selection, logf func(format string, a ...any)) (n, held int, err error) {
	for _, e := range q.List() {
		if err := ctx.Err(); err != nil {
			return n, held, err
		}
		rids := s.pending(e)
		if len(rids) == 0 {
			continue
		}
		if e.Held() {
			held++
			continue
		}
		mid := e.Envelope.MID
		if err := q.SetDone(mid, "deleted", rids...); err != nil {
			if _, still := q.Get(mid); !still {
				continue
			}
			return n, held, fmt.Errorf("Deleting recipients of MID %d failed: %v", mid, err)
		}
		n += len(rids)
		logf("Deleted: MID %d to %s", mid, ridList(rids))
		if len(rids) == len(e.Pending()) {
			logf("Message finished MID %d aborted", mid)
		}
	}
	return n, held, nil
}

// ridList is a RID list as mail_logs writes it: "[0]", "[0, 1, 2]".
func ridList(rids []int) string {
	s := make([]string, len(rids))
	for i, r := range rids {
		s[i] = strconv.Itoa(r)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
