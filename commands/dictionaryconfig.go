package commands

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/dictionaries"
	"esa/store/filters"
)

const dictionaryconfigHelp = `dictionaryconfig

Configure content dictionaries: named lists of terms the message filters
match. Forged email detection matches the display name of a message's
From: header against one: enter people's names ("Olivia Smith"), not
their addresses. Terms are plain text, one a line; a
character that is special in a regular expression matches itself.
  NEW    - create a dictionary: type its terms, one a line, and an empty
           line to finish, or import them from a file
  EDIT   - NEW (add terms), DELETE (a term, by itself or its number),
           PRINT, IMPORT (replace the terms with those of a file),
           EXPORT (write them to a file) and SETTINGS (ignore case,
           match whole words only; both yes for a new dictionary)
  DELETE - remove a dictionary (refused while a filter uses it)
  RENAME - give a dictionary another name
Dictionary files live in DATA/configuration: one term a line, UTF-8;
empty lines and lines starting with # are comments. An import file with a
bad line is refused whole, naming the line. A term is at most 256
characters without control characters and does not begin with #; a
dictionary holds at most 10,000 terms, and names are letters, digits,
spaces, '.', '_' and '-'. Each completed operation is a pending change of
this session until commit.`

var dictionaryOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new content dictionary."},
	{Name: "EDIT", Desc: "Modify a content dictionary."},
	{Name: "DELETE", Desc: "Remove a content dictionary."},
	{Name: "RENAME", Desc: "Change the name of a content dictionary."},
}

var dictionaryEditOps = []shell.Op{
	{Name: "NEW", Desc: "Create new entries in this dictionary."},
	{Name: "DELETE", Desc: "Remove an entry in this dictionary."},
	{Name: "PRINT", Desc: "List the entries in this dictionary."},
	{Name: "IMPORT", Desc: "Replace the entries in this dictionary with those of a file."},
	{Name: "EXPORT", Desc: "Export the entries in this dictionary to a file."},
	{Name: "SETTINGS", Desc: "Change settings for this dictionary."},
}

// dictionaryEmptyEditOps is the EDIT menu of a dictionary without terms:
// nothing to delete, print or export.
var dictionaryEmptyEditOps = []shell.Op{dictionaryEditOps[0], dictionaryEditOps[3], dictionaryEditOps[5]}

func dictionaryconfigCommand(env *Env) shell.Command {
	var kw []string
	for _, ops := range [][]shell.Op{dictionaryOps, dictionaryEditOps} {
		for _, op := range ops {
			kw = append(kw, op.Name)
		}
	}
	return shell.Command{
		Name:     "dictionaryconfig",
		Summary:  "Configure content dictionaries",
		Help:     dictionaryconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				t := env.Session.Config().Dictionaries
				ops := dictionaryOps
				if len(t.Dictionaries) == 0 {
					io.Printf("\nNo content dictionaries have been defined.\n")
					ops = dictionaryOps[:1]
				} else {
					io.Printf("\nCurrently configured content dictionaries:\n%s", numbered(dictionaryNames(t)))
				}
				op, err := io.Menu(ops)
				if err != nil || op == "" {
					return err
				}
				switch op {
				case "NEW":
					err = dictionaryNew(io, env, t)
				case "EDIT":
					err = dictionaryEdit(io, env)
				case "DELETE":
					err = dictionaryDelete(io, env, t)
				case "RENAME":
					err = dictionaryRename(io, env, t)
				}
				if err != nil {
					return err
				}
			}
		},
	}
}

func dictionaryNames(t dictionaries.Table) []string {
	names := make([]string, len(t.Dictionaries))
	for i, d := range t.Dictionaries {
		names[i] = d.Name
	}
	return names
}

