package destinations

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// rich is a table using every kind of setting.
func rich() Table {
	t := Factory()
	t.Global = Global{AlertOnTLSFailure: true}
	t.Default.RecipientLimit, t.Default.RecipientMinutes = 5000, 30
	t.Default.TLS, t.Default.DANE = TLSPreferred, DANEOpportunistic
	t.Entries = []Destination{
		{Domain: "example.com", Settings: Settings{Concurrency: 100, RecipientLimit: 1000, RecipientMinutes: 60,
			LimitType: PerDomain, LimitApply: SystemWide, TLS: TLSRequired}},
		{Domain: ".example.org", Settings: Settings{MessagesPerConnection: 10, TLS: TLSRequiredVerifyHosted,
			DANE: DANEMandatory, BounceVerification: On, BounceProfile: "Slow.bounce-1", IPSort: RequireIPv4}},
		{Domain: "192.0.2.7", Settings: Settings{Concurrency: 2, LimitType: PerMXIP, LimitApply: PerVirtualGateway, TLS: TLSNo}},
		{Domain: "2001:db8::25", Settings: Settings{BounceVerification: Off, IPSort: PreferIPv4}},
		{Domain: "plain.example"},
	}
	return t
}

func TestFactoryExport(t *testing.T) {
	f := Factory()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Export(&b, &f); err != nil {
		t.Fatal(err)
	}
	want := `[DEFAULT]
ip_sort_pref = PREFER_V6
max_host_concurrency = 500
max_messages_per_connection = 50
limit_type = host
limit_apply = system
bounce_validation = 0
tls = 0
dane = 0
`
	if b.String() != want {
		t.Errorf("export:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	tb := rich()
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	Export(&b, &tb)
	want := `[DEFAULT]
ip_sort_pref = PREFER_V6
max_host_concurrency = 500
max_messages_per_connection = 50
recipient_minutes = 30
recipient_limit = 5000
limit_type = host
limit_apply = system
bounce_validation = 0
tls = 1
dane = 1

[example.com]
max_host_concurrency = 100
recipient_minutes = 60
recipient_limit = 1000
limit_type = host
limit_apply = system
tls = 2

[.example.org]
ip_sort_pref = REQUIRE_v4
max_messages_per_connection = 10
bounce_validation = 1
bounce_profile = Slow.bounce-1
tls = 5
dane = 2

[192.0.2.7]
max_host_concurrency = 2
limit_type = MXIP
limit_apply = VG
tls = 0

[2001:db8::25]
ip_sort_pref = PREFER_V4
bounce_validation = 0

[plain.example]
`
	if b.String() != want {
		t.Errorf("export:\n%s\nwant\n%s", b.String(), want)
	}
	back, err := Import(strings.NewReader(b.String()), tb.Global)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*back, tb) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *back, tb)
	}
}

