package filters_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"esa/auth/filter"
	"esa/store"
	"esa/store/dictionaries"
	"esa/store/filters"
	"esa/store/quarantines"
)

func parse(t *testing.T, src string) []*filter.Filter {
	t.Helper()
	fs, err := filter.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func table(t *testing.T, src string) filters.Table {
	t.Helper()
	tb, err := filters.Replace(parse(t, src))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func names(tb filters.Table) string {
	var s []string
	for _, f := range tb.Filters {
		n := f.Name
		if !f.Active {
			n += "(off)"
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

const abc = "a: drop();\nb: bounce();\nc: quarantine(\"Policy\");\n"

func TestValidate(t *testing.T) {
	t.Parallel()
	good := table(t, abc)
	if err := good.Validate(); err != nil {
		t.Fatalf("good table: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(tb *filters.Table)
		want string
	}{
		{"script does not parse", func(tb *filters.Table) { tb.Filters[1].Script = "b: bounce()" },
			"filter 2: b: 1:12: expected ';' after bounce(...), found end of script"},
		{"two filters in one entry", func(tb *filters.Table) { tb.Filters[0].Script = "a: drop();\nz: drop();\n" },
			"filter 1: a: the script holds 2 filters, not one"},
		{"name differs from the script's", func(tb *filters.Table) { tb.Filters[2].Name = "C2" },
			"filter 3: the script of C2 is named c"},
		{"duplicate name, other case", func(tb *filters.Table) {
			tb.Filters[2] = filters.Filter{Name: "A", Active: true, Script: "A:\ndrop();\n"}
		}, "filter 3: the name A is already used by filter 1"},
		{"too many", func(tb *filters.Table) {
			for len(tb.Filters) <= filters.MaxFilters {
				tb.Filters = append(tb.Filters, tb.Filters[0])
			}
		}, "there are 501 filters; the most is 500"},
	} {
		tb := table(t, abc)
		tc.edit(&tb)
		if err := tb.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	tb := table(t, abc)
	if got := names(tb); got != "a b c" {
		t.Fatalf("Replace: %s", got)
	}
	if _, err := tb.Add(parse(t, "B: drop();"), -1); err == nil || err.Error() != "a filter of that name exists: B" {
		t.Errorf("Add of a taken name: %v", err)
	}
	if _, err := tb.Add(parse(t, "x: drop(); x: drop();"), -1); err == nil {
		t.Errorf("Add of two filters of one name succeeded")
	}
	added, err := tb.Add(parse(t, "x: drop(); y: drop();"), 1)
	if err != nil || names(added) != "a x y b c" || names(tb) != "a b c" {
		t.Errorf("Add at 1: %s (%v); original %s", names(added), err, names(tb))
	}
	for _, tc := range []struct {
		idx     []int
		to      int
		want    string
		changed bool
	}{
		{[]int{0}, 2, "b c a", true}, {[]int{2}, 0, "c a b", true}, {[]int{1}, 1, "a b c", false},
		{[]int{0}, 1, "b a c", true}, {[]int{0}, 99, "b c a", true}, {[]int{0, 1}, 1, "c a b", true},
		{[]int{0, 2}, 0, "a c b", true}, {[]int{1, 2}, 1, "a b c", false}, {[]int{0, 1, 2}, 0, "a b c", false},
	} {
		got, changed := tb.Move(tc.idx, tc.to)
		if names(got) != tc.want || changed != tc.changed {
			t.Errorf("Move(%v, %d) = %s %v, want %s %v", tc.idx, tc.to, names(got), changed, tc.want, tc.changed)
		}
	}
	if got := names(tb.Delete(0, 2)); got != "b" {
		t.Errorf("Delete(0, 2) = %s", got)
	}
	off := tb.SetActive(false, 1)
	if got := names(off); got != "a b(off) c" || names(tb) != "a b c" {
		t.Errorf("SetActive = %s; original %s", got, names(tb))
	}
	act, err := off.Active()
	if err != nil || len(act) != 2 || act[0].Name != "a" || act[1].Name != "c" {
		t.Errorf("Active = %v, %v", act, err)
	}
	if i := tb.Index("C"); i != 2 {
		t.Errorf("Index(C) = %d", i)
	}
	// Script round trip: the export text imports back to the same table,
	// the inactive filter written "b!".
	if want := "a:\ndrop();\nb!\nbounce();\nc:\nquarantine(\"Policy\");\n"; off.Script() != want {
		t.Errorf("Script:\n%s\nwant\n%s", off.Script(), want)
	}
	back := table(t, off.Script())
	if !reflect.DeepEqual(back, off) {
		t.Errorf("Script round trip:\n%+v\n%+v", back, off)
	}
	if got := names(table(t, "x! drop(); y: drop();")); got != "x(off) y" {
		t.Errorf("Replace of name!: %s", got)
	}
	var full filters.Table
	for len(full.Filters) < filters.MaxFilters {
		full.Filters = append(full.Filters, filters.Filter{Name: "f"})
	}
	if _, err := full.Add(parse(t, "g: drop();"), -1); err == nil || err.Error() != "there can be at most 500 filters" {
		t.Errorf("Add past the limit: %v", err)
	}
}

// TestReferences: through the store, a filter may not name a missing
// quarantine or dictionary, and one in use may not be deleted.
func TestReferences(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.TempDir(), store.Options{Now: func() time.Time { return time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss := st.NewSession("admin")
	set := func(src string) error {
		return ss.Update(func(c *store.Config) error {
			tb, err := filters.Replace(parse(t, src))
			c.Filters = tb
			return err
		})
	}
	if err := set(`q: quarantine("Nowhere");`); err == nil ||
		err.Error() != `filters: filter[1]: q: the quarantine "Nowhere" does not exist` {
		t.Errorf("missing quarantine: %v", err)
	}
	if err := set(`d: if (forged-email-detection("Execs", 90)) { drop(); }`); err == nil ||
		err.Error() != `filters: filter[1]: d: the content dictionary "Execs" does not exist` {
		t.Errorf("missing dictionary: %v", err)
	}
	if err := ss.Update(func(c *store.Config) error {
		c.Dictionaries.Dictionaries = append(c.Dictionaries.Dictionaries, dictionaries.Dictionary{Name: "Execs", Terms: []string{"Olivia Smith"}})
		forged := *c.Quarantines.Quarantine("Policy")
		forged.Name = "Forged"
		c.Quarantines.Quarantines = append(c.Quarantines.Quarantines, forged)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := set("q: quarantine(\"Forged\");\nd: if (forged-email-detection(\"Execs\", 90)) { drop(); }"); err != nil {
		t.Fatalf("existing quarantine and dictionary: %v", err)
	}
	if err := ss.Update(func(c *store.Config) error {
		c.Quarantines = quarantines.Table{Quarantines: c.Quarantines.Quarantines[:1]}
		return nil
	}); err == nil || !strings.Contains(err.Error(), `the quarantine "Forged" does not exist`) {
		t.Errorf("deleting a quarantine in use: %v", err)
	}
	if err := ss.Update(func(c *store.Config) error {
		c.Dictionaries = dictionaries.Table{}
		return nil
	}); err == nil || !strings.Contains(err.Error(), `the content dictionary "Execs" does not exist`) {
		t.Errorf("deleting a dictionary in use: %v", err)
	}
	if _, err := ss.Commit("filters", false); err != nil {
		t.Fatal(err)
	}
	// The committed table reaches the engine as parsed filters, the
	// dictionaries through Env.
	c := st.Committed()
	act, err := c.Filters.Active()
	if err != nil || len(act) != 2 {
		t.Fatalf("Active: %v %v", act, err)
	}
	r := filter.Run(act, &filter.Message{MailFrom: "x@evil.example", Header: []filter.Field{{Name: "From", Value: "Smith, Olivia <ceo@example.com>"}}},
		filters.Env(c.Dictionaries))
	if r.Quarantine != "" || r.Disposition != filter.Drop || !reflect.DeepEqual(r.Forged, []filter.Match{{Dictionary: "Execs", Term: "Olivia Smith", Score: 100}}) {
		t.Errorf("Run: %+v", r)
	}
}

// BenchmarkValidate: the table's rules over 500 filters of the seed's
// size (every session Update and commit checks them).
func BenchmarkValidate(b *testing.B) {
	var src strings.Builder
	for i := 0; i < filters.MaxFilters; i++ {
		fmt.Fprintf(&src, "f%d: if (spf-status(\"pra\") == \"Fail\" and not subject == \"^\\\\[SPAM\\\\]\") { quarantine(\"Policy\"); } else { insert-header(\"X-F\", \"%d\"); }\n", i, i)
	}
	fs, err := filter.Parse(src.String())
	if err != nil {
		b.Fatal(err)
	}
	tb, err := filters.Replace(fs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := tb.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
