package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/mailflow"
)

// The HOSTACCESS menu, verbatim (ESA-CLI §3.2).
var hostAccessOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new entry."},
	{Name: "EDIT", Desc: "Modify an entry."},
	{Name: "DELETE", Desc: "Remove an entry."},
	{Name: "MOVE", Desc: "Move an entry."},
	{Name: "DEFAULT", Desc: "Set the defaults."},
	{Name: "PRINT", Desc: "Display the table."},
	{Name: "IMPORT", Desc: "Import a table from a file."},
	{Name: "EXPORT", Desc: "Export the table to a file."},
	{Name: "CLEAR", Desc: "Remove all entries."},
}

// hostAccess is the HOSTACCESS menu of listener i. Each completed
// operation is one pending change of the listener's table.
func hostAccess(io *shell.IO, env *Env, i int) error {
	for {
		l := env.Session.Config().Listeners.Listeners[i]
		h := l.HAT
		io.Printf("\nThere are currently %d policies defined.\nThere are currently %d sender groups.\n", len(h.Policies), len(h.Entries))
		op, err := io.Menu(hostAccessOps)
		if err != nil || op == "" {
			return err
		}
		var nh *mailflow.HAT
		switch op {
		case "NEW":
			nh, err = hatNew(io, h, policyProfiles(env))
		case "EDIT":
			nh, err = hatEdit(io, env, i, h)
		case "DELETE":
			nh, err = hatDelete(io, h)
		case "MOVE":
			nh, err = hatMove(io, h)
		case "DEFAULT":
			io.Printf("\n")
			printDefaultParams(io, h.Effective(""))
			var lim mailflow.Limits
			if lim, err = askParams(io, h.Effective(""), policyProfiles(env)); err == nil {
				h.Default = limitParams(lim)
				nh = &h
			}
		case "PRINT":
			io.Printf("\n")
			mailflow.PrintHAT(io.Out, &h)
		case "IMPORT":
			nh, err = hatImport(io, env, h)
		case "EXPORT":
			err = exportTable(io, env, func(b *bytes.Buffer) error { return mailflow.PrintHAT(b, &h) })
		case "CLEAR":
			var sure bool
			sure, err = io.YesNo("Are you sure you want to remove all sender groups and set the policies and the default policy parameters to the factory settings?", false)
			if err == nil && sure {
				f := mailflow.NewListener(l.Name, l.Type, l.Address, l.Port).HAT
				nh = &f
			}
		}
		if err != nil {
			return err
		}
		if nh != nil {
			hat := *nh
			applyListener(io, env, i, func(l *mailflow.Listener) { l.HAT = hat })
		}
	}
}

// entryName is how an entry is listed and picked: its sender group's name,
// or the host of a single-host entry.
func entryName(e mailflow.Entry) string {
	if e.Group != "" {
		return e.Group
	}
	return e.Members[0]
}

func entryNames(h mailflow.HAT) []string {
	names := make([]string, len(h.Entries))
	for i, e := range h.Entries {
		names[i] = entryName(e)
	}
	return names
}

func policyNames(h mailflow.HAT) []string {
	names := make([]string, len(h.Policies))
	for i, p := range h.Policies {
		names[i] = p.Name
	}
	return names
}

func printNumbered(io *shell.IO, names []string) {
	io.Printf("\n")
	for i, n := range names {
		io.Printf("%d. %s\n", i+1, n)
	}
}

// pickEntry lists the entries and asks for one by name or number; -1 for
// an empty answer.
func pickEntry(io *shell.IO, h mailflow.HAT, verb string) (int, error) {
	if len(h.Entries) == 0 {
		io.Printf("There are no sender groups to %s.\n", verb)
		return -1, nil
	}
	printNumbered(io, entryNames(h))
	return io.Select("Enter the sender group name or number to "+verb+".", entryNames(h))
}

func pickPolicy(io *shell.IO, h mailflow.HAT, verb string) (int, error) {
	if len(h.Policies) == 0 {
		io.Printf("There are no policies to %s.\n", verb)
		return -1, nil
	}
	printNumbered(io, policyNames(h))
	return io.Select("Enter the policy name or number to "+verb+".", policyNames(h))
}