// TestImportAliases: the guide's alternative values, its casing, comments,
// upper-case domains and address literals are read; the result is the
// canonical table.
func TestImportAliases(t *testing.T) {
	in := `# destination controls
; another comment
[default]
IP_SORT_PREF = prefer_v4
max_host_concurrency=20
max_messages_per_connection = 5
limit_type = 1
limit_apply = 1
bounce_validation = on
tls = require_verify
dane = mandatory

[Mail.Example.COM.]
tls = on_verify
dane = 0

[[IPv6:2001:DB8::1]]
limit_type = 0
limit_apply = 0
max_host_concurrency = 3
`
	got, err := Import(strings.NewReader(in), Global{})
	if err != nil {
		t.Fatal(err)
	}
	want := Table{
		Global: Global{},
		Default: Settings{Concurrency: 20, MessagesPerConnection: 5, LimitType: PerMXIP, LimitApply: PerVirtualGateway,
			BounceVerification: On, TLS: TLSRequiredVerify, DANE: DANEMandatory, IPSort: PreferIPv4},
		Entries: []Destination{
			{Domain: "mail.example.com", Settings: Settings{TLS: TLSPreferredVerify, DANE: DANENo}},
			{Domain: "2001:db8::1", Settings: Settings{Concurrency: 3, LimitType: PerDomain, LimitApply: SystemWide}},
		},
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
}

// TestImportRefused: each bad file is refused with the line at fault and
// the reason.
func TestImportRefused(t *testing.T) {
	const def = "# factory\n[DEFAULT]\nip_sort_pref = PREFER_V6\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\nbounce_validation = 0\ntls = 0\ndane = 0\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "the file has no [DEFAULT] section; it is required"},
		{"only comments", "# nothing\n\n", "the file has no [DEFAULT] section; it is required"},
		{"no default", "[example.com]\ntls = 1\n", "the file has no [DEFAULT] section; it is required"},
		{"key before section", "tls = 1\n" + def, "line 1: tls is outside a section: the file starts with [DEFAULT]"},
		{"not key value", def + "[a.example]\ntls 1\n", `line 12: "tls 1" is not key = value`},
		{"unclosed header", def + "[a.example\n", `line 11: "[a.example": a section header must end with ]`},
		{"bad domain", def + "[a..example]\n", `line 11: Invalid domain "a..example": it has an empty label`},
		{"numeric tld", def + "[10.1.1.300]\n", `line 11: Invalid domain "10.1.1.300": enter a domain such as example.com, a partial domain such as .example.com, or an IP address`},
		{"duplicate section", def + "[a.example]\n[A.example.]\n", "line 12: [a.example] is already defined on line 11"},
		{"duplicate default", def + def, "line 12: [DEFAULT] is already defined on line 2"},
		{"duplicate key", def + "[a.example]\ntls = 1\nTLS = 2\n", "line 13: tls is already set on line 12"},
		{"unknown key", def + "[a.example]\nmax_concurrency = 5\n", `line 12: unknown key "max_concurrency"`},
		{"zero concurrency", def + "[a.example]\nmax_host_concurrency = 0\n", `line 12: max_host_concurrency: "0" is not a number from 1 to 1000`},
		{"big concurrency", def + "[a.example]\nmax_host_concurrency = 1001\n", `line 12: max_host_concurrency: "1001" is not a number from 1 to 1000`},
		{"minutes", def + "[a.example]\nrecipient_minutes = 61\n", `line 12: recipient_minutes: "61" is not a number from 1 to 60`},
		{"plus sign", def + "[a.example]\nmax_messages_per_connection = +5\n", `line 12: max_messages_per_connection: "+5" is not a number from 1 to 1000`},
		{"tls 6", def + "[a.example]\ntls = 6\n", `line 12: tls: "6" is not a TLS setting from 0 (No) to 5 (Required - Verify Hosted Domains)`},
		{"dane 3", def + "[a.example]\ntls = 1\ndane = 3\n", `line 13: dane: "3" is not 0 (No), 1 (Opportunistic) or 2 (Mandatory)`},
		{"ip sort", def + "[a.example]\nip_sort_pref = IPV6\n", `line 12: ip_sort_pref: "IPV6" is not PREFER_V4, PREFER_V6, REQUIRE_v4 or REQUIRE_v6`},
		{"limit type", def + "[a.example]\nlimit_type = 2\n", `line 12: limit_type: "2" is not 0 (host) or 1 (MXIP)`},
		{"limit apply", def + "[a.example]\nlimit_apply = all\n", `line 12: limit_apply: "all" is not 0 (system) or 1 (VG)`},
		{"bounce validation", def + "[a.example]\nbounce_validation = yes\n", `line 12: bounce_validation: "yes" is not 0 (off) or 1 (on)`},
		{"profile", def + "[a.example]\nbounce_profile = 1slow\n", `line 12: bounce_profile: The bounce profile name must start with a letter or underscore: "1slow" does not`},
		{"profile chars", def + "[a.example]\nbounce_profile = slow profile\n", `line 12: bounce_profile: Invalid profile name "slow profile": valid characters are letters, digits, "-", "_" and "."`},
		{"limit without type", def + "[a.example]\nmax_host_concurrency = 5\n", "line 11: [a.example]: a concurrency or recipient limit needs limit_type and limit_apply"},
		{"type without limit", def + "[a.example]\nlimit_type = host\nlimit_apply = system\n", "line 11: [a.example]: limit_type and limit_apply need a concurrency or recipient limit"},
		{"recipients alone", def + "[a.example]\nrecipient_limit = 5\nlimit_type = host\nlimit_apply = system\n", "line 11: [a.example]: recipient_limit and recipient_minutes must be set together"},
		{"dane without tls", def + "[a.example]\ndane = 1\n", "line 11: [a.example]: dane needs a TLS setting other than No"},
		{"dane with tls no", def + "[a.example]\ntls = 0\ndane = 2\n", "line 11: [a.example]: dane needs a TLS setting other than No"},
		{"default incomplete", "[DEFAULT]\nmax_host_concurrency = 5\n", "line 1: [DEFAULT]: max_messages_per_connection is required"},
		{"default dane", strings.Replace(def, "dane = 0", "dane = 1", 1), "line 2: [DEFAULT]: dane needs a TLS setting other than No"},
		{"control", def + "[a.example]\ntls = 1\x00\n", "line 12: control character in the line"},
		{"long line", def + "# " + strings.Repeat("x", 70000) + "\n", "line 11: the line is longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := Import(strings.NewReader(tc.in), Global{})
			if err == nil {
				t.Fatalf("accepted: %+v", tb)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			if _, ok := err.(*ParseError); !ok {
				t.Errorf("error is %T, want *ParseError", err)
			}
		})
	}
}

func TestImportTooLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString("[DEFAULT]\n")
	for b.Len() <= MaxImportBytes {
		b.WriteString("# padding padding padding padding padding padding padding padding\n")
	}
	_, err := Import(strings.NewReader(b.String()), Global{})
	if err == nil || err.Error() != fmt.Sprintf("the file is larger than %d bytes", MaxImportBytes) {
		t.Errorf("got %v", err)
	}
}

func TestCanonicalDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM":           "example.com",
		"example.com.":          "example.com",
		".Example.com":          ".example.com",
		"mail_1.example":        "mail_1.example",
		"192.0.2.1":             "192.0.2.1",
		"[192.0.2.1]":           "192.0.2.1",
		"2001:DB8:0:0::1":       "2001:db8::1",
		"[IPv6:2001:db8::1]":    "2001:db8::1",
		"::ffff:192.0.2.1":      "192.0.2.1",
		" localhost ":           "localhost",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
	} {
		got, err := CanonicalDomain(in)
		if err != nil || got != want {
			t.Errorf("CanonicalDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                                       "You must enter a domain.",
		"a..b":                                   `Invalid domain "a..b": it has an empty label.`,
		"..example.com":                          `Invalid domain "..example.com": it has an empty label.`,
		"-a.example":                             `Invalid domain "-a.example": a label must not start or end with a hyphen.`,
		"a b.example":                            `Invalid domain "a b.example": labels may only contain letters, digits, hyphens and underscores.`,
		"user@example.com":                       `Invalid domain "user@example.com": labels may only contain letters, digits, hyphens and underscores.`,
		"192.0.2":                                `Invalid domain "192.0.2": enter a domain such as example.com, a partial domain such as .example.com, or an IP address.`,
		"fe80::1%eth0":                           `Invalid domain "fe80::1%eth0": an IP address must not have a zone.`,
		"[192.0.2.1":                             `Invalid domain "[192.0.2.1": labels may only contain letters, digits, hyphens and underscores.`,
		"[IPv6:192.0.2.1]":                       `Invalid domain "[IPv6:192.0.2.1]": labels may only contain letters, digits, hyphens and underscores.`,
		strings.Repeat("a", 64) + ".example":     `Invalid domain "` + strings.Repeat("a", 60) + `...": a label is at most 63 characters long.`,
		strings.Repeat("abcdefghi.", 26) + "com": `Invalid domain "` + strings.Repeat("abcdefghi.", 6) + `...": a domain is at most 253 characters long.`,
	} {
		if _, err := CanonicalDomain(in); err == nil || err.Error() != want {
			t.Errorf("CanonicalDomain(%q) error %v, want %s", in, err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Table)
		want   string
	}{
		{"default tls", func(t *Table) { t.Default.TLS = "" }, "default destination: tls is required"},
		{"default tls word", func(t *Table) { t.Default.TLS = "Maybe" }, `default destination: tls "Maybe" is not a TLS setting`},
		{"default minutes alone", func(t *Table) { t.Default.RecipientLimit = 0 }, "default destination: recipient_limit and recipient_minutes must be set together"},
		{"negative", func(t *Table) { t.Default.Concurrency = -1 }, "default destination: max_host_concurrency must be from 1 to 1000, not -1"},
		{"not canonical", func(t *Table) { t.Entries = []Destination{{Domain: "Example.com"}} }, `destination "Example.com": the domain is not in its canonical form "example.com"`},
		{"bad domain", func(t *Table) { t.Entries = []Destination{{Domain: "a..b"}} }, `destination "a..b": Invalid domain "a..b": it has an empty label`},
		{"twice", func(t *Table) { t.Entries = []Destination{{Domain: "a.example"}, {Domain: "a.example"}} }, "destination a.example: the domain is listed twice"},
		{"entry dane", func(t *Table) {
			t.Entries = []Destination{{Domain: "a.example", Settings: Settings{DANE: DANEMandatory}}}
		}, "destination a.example: dane needs a TLS setting other than No"},
		{"entry sort", func(t *Table) { t.Entries = []Destination{{Domain: "a.example", Settings: Settings{IPSort: "IPv6"}}} }, `destination a.example: ip_sort_pref "IPv6" is not an IP sort preference`},
		{"entry toggle", func(t *Table) {
			t.Entries = []Destination{{Domain: "a.example", Settings: Settings{BounceVerification: "Yes"}}}
		}, `destination a.example: bounce_validation "Yes" is not On or Off`},
		{"entry type", func(t *Table) {
			t.Entries = []Destination{{Domain: "a.example", Settings: Settings{Concurrency: 1, LimitType: "Host", LimitApply: SystemWide}}}
		}, `destination a.example: limit_type "Host" is not Domain or MXIP`},
	} {
		tb := rich()
		tc.change(&tb)
		if err := tb.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestLookup(t *testing.T) {
	tb := rich()
	tb.Entries = append(tb.Entries,
		Destination{Domain: ".mail.example.org", Settings: Settings{TLS: TLSPreferredVerify}},
		Destination{Domain: "example.org", Settings: Settings{IPSort: RequireIPv6}},
	)
	def := Effective{Concurrency: 500, MessagesPerConnection: 50, RecipientLimit: 5000, RecipientMinutes: 30,
		LimitType: PerDomain, LimitApply: SystemWide, TLS: TLSPreferred, DANE: DANEOpportunistic,
		BounceProfile: "Default", IPSort: PreferIPv6, AlertOnTLSFailure: true}
	with := func(f func(e *Effective)) Effective { e := def; f(&e); return e }
	for _, tc := range []struct {
		domain string
		want   Effective
	}{
		{"unknown.example", def},
		{"com", def},
		{"EXAMPLE.com.", with(func(e *Effective) {
			e.Entry, e.Concurrency, e.RecipientLimit, e.RecipientMinutes, e.TLS = "example.com", 100, 1000, 60, TLSRequired
		})},
		// A partial domain matches subdomains at any depth, not itself;
		// the longest suffix wins.
		{"sub.example.com", def},
		{"a.example.org", with(func(e *Effective) {
			e.Entry, e.MessagesPerConnection, e.TLS, e.DANE = ".example.org", 10, TLSRequiredVerifyHosted, DANEMandatory
			e.BounceVerification, e.BounceProfile, e.IPSort = true, "Slow.bounce-1", RequireIPv4
		})},
		{"x.y.example.org", with(func(e *Effective) {
			e.Entry, e.MessagesPerConnection, e.TLS, e.DANE = ".example.org", 10, TLSRequiredVerifyHosted, DANEMandatory
			e.BounceVerification, e.BounceProfile, e.IPSort = true, "Slow.bounce-1", RequireIPv4
		})},
		{"mx1.mail.example.org", with(func(e *Effective) { e.Entry, e.TLS = ".mail.example.org", TLSPreferredVerify })},
		{"mail.example.org", with(func(e *Effective) {
			e.Entry, e.MessagesPerConnection, e.TLS, e.DANE = ".example.org", 10, TLSRequiredVerifyHosted, DANEMandatory
			e.BounceVerification, e.BounceProfile, e.IPSort = true, "Slow.bounce-1", RequireIPv4
		})},
		{"example.org", with(func(e *Effective) { e.Entry, e.IPSort = "example.org", RequireIPv6 })},
		{"badexample.org", def},
		// Address literals find the IP entries; TLS No turns DANE off.
		{"[192.0.2.7]", with(func(e *Effective) {
			e.Entry, e.Concurrency, e.LimitType, e.LimitApply, e.TLS, e.DANE = "192.0.2.7", 2, PerMXIP, PerVirtualGateway, TLSNo, DANENo
		})},
		{"[IPv6:2001:DB8:0::25]", with(func(e *Effective) { e.Entry, e.IPSort = "2001:db8::25", PreferIPv4 })},
		{"plain.example", with(func(e *Effective) { e.Entry = "plain.example" })},
	} {
		if got := tb.Lookup(tc.domain); got != tc.want {
			t.Errorf("Lookup(%q)\n got %+v\nwant %+v", tc.domain, got, tc.want)
		}
	}
	// The factory default: no DANE, the Default profile.
	f := Factory()
	if got := f.Lookup("example.com"); got.TLS != TLSNo || got.DANE != DANENo || got.BounceProfile != DefaultProfile ||
		got.Concurrency != 500 || got.RecipientLimit != 0 || got.IPSort != PreferIPv6 {
		t.Errorf("factory lookup %+v", got)
	}
}

func TestTLSHelpers(t *testing.T) {
	for i, s := range TLSSettings {
		if s.Number() != i+1 || s.Menu() != TLSMenu()[i] {
			t.Errorf("%s: number %d menu %q", s, s.Number(), s.Menu())
		}
	}
	if TLS("").Menu() != "Default" || TLS("").Enabled() || TLSNo.Enabled() || !TLSPreferred.Enabled() {
		t.Error("Default/No helpers")
	}
	req := map[TLS]bool{TLSRequired: true, TLSRequiredVerify: true, TLSRequiredVerifyHosted: true}
	ver := map[TLS]bool{TLSPreferredVerify: true, TLSRequiredVerify: true, TLSRequiredVerifyHosted: true}
	for _, s := range TLSSettings {
		if s.Required() != req[s] || s.Verify() != ver[s] {
			t.Errorf("%s: required %v verify %v", s, s.Required(), s.Verify())
		}
	}
}

// BenchmarkLookup: the engine's question for every recipient domain, on a
// table of 1,000 entries half of them partial domains.
func BenchmarkLookup(b *testing.B) {
	tb := Factory()
	for i := 0; i < 1000; i++ {
		d := fmt.Sprintf("d%d.example", i)
		if i%2 == 1 {
			d = "." + d
		}
		tb.Entries = append(tb.Entries, Destination{Domain: d, Settings: Settings{TLS: TLSRequired}})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if e := tb.Lookup("mx.d999.example"); e.Entry != ".d999.example" {
			b.Fatal(e.Entry)
		}
	}
}

// BenchmarkImport: reading back the export of a 1,000-entry table.
func BenchmarkImport(b *testing.B) {
	tb := rich()
	for i := 0; i < 1000; i++ {
		tb.Entries = append(tb.Entries, Destination{Domain: fmt.Sprintf("d%d.example", i), Settings: Settings{
			Concurrency: 10, LimitType: PerMXIP, LimitApply: SystemWide, TLS: TLSRequiredVerify, DANE: DANEMandatory}})
	}
	var text bytes.Buffer
	Export(&text, &tb)
	b.SetBytes(int64(text.Len()))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Import(bytes.NewReader(text.Bytes()), tb.Global); err != nil {
			b.Fatal(err)
		}
	}
}
