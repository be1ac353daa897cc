package commands

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"esa/shell"
	"esa/store/mailflow"
)

var rcptAccessOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new entry."},
	{Name: "EDIT", Desc: "Modify an entry."},
	{Name: "DELETE", Desc: "Remove an entry."},
	{Name: "PRINT", Desc: "Display all entries."},
	{Name: "IMPORT", Desc: "Import all entries from a file."},
	{Name: "EXPORT", Desc: "Export all entries to a file."},
	{Name: "CLEAR", Desc: "Remove all entries."},
}

// rcptAccess is the RCPTACCESS menu of listener i.
func rcptAccess(io *shell.IO, env *Env, i int) error {
	for {
		rat := env.Session.Config().Listeners.Listeners[i].RAT
		io.Printf("\nThere are currently %d entries in the Recipient Access Table.\n", len(rat))
		op, err := io.Menu(rcptAccessOps)
		if err != nil || op == "" {
			return err
		}
		var nr []mailflow.RATEntry
		switch op {
		case "NEW":
			nr, err = ratNew(io, rat)
		case "EDIT":
			nr, err = ratEdit(io, rat)
		case "DELETE":
			nr, err = ratDelete(io, rat)
		case "PRINT":
			io.Printf("\n")
			mailflow.PrintRAT(io.Out, rat)
		case "IMPORT":
			var data []byte
			var name string
			if name, data, err = importFile(io, env); err == nil && data != nil {
				if nr, err = mailflow.ParseRAT(bytes.NewReader(data)); err != nil {
					importRefused(io, err)
					nr, err = nil, nil
				} else {
					io.Printf("\nImported %d entries from %s.\n", len(nr), name)
				}
			}
		case "EXPORT":
			err = exportTable(io, env, func(b *bytes.Buffer) error { return mailflow.PrintRAT(b, rat) })
		case "CLEAR":
			var sure bool
			sure, err = io.YesNo("Are you sure you want to remove all entries? The table will reject every recipient (ALL REJECT).", false)
			if err == nil && sure {
				nr = []mailflow.RATEntry{{Pattern: "ALL", Action: mailflow.ActReject}}
			}
		}
		if err != nil {
			return err
		}
		if nr != nil {
			applyListener(io, env, i, func(l *mailflow.Listener) { l.RAT = nr })
		}
	}
}

const ratPatternQuestion = `Enter the recipient address for this entry.
Hostnames such as "example.com" are allowed.
Partial hostnames such as ".example.com" are allowed.
Usernames such as "postmaster@" are allowed.
Full email addresses such as "joe@example.com" are allowed.`

// ratNew adds entries, one per pattern given, before the final ALL entry
// (which would otherwise decide first).
func ratNew(io *shell.IO, rat []mailflow.RATEntry) ([]mailflow.RATEntry, error) {
	a, err := io.Ask(ratPatternQuestion+"\nSeparate multiple addresses with commas.", "", ratListValidator(rat, -1))
	if err != nil {
		return nil, err
	}
	e := mailflow.RATEntry{}
	if err := askRATAction(io, &e); err != nil {
		return nil, err
	}
	var add []mailflow.RATEntry
	for _, p := range splitList(a) {
		n := e
		n.Pattern = p
		add = append(add, n)
	}
	return insertRAT(rat, add), nil
}

// insertRAT puts add before a final ALL entry.
func insertRAT(rat, add []mailflow.RATEntry) []mailflow.RATEntry {
	at := len(rat)
	if at > 0 && rat[at-1].Pattern == "ALL" {
		at--
	}
	out := append([]mailflow.RATEntry(nil), rat[:at]...)
	out = append(out, add...)
	return append(out, rat[at:]...)
}

// ratEntries makes one entry with action for each pattern of a list.
func ratEntries(a, action string) []mailflow.RATEntry {
	var out []mailflow.RATEntry
	for _, p := range splitList(a) {
		out = append(out, mailflow.RATEntry{Pattern: p, Action: action})
	}
	return out
}