func hatNew(io *shell.IO, h mailflow.HAT, profiles profileChoices) (*mailflow.HAT, error) {
	what, err := io.Choose("What would you like to create?", []string{"New Sender Group", "New Policy"}, 1)
	if err != nil {
		return nil, err
	}
	if what == 2 {
		p := mailflow.Policy{}
		name, err := io.Ask("Enter the name for this mail flow policy.", "", policyNameValidator(h, -1))
		if err != nil {
			return nil, err
		}
		p.Name = name
		if err := askPolicy(io, &h, &p, profiles); err != nil {
			return nil, err
		}
		h.Policies = append(h.Policies, p)
		return &h, nil
	}
	e := mailflow.Entry{}
	if e.Group, err = io.Ask("Enter a name for this sender group.", "", groupNameValidator(h, -1)); err != nil {
		return nil, err
	}
	a, err := io.Ask("Enter the hosts to add.\n"+hostKinds+"\nSeparate multiple hosts with commas.", "", memberListValidator(nil))
	if err != nil {
		return nil, err
	}
	e.Members = splitList(a)
	if err := askBehavior(io, h, &e, "sender group"); err != nil {
		return nil, err
	}
	// A new group goes before a final catch-all ALL entry, which would
	// otherwise decide first for every host it lists; MOVE places it
	// elsewhere.
	at := len(h.Entries)
	if at > 0 && h.Entries[at-1].Group == "" && h.Entries[at-1].Members[0] == "ALL" {
		at--
	}
	h.Entries = append(h.Entries[:at:at], append([]mailflow.Entry{e}, h.Entries[at:]...)...)
	return &h, nil
}

// policyNameValidator accepts a new policy name by the table's rule, with
// or without its $, that no other policy has; self is the policy's index
// when it has one.
func policyNameValidator(h mailflow.HAT, self int) shell.Validator {
	return func(a string) (string, error) {
		a = strings.TrimPrefix(a, "$")
		t := mailflow.HAT{Policies: []mailflow.Policy{{Name: a, Action: mailflow.ActAccept}}}
		if t.Validate() != nil {
			return "", errors.New("Valid characters are letters, digits, \"-\" and \"_\"; the name is at most 64 characters long.")
		}
		for i, p := range h.Policies {
			if i != self && p.Name == a {
				return "", fmt.Errorf("The policy $%s already exists.", a)
			}
		}
		return a, nil
	}
}

func groupNameValidator(h mailflow.HAT, self int) shell.Validator {
	return func(a string) (string, error) {
		t := mailflow.HAT{Entries: []mailflow.Entry{{Group: a, Decision: mailflow.ActAccept}}}
		if t.Validate() != nil {
			return "", errors.New("Valid characters are letters, digits, \"-\" and \"_\"; the name is at most 64 characters long.")
		}
		for i, e := range h.Entries {
			if i != self && e.Group == a {
				return "", fmt.Errorf("The sender group %s already exists.", a)
			}
		}
		return a, nil
	}
}

var policyActions = []struct{ key, menu string }{
	{mailflow.ActAccept, "Accept"},
	{mailflow.ActRelay, "Relay"},
	{mailflow.ActReject, "Reject"},
	{mailflow.ActTCPRefuse, "TCP Refuse"},
}

// askPolicy asks a policy's action and whether it overrides the default
// policy parameters, and if so the parameter questions with its current
// values as defaults.
func askPolicy(io *shell.IO, h *mailflow.HAT, p *mailflow.Policy, profiles profileChoices) error {
	menu := make([]string, len(policyActions))
	def := 1
	for i, a := range policyActions {
		menu[i] = a.menu
		if a.key == p.Action {
			def = i + 1
		}
	}
	n, err := io.Choose("Select the action for this policy:", menu, def)
	if err != nil {
		return err
	}
	p.Action = policyActions[n-1].key
	useDefault, err := io.YesNo("Would you like to use the default policy parameters for this policy?", len(p.Params) == 0)
	if err != nil {
		return err
	}
	if useDefault {
		p.Params = nil
		return nil
	}
	// The questions start from what the policy gets now: its overrides
	// over DEFAULT.
	work := mailflow.HAT{Default: h.Default, Policies: []mailflow.Policy{*p}}
	lim, err := askParams(io, work.Effective(p.Name), profiles)
	if err != nil {
		return err
	}
	p.Params = policyParams(h, p.Params, lim)
	return nil
}

// askBehavior asks what an entry does with the hosts it matches: an action
// or one of the table's policies, then its comment.
func askBehavior(io *shell.IO, h mailflow.HAT, e *mailflow.Entry, what string) error {
	menu := []string{"Accept", "Relay", "Reject", "TCP Refuse", "Continue"}
	keys := []string{mailflow.ActAccept, mailflow.ActRelay, mailflow.ActReject, mailflow.ActTCPRefuse, mailflow.ActContinue}
	for _, p := range h.Policies {
		menu = append(menu, "Policy: "+p.Name)
		keys = append(keys, "$"+p.Name)
	}
	def := 1
	if len(h.Policies) > 0 {
		def = 6
	}
	for i, k := range keys {
		if k == e.Decision {
			def = i + 1
		}
	}
	n, err := io.Choose("Select a behavior for this entry.", menu, def)
	if err != nil {
		return err
	}
	e.Decision = keys[n-1]
	e.Comment, err = io.AskOptional("Enter a comment for this "+what+".", e.Comment, func(a string) (string, error) {
		if strings.ContainsAny(a, "()") {
			return "", errors.New("The comment must not contain parentheses.")
		}
		return oneLine(a)
	})
	return err
}

