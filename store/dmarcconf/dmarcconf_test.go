package dmarcconf

import (
	"reflect"
	"strings"
	"testing"
)

// The factory table is valid and its DEFAULT profile has the seed's
// defaults (seed 004: 550/#5.7.1 ... prohibited, 451/#4.7.1 ..., 550/#5.7.1
// DMARC verification failed).
func TestFactory(t *testing.T) {
	f := Factory()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	p := f.Profile(DefaultProfile)
	if p == nil || p.RejectAction != ActionReject || p.RejectCode != 550 || p.RejectText != "#5.7.1 DMARC unauthenticated mail is prohibited" ||
		p.QuarantineAction != ActionQuarantine || p.TempFailAction != ActionAccept || p.TempFailCode != 451 ||
		p.TempFailText != "#4.7.1 Unable to perform DMARC verification" || p.PermFailCode != 550 || p.PermFailText != "#5.7.1 DMARC verification failed" {
		t.Fatalf("DEFAULT: %+v", p)
	}
	if got := f.Settings.Return("mail.example.com"); got != "noreply-dmarc-support@mail.example.com" {
		t.Fatalf("default return address %q", got)
	}
}

// Validate refuses each kind of bad value with a message naming it.
func TestValidateRefuses(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *Table)
		want   string
	}{
		{"no DEFAULT", func(t *Table) { t.Profiles[0].Name = "OTHER" }, "DEFAULT profile is missing"},
		{"bad name", func(t *Table) { t.Profiles = append(t.Profiles, NewProfile("a b")) }, "Valid characters"},
		{"long name", func(t *Table) { t.Profiles = append(t.Profiles, NewProfile(strings.Repeat("a", 65))) }, "at most 64"},
		{"twice", func(t *Table) { t.Profiles = append(t.Profiles, NewProfile("default")) }, "defined twice"},
		{"reject 4xx", func(t *Table) { t.Profiles[0].RejectCode = 450 }, "reject_code: The value must be an SMTP code from 500 to 599."},
		{"tempfail 5xx", func(t *Table) { t.Profiles[0].TempFailCode = 550 }, "tempfail_code: The value must be an SMTP code from 400 to 499."},
		{"permfail 4xx", func(t *Table) { t.Profiles[0].PermFailCode = 421 }, "permfail_code"},
		{"control text", func(t *Table) { t.Profiles[0].RejectText = "no\x1b[2J" }, "reject_text: The value must be printable ASCII"},
		{"empty text", func(t *Table) { t.Profiles[0].PermFailText = "" }, "permfail_text: You must enter a value."},
		{"reject action", func(t *Table) { t.Profiles[0].RejectAction = "accept" }, "reject_action must be none, quarantine or reject"},
		{"quarantine action", func(t *Table) { t.Profiles[0].QuarantineAction = ActionReject }, "quarantine_action"},
		{"tempfail action", func(t *Table) { t.Profiles[0].TempFailAction = ActionNone }, "tempfail_action"},
		{"no quarantine", func(t *Table) { t.Profiles[0].RejectAction = ActionQuarantine }, "reject_quarantine: a quarantine must be named"},
		{"time", func(t *Table) { t.Settings.ReportTime = "24:00" }, "report_time: The value must be a time of day HH:MM"},
		{"time form", func(t *Table) { t.Settings.ReportTime = "7:30" }, "report_time"},
		{"entity", func(t *Table) { t.Settings.Entity = "not a domain" }, "entity"},
		{"contact", func(t *Table) { t.Settings.Contact = "a\nb" }, "contact"},
		{"return", func(t *Table) { t.Settings.ReturnAddress = "nobody" }, "return_address"},
		{"copy", func(t *Table) { t.Settings.CopyTo = []string{"a@example.com", "b@"} }, "copy_to: \"b@\""},
		{"bypass", func(t *Table) { t.Settings.BypassAddresses = []string{"@bad_domain"} }, "bypass_address"},
		{"header colon", func(t *Table) { t.Settings.BypassHeaders = []string{"List-Id:"} }, "bypass_header"},
		{"header twice", func(t *Table) { t.Settings.BypassHeaders = []string{"List-Id", "list-id"} }, "listed twice"},
		{"rules", func(t *Table) { t.Settings.Rules = "rfc9999" }, "rules must be rfc7489 or dmarcbis"},
	}
	for _, c := range cases {
		tb := Factory()
		c.change(&tb)
		err := tb.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	good := Factory()
	good.Profiles = append(good.Profiles, NewProfile("STRICT"))
	good.Profiles[1].RejectAction, good.Profiles[1].RejectQuarantine = ActionQuarantine, "Policy"
	good.Settings = Settings{ReportTime: "23:59", ErrorReports: true, Entity: "example.com", Contact: "Call 555-0100",
		ReturnAddress: "dmarc@example.com", CopyTo: []string{"a@example.com"},
		BypassAddresses: []string{"user@example.com", "@example.net", "example.org", ".example.info", "@.example.biz"},
		BypassHeaders:   []string{"List-Id", "X-Forwarded-By"}, Rules: RulesDMARCbis}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The cross-table checks: a profile's quarantines must exist, and a
// profile a policy names must be configured ("" is DEFAULT).
func TestCrossChecks(t *testing.T) {
	tb := Factory()
	if err := tb.CheckQuarantines([]string{"Policy"}); err != nil {
		t.Fatal(err)
	}
	if err := tb.CheckQuarantines(nil); err == nil || !strings.Contains(err.Error(), `DMARC verification profile DEFAULT sends messages to the quarantine "Policy", which does not exist`) {
		t.Fatalf("missing quarantine: %v", err)
	}
	tb.Profiles[0].QuarantineAction = ActionNone
	if err := tb.CheckQuarantines(nil); err != nil {
		t.Fatalf("no quarantine used: %v", err)
	}
	if err := tb.CheckUses([]string{"", "DEFAULT"}); err != nil {
		t.Fatal(err)
	}
	if err := tb.CheckUses([]string{"STRICT"}); err == nil || !strings.Contains(err.Error(), `"STRICT" is used by a mail-flow policy`) {
		t.Fatalf("missing profile: %v", err)
	}
}

func TestBypass(t *testing.T) {
	s := Settings{BypassAddresses: []string{"User@Example.com", "@lists.example.net", "example.org", ".example.info", "@.example.biz"}, BypassHeaders: []string{"List-Id"}}
	v := s
	v.ReportTime, v.Rules = "00:00", RulesRFC7489
	if err := v.Validate(); err != nil {
		t.Fatalf("the bypass entries are refused: %v", err)
	}
	for addr, want := range map[string]bool{
		"user@example.com": true, "other@example.com": false,
		"x@lists.example.net": true, "x@sub.lists.example.net": false,
		"x@EXAMPLE.org": true, "x@a.example.org": false,
		"x@a.example.info": true, "x@example.info": false,
		"x@b.a.example.biz": true, "x@example.biz": false,
		"": false, "noat": false,
	} {
		if got := s.BypassSender(addr); got != want {
			t.Errorf("BypassSender(%q) = %v", addr, got)
		}
	}
	if !s.BypassHeader("list-id") || s.BypassHeader("List-Unsubscribe") {
		t.Error("BypassHeader")
	}
}

// Format and Parse round-trip; a file may give only what differs from a
// new profile's values.
func TestFileRoundTrip(t *testing.T) {
	ps := []Profile{NewProfile(DefaultProfile), NewProfile("STRICT")}
	ps[1].RejectAction, ps[1].RejectQuarantine = ActionQuarantine, "Policy"
	ps[1].QuarantineAction, ps[1].QuarantineQuarantine = ActionNone, ""
	ps[1].TempFailAction, ps[1].TempFailCode, ps[1].TempFailText = ActionReject, 421, "#4.7.0 try later"
	got, err := Parse(Format(ps))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ps) {
		t.Fatalf("round trip:\n%+v\n%+v", got, ps)
	}
	short, err := Parse("name=DEFAULT\r\n\r\n# a comment\nname=LAX\nreject_action=none\n")
	if err != nil {
		t.Fatal(err)
	}
	want := NewProfile("LAX")
	want.RejectAction = ActionNone
	if len(short) != 2 || !reflect.DeepEqual(short[1], want) {
		t.Fatalf("short form: %+v", short)
	}
}

