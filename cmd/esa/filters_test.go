package main

import (
	"testing"
	"time"

	"esa/store"
	"esa/store/dictionaries"
	"esa/store/filters"
)

// TestFilterSet: the listeners get the committed active filters and the
// committed dictionaries, parsed once per commit.
func TestFilterSet(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.TempDir(), store.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fset := &filterSet{st: st}
	if fs, _ := fset.get(); len(fs) != 0 {
		t.Fatalf("%d filters on a fresh appliance", len(fs))
	}
	ss := st.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Dictionaries.Dictionaries = []dictionaries.Dictionary{{Name: "Execs", IgnoreCase: true, Terms: []string{"Olivia Smith"}}}
		c.Filters.Filters = []filters.Filter{
			{Name: "on", Active: true, Script: `on: if (forged-email-detection("Execs", 90)) { fed("from", ""); }`},
			{Name: "off", Active: false, Script: `off: if true { drop(); }`},
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("filters", false); err != nil {
		t.Fatal(err)
	}
	fs, env := fset.get()
	if len(fs) != 1 || fs[0].Name != "on" {
		t.Fatalf("active filters %v", fs)
	}
	if d, ok := env.Dictionary("Execs"); !ok || len(d.Terms) != 1 {
		t.Fatalf("dictionary Execs: %v %v", d, ok)
	}
	again, _ := fset.get()
	if &again[0] != &fs[0] {
		t.Error("the filters were parsed again without a commit")
	}
}
