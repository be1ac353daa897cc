package commands

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"esa/auth/filter"
	"esa/shell"
	"esa/store"
	"esa/store/filters"
)

const filtersHelp = `filters [OPERATION | list | detail [SELECTION] | delete SELECTION | set SELECTION active|inactive | move SELECTION POSITION | new POSITION]

Configure the message filters: scripts in the AsyncOS filter language that
run in order on every message the listeners accept, and can quarantine,
drop, bounce or deliver it, add and strip headers, replace a forged From:,
write log entries or skip the remaining filters. A filter is

  name:
  if (spf-status("pra") == "Fail" and not spf-passed) {
      quarantine("Policy");
  } else if (forged-email-detection("Executives", 90)) {
      fed("from", "");
  }

with the rules spf-status[("helo"|"mailfrom"|"pra")], spf-passed,
dkim-authentication, dmarc, forged-email-detection("Dictionary", 1-100),
sendergroup, remote-ip, mail-from, rcpt-to, subject, header("Name") and
body-size, combined with and, or, not and parentheses; # starts a comment.
"name!" instead of "name:" is an inactive filter: kept, but it does not run.
  NEW    - paste one or more filters, ended by a line holding only "."; they
           are added at the end ("filters new POSITION": before the filter
           at POSITION)
  DELETE - remove filters
  IMPORT - replace every filter by those of a script file in
           DATA/configuration; a file with an error is refused whole, naming
           the line and column, and nothing changes
  EXPORT - write every filter, as a script, to a file in DATA/configuration
  MOVE   - move filters, keeping their order, to the position of a filter
           (its number or name) or to the end ("last")
  SET    - make filters active or inactive
  LIST   - list the filters: number, active, valid, name
  DETAIL - show filters with their script
A filter is chosen by its name or number, or several by a range ("2-4"), a
list ("1,3") or "all". A quarantine or content dictionary a filter names
must exist. Each completed operation is a pending change of this session
until commit; an empty answer at the menu returns to the prompt. With an
operation's name ("filters new"), the command runs that operation without
the menu; the other forms do theirs without questions.`

var filtersOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new filter."},
	{Name: "DELETE", Desc: "Remove a filter."},
	{Name: "IMPORT", Desc: "Import a filter script from a file."},
	{Name: "EXPORT", Desc: "Export filters to a file"},
	{Name: "MOVE", Desc: "Move a filter to a different position."},
	{Name: "SET", Desc: "Set a filter attribute."},
	{Name: "LIST", Desc: "List the filters."},
	{Name: "DETAIL", Desc: "Get detailed information on the filters."},
}

// filtersEmptyOps is the menu while there are no filters (NEW and IMPORT,
// as the AsyncOS user guide's example shows).
var filtersEmptyOps = []shell.Op{filtersOps[0], filtersOps[2]}

func filtersCommand(env *Env) shell.Command {
	kw := make([]string, len(filtersOps))
	for i, op := range filtersOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "filters",
		Summary:  "Configure message processing options",
		Help:     filtersHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			if len(args) == 1 {
				// "filters new" and the like: that one operation, without
				// the menu.
				for _, op := range filtersOps {
					if strings.EqualFold(args[0], op.Name) {
						return filtersOp(io, env, op.Name)
					}
				}
			}
			if len(args) > 0 {
				return filtersBatch(io, env, args)
			}
			for {
				ops := filtersOps
				if len(env.Session.Config().Filters.Filters) == 0 {
					// As the appliance: with no filters, only these two.
					ops = filtersEmptyOps
				}
				op, err := io.Menu(ops)
				if err != nil || op == "" {
					return err
				}
				if err := filtersOp(io, env, op); err != nil {
					return err
				}
			}
		},
	}
}

