package commands

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"esa/delivery/queue"
	"esa/shell"
	"esa/store"
	"esa/store/quarantines"
)

const quarantineconfigHelp = `quarantineconfig

Configure the local quarantines and work on the messages they hold. A
message filter's quarantine("NAME") action or a DMARC profile sets a
message aside in a quarantine; it stays in the queue, undelivered, until
it is released (delivered as it would have been) or deleted, by hand or
when the quarantine's retention period since its arrival ends (then the
quarantine's default action applies).
  NEW      - create a quarantine: its name, retention period (days as
             10d, hours as 12h; 1 hour to 365 days) and default action
  EDIT     - change a quarantine's retention period and default action
  DELETE   - remove a quarantine. The Policy quarantine cannot be
             deleted, nor one a DMARC profile or a filter uses, nor one
             that holds messages
  MESSAGES - list the messages a quarantine holds (MID, time received,
             size, sender, recipients and why it was quarantined), then
             RELEASE or DELETE some: their MIDs separated by commas, or
             ALL. Each is recorded in mail_logs ("MID 5 released from
             quarantine Policy", "MID 6 deleted from quarantine Policy").
Configuration changes are pending changes of this session until commit.
Releasing and deleting messages act at once on the queue of the gateway
daemon, and need a shell attached to a running "esa serve".`

var quarantineOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new quarantine."},
	{Name: "EDIT", Desc: "Modify a quarantine."},
	{Name: "DELETE", Desc: "Remove a quarantine."},
	{Name: "MESSAGES", Desc: "List, release or delete the messages a quarantine holds."},
}

var quarantineMessageOps = []shell.Op{
	{Name: "RELEASE", Desc: "Release messages for delivery."},
	{Name: "DELETE", Desc: "Delete messages."},
}

func quarantineconfigCommand(env *Env) shell.Command {
	var kw []string
	for _, ops := range [][]shell.Op{quarantineOps, quarantineMessageOps} {
		for _, op := range ops {
			kw = append(kw, op.Name)
		}
	}
	return shell.Command{
		Name:     "quarantineconfig",
		Summary:  "Configure local quarantines and the messages they hold",
		Help:     quarantineconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				t := env.Session.Config().Quarantines
				printQuarantines(io, env, t)
				op, err := io.Menu(quarantineOps)
				if err != nil || op == "" {
					return err
				}
				switch op {
				case "NEW":
					err = quarantineNew(io, env, t)
				case "EDIT":
					err = quarantineEdit(io, env, t)
				case "DELETE":
					err = quarantineDelete(io, env, t)
				case "MESSAGES":
					err = quarantineMessages(io, env, t)
				}
				if err != nil {
					return err
				}
			}
		},
	}
}

// heldCounts counts the messages each quarantine holds; nil without the
// daemon's queue.
func heldCounts(env *Env) map[string]int {
	if env.Queue == nil {
		return nil
	}
	n := map[string]int{}
	for _, e := range env.Queue.Quarantined("") {
		n[e.Envelope.Quarantine]++
	}
	return n
}

