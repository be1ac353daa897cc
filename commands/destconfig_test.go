package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"esa/store"
	"esa/store/bounces"
	"esa/store/certs"
	"esa/store/destinations"
)

// The destconfig transcripts and the table each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"destconfig_new":            {check: checkDestNew},
		"destconfig_edit_delete":    {setup: destThree, check: checkDestEdited},
		"destconfig_clear":          {setup: destTwo, check: checkDestCleared},
		"destconfig_default_setup":  {check: checkDestDefault},
		"destconfig_invalid":        {check: checkDestInvalid},
		"destconfig_export_import":  {setup: destRich, check: checkDestRoundTrip},
		"destconfig_import_refused": {setup: destBadFiles, check: checkDestUnchanged},
		"destconfig_import_unknown_profile": {setup: otherApplianceFile, check: func(t *testing.T, env *Env) {
			d := env.Store.Committed().Destinations
			if d.Default.BounceProfile != "Elsewhere" || len(d.Entries) != 2 || d.Entries[0].BounceProfile != "Slow-bounces" ||
				d.Entries[1].BounceProfile != "Gone" {
				t.Errorf("imported %+v", d)
			}
		}},
		"destconfig_setup_certificate": {setup: twoCertificates, check: func(t *testing.T, env *Env) {
			c := env.Store.Committed()
			if c.Certificates.Outbound != "mail.example" || c.Destinations.Global.AlertOnTLSFailure {
				t.Errorf("outbound %q, alert %v", c.Certificates.Outbound, c.Destinations.Global.AlertOnTLSFailure)
			}
		}},
	} {
		transcripts[name] = tc
	}
}

// twoDest is the table checkDestNew expects the NEW transcript to leave.
func twoDest() destinations.Table {
	t := destinations.Factory()
	t.Entries = []destinations.Destination{
		{Domain: "example.com", Settings: destinations.Settings{TLS: destinations.TLSRequired}},
		{Domain: ".example.org", Settings: destinations.Settings{
			Concurrency: 100, MessagesPerConnection: 10, RecipientLimit: 1000, RecipientMinutes: 30,
			LimitType: destinations.PerMXIP, LimitApply: destinations.PerVirtualGateway,
			TLS: destinations.TLSRequiredVerifyHosted, DANE: destinations.DANEMandatory,
			BounceVerification: destinations.On, BounceProfile: "Slow-bounces", IPSort: destinations.RequireIPv4,
		}},
	}
	return t
}

// commitDest commits d as the destinations, with a bounce profile
// Slow-bounces (which twoDest names) and Outbound.
func commitDest(t testing.TB, env *Env, d destinations.Table) {
	t.Helper()
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Destinations = d
		for _, n := range []string{"Slow-bounces", "Outbound"} {
			c.Bounces.Profiles = append(c.Bounces.Profiles, bounces.NewProfile(n, c.Bounces.Default()))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("destinations", false); err != nil {
		t.Fatal(err)
	}
}

func checkDestTable(t *testing.T, got, want destinations.Table) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("destinations:\n got %+v\nwant %+v", got, want)
	}
}

func checkDestNew(t *testing.T, env *Env) {
	c := env.Store.Committed()
	checkDestTable(t, c.Destinations, twoDest())
	// New Profile created the profile in bounceconfig's table, with the
	// Default profile's values.
	p, ok := c.Bounces.Find("Slow-bounces")
	if want := bounces.NewProfile("Slow-bounces", c.Bounces.Default()); !ok || !reflect.DeepEqual(p, want) {
		t.Errorf("bounce profile Slow-bounces: %v %+v, want %+v", ok, p, want)
	}
	nothingPending(t, env)
}

func destTwo(t *testing.T, env *Env) { commitDest(t, env, twoDest()) }

// destThree is twoDest and an entry to delete.
func destThree(t *testing.T, env *Env) {
	d := twoDest()
	d.Entries = append(d.Entries, destinations.Destination{Domain: "plain.example"})
	commitDest(t, env, d)
}

func checkDestEdited(t *testing.T, env *Env) {
	want := twoDest()
	want.Entries[0].Settings = destinations.Settings{MessagesPerConnection: 20, RecipientLimit: 1, RecipientMinutes: 15,
		LimitType: destinations.PerMXIP, LimitApply: destinations.SystemWide, TLS: destinations.TLSPreferred,
		DANE: destinations.DANEOpportunistic, BounceVerification: destinations.Off, BounceProfile: "Slow-bounces"}
	checkDestTable(t, env.Store.Committed().Destinations, want)
}

func checkDestCleared(t *testing.T, env *Env) {
	checkDestTable(t, env.Store.Committed().Destinations, destinations.Factory())
}

func checkDestDefault(t *testing.T, env *Env) {
	if o := env.Store.Committed().Certificates.Outbound; o != "Demo" {
		t.Errorf("outbound certificate %q", o)
	}
	want := destinations.Factory()
	want.Global.AlertOnTLSFailure = true
	want.Default = destinations.Settings{Concurrency: 200, RecipientLimit: 500, RecipientMinutes: 10,
		LimitType: destinations.PerMXIP, LimitApply: destinations.SystemWide, MessagesPerConnection: 25,
		TLS: destinations.TLSNo, DANE: destinations.DANENo, BounceVerification: destinations.On, IPSort: destinations.PreferIPv4}
	checkDestTable(t, env.Store.Committed().Destinations, want)
}