// filtersOp runs one operation of the menu.
func filtersOp(io *shell.IO, env *Env, op string) error {
	t := env.Session.Config().Filters
	var next *filters.Table
	var err error
	switch op {
	case "NEW":
		next, err = filterNew(io, env, t, len(t.Filters))
	case "DELETE":
		next, err = filterDelete(io, t)
	case "IMPORT":
		next, err = filterImport(io, env, t)
	case "EXPORT":
		if !filtersNone(io, t) {
			err = exportTable(io, env, func(b *bytes.Buffer) error {
				b.WriteString(t.Script())
				return nil
			})
		}
	case "MOVE":
		next, err = filterMove(io, t)
	case "SET":
		next, err = filterSet(io, t)
	case "LIST":
		filterList(io, t, nil)
	case "DETAIL":
		err = filterDetail(io, t)
	}
	if err != nil {
		return err
	}
	if next != nil {
		applyFilters(io, env, *next)
	}
	return nil
}

// applyFilters makes one completed operation a pending change. The
// operations checked what the table's rules check; a refusal here is shown
// rather than hidden.
func applyFilters(io *shell.IO, env *Env, t filters.Table) bool {
	if err := env.Session.Update(func(c *store.Config) error {
		c.Filters = t
		return nil
	}); err != nil {
		io.Printf("%v\n", sentence(err))
		io.Fail()
		return false
	}
	return true
}

// filtersNone says so when there are no filters, for the operations that
// need one.
func filtersNone(io *shell.IO, t filters.Table) bool {
	if len(t.Filters) > 0 {
		return false
	}
	io.Printf("\nThere are no filters defined.\n")
	return true
}

