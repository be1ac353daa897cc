// Package dictionaries is the dictionaryconfig table: content dictionaries,
// lists of terms the message filters match (forged email detection matches
// the From: display name against one, SPEC.md §4).
//
// The appliance's dictionaries may also hold regular expressions and term
// weights; forged email detection uses names only ("enter the user's name,
// not the email address; no regular expressions, no weights", seed 004,
// forged email detection), so our terms are plain text: a character that
// would be special in a regular expression matches itself.
package dictionaries

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"esa/store/names"
)

// Table is the whole dictionaryconfig configuration.
type Table struct {
	Dictionaries []Dictionary `xml:"dictionary"`
}

// Dictionary is one content dictionary.
type Dictionary struct {
	Name       string   `xml:"name"`
	IgnoreCase bool     `xml:"ignore_case"`
	WholeWords bool     `xml:"whole_words"`
	Terms      []string `xml:"term"`
}

// Limits of the table. The appliance does not publish its own; these keep
// a dictionary something a person maintains (a list of executives' names)
// and bound what matching one message costs.
const (
	MaxDictionaries = 100
	MaxTerms        = 10000
	MaxTermLen      = 256 // characters
	MaxNameLen      = 60  // characters
)

// Factory is a fresh appliance's table: no dictionaries.
func Factory() Table { return Table{} }

// New is a dictionary with the settings dictionaryconfig NEW gives it:
// case ignored and whole words only, the appliance's defaults.
func New(name string) Dictionary {
	return Dictionary{Name: name, IgnoreCase: true, WholeWords: true}
}

// Dictionary returns the named dictionary, or nil.
func (t *Table) Dictionary(name string) *Dictionary {
	for i := range t.Dictionaries {
		if t.Dictionaries[i].Name == name {
			return &t.Dictionaries[i]
		}
	}
	return nil
}

// Index returns the index of the dictionary whose name is name without
// regard to case, or -1: two names differing only in case would be the
// same dictionary to a person reading a filter.
func (t *Table) Index(name string) int {
	for i := range t.Dictionaries {
		if strings.EqualFold(t.Dictionaries[i].Name, name) {
			return i
		}
	}
	return -1
}

// CheckName validates a dictionary name: 1 to MaxNameLen ASCII letters,
// digits, spaces, '.', '_' and '-', starting with a letter or digit and
// not ending with a space. Filters name a dictionary inside double quotes
// (dictionary-match("Executives")), so quotes and backslashes are kept out.
func CheckName(name string) error { return names.Quoted(name, MaxNameLen) }

// CheckTerm validates one term: valid UTF-8, 1 to MaxTermLen characters,
// no control or formatting characters (a bidirectional override would make
// a term read differently from what it matches), no surrounding white
// space, and not starting with '#', which a dictionary file reads as a
// comment: every term must survive EXPORT and IMPORT unchanged.
func CheckTerm(term string) error {
	if term == "" {
		return errors.New("the term is empty")
	}
	if !utf8.ValidString(term) {
		return errors.New("the term is not valid UTF-8")
	}
	if utf8.RuneCountInString(term) > MaxTermLen {
		return fmt.Errorf("the term is longer than %d characters", MaxTermLen)
	}
	for _, r := range term {
		if r < utf8.RuneSelf { // ASCII, most names: no table lookups
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("the term holds the control character %U", r)
			}
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("the term holds the control character %U", r)
		}
	}
	if strings.TrimSpace(term) != term {
		return errors.New("the term begins or ends with white space")
	}
	if term[0] == '#' {
		return errors.New("a term cannot begin with '#', which a dictionary file reads as a comment")
	}
	return nil
}

// CheckTerms validates a dictionary's terms: each one, their number, and
// no term twice.
func CheckTerms(terms []string) error {
	if len(terms) > MaxTerms {
		return fmt.Errorf("a dictionary holds at most %d terms", MaxTerms)
	}
	seen := make(map[string]bool, len(terms))
	for _, term := range terms {
		if err := CheckTerm(term); err != nil {
			return fmt.Errorf("%q: %v", term, err)
		}
		if seen[term] {
			return fmt.Errorf("the term %q appears twice", term)
		}
		seen[term] = true
	}
	return nil
}

// EntryError is a refusal of one dictionary, by its index.
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string { return e.Err.Error() }
func (e *EntryError) Unwrap() error { return e.Err }

// Validate checks the table: at most MaxDictionaries, names valid and
// unique without regard to case, terms valid.
func (t Table) Validate() error {
	if len(t.Dictionaries) > MaxDictionaries {
		return fmt.Errorf("at most %d content dictionaries can be defined", MaxDictionaries)
	}
	for i, d := range t.Dictionaries {
		if err := CheckName(d.Name); err != nil {
			return &EntryError{i, fmt.Errorf("content dictionary %q: %v", d.Name, err)}
		}
		for _, o := range t.Dictionaries[:i] {
			if strings.EqualFold(o.Name, d.Name) {
				return &EntryError{i, fmt.Errorf("content dictionary %q is defined twice", d.Name)}
			}
		}
		if err := CheckTerms(d.Terms); err != nil {
			return &EntryError{i, fmt.Errorf("content dictionary %q: %v", d.Name, err)}
		}
	}
	return nil
}