func hatEdit(io *shell.IO, env *Env, li int, h mailflow.HAT) (*mailflow.HAT, error) {
	what, err := io.Choose("What would you like to edit?", []string{"Edit Sender Group", "Edit Policy"}, 1)
	if err != nil {
		return nil, err
	}
	if what == 2 {
		i, err := pickPolicy(io, h, "edit")
		if err != nil || i < 0 {
			return nil, err
		}
		p := h.Policies[i]
		p.Params = append([]mailflow.Param(nil), p.Params...)
		if err := askPolicy(io, &h, &p, policyProfiles(env)); err != nil {
			return nil, err
		}
		h.Policies[i] = p
		return &h, nil
	}
	i, err := pickEntry(io, h, "edit")
	if err != nil || i < 0 {
		return nil, err
	}
	if h.Entries[i].Group == "" {
		// A single-host entry (from an imported table): its host, then
		// what it does.
		e := h.Entries[i]
		a, err := io.Ask("Enter the host for this entry.", e.Members[0], func(a string) (string, error) {
			if strings.Contains(a, ",") {
				return "", errors.New("This entry holds one host; create a sender group for several.")
			}
			return memberListValidator(nil)(a)
		})
		if err != nil {
			return nil, err
		}
		e.Members = []string{a}
		if err := askBehavior(io, h, &e, "entry"); err != nil {
			return nil, err
		}
		h.Entries[i] = e
		return &h, nil
	}
	return nil, groupEdit(io, env, li, i)
}

var groupOps = []shell.Op{
	{Name: "NEW", Desc: "Add a new host."},
	{Name: "DELETE", Desc: "Remove a host."},
	{Name: "POLICY", Desc: "Change the policy settings and options."},
	{Name: "RENAME", Desc: "Rename this sender group."},
}

// groupEdit is the sub-menu of sender group gi of listener li; each of its
// operations is one pending change.
func groupEdit(io *shell.IO, env *Env, li, gi int) error {
	for {
		h := env.Session.Config().Listeners.Listeners[li].HAT
		e := h.Entries[gi]
		io.Printf("\nSender Group: %s\n", e.Group)
		io.Printf("Behavior: %s\n", e.Decision)
		if e.Comment != "" {
			io.Printf("Comment: %s\n", e.Comment)
		}
		if len(e.Members) == 0 {
			io.Printf("There are no hosts in this sender group.\n")
		} else {
			io.Printf("Hosts:\n")
			for i, m := range e.Members {
				io.Printf("%d. %s\n", i+1, m)
			}
		}
		op, err := io.Menu(groupOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			a, err := io.Ask("Enter the hosts to add.\n"+hostKinds+"\nSeparate multiple hosts with commas.", "", memberListValidator(e.Members))
			if err != nil {
				return err
			}
			e.Members = append(e.Members, splitList(a)...)
		case "DELETE":
			if len(e.Members) == 0 {
				io.Printf("There are no hosts to remove.\n")
				continue
			}
			n, err := io.Select("Enter the host or number to remove.", e.Members)
			if err != nil {
				return err
			}
			if n < 0 {
				continue
			}
			e.Members = append(e.Members[:n:n], e.Members[n+1:]...)
		case "POLICY":
			if err := askBehavior(io, h, &e, "sender group"); err != nil {
				return err
			}
		case "RENAME":
			name, err := io.Ask("Enter a new name for this sender group.", e.Group, groupNameValidator(h, gi))
			if err != nil {
				return err
			}
			e.Group = name
		}
		applyListener(io, env, li, func(l *mailflow.Listener) { l.HAT.Entries[gi] = e })
	}
}

