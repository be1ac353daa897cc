package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"esa/auth/filter"
	"esa/shell"
	"esa/store"
	"esa/store/filters"
)

// seedFilters are the seed's four example filters (AsyncOS user guide,
// "spf-status" and "spf-passed"), as the guide prints them.
var seedFilters = strings.TrimSuffix(seedFile("seed_examples.txt"), ".\n") + seedFile("seed_spf_passed.txt")

// seedFile reads one of the seed's filter texts from testdata/filters.
func seedFile(name string) string {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "filters", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// seedInactive is seedFilters with the last one inactive, written as the
// appliance writes an inactive filter.
var seedInactive = strings.Replace(seedFilters, "quarantine-spf-unauthorized-mail:", "quarantine-spf-unauthorized-mail!", 1)

var seedNames = []string{"skip-spam-check-for-verified-senders", "quarantine-spf-failed-mail",
	"stamp-mail-with-spf-verification-error", "quarantine-spf-unauthorized-mail"}

func mustFilters(t *testing.T, src string) filters.Table {
	t.Helper()
	fs, err := filter.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := filters.Replace(fs)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// commitFilters commits the filters of src from another session.
func commitFilters(src string) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		tb := mustFilters(t, src)
		ss := env.Store.NewSession("admin")
		if err := ss.Update(func(c *store.Config) error { c.Filters = tb; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Commit("filters", false); err != nil {
			t.Fatal(err)
		}
	}
}

// filterState is the table as "name" or "name(off)", in order.
func filterState(tb filters.Table) []string {
	var out []string
	for _, f := range tb.Filters {
		s := f.Name
		if !f.Active {
			s += "(off)"
		}
		out = append(out, s)
	}
	return out
}

func wantFilters(t *testing.T, what string, tb filters.Table, want ...string) {
	t.Helper()
	if got := filterState(tb); !reflect.DeepEqual(got, want) {
		t.Errorf("%s filters %q, want %q", what, got, want)
	}
}

func noPending(t *testing.T, env *Env) {
	if env.Session.Pending() {
		t.Errorf("pending changes in %v", env.Session.Changed())
	}
}

func init() {
	for name, tc := range map[string]transcript{
		"filters_new": {check: func(t *testing.T, env *Env) {
			tb := env.Store.Committed().Filters
			wantFilters(t, "committed", tb, seedNames...)
			if want := mustFilters(t, seedFilters); !reflect.DeepEqual(tb, want) {
				t.Errorf("committed scripts differ from the seed's parsed:\n%s", tb.Script())
			}
		}},
		"filters_edit": {setup: commitFilters(seedFilters), check: func(t *testing.T, env *Env) {
			wantFilters(t, "committed", env.Store.Committed().Filters, seedNames...)
			wantFilters(t, "pending", env.Session.Config().Filters,
				"first", "skip-spam-check-for-verified-senders(off)", "stamp-mail-with-spf-verification-error(off)", "last(off)")
		}},
		"filters_import_export": {setup: commitFilters(seedInactive), check: func(t *testing.T, env *Env) {
			want := mustFilters(t, seedInactive)
			wantFilters(t, "committed", want, append(seedNames[:3:3], seedNames[3]+"(off)")...)
			if !strings.Contains(want.Script(), "\nquarantine-spf-unauthorized-mail!\n") {
				t.Errorf("the inactive filter is not exported with '!':\n%s", want.Script())
			}
			if got := env.Store.Committed().Filters; !reflect.DeepEqual(got, want) {
				t.Errorf("committed after the round trip:\n%s", got.Script())
			}
			data, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "filters.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != want.Script() {
				t.Errorf("exported file:\n%s", data)
			}
		}},
		"filters_import_refused": {setup: badFilterFiles, check: noPending},
		"filters_new_refused":    {setup: commitFilters(seedFilters), check: noPending},
		"filters_empty":          {check: noPending},
		"filters_eof":            {check: noPending},
		"filters_oneop": {check: func(t *testing.T, env *Env) {
			wantFilters(t, "pending", env.Session.Config().Filters, "always-stamp(off)")
			data, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "stamp.txt"))
			if err != nil || string(data) != "always-stamp:\nif (true) {\n    insert-header(\"X-Filtered\", \"by $FilterName\");\n}\n" {
				t.Errorf("exported %q %v", data, err)
			}
		}},
	} {
		transcripts[name] = tc
	}
}

func badFilterFiles(t *testing.T, env *Env) {
	commitFilters(seedFilters)(t, env)
	for name, text := range map[string]string{
		"syntax.txt":       strings.Replace(seedFilters, `if(spf-status("mailfrom") == "SoftFail") {`, `if(spf-status("mailfrom") == "SoftFail" {`, 1),
		"regex.txt":        "a: drop();\nb:\nif (subject == \"[unclosed\") {\n    drop();\n}\n",
		"dup.txt":          "a: drop();\nb: drop();\nA: bounce();\n",
		"noquarantine.txt": "a: if (not spf-passed) { quarantine(\"Nowhere\"); }\n",
		"nodict.txt":       "fed-execs: if (forged-email-detection(\"Executives\", 90)) { fed(\"from\", \"\"); }\n",
		"empty.txt":        "# nothing here\n\n",
		"control.txt":      "a: log-entry(\"bell\x07\");\n",
	} {
		writeConfigFile(t, env, name, text)
	}
}

