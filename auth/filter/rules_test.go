package filter

import (
	"reflect"
	"strings"
	"testing"
)

// typical is the message most rule cases look at.
func typical() Message {
	return Message{
		SPF:         spf("SoftFail", "Pass", "None"),
		DKIM:        "pass",
		DMARC:       "fail",
		SenderGroup: "SUSPECTLIST",
		RemoteIP:    "192.0.2.77",
		MailFrom:    "bounce@news.example.org",
		Rcpts:       []string{"alice@example.com", "bob@example.net"},
		Header: []Field{
			{"From", `"Olivia Smith" <ceo@evil.example>`},
			{"Subject", "=?UTF-8?Q?Invoice_42?= overdue"},
			{"X-Mailer", "Bulk 2.0"},
			{"Received", "from a"},
			{"Received", "from b"},
		},
		Size: 20 << 10,
	}
}

// cond runs "t: if (c) { log-entry("hit"); }" over m and reports whether
// the condition was true.
func condTrue(t *testing.T, c string, m Message, env Env) bool {
	t.Helper()
	fs, err := Parse("t: if (" + c + ") { log-entry(\"hit\"); }")
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return len(Run(fs, &m, env).Log) == 1
}

func dictEnv(d map[string][]string) Env {
	return Env{Dictionary: func(name string) (Dictionary, bool) {
		terms, ok := d[name]
		return Dictionary{Terms: terms, IgnoreCase: true}, ok
	}}
}