// A bad file is refused whole, naming the line.
func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "line 1: the file holds no profiles"},
		{"# nothing\n", "line 1: the file holds no profiles"},
		{"reject_action=none\n", "line 1: a profile starts with name=, not reject_action="},
		{"name=DEFAULT\nreject_code=450\n", "line 2: reject_code: The value must be an SMTP code from 500 to 599."},
		{"name=DEFAULT\ntempfail_code=x\n", `line 2: tempfail_code: expecting a number, got "x"`},
		{"name=DEFAULT\n\nname=A\nbogus=1\n", `line 4: unknown key "bogus"`},
		{"name=DEFAULT\nname=B\n", "line 2: name is already given on line 1"},
		{"name=DEFAULT\n\nname=default\n", "line 3: profile default is already defined on line 1"},
		{"name=DEFAULT\nreject_action=quarantine\n", "line 1: profile DEFAULT: reject_quarantine: a quarantine must be named"},
		{"name=LAX\n", "line 1: the file has no DEFAULT profile"},
		{"name=DEFAULT\nno equals\n", `line 2: expecting key=value, got "no equals"`},
		{"name=DEFAULT\nreject_text=a\x1bb\n", "line 2: control character in the line"},
		{"name=DEFAULT\nreject_action=drop\n", `line 2: reject_action must be none, quarantine, reject, not "drop"`},
		{"name=bad name\n", "line 1: name: Valid characters"},
	} {
		_, err := Parse(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := Parse(strings.Repeat("#", MaxFile+1)); err == nil {
		t.Error("oversized file accepted")
	}
}