// unconfigured lists, sorted, the quarantines that hold messages but are
// not in t (deleted by a loaded configuration, or without the daemon).
func unconfigured(t quarantines.Table, held map[string]int) []string {
	var names []string
	for name := range held {
		if t.Quarantine(name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// printQuarantines lists the quarantines as the appliance does:
//
//	   Quarantine  Messages  Retention  Default Action
//	1. Policy             2  10d        Delete
//
// the Messages column only when the daemon's queue is at hand.
func printQuarantines(io *shell.IO, env *Env, t quarantines.Table) {
	held := heldCounts(env)
	w := len("Quarantine")
	for _, q := range t.Quarantines {
		w = max(w, len(q.Name))
	}
	nw := len(strconv.Itoa(len(t.Quarantines))) + 2
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(n-len(s), 0)) }
	io.Printf("\n%s%s  ", strings.Repeat(" ", nw), pad("Quarantine", w))
	if held != nil {
		io.Printf("Messages  ")
	}
	io.Printf("Retention  Default Action\n")
	for i, q := range t.Quarantines {
		io.Printf("%s%s  ", pad(strconv.Itoa(i+1)+".", nw), pad(q.Name, w))
		if held != nil {
			io.Printf("%8d  ", held[q.Name])
		}
		io.Printf("%s  %s\n", pad(quarantines.FormatRetention(q.RetentionHours), len("Retention")), actionText(q.DefaultAction))
	}
	io.Printf("\n%s defined.\n", plural(len(t.Quarantines), "quarantine"))
	if names := unconfigured(t, held); len(names) > 0 {
		for i, n := range names {
			names[i] = fmt.Sprintf("%s (%s)", n, plural(held[n], "message"))
		}
		io.Printf("Quarantines no longer configured hold messages: %s. MESSAGES lists them.\n", strings.Join(names, ", "))
	}
}

func actionText(a string) string {
	if a == quarantines.ActionRelease {
		return "Release"
	}
	return "Delete"
}

// quarantineUpdate makes one completed operation a pending change; a
// refusal of the store is shown and fails the command.
func quarantineUpdate(io *shell.IO, env *Env, t quarantines.Table) bool {
	return certUpdate(io, env, func(c *store.Config) error {
		c.Quarantines = t
		return nil
	})
}

// askQuarantineSettings asks a quarantine's retention period and default
// action, offering q's as defaults.
func askQuarantineSettings(io *shell.IO, q *quarantines.Quarantine) error {
	r, err := io.Ask("Retention period for this quarantine. Use 'd' for days or 'h' for hours.",
		quarantines.FormatRetention(q.RetentionHours), func(a string) (string, error) {
			h, err := quarantines.ParseRetention(a)
			if err != nil {
				return "", sentence(err)
			}
			return strconv.Itoa(h), nil
		})
	if err != nil {
		return err
	}
	q.RetentionHours, _ = strconv.Atoi(r)
	def := 1
	if q.DefaultAction == quarantines.ActionRelease {
		def = 2
	}
	a, err := io.Choose("Enter the default action for quarantine:", []string{"Delete", "Release"}, def)
	if err != nil {
		return err
	}
	q.DefaultAction = []string{quarantines.ActionDelete, quarantines.ActionRelease}[a-1]
	return nil
}

func quarantineNew(io *shell.IO, env *Env, t quarantines.Table) error {
	if len(t.Quarantines) >= quarantines.MaxQuarantines {
		io.Printf("\nThere is a maximum of %d quarantines.\n", quarantines.MaxQuarantines)
		io.Fail()
		return nil
	}
	name, err := io.Ask("Please enter the name for this quarantine:", "", func(a string) (string, error) {
		if err := quarantines.CheckName(a); err != nil {
			return "", sentence(err)
		}
		if i := t.Index(a); i >= 0 {
			return "", fmt.Errorf("A quarantine named %q already exists.", t.Quarantines[i].Name)
		}
		return a, nil
	})
	if err != nil {
		return err
	}
	q := quarantines.Quarantine{Name: name, RetentionHours: 240, DefaultAction: quarantines.ActionDelete}
	if err := askQuarantineSettings(io, &q); err != nil {
		return err
	}
	t.Quarantines = append(t.Quarantines[:len(t.Quarantines):len(t.Quarantines)], q)
	if quarantineUpdate(io, env, t) {
		io.Printf("\nQuarantine %q created.\n", name)
	}
	return nil
}

func quarantineNames(t quarantines.Table) []string {
	names := make([]string, len(t.Quarantines))
	for i, q := range t.Quarantines {
		names[i] = q.Name
	}
	return names
}

func selectQuarantine(io *shell.IO, t quarantines.Table, verb string) (int, error) {
	names := quarantineNames(t)
	return io.Select("Enter the number of the quarantine you want to "+verb+":\n"+strings.TrimSuffix(numbered(names), "\n"), names)
}

func quarantineEdit(io *shell.IO, env *Env, t quarantines.Table) error {
	i, err := selectQuarantine(io, t, "edit")
	if err != nil || i < 0 {
		return err
	}
	q := t.Quarantines[i]
	if err := askQuarantineSettings(io, &q); err != nil {
		return err
	}
	qs := append([]quarantines.Quarantine(nil), t.Quarantines...)
	qs[i] = q
	if quarantineUpdate(io, env, quarantines.Table{Quarantines: qs}) {
		io.Printf("\nQuarantine %q updated.\n", q.Name)
	}
	return nil
}

// quarantineDelete removes a quarantine. The table's own rule (Policy
// stays), the DMARC profiles' and the filters' uses and the messages it
// holds are checked here, in that order, to say why in the quarantine's
// terms (the store refuses the uses too, in the other tables' terms).
func quarantineDelete(io *shell.IO, env *Env, t quarantines.Table) error {
	i, err := selectQuarantine(io, t, "delete")
	if err != nil || i < 0 {
		return err
	}
	name := t.Quarantines[i].Name
	rest := quarantines.Table{Quarantines: append(t.Quarantines[:i:i], t.Quarantines[i+1:]...)}
	err = rest.Validate()
	if err == nil {
		var uses []quarantines.Use
		for _, p := range env.Session.Config().DMARC.Profiles {
			for _, q := range p.Quarantines() {
				uses = append(uses, quarantines.Use{Name: q, By: "DMARC profile " + p.Name})
			}
		}
		err = rest.CheckUses(uses)
	}
	if f := filterUsing(env.Session.Config(), name, ""); err == nil && f != "" {
		err = fmt.Errorf("quarantine %q is used by filter %s", name, f)
	}
	if n := heldCounts(env)[name]; err == nil && n > 0 {
		err = fmt.Errorf("quarantine %q holds %s: release or delete its messages first (MESSAGES)", name, plural(n, "message"))
	}
	if err != nil {
		io.Printf("\nError: %v.\n", err)
		io.Fail()
		return nil
	}
	if quarantineUpdate(io, env, rest) {
		io.Printf("\nQuarantine %q deleted.\n", name)
	}
	return nil
}

// quarantineMessages picks a quarantine (a configured one, or one no
// longer configured that still holds messages) and works on its messages.
func quarantineMessages(io *shell.IO, env *Env, t quarantines.Table) error {
	if env.Queue == nil {
		noDaemon(io, "quarantineconfig MESSAGES")
		return nil
	}
	held := heldCounts(env)
	names := append(quarantineNames(t), unconfigured(t, held)...)
	shown := make([]string, len(names))
	for i, n := range names {
		shown[i] = fmt.Sprintf("%s (%s)", n, plural(held[n], "message"))
		if i >= len(t.Quarantines) {
			shown[i] += ", no longer configured"
		}
	}
	i, err := io.Select("Enter the number of the quarantine whose messages you want to see:\n"+strings.TrimSuffix(numbered(shown), "\n"), names)
	if err != nil || i < 0 {
		return err
	}
	name := names[i]
	for {
		list := env.Queue.Quarantined(name)
		if len(list) == 0 {
			io.Printf("\nQuarantine %q holds no messages.\n", name)
			return nil
		}
		io.Printf("\nQuarantine %q holds %s.\n", name, plural(len(list), "message"))
		printHeld(io, list)
		op, err := io.Menu(quarantineMessageOps)
		if err != nil || op == "" {
			return err
		}
		verb := map[string]string{"RELEASE": "release", "DELETE": "delete"}[op]
		var chosen []uint64
		a, err := io.AskOptional("Enter the MIDs of the messages to "+verb+", separated by commas, or ALL.", "", func(a string) (string, error) {
			ms, err := parseMIDList(a, list)
			if err != nil {
				return "", fmt.Errorf("%v in quarantine %q.", err, name)
			}
			chosen = ms
			return a, nil
		})
		if err != nil {
			return err
		}
		if a == "" {
			continue
		}
		sure, err := io.YesNo(fmt.Sprintf("Are you sure you want to %s %s from quarantine %q?", verb, plural(len(chosen), "message"), name), false)
		if err != nil {
			return err
		}
		if !sure {
			io.Printf("\nNo messages %sd.\n", verb)
			continue
		}
		n, err := actOnHeld(io, env, name, op == "RELEASE", chosen)
		if n == 0 {
			io.Printf("\nNo messages %sd.\n", verb)
		} else {
			io.Printf("\n%s %sd.\n", plural(n, "message"), verb)
		}
		if err != nil {
			return err
		}
	}
}

// actOnHeld releases or deletes the messages mids of quarantine name and
// returns how many it did. Each is logged in mail_logs; one released or
// deleted meanwhile (by another session, or when its retention ended) is
// reported and passed by. Ctrl-C stops before the next message.
func actOnHeld(io *shell.IO, env *Env, name string, release bool, mids []uint64) (int, error) {
	log := mailLog(env)
	n := 0
	for _, mid := range mids {
		if err := io.Ctx.Err(); err != nil {
			return n, shell.ErrInterrupt
		}
		// A message another quarantine holds now is not this one's to act on.
		if e, ok := env.Queue.Get(mid); !ok || e.Envelope.Quarantine != name {
			io.Printf("MID %d is no longer in quarantine %q.\n", mid, name)
			continue
		}
		var err error
		if release {
			err = env.Queue.Release(mid)
		} else {
			err = env.Queue.DeleteQuarantined(mid)
		}
		switch {
		case errors.Is(err, queue.ErrNotQuarantined):
			io.Printf("MID %d is no longer in quarantine %q.\n", mid, name)
			continue
		case err != nil:
			io.Fail()
			return n, fmt.Errorf("MID %d: %v", mid, err)
		}
		n++
		if release {
			log.Info("MID %d released from quarantine %s", mid, name)
		} else {
			log.Info("MID %d deleted from quarantine %s", mid, name)
			log.Info("Message finished MID %d aborted", mid)
		}
	}
	return n, nil
}

// parseMIDList reads "3, 5,7" or ALL (any case) against the messages
// listed: every MID must be one of theirs; repeats count once, the order
// typed is kept.
func parseMIDList(a string, listed []queue.Entry) ([]uint64, error) {
	if strings.EqualFold(strings.TrimSpace(a), "all") {
		out := make([]uint64, len(listed))
		for i, e := range listed {
			out[i] = e.Envelope.MID
		}
		return out, nil
	}
	in := make(map[uint64]bool, len(listed))
	for _, e := range listed {
		in[e.Envelope.MID] = true
	}
	var out []uint64
	seen := map[uint64]bool{}
	for _, f := range strings.Split(a, ",") {
		f = strings.TrimSpace(f)
		mid, err := strconv.ParseUint(f, 10, 64)
		if err != nil || strings.HasPrefix(f, "+") {
			return nil, fmt.Errorf("Enter MIDs separated by commas, or ALL: %q is not a MID", f)
		}
		if !in[mid] {
			return nil, fmt.Errorf("MID %d is not", mid)
		}
		if !seen[mid] {
			seen[mid] = true
			out = append(out, mid)
		}
	}
	return out, nil
}

// printHeld lists held messages:
//
//	MID  Received                      Bytes  Sender                Recipients
//	     Reason
//	1    Wed Mar  4 08:17:26 2026 UTC  141    alice@sender.example  bob@example.com
//	     DMARC policy is reject
//
// the reason on a line of its own, as it can be long.
func printHeld(io *shell.IO, list []queue.Entry) {
	rows := make([][5]string, 0, len(list)+1)
	rows = append(rows, [5]string{"MID", "Received", "Bytes", "Sender", "Recipients"})
	reasons := []string{"Reason"}
	for _, e := range list {
		env := e.Envelope
		var rcpts []string
		for _, rid := range e.Pending() {
			rcpts = append(rcpts, env.Recipients[rid])
		}
		// Escaped here, not only by the session's output, so that the
		// columns line up with what the screen shows.
		rows = append(rows, [5]string{strconv.FormatUint(env.MID, 10), ctime(env.Received), strconv.FormatInt(env.Size, 10),
			shell.Escape(orNull(env.From)), shell.Escape(strings.Join(rcpts, ", "))})
		reasons = append(reasons, env.QuarantineReason)
	}
	var width [4]int
	for _, r := range rows {
		for i := range width {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	io.Printf("\n")
	for k, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(width) {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		io.Printf("%s\n", strings.TrimRight(b.String(), " "))
		if reasons[k] != "" {
			io.Printf("%s%s\n", strings.Repeat(" ", width[0]+2), reasons[k])
		}
	}
}
