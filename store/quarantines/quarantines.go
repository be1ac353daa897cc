// Package quarantines is the quarantineconfig table: the local
// quarantines that hold messages a filter or a DMARC profile set aside.
package quarantines

// Default actions when a message's retention period ends.
const (
	ActionDelete  = "delete"
	ActionRelease = "release"
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

// Factory is a fresh appliance's table: the Policy quarantine.
func Factory() Table {
	return Table{Quarantines: []Quarantine{{Name: "Policy", RetentionHours: 240, DefaultAction: ActionDelete}}}
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

// Validate checks the table.
func (t Table) Validate() error { return nil }
