// Package quarantines is the quarantineconfig table: the local
// quarantines that hold messages a filter or a DMARC profile set aside.
// The messages themselves stay in the durable queue (delivery/queue),
// marked with the quarantine's name, until they are released or deleted.
package quarantines

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"esa/store/names"
)

// Default actions when a message's retention period ends.
const (
	ActionDelete  = "delete"
	ActionRelease = "release"
)

// Policy is the quarantine every appliance has: the default target of
// filters' quarantine("Policy") and of the DMARC profiles. It can be
// edited but not deleted.
const Policy = "Policy"

// Limits of the table: the appliance's own are not published. A retention
// period runs from an hour to a year.
const (
	MaxQuarantines    = 100
	MaxNameLen        = 60
	MinRetentionHours = 1
	MaxRetentionHours = 365 * 24
)

// Table is the whole quarantineconfig configuration.
type Table struct {
	Quarantines []Quarantine `xml:"quarantine"`
}

// Quarantine is one local quarantine.
type Quarantine struct {
	Name string `xml:"name"`
	// RetentionHours is how long a message stays before DefaultAction.
	RetentionHours int    `xml:"retention_hours"`
	DefaultAction  string `xml:"default_action"`
}

// Factory is a fresh appliance's table: the Policy quarantine, ten days,
// then deleted (the appliance's defaults).
func Factory() Table {
	return Table{Quarantines: []Quarantine{{Name: Policy, RetentionHours: 240, DefaultAction: ActionDelete}}}
}

// Quarantine returns the named quarantine, or nil.
func (t *Table) Quarantine(name string) *Quarantine {
	for i := range t.Quarantines {
		if t.Quarantines[i].Name == name {
			return &t.Quarantines[i]
		}
	}
	return nil
}

// Index returns the index of the quarantine whose name is name without
// regard to case, or -1.
func (t *Table) Index(name string) int {
	for i := range t.Quarantines {
		if strings.EqualFold(t.Quarantines[i].Name, name) {
			return i
		}
	}
	return -1
}

// CheckName validates a quarantine name: 1 to MaxNameLen ASCII letters,
// digits, spaces, '.', '_' and '-', starting with a letter or digit and not
// ending with a space. Filters name a quarantine inside double quotes
// (quarantine("Policy")), so quotes and backslashes are kept out.
func CheckName(name string) error { return names.Quoted(name, MaxNameLen) }

// ParseRetention reads a retention period as quarantineconfig asks for it:
// a number of days ("10d") or hours ("12h"), in hours. A bare number is
// days, the unit the appliance's default is written in.
func ParseRetention(s string) (int, error) {
	s = strings.TrimSpace(s)
	unit := 24
	switch {
	case strings.HasSuffix(s, "d") || strings.HasSuffix(s, "D"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "h") || strings.HasSuffix(s, "H"):
		s, unit = s[:len(s)-1], 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || s != strings.TrimSpace(s) || strings.HasPrefix(s, "+") {
		return 0, errors.New("the retention period is a number of days (10d) or hours (12h)")
	}
	if n > MaxRetentionHours/unit {
		return 0, fmt.Errorf("the retention period is at most %d days", MaxRetentionHours/24)
	}
	return n * unit, nil
}

// FormatRetention writes hours as quarantineconfig shows them: whole days
// as "10d", anything else as hours ("36h").
func FormatRetention(hours int) string {
	if hours%24 == 0 {
		return strconv.Itoa(hours/24) + "d"
	}
	return strconv.Itoa(hours) + "h"
}

// EntryError is a refusal of one quarantine, by its index.
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string { return e.Err.Error() }
func (e *EntryError) Unwrap() error { return e.Err }

// Validate checks the table: the Policy quarantine is there, at most
// MaxQuarantines, names valid and unique without regard to case,
// retention periods and default actions in range.
func (t Table) Validate() error {
	if t.Quarantine(Policy) == nil {
		return errors.New("the Policy quarantine cannot be deleted")
	}
	if len(t.Quarantines) > MaxQuarantines {
		return fmt.Errorf("at most %d quarantines can be defined", MaxQuarantines)
	}
	for i, q := range t.Quarantines {
		if t.Index(q.Name) != i {
			return &EntryError{i, fmt.Errorf("quarantine %q is defined twice", q.Name)}
		}
		err := CheckName(q.Name)
		switch {
		case err != nil:
		case q.RetentionHours < MinRetentionHours || q.RetentionHours > MaxRetentionHours:
			err = fmt.Errorf("the retention period must be 1 hour to %d days, got %d hours", MaxRetentionHours/24, q.RetentionHours)
		case q.DefaultAction != ActionDelete && q.DefaultAction != ActionRelease:
			err = fmt.Errorf("the default action must be %s or %s, got %q", ActionDelete, ActionRelease, q.DefaultAction)
		}
		if err != nil {
			return &EntryError{i, fmt.Errorf("quarantine %q: %v", q.Name, err)}
		}
	}
	return nil
}

// CheckUses checks that each quarantine name in uses exists; what names
// it says, for the error ("DMARC profile DEFAULT").
func (t Table) CheckUses(uses []Use) error {
	for _, u := range uses {
		if u.Name != "" && t.Quarantine(u.Name) == nil {
			return fmt.Errorf("quarantine %q is used by %s", u.Name, u.By)
		}
	}
	return nil
}

// Use is a reference to a quarantine from another table.
type Use struct {
	Name string // the quarantine
	By   string // who names it: "DMARC profile DEFAULT"
}
