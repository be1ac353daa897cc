// Package filters is the message filters table (the filters command): the
// filter scripts in the order they run.
package filters

import (
	"errors"
	"fmt"
	"strings"

	"esa/auth/filter"
	"esa/store/dictionaries"
)

// MaxFilters bounds the table: an import or a session cannot make every
// message run an unbounded list (each filter is also bounded by
// filter.MaxScriptBytes).
const MaxFilters = 500

// Table is the ordered list of message filters.
type Table struct {
	Filters []Filter `xml:"filter"`
}

// Filter is one message filter: its name and its script in the
// appliance's filter language (auth/filter parses it). Script is the
// canonical form, (*filter.Filter).String, of exactly one filter named Name.
type Filter struct {
	Name   string `xml:"name"`
	Active bool   `xml:"active"`
	Script string `xml:"script"`
}

// Factory is a fresh appliance's table: no filters.
func Factory() Table { return Table{} }

// EntryError is a rule broken by the Index-th filter (from 0).
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string { return fmt.Sprintf("filter %d: %v", e.Index+1, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// Validate checks the table: at most MaxFilters filters, every script
// parses to exactly one filter whose name is the entry's, names unique
// without regard to case (the CLI finds filters by name that way).
func (t Table) Validate() error { return t.Check(nil, nil) }

// Check is Validate that also checks, when quarantine and dictionary are
// not nil, that every quarantine and content dictionary the filters name
// exists (store/tables.go passes the quarantines and dictionaries tables of
// the same configuration): one parse of each script for both.
func (t Table) Check(quarantine, dictionary func(name string) bool) error {
	if len(t.Filters) > MaxFilters {
		return fmt.Errorf("there are %d filters; the most is %d", len(t.Filters), MaxFilters)
	}
	seen := make(map[string]int, len(t.Filters))
	for i, f := range t.Filters {
		pf, err := compile(f)
		if err != nil {
			return &EntryError{i, err}
		}
		k := strings.ToLower(f.Name)
		if j, dup := seen[k]; dup {
			return &EntryError{i, fmt.Errorf("the name %s is already used by filter %d", f.Name, j+1)}
		}
		seen[k] = i
		if err := references(pf, quarantine, dictionary); err != nil {
			return &EntryError{i, err}
		}
	}
	return nil
}

func references(pf *filter.Filter, quarantine, dictionary func(name string) bool) error {
	if quarantine != nil {
		for _, q := range pf.Quarantines() {
			if !quarantine(q) {
				return fmt.Errorf("%s: the quarantine %q does not exist", pf.Name, q)
			}
		}
	}
	if dictionary != nil {
		for _, d := range pf.Dictionaries() {
			if !dictionary(d) {
				return fmt.Errorf("%s: the content dictionary %q does not exist", pf.Name, d)
			}
		}
	}
	return nil
}

// compile parses one entry's script and checks it against the entry.
func compile(f Filter) (*filter.Filter, error) {
	fs, err := filter.Parse(f.Script)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", f.Name, err)
	}
	if len(fs) != 1 {
		return nil, fmt.Errorf("%s: the script holds %d filters, not one", f.Name, len(fs))
	}
	if fs[0].Name != f.Name {
		return nil, fmt.Errorf("the script of %s is named %s", f.Name, fs[0].Name)
	}
	// Active says whether the filter runs, whichever of "name:" and
	// "name!" the script was stored with.
	fs[0].Inactive = !f.Active
	return fs[0], nil
}

// Text is the filter's script as DETAIL and EXPORT show it: "name!" for
// an inactive filter, as on the appliance. It is Script when the filter
// does not parse (Validate refuses such a table).
func (f Filter) Text() string {
	pf, err := compile(f)
	if err != nil {
		return f.Script
	}
	return pf.String()
}

// CheckReferences checks only that every quarantine and content
// dictionary the filters name exists.
func (t Table) CheckReferences(quarantine, dictionary func(name string) bool) error {
	for i, f := range t.Filters {
		pf, err := compile(f)
		if err != nil {
			return &EntryError{i, err}
		}
		if err := references(pf, quarantine, dictionary); err != nil {
			return &EntryError{i, err}
		}
	}
	return nil
}

// Active returns the active filters, parsed, in order: what the listener
// runs on every message. A table that passed Validate always compiles.
func (t Table) Active() ([]*filter.Filter, error) {
	var out []*filter.Filter
	for i, f := range t.Filters {
		if !f.Active {
			continue
		}
		pf, err := compile(f)
		if err != nil {
			return nil, &EntryError{i, err}
		}
		out = append(out, pf)
	}
	return out, nil
}

// Entry makes a table entry of a parsed filter: active unless written
// "name!", the script in canonical form with "name:".
func Entry(f *filter.Filter) Filter {
	c := *f
	c.Inactive = false
	return Filter{Name: f.Name, Active: !f.Inactive, Script: c.String()}
}

// Index returns the position of the filter named name (without regard to
// case), or -1.
func (t Table) Index(name string) int {
	for i, f := range t.Filters {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// ErrDuplicate: a filter of that name exists already.
var ErrDuplicate = errors.New("a filter of that name exists")

// Add returns the table with fs appended at position at (0 to len; -1 for
// the end), or an error naming the first filter whose name is taken.
func (t Table) Add(fs []*filter.Filter, at int) (Table, error) {
	if at < 0 || at > len(t.Filters) {
		at = len(t.Filters)
	}
	names := map[string]bool{}
	add := make([]Filter, 0, len(fs))
	for _, f := range fs {
		k := strings.ToLower(f.Name)
		if t.Index(f.Name) >= 0 || names[k] {
			return t, fmt.Errorf("%w: %s", ErrDuplicate, f.Name)
		}
		names[k] = true
		add = append(add, Entry(f))
	}
	if len(t.Filters)+len(add) > MaxFilters {
		return t, fmt.Errorf("there can be at most %d filters", MaxFilters)
	}
	out := make([]Filter, 0, len(t.Filters)+len(add))
	out = append(out, t.Filters[:at]...)
	out = append(out, add...)
	out = append(out, t.Filters[at:]...)
	return Table{Filters: out}, nil
}

// Replace returns a table of fs only, in order: what IMPORT makes of a
// file.
func Replace(fs []*filter.Filter) (Table, error) {
	return Table{}.Add(fs, -1)
}

// Delete returns the table without the filters at the given positions.
func (t Table) Delete(idx ...int) Table {
	gone := map[int]bool{}
	for _, i := range idx {
		gone[i] = true
	}
	out := make([]Filter, 0, len(t.Filters))
	for i, f := range t.Filters {
		if !gone[i] {
			out = append(out, f)
		}
	}
	return Table{Filters: out}
}

// Move returns the table with the filters at idx (positions from 0, in
// order) moved, keeping their order, so that the first of them is at
// position to (from 0; past the end means last), and whether that changes
// the order at all.
func (t Table) Move(idx []int, to int) (Table, bool) {
	moving := map[int]bool{}
	var block, rest []Filter
	for _, i := range idx {
		moving[i] = true
		block = append(block, t.Filters[i])
	}
	for i, f := range t.Filters {
		if !moving[i] {
			rest = append(rest, f)
		}
	}
	to = min(max(to, 0), len(rest))
	out := make([]Filter, 0, len(t.Filters))
	out = append(out, rest[:to]...)
	out = append(out, block...)
	out = append(out, rest[to:]...)
	changed := false
	for i := range out {
		if out[i].Name != t.Filters[i].Name {
			changed = true
		}
	}
	return Table{Filters: out}, changed
}

// SetActive returns the table with the filters at idx made active or
// inactive.
func (t Table) SetActive(active bool, idx ...int) Table {
	out := append([]Filter(nil), t.Filters...)
	for _, i := range idx {
		out[i].Active = active
	}
	return Table{Filters: out}
}

// Script is the table as one script, in order, as EXPORT writes it and
// IMPORT reads it back: inactive filters as "name!".
func (t Table) Script() string {
	var b strings.Builder
	for _, f := range t.Filters {
		b.WriteString(f.Text())
	}
	return b.String()
}

// Env is the filter.Env of a configuration's content dictionaries, each
// prepared once (filter.Dictionary.Prepared): build it when a
// configuration is committed and use it for every message.
func Env(d dictionaries.Table) filter.Env {
	prepared := make(map[string]filter.Dictionary, len(d.Dictionaries))
	for _, x := range d.Dictionaries {
		prepared[x.Name] = filter.Dictionary{
			Terms:      append([]string(nil), x.Terms...),
			IgnoreCase: x.IgnoreCase,
			WholeWords: x.WholeWords,
		}.Prepared()
	}
	return filter.Env{Dictionary: func(name string) (filter.Dictionary, bool) {
		x, ok := prepared[name]
		return x, ok
	}}
}