func checkDestInvalid(t *testing.T, env *Env) {
	// The first NEW was completed, the second abandoned at its end of
	// input.
	want := destinations.Factory()
	want.Entries = []destinations.Destination{{Domain: "192.0.2.1", Settings: destinations.Settings{
		MessagesPerConnection: 7, RecipientLimit: 5, RecipientMinutes: 60, LimitType: destinations.PerDomain, LimitApply: destinations.SystemWide,
		TLS: destinations.TLSRequiredVerifyHosted, DANE: destinations.DANENo,
		BounceVerification: destinations.On, BounceProfile: "OK.name_1", IPSort: destinations.PreferIPv4,
	}}}
	checkDestTable(t, env.Session.Config().Destinations, want)
	checkDestTable(t, env.Store.Committed().Destinations, destinations.Factory())
}

// richDest uses every kind of setting and value.
func richDest() destinations.Table {
	t := twoDest()
	t.Global.AlertOnTLSFailure = true
	t.Default.RecipientLimit, t.Default.RecipientMinutes = 5000, 60
	t.Default.TLS, t.Default.DANE, t.Default.BounceProfile = destinations.TLSPreferred, destinations.DANEOpportunistic, "Outbound"
	t.Entries = append(t.Entries,
		destinations.Destination{Domain: "192.0.2.25", Settings: destinations.Settings{Concurrency: 2,
			LimitType: destinations.PerDomain, LimitApply: destinations.SystemWide, TLS: destinations.TLSNo}},
		destinations.Destination{Domain: "2001:db8::25", Settings: destinations.Settings{BounceVerification: destinations.Off,
			IPSort: destinations.PreferIPv6, TLS: destinations.TLSPreferredVerify}},
		destinations.Destination{Domain: "plain.example"},
	)
	return t
}

func destRich(t *testing.T, env *Env) { commitDest(t, env, richDest()) }

// checkDestRoundTrip: the committed table after EXPORT, CLEAR, DEFAULT
// and IMPORT is the one exported, and the file is the one Export writes.
func checkDestRoundTrip(t *testing.T, env *Env) {
	want := richDest()
	checkDestTable(t, env.Store.Committed().Destinations, want)
	nothingPending(t, env)
	data, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "dest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	destinations.Export(&b, &want)
	if string(data) != b.String() {
		t.Errorf("exported file:\n%s\nwant\n%s", data, b.String())
	}
}

// destBadFiles plants the refused import files.
func destBadFiles(t *testing.T, env *Env) {
	destTwoCommitted := twoDest()
	commitDest(t, env, destTwoCommitted)
	const def = "[DEFAULT]\nip_sort_pref = PREFER_V6\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\nbounce_validation = 0\ntls = 0\ndane = 0\n"
	for name, text := range map[string]string{
		"nodefault.txt":   "[example.com]\ntls = 2\n",
		"outside.txt":     "tls = 2\n" + def,
		"notkv.txt":       def + "\n[example.com]\ntls: 2\n",
		"baddomain.txt":   def + "\n[exa mple.com]\n",
		"twice.txt":       def + "\n[example.com]\n\n[EXAMPLE.com]\n",
		"dupkey.txt":      def + "\n[example.com]\ntls = 2\ntls = 3\n",
		"unknown.txt":     def + "\n[example.com]\nmax_concurrency = 10\n",
		"range.txt":       def + "\n[example.com]\nrecipient_minutes = 90\n",
		"tls.txt":         def + "\n[example.com]\ntls = 6\n",
		"dane.txt":        def + "\n[example.com]\ndane = 2\n",
		"limits.txt":      def + "\n# a limit without limit_type\n[example.com]\nmax_host_concurrency = 10\n",
		"defaultpart.txt": "[DEFAULT]\nmax_host_concurrency = 500\ntls = 0\n",
		"profile.txt":     def + "\n[example.com]\nbounce_profile = -x\n",
		"control.txt":     def + "\n[example.com]\ntls = 2\x1b[2J\n",
		"empty.txt":       "",
	} {
		writeConfigFile(t, env, name, text)
	}
	outside := filepath.Join(t.TempDir(), "target.txt")
	if err := os.WriteFile(outside, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(env.Store.ConfigDir(), "link.txt")); err != nil {
		t.Fatal(err)
	}
}

func checkDestUnchanged(t *testing.T, env *Env) {
	checkDestTable(t, env.Store.Committed().Destinations, twoDest())
	nothingPending(t, env)
}

// TestDestconfigNoArgs: destconfig takes no arguments.
func TestDestconfigNoArgs(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	if out := script(env, "destconfig list\n"); !strings.Contains(out, "Invalid arguments when processing: destconfig takes no arguments.") {
		t.Errorf("screen:\n%s", out)
	}
}

// twoCertificates commits the demo certificate and a second one,
// mail.example.
func twoCertificates(t *testing.T, env *Env) {
	demo, err := certs.NewDemo("esa.example.com", clock)
	if err != nil {
		t.Fatal(err)
	}
	other := demo
	other.Name, other.Demo = "mail.example", false
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Certificates.Certificates = []certs.Certificate{demo, other}
		c.Certificates.DemoMade = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("certificates", false); err != nil {
		t.Fatal(err)
	}
}

// otherApplianceFile is an export naming profiles Elsewhere and Gone,
// which this appliance does not have, and Slow-bounces, which it has.
func otherApplianceFile(t *testing.T, env *Env) {
	commitDest(t, env, destinations.Factory())
	writeConfigFile(t, env, "other.txt", "[DEFAULT]\nip_sort_pref = PREFER_V6\nmax_host_concurrency = 500\n"+
		"max_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\nbounce_validation = 0\n"+
		"bounce_profile = Elsewhere\ntls = 0\ndane = 0\n\n[a.example]\nbounce_profile = Slow-bounces\n\n[b.example]\nbounce_profile = Gone\n")
}
