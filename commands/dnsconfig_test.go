package commands

import (
	"os"
	"path/filepath"
	"testing"

	"esa/shell/shelltest"
	"esa/store"
)

// testAnchor is a DS record in zone-file text for ANCHOR IMPORT.
const testAnchor = `; a private root for a lab
. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
`

var dnsconfigTranscripts = map[string]transcript{
	"dnsconfig_edit": {setup: func(t *testing.T, env *Env) {
		if err := env.Session.Update(func(c *store.Config) error { c.DNS.TrustAnchor = testAnchor; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Session.Commit("lab anchor", false); err != nil {
			t.Fatal(err)
		}
	}, check: func(t *testing.T, env *Env) {
		d := env.Store.Committed().DNS
		if d.TrustAnchor != "" {
			t.Errorf("RESET did not restore the built-in anchor: %q", d.TrustAnchor)
		}
		want := []store.DNSResolver{{Address: "192.0.2.53", Priority: 0}, {Address: "[2001:db8::53]:5353", Priority: 10}}
		if len(d.Resolvers) != 2 || d.Resolvers[0] != want[0] || d.Resolvers[1] != want[1] || d.Timeout != 3 {
			t.Errorf("committed DNS %+v", d)
		}
	}},
	"dnsconfig_anchor": {
		setup: func(t *testing.T, env *Env) { writeConfigFile(t, env, "lab-root.ds", testAnchor) },
		check: func(t *testing.T, env *Env) {
			want := ".\t3600\tIN\tDS\t12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
			if a := env.Session.Config().DNS.TrustAnchor; a != want {
				t.Errorf("pending anchor %q, want %q", a, want)
			}
			if env.Store.Committed().DNS.TrustAnchor != "" {
				t.Error("anchor committed without commit")
			}
		},
	},
	"dnsconfig_duplicate": {check: func(t *testing.T, env *Env) {
		want := []store.DNSResolver{{Address: "127.0.10.53:53", Priority: 5}, {Address: "::1", Priority: 1}, {Address: "[::1]:5353", Priority: 2}}
		got := env.Session.Config().DNS.Resolvers
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("pending resolvers %+v, want %+v", got, want)
		}
	}},
	"dnsconfig_anchor_refused": {
		setup: func(t *testing.T, env *Env) {
			outside := filepath.Join(t.TempDir(), "root.ds")
			if err := os.WriteFile(outside, []byte(testAnchor), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(env.Store.ConfigDir(), "link.ds")); err != nil {
				t.Fatal(err)
			}
			writeConfigFile(t, env, "bad.ds", "; not an anchor\nexample. 3600 IN A 192.0.2.1\n")
		},
		check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("refused imports left pending changes in %v", env.Session.Changed())
			}
		},
	},
	"dnsconfig_invalid": {check: func(t *testing.T, env *Env) {
		if env.Session.Pending() {
			t.Errorf("invalid answers left pending changes in %v", env.Session.Changed())
		}
	}},
}

func TestDNSConfigTranscripts(t *testing.T) {
	t.Parallel()
	for name, tc := range dnsconfigTranscripts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			if tc.setup != nil {
				tc.setup(t, env)
			}
			shelltest.Check(t, filepath.Join("..", "testdata", "transcripts", name+".txt"), session(env))
			if tc.check != nil {
				tc.check(t, env)
			}
		})
	}
}