// numbered lists names as the appliance's selection lists do: "1. name".
func numbered(names []string) string {
	var b strings.Builder
	for i, n := range names {
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.String()
}

// dictionaryUpdate makes one completed operation a pending change; a
// refusal of the store (a filter uses the dictionary) is shown and fails
// the command.
func dictionaryUpdate(io *shell.IO, env *Env, t dictionaries.Table) bool {
	return certUpdate(io, env, func(c *store.Config) error {
		c.Dictionaries = t
		return nil
	})
}

// withDictionary is t with dictionary i replaced by d, sharing nothing
// with the session's copy.
func withDictionary(t dictionaries.Table, i int, d dictionaries.Dictionary) dictionaries.Table {
	ds := append([]dictionaries.Dictionary(nil), t.Dictionaries...)
	ds[i] = d
	return dictionaries.Table{Dictionaries: ds}
}

// dictionaryName is the validator of a new name: valid and not another
// dictionary's (without regard to case); keep is the index of the
// dictionary being renamed, whose own name may change case.
func dictionaryName(t dictionaries.Table, keep int) shell.Validator {
	return func(a string) (string, error) {
		if err := dictionaries.CheckName(a); err != nil {
			return "", sentence(err)
		}
		if i := t.Index(a); i >= 0 && i != keep {
			return "", errors.New("A content dictionary named \"" + t.Dictionaries[i].Name + "\" already exists.")
		}
		return a, nil
	}
}

func dictionaryNew(io *shell.IO, env *Env, t dictionaries.Table) error {
	if len(t.Dictionaries) >= dictionaries.MaxDictionaries {
		io.Printf("\nThere is a maximum of %d content dictionaries.\n", dictionaries.MaxDictionaries)
		io.Fail()
		return nil
	}
	name, err := io.Ask("Enter a name for this content dictionary.", "", dictionaryName(t, -1))
	if err != nil {
		return err
	}
	d := dictionaries.New(name)
	fromFile, err := io.YesNo("Do you wish to specify a file for import?", false)
	if err != nil {
		return err
	}
	if fromFile {
		terms, _, err := dictionaryImport(io, env)
		if err != nil || terms == nil {
			return err
		}
		d.Terms = terms
	} else {
		if d.Terms, err = readTerms(io, nil); err != nil {
			return err
		}
	}
	t.Dictionaries = append(t.Dictionaries[:len(t.Dictionaries):len(t.Dictionaries)], d)
	dictionaryUpdate(io, env, t)
	return nil
}

// readTerms reads new terms, one a line, until an empty line: those of
// have and those typed before are refused as repeated, a bad line is
// refused with its reason and the rest read on. Lines go through the data
// path, as pasted text does. The end of input before the empty line
// abandons the list, as it abandons any wizard: a script one line short
// changes nothing.
func readTerms(io *shell.IO, have []string) ([]string, error) {
	io.Printf("\nEnter new words or regular expressions, enter a blank line to finish.\n")
	seen := make(map[string]bool, len(have))
	for _, h := range have {
		seen[h] = true
	}
	var add []string
	for {
		line, err := io.ReadLine("")
		if errors.Is(err, shell.ErrLineTooLong) {
			io.Printf("The line is too long for a term; it was not added.\n")
			io.Fail()
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := io.Ctx.Err(); err != nil {
			return nil, shell.ErrInterrupt
		}
		term := strings.TrimSpace(line)
		if term == "" {
			return add, nil
		}
		switch err := dictionaries.CheckTerm(term); {
		case err != nil:
			io.Printf("%v It was not added.\n", sentence(err))
		case seen[term]:
			io.Printf("The term %q is already in the dictionary.\n", term)
		case len(have)+len(add) >= dictionaries.MaxTerms:
			io.Printf("A dictionary holds at most %d terms; %q was not added.\n", dictionaries.MaxTerms, term)
		default:
			seen[term] = true
			add = append(add, term)
			continue
		}
		io.Fail()
	}
}

// dictionaryImport reads a dictionary file of the configuration
// directory; a bad file is reported (nil terms) and changes nothing.
func dictionaryImport(io *shell.IO, env *Env) ([]string, string, error) {
	name, data, err := importFile(io, env)
	if err != nil || data == nil {
		return nil, "", err
	}
	terms, err := dictionaries.Parse(bytes.NewReader(data))
	if err != nil {
		var pe *dictionaries.ParseError
		if errors.As(err, &pe) {
			io.Printf("\nLine %d: %v\n", pe.Line, sentence(errors.New(pe.Msg)))
		} else {
			io.Printf("\nError reading file.\n")
		}
		io.Printf("Import failed. Nothing was changed.\n")
		io.Fail()
		return nil, "", nil
	}
	if terms == nil {
		terms = []string{}
	}
	io.Printf("\nImported %s from %s.\n", plural(len(terms), "term"), name)
	return terms, name, nil
}

// selectDictionary asks for one of t's dictionaries by number or name;
// -1 for an empty answer.
func selectDictionary(io *shell.IO, t dictionaries.Table, verb string) (int, error) {
	names := dictionaryNames(t)
	return io.Select("Enter the number of the dictionary you want to "+verb+":\n"+strings.TrimSuffix(numbered(names), "\n"), names)
}

func dictionaryDelete(io *shell.IO, env *Env, t dictionaries.Table) error {
	i, err := selectDictionary(io, t, "delete")
	if err != nil || i < 0 {
		return err
	}
	name := t.Dictionaries[i].Name
	if dictionaryInUse(io, env, name) {
		return nil
	}
	t.Dictionaries = append(t.Dictionaries[:i:i], t.Dictionaries[i+1:]...)
	if dictionaryUpdate(io, env, t) {
		io.Printf("\nContent dictionary %q deleted.\n", name)
	}
	return nil
}

func dictionaryRename(io *shell.IO, env *Env, t dictionaries.Table) error {
	i, err := selectDictionary(io, t, "rename")
	if err != nil || i < 0 {
		return err
	}
	d := t.Dictionaries[i]
	if dictionaryInUse(io, env, d.Name) {
		return nil
	}
	name, err := io.Ask("Enter the new name for this content dictionary.", "", dictionaryName(t, i))
	if err != nil {
		return err
	}
	old := d.Name
	d.Name = name
	if dictionaryUpdate(io, env, withDictionary(t, i, d)) {
		io.Printf("\nContent dictionary %q renamed to %q.\n", old, name)
	}
	return nil
}

// dictionaryEdit is EDIT's menu over one dictionary; each operation is a
// pending change of its own.
func dictionaryEdit(io *shell.IO, env *Env) error {
	i, err := selectDictionary(io, env.Session.Config().Dictionaries, "edit")
	if err != nil || i < 0 {
		return err
	}
	for {
		t := env.Session.Config().Dictionaries
		d := t.Dictionaries[i]
		io.Printf("\nContent dictionary %q holds %s.\n", d.Name, plural(len(d.Terms), "term"))
		io.Printf("Matching %s and %s.\n", yesNoText(d.IgnoreCase, "ignores case", "is case-sensitive"),
			yesNoText(d.WholeWords, "matches whole words only", "matches within words too"))
		ops := dictionaryEditOps
		if len(d.Terms) == 0 {
			ops = dictionaryEmptyEditOps
		}
		op, err := io.Menu(ops)
		if err != nil || op == "" {
			return err
		}
		var next *dictionaries.Dictionary
		switch op {
		case "NEW":
			var add []string
			if add, err = readTerms(io, d.Terms); err == nil && len(add) > 0 {
				d.Terms = append(d.Terms[:len(d.Terms):len(d.Terms)], add...)
				next = &d
				io.Printf("%s added.\n", plural(len(add), "term"))
			}
		case "DELETE":
			next, err = dictionaryDeleteTerm(io, d)
		case "PRINT":
			io.Printf("\n%s", numbered(d.Terms))
		case "IMPORT":
			var terms []string
			if terms, _, err = dictionaryImport(io, env); err == nil && terms != nil {
				if n := len(d.Terms); n > 0 {
					io.Printf("They replace the %s the dictionary held.\n", plural(n, "term"))
				}
				d.Terms = terms
				next = &d
			}
		case "EXPORT":
			err = exportTable(io, env, func(b *bytes.Buffer) error { return dictionaries.Write(b, d) })
		case "SETTINGS":
			if d.IgnoreCase, err = io.YesNo("Do you want to ignore case when matching?", d.IgnoreCase); err != nil {
				return err
			}
			if d.WholeWords, err = io.YesNo("Match whole words?", d.WholeWords); err != nil {
				return err
			}
			next = &d
		}
		if err != nil {
			return err
		}
		if next != nil {
			dictionaryUpdate(io, env, withDictionary(t, i, *next))
		}
	}
}

func yesNoText(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// dictionaryDeleteTerm asks for a term to remove, by itself or by its
// number in PRINT's list; nil for an empty answer.
func dictionaryDeleteTerm(io *shell.IO, d dictionaries.Dictionary) (*dictionaries.Dictionary, error) {
	gone := -1
	a, err := io.AskOptional("Enter the entry to remove, or its number in the list PRINT shows.", "", func(a string) (string, error) {
		// The entry itself first: a term may be a number ("2026").
		for j, term := range d.Terms {
			if term == a {
				gone = j
				return a, nil
			}
		}
		if n, err := strconv.Atoi(a); err == nil {
			if n < 1 || n > len(d.Terms) {
				return "", errors.New("Value must be an integer from 1 to " + strconv.Itoa(len(d.Terms)) + ".")
			}
			gone = n - 1
			return a, nil
		}
		return "", errors.New("The entry " + strconv.Quote(a) + " is not in the dictionary.")
	})
	if err != nil || a == "" {
		return nil, err
	}
	term := d.Terms[gone]
	d.Terms = append(d.Terms[:gone:gone], d.Terms[gone+1:]...)
	io.Printf("\nEntry %q removed.\n", term)
	return &d, nil
}

// filterUsing returns the name of the first filter of c that names the
// quarantine or the content dictionary (either may be ""), or "". The
// store refuses the change anyway (the filters entry checks references);
// asking first lets the refusal name the filter in the table's own terms.
func filterUsing(c store.Config, quarantine, dictionary string) string {
	err := c.Filters.CheckReferences(
		func(q string) bool { return quarantine == "" || q != quarantine },
		func(d string) bool { return dictionary == "" || d != dictionary })
	var ee *filters.EntryError
	if errors.As(err, &ee) && ee.Index < len(c.Filters.Filters) {
		return c.Filters.Filters[ee.Index].Name
	}
	return ""
}

// dictionaryInUse refuses, before any question, to delete or rename a
// dictionary a filter names.
func dictionaryInUse(io *shell.IO, env *Env, name string) bool {
	f := filterUsing(env.Session.Config(), "", name)
	if f == "" {
		return false
	}
	io.Printf("\nError: the content dictionary %q is used by filter %s.\n", name, f)
	io.Fail()
	return true
}