// ratListValidator accepts a comma-separated list of recipient patterns by
// the table's rule (mailflow.ValidateRAT), none already in rat (but for
// entry self, being edited) or listed twice.
func ratListValidator(rat []mailflow.RATEntry, self int) shell.Validator {
	return func(a string) (string, error) {
		items := splitList(a)
		if len(items) == 0 {
			return "", errors.New("You must enter a value.")
		}
		seen := map[string]bool{}
		for i, e := range rat {
			if i != self {
				seen[strings.ToLower(e.Pattern)] = true
			}
		}
		for _, p := range items {
			if mailflow.ValidateRAT([]mailflow.RATEntry{{Pattern: p, Action: mailflow.ActAccept}}) != nil {
				return "", fmt.Errorf("Invalid recipient %q: enter a domain (example.com), a partial domain (.example.com), a user name (postmaster@), an address (joe@example.com) or ALL.", p)
			}
			if seen[strings.ToLower(p)] {
				return "", fmt.Errorf("The recipient %q is already in the table.", p)
			}
			seen[strings.ToLower(p)] = true
		}
		return strings.Join(items, ", "), nil
	}
}

// askRATAction asks an entry's action and, for REJECT, an optional custom
// reply (code 400 to 599 and one line without double quotes, the table's
// rule), then whether it bypasses the recipient limits.
func askRATAction(io *shell.IO, e *mailflow.RATEntry) error {
	def := 1
	if e.Action == mailflow.ActReject {
		def = 2
	}
	n, err := io.Choose("Select the action to apply to this address:", []string{"Accept", "Reject"}, def)
	if err != nil {
		return err
	}
	e.Action = []string{mailflow.ActAccept, mailflow.ActReject}[n-1]
	oldCode, oldText := e.Code, e.Text
	e.Code, e.Text = 0, ""
	if e.Action == mailflow.ActReject {
		custom, err := io.YesNo("Would you like to specify a custom SMTP response?", oldCode != 0)
		if err != nil {
			return err
		}
		if custom {
			if e.Code, err = io.Int("Enter the SMTP code to use in the response. 550 is the standard code.", orDefault(oldCode, 550), 400, 599); err != nil {
				return err
			}
			e.Text, err = io.AskOptional("Enter your custom SMTP response.", oldText, func(a string) (string, error) {
				if strings.Contains(a, `"`) {
					return "", errors.New("The response must not contain double quotes.")
				}
				return oneLine(a)
			})
			if err != nil {
				return err
			}
		}
	}
	e.BypassLimits, err = io.YesNo("Would you like to bypass receiving control for this entry?", e.BypassLimits)
	return err
}

// pickRAT lists the entries and asks for one by number; -1 for Enter.
func pickRAT(io *shell.IO, rat []mailflow.RATEntry, verb string) (int, error) {
	if len(rat) == 0 {
		io.Printf("There are no entries to %s.\n", verb)
		return -1, nil
	}
	var b bytes.Buffer
	mailflow.PrintRAT(&b, rat)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	printNumbered(io, lines)
	a, err := io.AskOptional("Enter the number of the entry you wish to "+verb+".", "", shell.IntRange(1, len(rat)))
	if err != nil || a == "" {
		return -1, err
	}
	var i int
	fmt.Sscan(a, &i)
	return i - 1, nil
}

func ratEdit(io *shell.IO, rat []mailflow.RATEntry) ([]mailflow.RATEntry, error) {
	i, err := pickRAT(io, rat, "edit")
	if err != nil || i < 0 {
		return nil, err
	}
	e := rat[i]
	if e.Pattern != "ALL" {
		// The final ALL entry keeps its pattern: it is what the table does
		// with every other recipient.
		p, err := io.Ask(ratPatternQuestion, e.Pattern, func(a string) (string, error) {
			if strings.Contains(a, ",") {
				return "", errors.New("Enter one recipient; use NEW to add more.")
			}
			return ratListValidator(rat, i)(a)
		})
		if err != nil {
			return nil, err
		}
		e.Pattern = p
	}
	if err := askRATAction(io, &e); err != nil {
		return nil, err
	}
	out := append([]mailflow.RATEntry(nil), rat...)
	out[i] = e
	return out, nil
}

func ratDelete(io *shell.IO, rat []mailflow.RATEntry) ([]mailflow.RATEntry, error) {
	for {
		i, err := pickRAT(io, rat, "delete")
		if err != nil || i < 0 {
			return nil, err
		}
		if rat[i].Pattern == "ALL" && i == len(rat)-1 {
			io.Printf("The final ALL entry decides for every other recipient and cannot be removed; EDIT it to change its action.\n")
			io.Fail()
			continue
		}
		return append(rat[:i:i], rat[i+1:]...), nil
	}
}
