// Package filters is the message filters table (the filters command): the
// filter scripts in the order they run.
package filters

// Table is the ordered list of message filters.
type Table struct {
	Filters []Filter `xml:"filter"`
}

// Filter is one message filter: its name and its script in the
// appliance's filter language (auth/filter parses it).
type Filter struct {
	Name   string `xml:"name"`
	Active bool   `xml:"active"`
	Script string `xml:"script"`
}

// Factory is a fresh appliance's table: no filters.
func Factory() Table { return Table{} }

// Validate checks the table.
func (t Table) Validate() error { return nil }
