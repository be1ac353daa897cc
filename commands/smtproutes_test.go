package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"esa/store"
	"esa/store/routes"
)

// The smtproutes transcripts and the table each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"smtproutes_new":           {check: checkNewRoutes},
		"smtproutes_edit_delete":   {setup: commitRoutes(threeRoutes), check: checkEditedRoutes},
		"smtproutes_export_import": {setup: commitRoutes(richRoutes), check: checkRoutesRoundTrip},
		"smtproutes_import_refused": {setup: badRouteFiles, check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("a refused import left pending changes in %v", env.Session.Changed())
			}
		}},
	} {
		transcripts[name] = tc
	}
}

const threeRoutes = "example.com mail1.example.com\n.example.org relay.example.org\nALL: smtp.isp.example\n"

const richRoutes = `example.com mail1.example.com,mail2.example.com:2525/pri=10
.example.org [relay.example.org]:587
partner.example USEDNS
.spam.example /dev/null
ipv6.example [2001:db8::25]:2525,2001:db8::26/pri=5,192.0.2.25
ALL: smtp.isp.example/pri=1,backup.isp.example/pri=2
`

func mustRoutes(t *testing.T, text string) routes.Table {
	t.Helper()
	tb, err := routes.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// commitRoutes commits the routes of text, in the export format, from
// another session.
func commitRoutes(text string) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		tb := mustRoutes(t, text)
		ss := env.Store.NewSession("admin")
		if err := ss.Update(func(c *store.Config) error { c.Routes = tb; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Commit("routes", false); err != nil {
			t.Fatal(err)
		}
	}
}

func checkNewRoutes(t *testing.T, env *Env) {
	want := mustRoutes(t, `example.com mail1.example.com,mail2.example.com:2525/pri=10
.example.org [relay.example.org]:587
ALL: smtp.isp.example/pri=1,192.0.2.25/pri=2,[2001:db8::25]:2525/pri=2
partner.example USEDNS
.spam.example /dev/null
`)
	if got := env.Store.Committed().Routes; !reflect.DeepEqual(got, want) {
		t.Errorf("committed routes\n%+v\nwant\n%+v", got, want)
	}
}

func checkEditedRoutes(t *testing.T, env *Env) {
	if got := env.Session.Config().Routes; len(got.Routes) != 0 {
		t.Errorf("routes left after CLEAR: %+v", got)
	}
	// The steps before CLEAR are in the screen; the committed table is
	// untouched until commit.
	if got, want := env.Store.Committed().Routes, mustRoutes(t, threeRoutes); !reflect.DeepEqual(got, want) {
		t.Errorf("committed routes changed without commit: %+v", got)
	}
}

// checkRoutesRoundTrip: EXPORT wrote the export format, and the table
// committed after CLEAR and IMPORT is the one exported.
func checkRoutesRoundTrip(t *testing.T, env *Env) {
	want := mustRoutes(t, richRoutes)
	if got := env.Store.Committed().Routes; !reflect.DeepEqual(got, want) {
		t.Errorf("committed routes after the round trip\n%+v\nwant\n%+v", got, want)
	}
	data, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "routes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	routes.Write(&b, want)
	if string(data) != b.String() || string(data) != richRoutes {
		t.Errorf("exported file:\n%s", data)
	}
}

func badRouteFiles(t *testing.T, env *Env) {
	commitRoutes(threeRoutes)(t, env)
	for name, text := range map[string]string{
		"dupdomain.txt": "# routes\nexample.com a.example\n\nother.example b.example\nEXAMPLE.com. c.example\n",
		"dupall.txt":    "ALL: a.example\nb.example c.example\nall d.example\n",
		"baddest.txt":   "a.example ok.example\nb.example ok.example,not a host\n",
		"mixed.txt":     "a.example x.example\nb.example /dev/null,x.example\n",
		"port.txt":      "a.example x.example:2525\nb.example y.example:99999\n",
		"nodest.txt":    "a.example x.example\nb.example\n",
		"empty.txt":     "# nothing here\n\n",
	} {
		writeConfigFile(t, env, name, text)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("never.example shown.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(env.Store.ConfigDir(), "link.txt")); err != nil {
		t.Fatal(err)
	}
}

func init() {
	transcripts["smtproutes_eof"] = transcript{check: func(t *testing.T, env *Env) {
		if env.Session.Pending() {
			t.Errorf("an abandoned operation left pending changes in %v", env.Session.Changed())
		}
	}}
}
