package commands

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"esa/store"
	"esa/store/dictionaries"
	"esa/store/filters"
)

// The dictionaryconfig transcripts and the table each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"dictionaryconfig_new": {setup: boardFile, check: func(t *testing.T, env *Env) {
			want := dictionaries.Table{Dictionaries: []dictionaries.Dictionary{
				{Name: "Executives", IgnoreCase: false, WholeWords: true, Terms: []string{"Olivia Smith", "John Doe", "渡辺 健"}},
				{Name: "Board", IgnoreCase: true, WholeWords: true, Terms: []string{"Ava Jones", "Noah Brown"}},
			}}
			if got := env.Store.Committed().Dictionaries; !reflect.DeepEqual(got, want) {
				t.Errorf("committed dictionaries\n%+v\nwant\n%+v", got, want)
			}
		}},
		"dictionaryconfig_edit": {setup: editDictionaries, check: func(t *testing.T, env *Env) {
			want := dictionaries.Table{Dictionaries: []dictionaries.Dictionary{
				{Name: "Leaders", IgnoreCase: true, WholeWords: false, Terms: []string{"Ava Jones"}},
				{Name: "Execs", IgnoreCase: true, WholeWords: true, Terms: []string{"Olivia Smith"}},
			}}
			if got := env.Session.Config().Dictionaries; !reflect.DeepEqual(got, want) {
				t.Errorf("pending dictionaries\n%+v\nwant\n%+v", got, want)
			}
			data, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "execs.txt"))
			if want := "# Content dictionary Executives: one term a line; lines starting with # are comments.\nEmma Wilson\nLiam Chen\n"; err != nil || string(data) != want {
				t.Errorf("exported file %q, %v; want %q", data, err, want)
			}
		}},
		"dictionaryconfig_eof": {check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("input ending inside NEW left pending changes in %v", env.Session.Changed())
			}
		}},
	} {
		transcripts[name] = tc
	}
}

func boardFile(t *testing.T, env *Env) {
	writeConfigFile(t, env, "board.txt", "# The board\r\nAva Jones\r\n\r\nNoah Brown\r\n")
}

// editDictionaries commits two dictionaries and writes two bad files.
func editDictionaries(t *testing.T, env *Env) {
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Dictionaries.Dictionaries = []dictionaries.Dictionary{
			{Name: "Executives", IgnoreCase: true, WholeWords: true, Terms: []string{"Olivia Smith", "John Doe", "Emma Wilson"}},
			{Name: "Board", IgnoreCase: true, WholeWords: false, Terms: []string{"Ava Jones"}},
			{Name: "Execs", IgnoreCase: true, WholeWords: true, Terms: []string{"Olivia Smith"}},
		}
		c.Filters.Filters = []filters.Filter{{Name: "forged", Active: true,
			Script: `forged: if (forged-email-detection("Execs", 90)) { quarantine("Policy"); }`}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("dictionaries", false); err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, env, "bad.txt", "Olivia Smith\n# fine\nrtl\u202eoverride\n")
	writeConfigFile(t, env, "dup.txt", "A\nB\n  A\n")
}
