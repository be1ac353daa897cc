// Package dictionaries is the dictionaryconfig table: content dictionaries,
// lists of terms the message filters match (forged email detection matches
// the From: display name against one, SPEC.md §4).
package dictionaries

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

// Factory is a fresh appliance's table: no dictionaries.
func Factory() Table { return Table{} }

// Dictionary returns the named dictionary, or nil.
func (t *Table) Dictionary(name string) *Dictionary {
	for i := range t.Dictionaries {
		if t.Dictionaries[i].Name == name {
			return &t.Dictionaries[i]
		}
	}
	return nil
}

// Validate checks the table.
func (t Table) Validate() error { return nil }
