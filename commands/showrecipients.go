package commands

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"esa/delivery/queue"
	"esa/shell"
)

const showrecipientsHelp = `showrecipients

List the messages in the queue with their pending recipients: by recipient
host (the domain after the "@"), by envelope sender (<> for the null sender
of bounces), or all of them. Each message shows its MID, size in bytes,
envelope sender, the time it was received and its subject; under it, each
pending recipient with its RID and the message's delivery attempts.
Messages a quarantine holds are not in the work queue and are not listed:
the command says how many of them match (quarantineconfig lists them). The
queue belongs to the gateway daemon: the command needs a shell attached to a
running "esa serve".`

// How showrecipients and deleterecipients choose recipients, in the order of
// their menu. Cisco's CLI test library picks the items by the words "host",
// "address" and "All" (ESA-CLI §0.1 list selection).
const (
	byHost = iota + 1
	bySender
	byAll
)

var selectionChoices = []string{"By recipient host.", "By Envelope From address.", "All."}

// selection is a choice of the queue's pending recipients: those of one
// recipient host, those of the messages of one envelope sender, or all.
type selection struct {
	how   int
	value string // the host (lower case) or the sender ("" for <>)
}

// pending returns the RIDs of e that s selects and that are still to be
// delivered.
func (s selection) pending(e queue.Entry) []int {
	if s.how == bySender && !sameSender(e.Envelope.From, s.value) {
		return nil
	}
	var rids []int
	for _, rid := range e.Pending() {
		if s.how == byHost && !strings.EqualFold(domainOf(e.Envelope.Recipients[rid]), s.value) {
			continue
		}
		rids = append(rids, rid)
	}
	return rids
}

// sameSender compares envelope senders: the domain without regard to case,
// the local part exactly, since only the receiving host may treat it as
// case-insensitive (RFC 5321 §2.4). A deletion must not reach a mailbox the
// administrator did not name.
func sameSender(a, b string) bool {
	la, da := splitAddr(a)
	lb, db := splitAddr(b)
	return la == lb && strings.EqualFold(da, db)
}

func splitAddr(a string) (local, domain string) {
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return a, ""
	}
	return a[:at], a[at+1:]
}

// domainOf is the recipient host of an address: what follows the last "@"
// (RFC 5321 §4.1.2: the local part may itself hold a quoted "@").
func domainOf(addr string) string {
	_, d := splitAddr(addr)
	return strings.TrimSuffix(d, ".")
}

// recipientHost accepts a recipient host: a domain name, or an address
// literal such as [192.0.2.1] (RFC 5321 §4.1.3) as recipients may use.
func recipientHost(a string) (string, error) {
	a = strings.TrimSpace(a)
	if len(a) > 2 && a[0] == '[' && a[len(a)-1] == ']' && !strings.ContainsAny(a, " \t") {
		return strings.ToLower(a), nil
	}
	return shell.Domain(a)
}

// envelopeSender accepts an envelope sender: local@domain, with or without
// angle brackets, or <> for the null sender. The local part is kept as
// typed; quoted local parts are accepted as they appear in the queue.
func envelopeSender(a string) (string, error) {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = a[1 : len(a)-1]
		if a == "" {
			return "<>", nil
		}
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' }) {
		return "", fmt.Errorf("An email address is a localname, an \"@\" and a domain, such as admin@example.com (or <> for the null sender).")
	}
	d, err := recipientHost(a[at+1:])
	if err != nil {
		return "", fmt.Errorf("The email domain must be a valid hostname: %q is not.", a[at+1:])
	}
	return a[:at] + "@" + d, nil
}

// askSelection asks how to choose recipients and, unless all, the host or
// sender; verb is "show" or "delete".
func askSelection(io *shell.IO, verb string) (selection, error) {
	how, err := io.Choose("Please select how you would like to "+verb+" messages:", selectionChoices, byHost)
	if err != nil {
		return selection{}, err
	}
	s := selection{how: how}
	switch how {
	case byHost:
		s.value, err = io.Ask("Please enter the hostname for the messages you wish to "+verb+".", "", recipientHost)
	case bySender:
		s.value, err = io.Ask("Please enter the Envelope From address for the messages you wish to "+verb+".", "", envelopeSender)
		if s.value == "<>" {
			s.value = ""
		}
	}
	return s, err
}

func showrecipientsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "showrecipients",
		Summary: "Show messages from the queue by recipient host, sender or all",
		Help:    showrecipientsHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Queue == nil {
				noDaemon(io, "showrecipients")
				return nil
			}
			s, err := askSelection(io, "show")
			if err != nil {
				return err
			}
			io.Printf("\nShowing messages, please wait.\n")
			printRecipients(io, env.Queue.List(), s)
			return nil
		},
	}
}

// printRecipients lists the messages of entries that s selects, each
// followed by its selected pending recipients:
//
//	MID/    Bytes/   Sender/                Received                      Subject
//	[RID]   [Atmps]  Recipient
//	3       1234     alice@sender.example   Wed Mar  4 09:15:00 2026 UTC  Hello
//	[0]     [0]      bob@example.com
//
// the appliance's two-line column heads, with the time received added.
// Held messages are not in the work queue: they are counted, not listed.
func printRecipients(io *shell.IO, entries []queue.Entry, s selection) {
	rows := [][]string{{"MID/", "Bytes/", "Sender/", "Received", "Subject"}, {"[RID]", "[Atmps]", "Recipient"}}
	msgs, rcpts, held := 0, 0, 0
	for _, e := range entries {
		rids := s.pending(e)
		if len(rids) == 0 {
			continue
		}
		if e.Held() {
			held++
			continue
		}
		msgs++
		rcpts += len(rids)
		env := e.Envelope
		from := env.From
		if from == "" {
			from = "<>"
		}
		// Escaped here, not only by the session's output, so that the
		// columns line up with what the screen shows.
		rows = append(rows, []string{strconv.FormatUint(env.MID, 10), strconv.FormatInt(env.Size, 10), shell.Escape(from), ctime(env.Received), env.Subject})
		for _, rid := range rids {
			rows = append(rows, []string{"[" + strconv.Itoa(rid) + "]", "[" + strconv.Itoa(e.State.Attempts) + "]", shell.Escape(env.Recipients[rid])})
		}
	}
	if msgs == 0 {
		io.Printf("\nNo messages found.\n")
		heldMatch(io, held)
		return
	}
	var width [4]int
	for _, r := range rows {
		for i := 0; i < len(r) && i < len(width); i++ {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	io.Printf("\n")
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(width) {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		io.Printf("%s\n", strings.TrimRight(b.String(), " "))
	}
	io.Printf("\n%s, %s.\n", plural(msgs, "message"), plural(rcpts, "recipient"))
	heldMatch(io, held)
}

// heldMatch says how many held messages showrecipients passed by.
func heldMatch(io *shell.IO, n int) {
	switch {
	case n == 1:
		io.Printf("1 held message matches and waits in a quarantine (see quarantineconfig).\n")
	case n > 1:
		io.Printf("%d held messages match and wait in quarantines (see quarantineconfig).\n", n)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
