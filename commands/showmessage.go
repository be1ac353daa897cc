package commands

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"esa/delivery/queue"
	"esa/shell"
)

const showmessageHelp = `showmessage [MID]

Show a message in the queue: its envelope (MID, ICID, when and on which
listener it arrived, the remote IP address, host name and HELO, the sender
group and mail flow policy that accepted it, size, delivery attempts and
when the next one is due, envelope sender and each recipient's RID and
state: pending, delivered, bounced or deleted), the quarantine that holds
it and why (or "released" once quarantineconfig or the retention released
it), the verdicts of the checks run on it (SPF, DKIM, DomainKeys, DMARC),
then its header lines as stored, the gateway's own (Received:, ...) first.
A field the message does not have says None: the gateway's own bounce and
report messages came through no listener and have no ICID, remote address
or HELO. Without an argument the command asks for the MID. A MID that is
not in the queue is an error. The queue belongs to the gateway daemon: the
command needs a shell attached to a running "esa serve".`

// maxShownHeader bounds how much of a message showmessage reads looking for
// the end of its header: a hostile message may have no empty line at all.
const maxShownHeader = 256 << 10

func showmessageCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "showmessage",
		Summary: "Show a message in the queue",
		Help:    showmessageHelp,
		Run: func(io *shell.IO, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("Invalid arguments when processing: showmessage takes one MID.")
			}
			if env.Queue == nil {
				noDaemon(io, "showmessage")
				return nil
			}
			var a string
			if len(args) == 1 {
				if _, err := parseMID(args[0]); err != nil {
					return fmt.Errorf("Invalid arguments when processing: %v", err)
				}
				a = args[0]
			} else {
				var err error
				if a, err = io.Ask("Enter the MID of the message to show.", "", midAnswer); err != nil {
					return err
				}
			}
			mid, _ := parseMID(a)
			return showMessage(io, env.Queue, mid)
		},
	}
}

// parseMID accepts a message ID: a decimal number from 1 (MIDs start at 1).
func parseMID(a string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(a), 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a MID: a MID is a number from 1.", a)
	}
	return n, nil
}

func midAnswer(a string) (string, error) {
	n, err := parseMID(a)
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(n, 10), nil
}

// errNoMID is the refusal of a MID the queue does not hold.
func errNoMID(mid uint64) error { return fmt.Errorf("MID %d is not in the queue.", mid) }

func showMessage(out *shell.IO, q *queue.Queue, mid uint64) error {
	e, ok := q.Get(mid)
	if !ok {
		return errNoMID(mid)
	}
	m, err := q.Open(mid)
	if err != nil {
		// Delivered or deleted between Get and Open.
		if errors.Is(err, fs.ErrNotExist) {
			return errNoMID(mid)
		}
		return fmt.Errorf("MID %d could not be read: %v", mid, err)
	}
	defer m.Close()
	env := e.Envelope
	line := func(label, value string) { out.Printf("%-16s%s\n", label+":", value) }
	out.Printf("\n")
	line("MID", strconv.FormatUint(env.MID, 10))
	// The gateway's own messages (bounce reports, DMARC reports) came
	// through no listener: ICID 0, no remote address, no HELO. Each such
	// field says None, as Sender Group and Policy do, rather than a 0 that
	// looks like a connection or an empty value with a trailing space.
	icid := "None"
	if env.ICID != 0 {
		icid = strconv.FormatUint(env.ICID, 10)
	}
	line("ICID", icid)
	line("Received", ctime(env.Received))
	line("Listener", orNone(env.Listener))
	line("Remote IP", orNone(env.RemoteIP))
	// A connection's host name is "unknown" when its reverse lookup found
	// none; with no connection there is no host to look up.
	if env.RemoteIP == "" && env.RemoteHost == "" {
		line("Remote Host", "None")
	} else {
		line("Remote Host", orUnknown(env.RemoteHost))
	}
	line("HELO", orNone(env.HELO))
	line("Sender Group", orNone(env.SenderGroup))
	line("Policy", orNone(env.Policy))
	line("Size", fmt.Sprintf("%d bytes", env.Size))
	line("Attempts", strconv.Itoa(e.State.Attempts))
	if !e.State.Next.IsZero() {
		line("Next Attempt", ctime(e.State.Next))
	}
	if env.Quarantine != "" {
		// Held until released (quarantineconfig, or the quarantine's
		// retention); a released message is in the work queue again.
		state := "held"
		if e.State.Released {
			state = "released"
		}
		line("Quarantine", env.Quarantine+" ("+state+")")
		if env.QuarantineReason != "" {
			line("Reason", env.QuarantineReason)
		}
	}
	line("From", "<"+env.From+">")
	for rid, r := range env.Recipients {
		state := "pending"
		if s, done := e.State.Done[rid]; done {
			state = s
		}
		line("RID "+strconv.Itoa(rid), "<"+r+"> "+state)
	}
	if len(env.Verdicts) == 0 {
		line("Verdicts", "None")
	} else {
		out.Printf("\nVerdicts:\n")
		names := make([]string, 0, len(env.Verdicts))
		width := 0
		for n := range env.Verdicts {
			names = append(names, n)
			width = max(width, len(n))
		}
		sort.Slice(names, func(i, j int) bool {
			a, b := verdictRank(names[i]), verdictRank(names[j])
			if a != b {
				return a < b
			}
			return names[i] < names[j]
		})
		for _, n := range names {
			out.Printf("  %-*s  %s\n", width, n, env.Verdicts[n])
		}
	}
	out.Printf("\n")
	return printHeader(out, m, mid)
}

// verdictOrder is the order the listener runs its checks in, which trace
// shows too: SPF (HELO, MAIL FROM, PRA), DKIM, DomainKeys (each followed
// by the signing domain of a pass, ".d"), then DMARC, which builds on SPF
// and DKIM (RFC 7489 §4.2).
var verdictOrder = []string{"spf.helo", "spf.mailfrom", "spf.pra", "dkim", "dkim.d", "domainkeys", "domainkeys.d", "dmarc"}

// verdictRank places a verdict's name in verdictOrder; names not in it
// come after, by name.
func verdictRank(name string) int {
	for i, n := range verdictOrder {
		if n == name {
			return i
		}
	}
	return len(verdictOrder)
}

// printHeader copies the message's header lines (up to the empty line that
// ends them, RFC 5322 §2.1) without their line ends; the shell escapes any
// control character in them.
func printHeader(out *shell.IO, r io.Reader, mid uint64) error {
	br := bufio.NewReader(io.LimitReader(r, maxShownHeader))
	read := 0
	for {
		l, err := br.ReadString('\n')
		read += len(l)
		l = strings.TrimRight(l, "\r\n")
		if l == "" && err == nil {
			return nil // the empty line: the body follows
		}
		if l != "" {
			out.Printf("%s\n", l)
		}
		switch {
		case err == io.EOF && read >= maxShownHeader:
			out.Printf("(The header is longer than %d KiB; the rest is not shown.)\n", maxShownHeader>>10)
			return nil
		case err == io.EOF:
			return nil // a message without a body
		case err != nil:
			return fmt.Errorf("MID %d could not be read: %v", mid, err)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
