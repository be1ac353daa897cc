package commands

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"esa/shell"
	"esa/store"
	"esa/store/mailflow"
)

// The listenerconfig transcripts and the configuration each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"listenerconfig_new":            {check: checkNewListeners},
		"listenerconfig_edit":           {setup: twoListeners, check: checkEditedListeners},
		"listenerconfig_eof":            {check: nothingPending},
		"listenerconfig_hostaccess":     {setup: oneListener, check: checkHostAccess},
		"listenerconfig_default":        {setup: oneListener, check: checkDefault},
		"listenerconfig_export_import":  {setup: richListenerSetup, check: checkRoundTrip},
		"listenerconfig_import_refused": {setup: badImportFiles, check: nothingPending},
		"listenerconfig_entries":        {setup: richWithLink, check: checkEntries},
		"listenerconfig_rcptaccess":     {setup: oneListener, check: checkRAT},
		"listenerconfig_spf_only":       {setup: oneListener, check: checkSPFOnly},
		"listenerconfig_spf_compatible": {setup: oneListener, check: checkSPFCompatible},
		"listenerconfig_spf_strict":     {setup: oneListener, check: checkSPFStrict},
	} {
		transcripts[name] = tc
	}
}

// findListener returns the listener named name in c.
func findListener(t *testing.T, c store.Config, name string) mailflow.Listener {
	t.Helper()
	for _, l := range c.Listeners.Listeners {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no listener %q in %+v", name, c.Listeners.Listeners)
	return mailflow.Listener{}
}

func checkNewListeners(t *testing.T, env *Env) {
	c := env.Store.Committed()
	if n := len(c.Listeners.Listeners); n != 2 {
		t.Fatalf("%d listeners committed, want 2", n)
	}
	in := findListener(t, c, "IncomingMail")
	want := mailflow.NewListener("IncomingMail", mailflow.Public, "127.0.0.1", 25)
	want.RAT = []mailflow.RATEntry{
		{Pattern: "example.com", Action: "ACCEPT"}, {Pattern: ".example.org", Action: "ACCEPT"},
		{Pattern: "postmaster@", Action: "ACCEPT"}, {Pattern: "joe@example.net", Action: "ACCEPT"},
		{Pattern: "ALL", Action: "REJECT"},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("IncomingMail:\n got %+v\nwant %+v", in, want)
	}
	out := findListener(t, c, "OutgoingMail")
	if out.Type != mailflow.Private || out.Address != "::1" || out.Port != 587 || out.Interface != "Management" || out.Certificate != "Demo" {
		t.Errorf("OutgoingMail = %+v", out)
	}
	if m := out.HAT.Entries[0].Members; strings.Join(m, " ") != "10.0.0.0/8 192.168.1.1-20 .relay.example.com 10.2.3. 2001:db8::/32" {
		t.Errorf("RELAYLIST members %q", m)
	}
	lim := out.HAT.Effective("")
	wantLim := mailflow.Limits{MaxMessageSize: 20 << 20, MaxConcurrency: 50, MaxMsgsPerConn: 10, MaxRcptsPerMsg: 100,
		MaxRcptsPerHour: 500, DHAPLimit: 0, TLS: "preferred", BannerCode: 250, BannerText: "Relay ready",
		BannerHost: "relay.example.com", RejectCode: 554, SpamCheck: false, VirusCheck: true, UseSenderBase: false}
	fac := mailflow.PublicHAT()
	wantLim.SPF = fac.Effective("").SPF // not asked: the appliance's SPF defaults
	if !reflect.DeepEqual(lim, wantLim) {
		t.Errorf("OutgoingMail DEFAULT:\n got %+v\nwant %+v", lim, wantLim)
	}
	if d := out.HAT.Match(mailflow.Peer{IP: mustAddr(t, "10.1.2.3")}); d.Action != mailflow.ActRelay || d.Group != "RELAYLIST" {
		t.Errorf("10.1.2.3 on OutgoingMail: %+v", d)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func nothingPending(t *testing.T, env *Env) {
	if env.Session.Pending() {
		t.Errorf("an abandoned operation left pending changes in %v", env.Session.Changed())
	}
}

// commitListeners commits ls as the listeners from another session.
func commitListeners(t testing.TB, env *Env, ls ...mailflow.Listener) {
	t.Helper()
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Listeners.Listeners = ls
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("listeners", false); err != nil {
		t.Fatal(err)
	}
}

// incoming is the public listener the transcripts start from.
func incoming() mailflow.Listener {
	l := mailflow.NewListener("IncomingMail", mailflow.Public, "127.0.0.1", 25)
	l.RAT = []mailflow.RATEntry{{Pattern: "example.com", Action: "ACCEPT"}, {Pattern: "ALL", Action: "REJECT"}}
	return l
}

func outgoing() mailflow.Listener {
	l := mailflow.NewListener("OutgoingMail", mailflow.Private, "::1", 587)
	l.HAT.Entries[0].Members = []string{"10.0.0.0/8"}
	return l
}

func oneListener(t *testing.T, env *Env) { commitListeners(t, env, incoming()) }

func twoListeners(t *testing.T, env *Env) { commitListeners(t, env, incoming(), outgoing()) }

func checkEditedListeners(t *testing.T, env *Env) {
	c := env.Store.Committed()
	want := incoming()
	want.Name, want.Address, want.Port, want.DefaultDomain = "InboundMail", "::1", 2525, "example.com"
	if got := c.Listeners.Listeners; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("listeners:\n got %+v\nwant [%+v]", got, want)
	}
	if l := c.Listeners; l.MaxConnections != 100 || l.CommandTimeout != 60 || l.DataTimeout != 600 {
		t.Errorf("global settings %+v", l)
	}
}

func checkHostAccess(t *testing.T, env *Env) {
	h := findListener(t, env.Store.Committed(), "IncomingMail").HAT
	var names []string
	for _, e := range h.Entries {
		names = append(names, entryName(e))
	}
	if got := strings.Join(names, " "); got != "TRUSTED_PARTNERS WHITELIST BLACKLIST UNKNOWNLIST ALL" {
		t.Errorf("entries %s", got)
	}
	g := h.Entries[0]
	want := mailflow.Entry{Group: "TRUSTED_PARTNERS", Members: []string{"10.1.1.0/24", ".partner.example.net", "192.0.2.1", "sbrs[none]"},
		Decision: "$PARTNER", Comment: "Our partners"}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("group:\n got %+v\nwant %+v", g, want)
	}
	p := h.Policy("PARTNER")
	if p == nil {
		t.Fatal("no policy $PARTNER")
	}
	wantP := mailflow.Policy{Name: "PARTNER", Action: "ACCEPT", Params: []mailflow.Param{
		{Key: "spam_check", Value: "off"}, {Key: "max_msgs_per_session", Value: "100"}, {Key: "max_concurrency", Value: "100"},
		{Key: "max_rcpts_per_msg", Value: "500"}, {Key: "dhap_limit", Value: "10"}, {Key: "max_message_size", Value: "52428800"},
		{Key: "use_sb", Value: "off"}, {Key: "tls", Value: "required"},
	}}
	if !reflect.DeepEqual(*p, wantP) {
		t.Errorf("$PARTNER:\n got %+v\nwant %+v", *p, wantP)
	}
	// $THROTTLED: only the recipients per message changed, in place.
	factory := mailflow.PublicHAT()
	wantT := *factory.Policy("THROTTLED")
	wantT.Params[3].Value = "10"
	if got := *h.Policy("THROTTLED"); !reflect.DeepEqual(got, wantT) {
		t.Errorf("$THROTTLED:\n got %+v\nwant %+v", got, wantT)
	}
	if d := h.Match(mailflow.Peer{IP: mustAddr(t, "10.1.1.7")}); d.Group != "TRUSTED_PARTNERS" || d.Limits.MaxRcptsPerMsg != 500 || d.Limits.TLS != "required" {
		t.Errorf("10.1.1.7 decision %+v", d)
	}
}

func checkDefault(t *testing.T, env *Env) {
	h := findListener(t, env.Store.Committed(), "IncomingMail").HAT
	want := mailflow.Limits{MaxMessageSize: 512 << 10, MaxConcurrency: 20, MaxMsgsPerConn: 10, MaxRcptsPerMsg: 200,
		MaxRcptsPerHour: -1, DHAPLimit: 25, TLS: "off", BannerCode: 220, BannerText: "ESMTP ready",
		BannerHost: "mx.example.com", RejectCode: 421, RejectText: "Go away", SpamCheck: true, VirusCheck: false, UseSenderBase: true}
	fac := mailflow.PublicHAT()
	want.SPF = fac.Effective("").SPF // SPF settings not changed
	if got := h.Effective(""); !reflect.DeepEqual(got, want) {
		t.Errorf("DEFAULT:\n got %+v\nwant %+v", got, want)
	}
	// The policies that do not override a parameter inherit it.
	if got := h.Effective("ACCEPTED"); !reflect.DeepEqual(got, want) {
		t.Errorf("$ACCEPTED:\n got %+v\nwant %+v", got, want)
	}
}

// richListener has a table with every kind of entry and policy the text
// form carries: members of each kind, single-host entries with comments
// holding quotes, a policy with quoted text parameters, and a recipient
// table with custom replies and bypass.
func richListener() mailflow.Listener {
	l := incoming()
	l.HAT.Policies = append(l.HAT.Policies, mailflow.Policy{Name: "PARTNER", Action: mailflow.ActRelay, Params: []mailflow.Param{
		{Key: "max_message_size", Value: "52428800"}, {Key: "smtp_banner_text", Value: `Hello "partner"`}, {Key: "tls", Value: "required"},
	}})
	l.HAT.Entries[0].Members = []string{"10.1.1.0/24", "192.168.0.1-20", ".trusted.example.com", "10.2.3."}
	all := l.HAT.Entries[len(l.HAT.Entries)-1]
	l.HAT.Entries = append(l.HAT.Entries[:len(l.HAT.Entries)-1],
		mailflow.Entry{Members: []string{"spamdomain.com"}, Decision: mailflow.ActReject, Comment: `reject the domain "spamdomain.com"`},
		mailflow.Entry{Members: []string{".spamdomain.com"}, Decision: mailflow.ActTCPRefuse},
		mailflow.Entry{Group: "PARTNERS", Members: []string{"2001:db8::/32", "sbrs[-10.0:-3.0]", "mx.partner.example"}, Decision: "$PARTNER", Comment: "partners relay"},
		all)
	l.RAT = []mailflow.RATEntry{
		{Pattern: "example.com", Action: "ACCEPT"}, {Pattern: ".example.org", Action: "ACCEPT", BypassLimits: true},
		{Pattern: "sales@example.net", Action: "REJECT", Code: 551, Text: "Sales moved to sales@example.org"},
		{Pattern: "postmaster@", Action: "REJECT", Code: 450}, {Pattern: "ALL", Action: "REJECT"},
	}
	return l
}

func richListenerSetup(t *testing.T, env *Env) { commitListeners(t, env, richListener()) }

func checkRoundTrip(t *testing.T, env *Env) {
	want := richListener()
	if got := findListener(t, env.Store.Committed(), "IncomingMail"); !reflect.DeepEqual(got, want) {
		t.Errorf("after export, clear and import:\n got %+v\nwant %+v", got, want)
	}
	var hat, rat strings.Builder
	mailflow.PrintHAT(&hat, &want.HAT)
	mailflow.PrintRAT(&rat, want.RAT)
	for name, text := range map[string]string{"hat.txt": hat.String(), "rat.txt": rat.String()} {
		b, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != text {
			t.Errorf("%s:\n%s\nwant the PRINT form:\n%s", name, b, text)
		}
	}
}

// badImportFiles plants import files, each with one fault on a known line,
// and a symbolic link to a file outside the configuration directory.
func badImportFiles(t *testing.T, env *Env) {
	oneListener(t, env)
	for name, text := range map[string]string{
		"nodecision.txt": "$ACCEPTED\n    ACCEPT\nPARTNERS:\n        10.1.1.0/24\nALL\n    $ACCEPTED\n",
		"badmember.txt":  "$ACCEPTED\n    ACCEPT\n# partners\nPARTNERS:\n        10.1.1.0/24, bad_host!\n        $ACCEPTED\n",
		"nopolicy.txt":   "$ACCEPTED\n    ACCEPT\nALL\n    $NOSUCH\n",
		"badparam.txt":   "$BIG\n    ACCEPT {\n        max_concurrency = 5000\n    }\n",
		"twice.txt":      "$A\n    ACCEPT\n$B\n    REJECT\n$A\n    RELAY\n",
		"unclosed.txt":   "$X\n    ACCEPT {\n        tls = \"off\"\n",
		"empty.txt":      "# nothing but a comment\n\n",
		"control.txt":    "$A\n    ACCEPT (\x1b[2Jboom)\n",
		"rat_bad.txt":    "example.com ACCEPT\nexample.org MAYBE\n",
		"rat_code.txt":   "example.com ACCEPT\nexample.net ACCEPT 550\n",
		"rat_dup.txt":    "example.com ACCEPT\n.example.org ACCEPT\nEXAMPLE.COM REJECT\n",
	} {
		writeConfigFile(t, env, name, text)
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("$SECRET\n    ACCEPT\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(env.Store.ConfigDir(), "link.txt")); err != nil {
		t.Fatal(err)
	}
}

func checkRAT(t *testing.T, env *Env) {
	got := findListener(t, env.Store.Committed(), "IncomingMail").RAT
	want := []mailflow.RATEntry{
		{Pattern: "example.org", Action: "ACCEPT"},
		{Pattern: "sales@example.net", Action: "REJECT", Code: 551, Text: "No mail here", BypassLimits: true},
		{Pattern: ".example.com", Action: "ACCEPT"},
		{Pattern: "ALL", Action: "REJECT", Code: 550, Text: "Relaying denied"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RAT:\n got %+v\nwant %+v", got, want)
	}
}

// TestListenerParamBounds keeps the bounds the DEFAULT and policy
// questions accept in step with the table's rules: each bound passes the
// table's validator and one past it does not (but the "no" answers of rate
// limiting, -1, and of directory harvest prevention, 0).
func TestListenerParamBounds(t *testing.T) {
	t.Parallel()
	valid := func(key string, v int) bool {
		h := mailflow.PublicHAT()
		for i := range h.Default {
			if h.Default[i].Key == key {
				h.Default = append(h.Default[:i:i], h.Default[i+1:]...)
				break
			}
		}
		h.Default = append(h.Default, mailflow.Param{Key: key, Value: strconv.Itoa(v)})
		return h.Validate() == nil
	}
	for key, b := range paramBounds {
		if !valid(key, b[0]) || !valid(key, b[1]) {
			t.Errorf("%s: the table refuses a bound of %v", key, b)
		}
		if valid(key, b[1]+1) {
			t.Errorf("%s: the table takes %d, past the questions' bound", key, b[1]+1)
		}
		below := valid(key, b[0]-1)
		switch key {
		case "max_rcpts_per_hour":
			if !valid(key, -1) {
				t.Errorf("%s: the table refuses -1 (unlimited)", key)
			}
		case "dhap_limit":
			if !below {
				t.Errorf("%s: the table refuses 0 (no prevention)", key)
			}
		default:
			if below {
				t.Errorf("%s: the table takes %d, below the questions' bound", key, b[0]-1)
			}
		}
	}
}

// TestListenerconfigCtrlC: Ctrl-C in the middle of a HOSTACCESS NEW
// abandons that operation only: the listener created by the NEW before it
// stays pending, without the half-made sender group.
func TestListenerconfigCtrlC(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var out strings.Builder
	ed := &keysEditor{out: &out, keys: []string{
		"listenerconfig", "new", "2", "Inbound", "127.0.0.1", "2525", "example.com", "n",
		"edit", "1", "hostaccess", "new", "1", "PARTNERS", "10.0.0.1", "^C",
		"quit", "y",
	}}
	if err := shell.Run(context.Background(), shell.Config{
		Editor: ed, Out: &out, Prompt: Prompt(env), Commands: Table(env), OnExit: OnExit(env),
	}); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	c := env.Session.Config()
	if len(c.Listeners.Listeners) != 1 {
		t.Fatalf("pending listeners %+v, want Inbound", c.Listeners.Listeners)
	}
	l := c.Listeners.Listeners[0]
	want := mailflow.NewListener("Inbound", mailflow.Public, "127.0.0.1", 2525)
	want.RAT = insertRAT(want.RAT, ratEntries("example.com", mailflow.ActAccept))
	if !reflect.DeepEqual(l, want) {
		t.Errorf("pending listener after Ctrl-C:\n got %+v\nwant %+v", l, want)
	}
	if !strings.Contains(out.String(), "[6]> ^C\n\nesa.example.com> quit\n") {
		t.Errorf("Ctrl-C did not return to the prompt:\n%s", out.String())
	}
}

// FuzzListenerAnswers: whatever an administrator types, an answer the
// questions accept is one the listeners table accepts, so that no refusal
// is left for commit to find (sender-group members, recipient patterns,
// message sizes).
func FuzzListenerAnswers(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8, 192.168.1.1-20, .relay.example.com, 10.2.3.", "ALL", "sbrs[-10.0:-3.0], sbrs[none]",
		"example.com, .example.org, postmaster@, joe@example.net", "2001:db8::/32,,  ,x", "10M", "512k", "1024",
		"fe80::1%eth0", "a@b@c", "1.2.3.4-1.2.3.1", "\x00", "ex ample.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		if n, err := memberListValidator(nil)(a); err == nil {
			h := mailflow.PublicHAT()
			h.Entries = append(h.Entries, mailflow.Entry{Group: "FUZZ", Members: splitList(n), Decision: "$ACCEPTED"})
			if err := h.Validate(); err != nil {
				t.Errorf("members %q accepted at the question, refused by the table: %v", a, err)
			}
		}
		if n, err := ratListValidator(nil, -1)(a); err == nil {
			if err := mailflow.ValidateRAT(ratEntries(n, mailflow.ActAccept)); err != nil {
				t.Errorf("recipients %q accepted at the question, refused by the table: %v", a, err)
			}
		}
		b := paramBounds["max_message_size"]
		if n, err := messageSize(b[0], b[1])(a); err == nil {
			h := mailflow.PublicHAT()
			h.Default = append(h.Default[:7:7], append([]mailflow.Param{{Key: "max_message_size", Value: n}}, h.Default[8:]...)...)
			if err := h.Validate(); err != nil {
				t.Errorf("size %q accepted at the question, refused by the table: %v", a, err)
			}
		}
	})
}