// TestRules: every rule, true and false, on the typical message (or the
// variant a case makes of it).
func TestRules(t *testing.T) {
	t.Parallel()
	env := dictEnv(map[string][]string{"Executives": {"Bob Jones", "Olivia Smith"}})
	for _, tc := range []struct {
		cond string
		edit func(m *Message)
		want bool
	}{
		// spf-status without an identity: true when one of the verdicts
		// (SoftFail, Pass, None here) matches.
		{`spf-status == "SoftFail"`, nil, true},
		{`spf-status == "softfail"`, nil, true},
		{`spf-status == "Pass"`, nil, true},
		{`spf-status == "Fail, PermError"`, nil, false},
		{`spf-status != "Pass"`, nil, true},
		{`spf-status != "Pass, SoftFail, None"`, nil, false},
		{`spf-status != "Pass"`, func(m *Message) { m.SPF = map[string]string{"mailfrom": "Pass", "helo": "Pass"} }, false},
		{`spf-status == "None"`, func(m *Message) { m.SPF = map[string]string{"helo": "None"} }, true},
		{`spf-status == "Fail"`, func(m *Message) { m.SPF = map[string]string{"helo": "Fail"} }, true},
		{`spf-status == "None"`, func(m *Message) { m.SPF = nil }, true},
		{`spf-status != "None"`, func(m *Message) { m.SPF = nil }, false},
		{`spf-status("mailfrom") == "Pass"`, nil, true},
		{`spf-status("helo") == "None"`, nil, true},
		{`spf-status("pra") == "Fail, SoftFail"`, nil, true},
		{`spf-status("pra") == "PermError, TempError"`, nil, false},
		{`spf-status("pra") != "PermError, TempError"`, nil, true},
		{`spf-status("pra") != "Fail, SoftFail"`, nil, false},
		{`spf-status("PRA") == "SoftFail"`, nil, true},
		// spf-passed: only Pass, of PRA, else MAIL FROM, else HELO.
		{`spf-passed`, nil, false},
		{`spf-passed`, func(m *Message) { m.SPF = map[string]string{"mailfrom": "Fail", "helo": "Pass"} }, false},
		{`spf-passed`, func(m *Message) { m.SPF = map[string]string{"helo": "Pass"} }, true},
		{`spf-passed`, func(m *Message) { m.SPF["pra"] = "Pass" }, true},
		{`spf-passed`, func(m *Message) { m.SPF = map[string]string{"mailfrom": "Pass"} }, true},
		{`spf-passed`, func(m *Message) { m.SPF = map[string]string{"mailfrom": "Neutral"} }, false},
		{`spf-passed`, func(m *Message) { m.SPF = nil }, false},
		// dkim-authentication.
		{`dkim-authentication == "pass"`, nil, true},
		{`dkim-authentication == "PASS"`, nil, true},
		{`dkim-authentication == "hardfail, permerror"`, nil, false},
		{`dkim-authentication == "hardfail, permerror"`, func(m *Message) { m.DKIM = "permerror" }, true},
		{`dkim-authentication != "pass"`, nil, false},
		{`dkim-authentication == "none"`, func(m *Message) { m.DKIM = "" }, true},
		{`dkim-authentication == "temperror"`, func(m *Message) { m.DKIM = "temperror" }, true},
		{`dkim-authentication == "neutral"`, func(m *Message) { m.DKIM = "neutral" }, true},
		// dmarc and its alias.
		{`dmarc == "fail"`, nil, true},
		{`dmarc-status == "fail"`, nil, true},
		{`dmarc == "pass"`, nil, false},
		{`dmarc != "pass, none"`, nil, true},
		{`dmarc == "temperror, permerror"`, func(m *Message) { m.DMARC = "temperror" }, true},
		{`dmarc == "none"`, func(m *Message) { m.DMARC = "" }, true},
		// forged-email-detection.
		{`forged-email-detection("Executives", 90)`, nil, true},
		{`forged-email-detection("Executives", 100)`, nil, true},
		{`forged-email-detection("Executives", 90)`, func(m *Message) { m.Header[0].Value = "Smith, Olivia <x@evil.example>" }, true},
		{`forged-email-detection("Executives", 90)`, func(m *Message) { m.Header[0].Value = `"0livia Smith" <x@evil.example>` }, true},
		{`forged-email-detection("Executives", 95)`, func(m *Message) { m.Header[0].Value = `"0livia Smith" <x@evil.example>` }, false},
		{`forged-email-detection("Executives", 90)`, func(m *Message) { m.Header[0].Value = `=?UTF-8?B?T2xpdmlhIFNtaXRo?= <x@evil.example>` }, true},
		{`forged-email-detection("Executives", 90)`, func(m *Message) { m.Header[0].Value = `"Mallory Brown" <x@evil.example>` }, false},
		{`forged-email-detection("Executives", 50)`, func(m *Message) { m.Header[0].Value = `olivia.smith@example.com` }, false},
		{`forged-email-detection("Executives", 90)`, func(m *Message) { m.Header = m.Header[1:] }, false},
		{`forged-email-detection("Nobody", 1)`, nil, false},
		// sendergroup: the whole name.
		{`sendergroup == "SUSPECTLIST"`, nil, true},
		{`sendergroup == "SUSPECT"`, nil, false},
		{`sendergroup == "SUSPECT.*"`, nil, true},
		{`sendergroup == "TRUSTED|SUSPECTLIST"`, nil, true},
		{`sendergroup != "SUSPECTLIST"`, nil, false},
		// remote-ip.
		{`remote-ip == "192.0.2.0/24"`, nil, true},
		{`remote-ip == "192.0.2.77"`, nil, true},
		{`remote-ip == "192.0.2.78"`, nil, false},
		{`remote-ip == "198.51.100.0/24, 192.0.2.64/26"`, nil, true},
		{`remote-ip != "192.0.2.0/24"`, nil, false},
		{`remote-ip == "192.0.2.0/24"`, func(m *Message) { m.RemoteIP = "::ffff:192.0.2.1" }, true},
		{`remote-ip == "2001:db8::/32"`, func(m *Message) { m.RemoteIP = "2001:db8::25" }, true},
		{`remote-ip == "2001:db8::/32"`, nil, false},
		{`remote-ip == "192.0.2.0/24"`, func(m *Message) { m.RemoteIP = "" }, false},
		// mail-from, rcpt-to, subject: anywhere in the value.
		{`mail-from == "@news\.example\.org$"`, nil, true},
		{`mail-from == "^news"`, nil, false},
		{`mail-from != "example"`, nil, false},
		{`rcpt-to == "^bob@"`, nil, true},
		{`rcpt-to == "^carol@"`, nil, false},
		{`rcpt-to != "^carol@"`, nil, true},
		{`rcpt-to != "example"`, nil, false},
		{`subject == "overdue"`, nil, true},
		{`subject == "OVERDUE"`, nil, false},
		{`subject == "(?i)OVERDUE"`, nil, true},
		{`subject != "overdue"`, nil, false},
		{`subject == "x"`, func(m *Message) { m.Header = nil }, false},
		{`subject != "x"`, func(m *Message) { m.Header = nil }, true},
		// header.
		{`header("X-Mailer")`, nil, true},
		{`header("x-mailer")`, nil, true},
		{`header("X-Spam")`, nil, false},
		{`header("X-Mailer") == "^Bulk"`, nil, true},
		{`header("X-Mailer") == "^Mass"`, nil, false},
		{`header("Received") == "from b"`, nil, true},
		{`header("X-Mailer") != "^Bulk"`, nil, false},
		// body-size.
		{`body-size > 10k`, nil, true},
		{`body-size > 20k`, nil, false},
		{`body-size >= 20k`, nil, true},
		{`body-size == 20480`, nil, true},
		{`body-size != 20480`, nil, false},
		{`body-size < 1M`, nil, true},
		{`body-size <= 20479`, nil, false},
		{`body-size > 1G`, func(m *Message) { m.Size = 2 << 30 }, true},
		// constants.
		{`true`, nil, true},
		{`false`, nil, false},
	} {
		m := typical()
		m.SPF = spf("SoftFail", "Pass", "None")
		if tc.edit != nil {
			tc.edit(&m)
		}
		if got := condTrue(t, tc.cond, m, env); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

// TestPrecedence: not binds tighter than and, and tighter than or;
// parentheses override; String prints the fewest parentheses that keep
// the meaning.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cond, canon string
		want        bool
	}{
		{"true or false and false", "true or false and false", true},
		{"(true or false) and false", "(true or false) and false", false},
		{"not true or true", "not true or true", true},
		{"not (true or true)", "not (true or true)", false},
		{"not false and false", "not false and false", false},
		{"not (false and false)", "not (false and false)", true},
		{"false and true or true", "false and true or true", true},
		{"false and (true or true)", "false and (true or true)", false},
		{"not not true", "not not true", true},
		{"((true))", "true", true},
		{"true and (false or true) and not false", "true and (false or true) and not false", true},
	} {
		if got := condTrue(t, tc.cond, Message{}, Env{}); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.cond, got, tc.want)
		}
		fs := mustParse(t, "t: if ("+tc.cond+") { drop(); }")
		want := "t:\nif (" + tc.canon + ") {\n    drop();\n}\n"
		if got := fs[0].String(); got != want {
			t.Errorf("String of %s:\n%s\nwant\n%s", tc.cond, got, want)
		}
	}
}