func filterYN(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// filterList prints the appliance's filter list; only the filters at idx
// when idx is not nil. Every stored filter is valid: the table refuses a
// script that does not parse.
func filterList(io *shell.IO, t filters.Table, idx []int) {
	if filtersNone(io, t) {
		return
	}
	if idx == nil {
		for i := range t.Filters {
			idx = append(idx, i)
		}
	}
	io.Printf("\nNum Active Valid Name\n")
	for _, i := range idx {
		f := t.Filters[i]
		io.Printf("%3d   %s      %s   %s\n", i+1, filterYN(f.Active), "Y", f.Name)
	}
}

const filterSelectQuestion = "Enter the filter name, number, or range:"

// filterParseSelection reads a filter name, number, range ("2-4"), list
// ("1,3,name") or "all" into positions, in table order, each once.
func filterParseSelection(t filters.Table, a string, single bool) ([]int, error) {
	bad := fmt.Errorf("%q is not a filter name, number or range of numbers from 1 to %d.", a, len(t.Filters))
	if single {
		bad = fmt.Errorf("%q is not a filter name or a number from 1 to %d.", a, len(t.Filters))
	}
	if !single && strings.EqualFold(a, "all") {
		idx := make([]int, len(t.Filters))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	parts := strings.Split(a, ",")
	if single && len(parts) > 1 {
		return nil, bad
	}
	chosen := make([]bool, len(t.Filters))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if i := t.Index(p); i >= 0 {
			chosen[i] = true
			continue
		}
		lo, hi, isRange := strings.Cut(p, "-")
		if !isRange {
			hi = lo
		} else if single {
			return nil, bad
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || l < 1 || h > len(t.Filters) || l > h {
			return nil, bad
		}
		for i := l; i <= h; i++ {
			chosen[i-1] = true
		}
	}
	var idx []int
	for i, c := range chosen {
		if c {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// filterAskSelection asks for filters; nil for an empty answer.
func filterAskSelection(io *shell.IO, t filters.Table, single bool) ([]int, error) {
	var idx []int
	q := filterSelectQuestion
	if single {
		q = "Enter the filter name or number:"
	}
	_, err := io.AskOptional(q, "", func(a string) (string, error) {
		var err error
		idx, err = filterParseSelection(t, a, single)
		return a, err
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// filterMaxPaste bounds a pasted script as Parse does.
const filterMaxPaste = filter.MaxScriptBytes

var (
	errFilterPasteLarge = fmt.Errorf("the script is larger than %d KiB", filterMaxPaste>>10)
	errFilterLineLong   = fmt.Errorf("a line of the script is longer than %d KiB", shell.MaxLineLength>>10)
)

// filterPaste reads lines up to one holding only ".", through the data
// path: not completed, not in the history. Past filterMaxPaste it keeps
// reading to the end of the paste, so the rest is not taken for commands,
// but keeps nothing more. The end of input before the "." abandons the
// paste (io.EOF): a script cut short is not added.
func filterPaste(io *shell.IO) (string, error) {
	io.Printf("\nEnter filter script.  Enter '.' on its own line to end.\n")
	var b strings.Builder
	var tooLarge error
	for {
		line, err := io.ReadLine("")
		if errors.Is(err, shell.ErrLineTooLong) {
			tooLarge = errFilterLineLong
			continue
		}
		if err != nil {
			return "", err
		}
		if err := io.Ctx.Err(); err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "." {
			break
		}
		if tooLarge != nil {
			continue
		}
		if b.Len()+len(line)+1 > filterMaxPaste {
			tooLarge = errFilterPasteLarge
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if tooLarge != nil {
		return "", tooLarge
	}
	return b.String(), nil
}

// filterParseError shows a script's parse error: where, why, and the line with
// a caret under the column (the line escaped as all output is).
func filterParseError(io *shell.IO, src string, err error) {
	var pe *filter.Error
	if !errors.As(err, &pe) {
		io.Printf("\nError: %v.\n", err)
		return
	}
	io.Printf("\nError at line %d, column %d: %s.\n", pe.Line, pe.Col, pe.Msg)
	lines := strings.Split(src, "\n")
	if pe.Line > len(lines) {
		return
	}
	line := strings.TrimRight(lines[pe.Line-1], "\r")
	if strings.TrimSpace(line) == "" || utf8.RuneCountInString(line) > 200 {
		return
	}
	// The caret goes under the column as the screen shows the line:
	// escaped characters take four columns (\xHH).
	prefix := line
	if r := []rune(line); pe.Col-1 <= len(r) {
		prefix = string(r[:pe.Col-1])
	}
	io.Printf("    %s\n    %s^\n", line, strings.Repeat(" ", utf8.RuneCountInString(shell.Escape(prefix))))
}

// filterCheckNew refuses new filters whose names are taken or that name a
// quarantine or dictionary that does not exist in c, saying which.
func filterCheckNew(io *shell.IO, c store.Config, t filters.Table, fs []*filter.Filter) bool {
	seen := map[string]bool{}
	for _, f := range fs {
		k := strings.ToLower(f.Name)
		if seen[k] {
			io.Printf("\nThe script holds two filters named %q.\n", f.Name)
			return false
		}
		if t.Index(f.Name) >= 0 {
			io.Printf("\nA filter named %q already exists.\n", f.Name)
			return false
		}
		seen[k] = true
		for _, q := range f.Quarantines() {
			if c.Quarantines.Quarantine(q) == nil {
				io.Printf("\nFilter %s: the quarantine %q does not exist (quarantineconfig creates it).\n", f.Name, q)
				return false
			}
		}
		for _, d := range f.Dictionaries() {
			if c.Dictionaries.Dictionary(d) == nil {
				io.Printf("\nFilter %s: the content dictionary %q does not exist (dictionaryconfig creates it).\n", f.Name, d)
				return false
			}
		}
	}
	if len(t.Filters)+len(fs) > filters.MaxFilters {
		io.Printf("\nThere can be at most %d filters.\n", filters.MaxFilters)
		return false
	}
	return true
}

// filterNew reads a script and adds its filters at position at (from 0).
func filterNew(io *shell.IO, env *Env, t filters.Table, at int) (*filters.Table, error) {
	src, err := filterPaste(io)
	if err != nil && err != errFilterPasteLarge && err != errFilterLineLong {
		return nil, err
	}
	var fs []*filter.Filter
	if err == nil {
		fs, err = filter.Parse(src)
	}
	if err != nil {
		filterParseError(io, src, err)
		io.Printf("No filters were added.\n")
		io.Fail()
		return nil, nil
	}
	if !filterCheckNew(io, env.Session.Config(), t, fs) {
		io.Printf("No filters were added.\n")
		io.Fail()
		return nil, nil
	}
	nt, err := t.Add(fs, at)
	if err != nil {
		io.Printf("\n%v\nNo filters were added.\n", sentence(err))
		io.Fail()
		return nil, nil
	}
	io.Printf("%d filters added.\n", len(fs))
	return &nt, nil
}

func filterDelete(io *shell.IO, t filters.Table) (*filters.Table, error) {
	if filtersNone(io, t) {
		return nil, nil
	}
	filterList(io, t, nil)
	idx, err := filterAskSelection(io, t, false)
	if err != nil || idx == nil {
		return nil, err
	}
	nt := t.Delete(idx...)
	io.Printf("\n%d filters deleted.\n", len(idx))
	return &nt, nil
}

// filterPosition reads a target position: a filter number or name (the
// position that filter has now) or "last".
func filterPosition(t filters.Table, a string) (int, error) {
	if strings.EqualFold(a, "last") {
		return len(t.Filters), nil
	}
	if i := t.Index(a); i >= 0 {
		return i, nil
	}
	if n, err := strconv.Atoi(a); err == nil && n >= 1 && n <= len(t.Filters) {
		return n - 1, nil
	}
	return 0, fmt.Errorf("%q is not a filter name, a number from 1 to %d or \"last\".", a, len(t.Filters))
}

// filterMoveTo moves the filters at idx so the first is at position to,
// keeping their order; nil, with the appliance's reason, when nothing
// would change.
func filterMoveTo(io *shell.IO, t filters.Table, idx []int, to int) *filters.Table {
	nt, changed := t.Move(idx, to)
	if !changed {
		io.Printf("Movement would result in no change of sequence.\n")
		io.Fail()
		return nil
	}
	io.Printf("%d filters moved.\n", len(idx))
	return &nt
}

func filterMove(io *shell.IO, t filters.Table) (*filters.Table, error) {
	if filtersNone(io, t) {
		return nil, nil
	}
	filterList(io, t, nil)
	idx, err := filterAskSelection(io, t, false)
	if err != nil || idx == nil {
		return nil, err
	}
	var to int
	if _, err := io.Ask("Enter the target filter position number or name, or \"last\":", "", func(a string) (string, error) {
		var err error
		to, err = filterPosition(t, a)
		return a, err
	}); err != nil {
		return nil, err
	}
	io.Printf("\n")
	return filterMoveTo(io, t, idx, to), nil
}

func filterSet(io *shell.IO, t filters.Table) (*filters.Table, error) {
	if filtersNone(io, t) {
		return nil, nil
	}
	filterList(io, t, nil)
	idx, err := filterAskSelection(io, t, false)
	if err != nil || idx == nil {
		return nil, err
	}
	a, err := io.Ask("Enter the attribute to set: \"active\" or \"inactive\"", "active", filterActiveAnswer)
	if err != nil {
		return nil, err
	}
	nt := t.SetActive(a == "active", idx...)
	io.Printf("\n%d filters updated.\n", len(idx))
	return &nt, nil
}

func filterActiveAnswer(a string) (string, error) {
	switch strings.ToLower(a) {
	case "active", "inactive":
		return strings.ToLower(a), nil
	}
	return "", fmt.Errorf("Please answer \"active\" or \"inactive\".")
}

func filterDetail(io *shell.IO, t filters.Table) error {
	if filtersNone(io, t) {
		return nil
	}
	idx, err := filterAskSelection(io, t, false)
	if err != nil || idx == nil {
		return err
	}
	filterShowDetail(io, t, idx)
	return nil
}

// filterShowDetail prints each chosen filter's list line and its script in
// canonical form.
func filterShowDetail(io *shell.IO, t filters.Table, idx []int) {
	for _, i := range idx {
		filterList(io, t, []int{i})
		io.Printf("\n%s", t.Filters[i].Text())
	}
}

// filterImport replaces every filter by those of a script file, or
// refuses the file whole.
func filterImport(io *shell.IO, env *Env, t filters.Table) (*filters.Table, error) {
	name, data, err := importFile(io, env)
	if err != nil || data == nil {
		return nil, err
	}
	src := string(data)
	fs, err := filter.Parse(src)
	if err != nil {
		filterParseError(io, src, err)
		io.Printf("Import failed. Nothing was changed.\n")
		io.Fail()
		return nil, nil
	}
	if !filterCheckNew(io, env.Session.Config(), filters.Table{}, fs) {
		io.Printf("Import failed. Nothing was changed.\n")
		io.Fail()
		return nil, nil
	}
	nt, err := filters.Replace(fs)
	if err != nil {
		io.Printf("\n%v\nImport failed. Nothing was changed.\n", sentence(err))
		io.Fail()
		return nil, nil
	}
	io.Printf("\n%d filters imported from %s", len(fs), name)
	if n := len(t.Filters); n > 0 {
		io.Printf("; they replace the %d filters configured before", n)
	}
	io.Printf(".\n")
	return &nt, nil
}

// filtersBatch runs the command-line forms: list, detail [SELECTION],
// delete SELECTION, set SELECTION active|inactive, move SELECTION
// POSITION, new POSITION.
func filtersBatch(io *shell.IO, env *Env, args []string) error {
	t := env.Session.Config().Filters
	usage := errors.New("Invalid arguments when processing: filters [list | detail [SELECTION] | delete SELECTION | set SELECTION active|inactive | move SELECTION POSITION | new POSITION].")
	sel := func(a string, single bool) ([]int, error) {
		if len(t.Filters) == 0 {
			return nil, errors.New("There are no filters defined.")
		}
		return filterParseSelection(t, a, single)
	}
	op := strings.ToLower(args[0])
	switch {
	case op == "list" && len(args) == 1:
		filterList(io, t, nil)
		return nil
	case op == "detail" && len(args) <= 2:
		if len(args) == 1 {
			if filtersNone(io, t) {
				return nil
			}
			args = append(args, "all")
		}
		idx, err := sel(args[1], false)
		if err != nil {
			return err
		}
		filterShowDetail(io, t, idx)
		return nil
	case op == "delete" && len(args) == 2:
		idx, err := sel(args[1], false)
		if err != nil {
			return err
		}
		if applyFilters(io, env, t.Delete(idx...)) {
			io.Printf("%d filters deleted.\n", len(idx))
		}
		return nil
	case op == "set" && len(args) == 3:
		idx, err := sel(args[1], false)
		if err != nil {
			return err
		}
		a, err := filterActiveAnswer(args[2])
		if err != nil {
			return err
		}
		if applyFilters(io, env, t.SetActive(a == "active", idx...)) {
			io.Printf("%d filters updated.\n", len(idx))
		}
		return nil
	case op == "move" && len(args) == 3:
		idx, err := sel(args[1], false)
		if err != nil {
			return err
		}
		to, err := filterPosition(t, args[2])
		if err != nil {
			return err
		}
		if nt := filterMoveTo(io, t, idx, to); nt != nil {
			applyFilters(io, env, *nt)
		}
		return nil
	case op == "new" && len(args) == 2:
		at, err := filterPosition(t, args[1])
		if err != nil {
			return err
		}
		nt, err := filterNew(io, env, t, at)
		if err == nil && nt != nil {
			applyFilters(io, env, *nt)
		}
		return err
	}
	return usage
}