// BenchmarkListenerconfigImport: HOSTACCESS IMPORT of a table with 10,000
// sender-group members, through the shell, the file reader, the parser and
// the pending update that validates and encodes the whole configuration.
func BenchmarkListenerconfigImport(b *testing.B) {
	env := newEnv(b)
	commitListeners(b, env, incoming())
	for _, name := range []string{"a.txt", "b.txt"} {
		h := mailflow.PublicHAT()
		for i := 0; i < 10000; i++ {
			h.Entries[0].Members = append(h.Entries[0].Members, fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))
		}
		h.Entries[0].Comment = name
		var text strings.Builder
		mailflow.PrintHAT(&text, &h)
		if err := os.MkdirAll(env.Store.ConfigDir(), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(env.Store.ConfigDir(), name), []byte(text.String()), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := []string{"a.txt", "b.txt"}[i%2]
		out := script(env, "listenerconfig\nedit\n1\nhostaccess\nimport\n"+name+"\n\n\n\n")
		if !strings.Contains(out, "Imported 4 policies and 5 sender groups") {
			b.Fatalf("import failed:\n%s", out[len(out)-min(len(out), 2000):])
		}
	}
}

// richWithLink commits richListener with a default domain and plants a
// symbolic link in the configuration directory.
func richWithLink(t *testing.T, env *Env) {
	l := richListener()
	l.DefaultDomain = "example.com"
	commitListeners(t, env, l)
	if err := os.MkdirAll(env.Store.ConfigDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(env.Store.ConfigDir(), "link.txt")); err != nil {
		t.Fatal(err)
	}
}

func checkEntries(t *testing.T, env *Env) {
	l := findListener(t, env.Store.Committed(), "IncomingMail")
	want := richListener()
	h := &want.HAT
	h.Entries[4] = mailflow.Entry{Members: []string{"spam.example"}, Decision: mailflow.ActReject, Comment: h.Entries[4].Comment}
	h.Entries = append(h.Entries[1:], h.Entries[0])
	h.Policy("PARTNER").Params = nil
	if !reflect.DeepEqual(l, want) {
		t.Errorf("listener:\n got %+v\nwant %+v", l, want)
	}
}