func hatDelete(io *shell.IO, h mailflow.HAT) (*mailflow.HAT, error) {
	what, err := io.Choose("What would you like to delete?", []string{"Delete Sender Group", "Delete Policy"}, 1)
	if err != nil {
		return nil, err
	}
	if what == 1 {
		i, err := pickEntry(io, h, "delete")
		if err != nil || i < 0 {
			return nil, err
		}
		h.Entries = append(h.Entries[:i:i], h.Entries[i+1:]...)
		return &h, nil
	}
	for {
		i, err := pickPolicy(io, h, "delete")
		if err != nil || i < 0 {
			return nil, err
		}
		// The table refuses an entry naming a policy that does not exist:
		// a policy in use is refused here, with who uses it.
		var users []string
		for _, e := range h.Entries {
			if e.Decision == "$"+h.Policies[i].Name {
				users = append(users, entryName(e))
			}
		}
		if len(users) > 0 {
			io.Printf("The policy $%s is used by %s; change their behavior first.\n", h.Policies[i].Name, strings.Join(users, ", "))
			io.Fail()
			continue
		}
		h.Policies = append(h.Policies[:i:i], h.Policies[i+1:]...)
		return &h, nil
	}
}

func hatMove(io *shell.IO, h mailflow.HAT) (*mailflow.HAT, error) {
	if len(h.Entries) < 2 {
		io.Printf("There are not enough sender groups to move.\n")
		return nil, nil
	}
	i, err := pickEntry(io, h, "move")
	if err != nil || i < 0 {
		return nil, err
	}
	to, err := io.Int(fmt.Sprintf("Enter the new position of %s (1 to %d).", entryName(h.Entries[i]), len(h.Entries)), i+1, 1, len(h.Entries))
	if err != nil {
		return nil, err
	}
	e := h.Entries[i]
	rest := append(h.Entries[:i:i], h.Entries[i+1:]...)
	h.Entries = append(rest[:to-1:to-1], append([]mailflow.Entry{e}, rest[to-1:]...)...)
	return &h, nil
}

// hatImport reads a table in the PRINT form from a file of the
// configuration directory. The file replaces the sender groups and
// policies whole, or is refused whole with the line at fault; the DEFAULT
// parameters, which the format does not carry, stay.
func hatImport(io *shell.IO, env *Env, h mailflow.HAT) (*mailflow.HAT, error) {
	name, data, err := importFile(io, env)
	if err != nil || data == nil {
		return nil, err
	}
	nh, err := mailflow.ParseHAT(bytes.NewReader(data), h.Default)
	if err != nil {
		importRefused(io, err)
		return nil, nil
	}
	io.Printf("\nImported %d policies and %d sender groups from %s.\n", len(nh.Policies), len(nh.Entries), name)
	return nh, nil
}

// importFile asks for a file name and reads the file through the store's
// configuration-directory reader (a plain name, a regular file, no link or
// FIFO, bounded, Ctrl-C ends the read). A refused file is reported and
// gives nil data.
func importFile(io *shell.IO, env *Env) (string, []byte, error) {
	name, err := io.Ask("Enter the name of the file to import:", "", configFileName)
	if err != nil {
		return "", nil, err
	}
	data, err := env.Store.ReadConfigDirFile(io.Ctx, name, mailflow.MaxImportBytes)
	var fe *store.FileError
	switch {
	case err == nil:
		return name, data, nil
	case errors.Is(err, context.Canceled):
		return "", nil, shell.ErrInterrupt
	case errors.As(err, &fe):
		io.Printf("\nError: %v.\n", fe)
	case errors.Is(err, fs.ErrNotExist):
		io.Printf("\nError: the file %q does not exist.\n", name)
	default:
		io.Printf("\nError: %v.\n", err)
	}
	io.Fail()
	return "", nil, nil
}

var entryPrefix = regexp.MustCompile(`^recipient access entry \d+: `)

// importRefused reports a refused import file: the line and reason, in
// loadconfig's form. Nothing was changed.
func importRefused(io *shell.IO, err error) {
	var pe *mailflow.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		// A whole-table refusal of the recipient table names the entry by
		// its number too; the line says where it is.
		msg := entryPrefix.ReplaceAllString(pe.Msg, "")
		io.Printf("\nParsing failed; nothing was imported.\nLine %d: %s\n", pe.Line, msg)
	} else {
		io.Printf("\nParsing failed; nothing was imported.\n%v\n", err)
	}
	io.Fail()
}

// exportTable asks for a file name and writes the table there atomically.
func exportTable(io *shell.IO, env *Env, write func(*bytes.Buffer) error) error {
	name, err := io.Ask("Enter a name for the exported file:", "", configFileName)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	if err := env.Store.WriteConfigDirFile(name, b.Bytes()); err != nil {
		var fe *store.FileError
		var pe *fs.PathError
		switch {
		case errors.As(err, &fe):
		case errors.As(err, &pe):
			// The system's reason, without the temporary file's path.
			err = pe.Err
		}
		io.Printf("\nError: the table could not be exported: %v.\n", err)
		io.Fail()
		return nil
	}
	io.Printf("\nThe file %s has been saved in the configuration directory.\n", name)
	return nil
}