// FuzzFilterSelection: the selection answer never panics and gives
// positions in range, in order, each once.
func FuzzFilterSelection(f *testing.F) {
	for _, s := range []string{"1", "all", "2-3", "4,1, b", "1-2,2-3", "-", ",", "3-", "-3", "99999999999999999999", "a-b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	tb := filters.Table{}
	for _, n := range []string{"a", "b", "c", "d", "a-b"} {
		tb.Filters = append(tb.Filters, filters.Filter{Name: n})
	}
	f.Fuzz(func(t *testing.T, in string, single bool) {
		idx, err := filterParseSelection(tb, in, single)
		if err != nil {
			return
		}
		if len(idx) == 0 || single && len(idx) != 1 {
			t.Fatalf("%q: %v", in, idx)
		}
		for i, x := range idx {
			if x < 0 || x >= len(tb.Filters) || i > 0 && x <= idx[i-1] {
				t.Fatalf("%q: %v", in, idx)
			}
		}
	})
}

func TestFilterSelection(t *testing.T) {
	t.Parallel()
	tb := mustFilters(t, "a: drop(); b: drop(); c: drop(); d: drop();")
	for _, tc := range []struct {
		in     string
		single bool
		want   []int
		err    string
	}{
		{"1", false, []int{0}, ""},
		{"C", false, []int{2}, ""},
		{"all", false, []int{0, 1, 2, 3}, ""},
		{"ALL", false, []int{0, 1, 2, 3}, ""},
		{"2-3", false, []int{1, 2}, ""},
		{"4,1, b", false, []int{0, 1, 3}, ""},
		{"1-2,2-3", false, []int{0, 1, 2}, ""},
		{"3-2", false, nil, `"3-2" is not a filter name, number or range of numbers from 1 to 4.`},
		{"0", false, nil, `"0" is not a filter name, number or range of numbers from 1 to 4.`},
		{"5", false, nil, `"5" is not a filter name, number or range of numbers from 1 to 4.`},
		{"e", false, nil, `"e" is not a filter name, number or range of numbers from 1 to 4.`},
		{"d", true, []int{3}, ""},
		{"2", true, []int{1}, ""},
		{"all", true, nil, `"all" is not a filter name or a number from 1 to 4.`},
		{"1-2", true, nil, `"1-2" is not a filter name or a number from 1 to 4.`},
		{"1,2", true, nil, `"1,2" is not a filter name or a number from 1 to 4.`},
	} {
		got, err := filterParseSelection(tb, tc.in, tc.single)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestFilterNewThenRun: filters added through the command reach the
// committed table in the form the engine runs, and act there.
func TestFilterNewThenRun(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	out := script(env, "filters\nnew\n"+seedFilters+".\n\ncommit\nseed filters\n\n")
	if !strings.Contains(out, "4 filters added.") || !strings.Contains(out, "Changes committed") {
		t.Fatalf("session:\n%s", out)
	}
	act, err := env.Store.Committed().Filters.Active()
	if err != nil || len(act) != 4 {
		t.Fatalf("Active: %d %v", len(act), err)
	}
	r := filter.Run(act, &filter.Message{SPF: map[string]string{"pra": "SoftFail", "mailfrom": "Fail"}}, filter.Env{})
	if r.Quarantine != "Policy" || !reflect.DeepEqual(r.Matched, []string{"quarantine-spf-failed-mail", "quarantine-spf-unauthorized-mail"}) {
		t.Errorf("Run: %+v", r)
	}
}

// TestFilterPasteLimits: a pasted script past the parser's size, or with
// a line longer than the shell reads, is refused whole, and the lines
// after it are not taken for commands.
func TestFilterPasteLimits(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	long := "f: log-entry(\"" + strings.Repeat("x", shell.MaxLineLength) + "\");\n"
	var big strings.Builder
	for i := 0; big.Len() <= filter.MaxScriptBytes; i++ {
		fmt.Fprintf(&big, "f%d: log-entry(\"%s\");\n", i, strings.Repeat("y", 900))
	}
	out := script(env, "filters\nnew\n"+long+"sethostname evil.example.com\n.\nnew\n"+big.String()+".\n\n")
	for _, want := range []string{
		"Error: a line of the script is longer than 64 KiB.\nNo filters were added.",
		"Error: the script is larger than 256 KiB.\nNo filters were added.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(out, "Unknown command") || env.Session.Pending() {
		t.Errorf("the paste leaked out or changed something:\n%s", out[len(out)-400:])
	}
}