// TestActions: what each action leaves in the Result, and which actions
// end filtering.
func TestActions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script string
		edit         func(m *Message)
		want         Result // Trace is not compared
	}{
		{"quarantine is not final", `a: quarantine("Policy"); b: log-entry("b ran");`, nil,
			Result{Quarantine: "Policy", Log: []string{"b ran"}, Matched: []string{"a", "b"}}},
		{"first quarantine wins", `a: quarantine("Policy"); b: quarantine("Other");`, nil,
			Result{Quarantine: "Policy", Matched: []string{"a", "b"}}},
		{"drop is final", `a: drop(); log-entry("same filter"); b: log-entry("b ran");`, nil,
			Result{Disposition: Drop, Matched: []string{"a"}}},
		{"bounce is final", `a: if (true) { bounce(); } b: drop();`, nil,
			Result{Disposition: Bounce, Matched: []string{"a"}}},
		{"deliver is final", `a: deliver(); b: drop();`, nil,
			Result{Matched: []string{"a"}}},
		{"drop wins over an earlier quarantine", `a: quarantine("Policy"); b: drop();`, nil,
			Result{Disposition: Drop, Matched: []string{"a", "b"}}},
		{"skip-filters ends filtering", `a: insert-header("X-A", "1"); skip-filters(); insert-header("X-B", "2"); b: drop();`, nil,
			Result{Insert: []Field{{"X-A", "1"}}, Matched: []string{"a"}}},
		{"header edits accumulate", `a: insert-header("X-A", "1"); b: strip-header("Subject"); insert-header("X-B", "2");`, nil,
			Result{Insert: []Field{{"X-A", "1"}, {"X-B", "2"}}, Strip: []string{"Subject"}, Matched: []string{"a", "b"}}},
		{"strip-header removes an earlier insert", `a: insert-header("X-A", "1"); b: strip-header("x-a"); strip-header("X-A");`, nil,
			Result{Strip: []string{"x-a"}, Matched: []string{"a", "b"}}},
		{"variables from the original message", `stamp: insert-header("X-Info", "$Subject|$EnvelopeFrom|$RemoteIP|$FilterName|$subject|$Unknown|$");
			strip-header("Subject"); insert-header("Subject", "[X] $Subject");`, nil,
			Result{Insert: []Field{{"X-Info", "Hello|a@example.org|192.0.2.1|stamp|Hello|$Unknown|$"}, {"Subject", "[X] Hello"}},
				Strip: []string{"Subject"}, Matched: []string{"stamp"}}},
		{"log-entry expands too", `f: log-entry("from $EnvelopeFrom");`, nil,
			Result{Log: []string{"from a@example.org"}, Matched: []string{"f"}}},
		{"fed replaces From: with the envelope sender", `f: fed("from", "");`, nil,
			Result{Insert: []Field{{"From", "a@example.org"}}, Strip: []string{"From"}, Matched: []string{"f"}}},
		{"fed leaves From: alone for the null sender", `f: fed("from", "");`, func(m *Message) { m.MailFrom = "" },
			Result{Matched: []string{"f"}}},
		{"fed takes the address out of angle brackets", `f: fed("FROM", "");`, func(m *Message) { m.MailFrom = "<a@example.org>" },
			Result{Insert: []Field{{"From", "a@example.org"}}, Strip: []string{"From"}, Matched: []string{"f"}}},
		{"fed leaves From: alone for <>", `f: fed("from", "");`, func(m *Message) { m.MailFrom = "<>" },
			Result{Matched: []string{"f"}}},
		{"skip-*check are recorded no-ops", `f: skip-spamcheck(); skip-viruscheck(); skip-ampcheck(); skip-outbreakcheck(); skip-marketingcheck();`, nil,
			Result{Matched: []string{"f"}}},
		{"an inactive filter does not run", "a! drop(); b: log-entry(\"b ran\");", nil,
			Result{Log: []string{"b ran"}, Matched: []string{"b"}}},
		{"a false condition runs nothing", `f: if (false) { drop(); }`, nil, Result{}},
		{"else runs when false", `f: if (false) { drop(); } else { bounce(); }`, nil, Result{Disposition: Bounce, Matched: []string{"f"}}},
		{"else if chain", `f: if (false) { drop(); } else if (true) { quarantine("Q"); } else { bounce(); }`, nil,
			Result{Quarantine: "Q", Matched: []string{"f"}}},
		{"conditions see the original header", `a: strip-header("Subject"); b: if (subject == "Hello") { log-entry("seen"); }`, nil,
			Result{Strip: []string{"Subject"}, Log: []string{"seen"}, Matched: []string{"a", "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Message{MailFrom: "a@example.org", RemoteIP: "192.0.2.1", Header: []Field{{"Subject", "Hello"}, {"From", "Boss <boss@example.com>"}}}
			if tc.edit != nil {
				tc.edit(&m)
			}
			got := Run(mustParse(t, tc.script), &m, Env{})
			trace := got.Trace
			got.Trace = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v\ntrace %q", got, tc.want, trace)
			}
		})
	}
}

// TestTrace: one line per filter, saying what was evaluated and done, and
// why later filters did not run.
func TestTrace(t *testing.T) {
	t.Parallel()
	fs := mustParse(t, `a: if (spf-passed) { log-entry("x"); } else { quarantine("Policy"); }
b: fed("from", "");
c: if (forged-email-detection("Gone", 50)) { drop(); }
d: drop();
e: bounce();
f! drop();`)
	got := Run(fs, &Message{Header: []Field{{"From", "X <x@example.com>"}}}, Env{}).Trace
	want := []string{
		`a: (spf-passed) is false -> quarantine("Policy")`,
		`b: -> fed("from", "") (null envelope sender: From: left alone)`,
		`c: dictionary Gone not available; (forged-email-detection("Gone", 50)) is false -> no action`,
		`d: -> drop()`,
		`e: not run (drop() in d is final)`,
		`f: inactive, not run`,
		`the message is dropped, not kept in quarantine Policy`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trace\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestForgedMatches: the matches are recorded once each, with the term and
// score, for the forged email report.
func TestForgedMatches(t *testing.T) {
	t.Parallel()
	env := dictEnv(map[string][]string{"Executives": {"Bob Jones", "Olivia Smith"}, "Board": {"Olivia Smyth"}})
	fs := mustParse(t, `a: if (forged-email-detection("Executives", 80) or forged-email-detection("Board", 80)) { fed("from", ""); }
b: if (forged-email-detection("Executives", 80) and forged-email-detection("Board", 80)) { log-entry("both"); }`)
	m := Message{MailFrom: "scammer@evil.example", Header: []Field{{"From", `"SMITH, OLIVIA" <ceo@example.com>`}}}
	r := Run(fs, &m, env)
	want := []Match{{"Executives", "Olivia Smith", 100}, {"Board", "Olivia Smyth", 92}}
	if !reflect.DeepEqual(r.Forged, want) {
		t.Errorf("Forged = %+v, want %+v", r.Forged, want)
	}
	if !reflect.DeepEqual(r.Insert, []Field{{"From", "scammer@evil.example"}}) || !reflect.DeepEqual(r.Log, []string{"both"}) {
		t.Errorf("Insert %q Log %q", r.Insert, r.Log)
	}
}

func TestReferences(t *testing.T) {
	t.Parallel()
	fs := mustParse(t, `f: if (forged-email-detection("Execs", 80) or not forged-email-detection("Board", 90)) {
    quarantine("Policy");
} else if (forged-email-detection("Execs", 70)) {
    quarantine("Forged"); quarantine("Policy");
}
g: drop();`)
	if got := fs[0].Quarantines(); !reflect.DeepEqual(got, []string{"Policy", "Forged"}) {
		t.Errorf("Quarantines = %q", got)
	}
	if got := fs[0].Dictionaries(); !reflect.DeepEqual(got, []string{"Execs", "Board"}) {
		t.Errorf("Dictionaries = %q", got)
	}
	if fs[1].Quarantines() != nil || fs[1].Dictionaries() != nil {
		t.Errorf("g names something: %q %q", fs[1].Quarantines(), fs[1].Dictionaries())
	}
}
