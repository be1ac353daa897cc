package filter

import (
	"errors"
	"strings"
	"testing"
)

// TestParseErrors: a broken script is refused with the line, the column
// and what was expected (STYLE.md §15).
func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ src, want string }{
		{"", "1:1: the script holds no filter"},
		{"# only a comment\n.\n", "3:1: the script holds no filter"},
		{"f:", `1:3: expected 'if' or an action after "f:", found end of script`},
		{"f:\n.\n", `2:1: expected 'if' or an action after "f:", found '.'`},
		{"f if (true) {drop();}", `1:3: expected ':' after the filter name, found "if"`},
		{"(f): drop();", `1:1: expected a filter name, found '('`},
		{"f: if (spf-status == \"Pass\") { drop() }", `1:39: expected ';' after drop(...), found '}'`},
		{"f: if spf-passed drop(); }", `1:18: expected '{' or a condition operator (and, or), found "drop"`},
		{"if: drop();", `1:1: "if" is a reserved word and cannot name a filter`},
		{"NOT! drop();", `1:1: "NOT" is a reserved word and cannot name a filter`},
		{"f: if (a ! b) { drop(); }", `1:8: unknown rule "a"`},
		{"f: if (spf-passed ! true) { drop(); }", `1:19: expected ')' or a condition operator (and, or), found '!'`},
		{"f: if (spf-passed { drop(); }", `1:19: expected ')' or a condition operator (and, or), found '{'`},
		{"f: if { drop(); }", `1:7: expected a condition, found '{'`},
		{"f: if ((spf-passed) { drop(); }", `1:21: expected ')' or a condition operator (and, or), found '{'`},
		{"f: if (true and) { drop(); }", `1:16: expected a condition, found ')'`},
		{"f: if () { drop(); }", `1:8: expected a condition, found ')'`},
		{"f: if (true) { drop();", `1:23: expected 'if' or an action, found end of script`},
		{"f: if (true) { drop(); } else drop();", `1:31: expected '{' or 'if' after 'else', found "drop"`},
		{"f:\nif (true) {\n  drop();\n}\nelse", `5:5: expected '{' or 'if' after 'else', found end of script`},
		{"f: if (nosuch) { drop(); }", `1:8: unknown rule "nosuch"`},
		{"f: if (true) { explode(); }", `1:16: unknown action "explode"`},
		{"f: if (subject = \"x\") { drop(); }", `1:16: unexpected "=": the comparisons are == and !=`},
		{"f: if (subject == \"abc) { drop(); }", `1:19: unterminated string`},
		{"f: drop(); @", `1:12: unexpected character "@"`},
		{"f: if (true) {\n\tdrop();\n} \x01", `3:3: unexpected character "\x01"`},
		{"f: log-entry(\"a\x1bb\");", `1:16: control character U+001B`},
		{"f: log-entry(\"\xff\");", `1:15: invalid UTF-8`},
		{"# caf\xe9\nf: drop();", `1:6: invalid UTF-8`},
		{"f: log-entry(\"é\"); # fin \x07\n", `1:26: control character U+0007`},
		// Rules.
		{`f: if (spf-status == "Passed") { drop(); }`, `1:22: "Passed" is not a result of spf-status (None, Pass, Neutral, SoftFail, Fail, TempError, PermError)`},
		{`f: if (spf-status("rcpt") == "Pass") { drop(); }`, `1:19: spf-status checks the identity "helo", "mailfrom" or "pra", not "rcpt"`},
		{`f: if (spf-status("pra", "helo") == "Pass") { drop(); }`, `1:19: spf-status takes 1 argument, not 2`},
		{`f: if (spf-status > "Pass") { drop(); }`, `1:19: expected == or != after spf-status, found '>'`},
		{`f: if (spf-status == Pass) { drop(); }`, `1:22: expected a quoted string after ==, found "Pass"`},
		{`f: if (spf-passed == "Pass") { drop(); }`, `1:19: spf-passed is true or false by itself and takes no comparison`},
		{`f: if (dkim-authentication == "fail") { drop(); }`, `1:31: "fail" is not a result of dkim-authentication (pass, neutral, temperror, permerror, hardfail, none)`},
		{`f: if (dmarc == "quarantine") { drop(); }`, `1:17: "quarantine" is not a result of dmarc (pass, fail, none, temperror, permerror)`},
		{`f: if (subject == "(unclosed") { drop(); }`, "1:19: bad regular expression: error parsing regexp: missing closing ): `(unclosed`"},
		{`f: if (subject == "(a\1)") { drop(); }`, "1:19: bad regular expression: error parsing regexp: invalid escape sequence: `\\1`"},
		{`f: if (subject == "((a{100}){100}){10}") { drop(); }`, "1:19: bad regular expression: error parsing regexp: invalid repeat count: `{100}`"},
		{`f: if (remote-ip == "300.1.1.1") { drop(); }`, `1:21: "300.1.1.1" is not an IP address or CIDR range`},
		{`f: if (forged-email-detection("D", 0)) { drop(); }`, `1:36: expected a threshold from 1 to 100, found "0"`},
		{`f: if (forged-email-detection("D", 101)) { drop(); }`, `1:36: expected a threshold from 1 to 100, found "101"`},
		{`f: if (forged-email-detection("D")) { drop(); }`, `1:34: expected ',' and a threshold from 1 to 100, found ')'`},
		{`f: if (forged-email-detection("", 5)) { drop(); }`, `1:31: expected the quoted name of a content dictionary, found string ""`},
		{`f: if (body-size > 10x) { drop(); }`, `1:20: expected a size such as 1048576, 500k or 10M, found "10x"`},
		{`f: if (body-size => 10) { drop(); }`, `1:18: unexpected "=": the comparisons are == and !=`},
		{`f: if (header("") ) { drop(); }`, `1:15: a header name is 1 to 76 characters`},
		{`f: if (header("X-A") > "1") { drop(); }`, `1:22: expected ')' or a condition operator (and, or), found '>'`},
		// Actions.
		{`f: quarantine();`, `1:15: expected a quoted string argument of quarantine, found ')'`},
		{`f: quarantine("a", "b");`, `1:15: quarantine takes 1 argument, not 2`},
		{`f: quarantine(Policy);`, `1:15: expected a quoted string argument of quarantine, found "Policy"`},
		{`f: drop("x");`, `1:9: drop takes 0 arguments, not 1`},
		{`f: drop;`, `1:4: expected 'if' or an action, found "drop"`},
		{`f: insert-header("Bad Name", "x");`, `1:18: "Bad Name" is not a header name (printable characters other than ':' and space)`},
		{`f: strip-header("Subject:");`, `1:17: "Subject:" is not a header name (printable characters other than ':' and space)`},
		{`f: fed("to", "");`, `1:8: fed replaces only the "from" header, not "to"`},
		{`f: fed("from", "x");`, `1:16: fed takes "" as its second argument (the envelope sender replaces From:)`},
	} {
		_, err := Parse(tc.src)
		if err == nil {
			t.Errorf("%q: parsed", tc.src)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: %T is not an *Error", tc.src, err)
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

// TestBounds: the limits on what an import or a session may make Parse do.
func TestBounds(t *testing.T) {
	t.Parallel()
	deep := "f: if (" + strings.Repeat("(", MaxDepth) + "true" + strings.Repeat(")", MaxDepth) + ") { drop(); }"
	if _, err := Parse(deep); err == nil || !strings.Contains(err.Error(), "nested deeper than 32 levels") {
		t.Errorf("%d parentheses: %v", MaxDepth, err)
	}
	ok := "f: if (" + strings.Repeat("(", MaxDepth-2) + "true" + strings.Repeat(")", MaxDepth-2) + ") { drop(); }"
	if _, err := Parse(ok); err != nil {
		t.Errorf("%d parentheses: %v", MaxDepth-2, err)
	}
	nots := "f: if (" + strings.Repeat("not ", 100) + "true) { drop(); }"
	if _, err := Parse(nots); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("100 nots: %v", err)
	}
	ifs := "f: " + strings.Repeat("if (true) { ", 40) + "drop();" + strings.Repeat(" }", 40)
	if _, err := Parse(ifs); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("40 nested ifs: %v", err)
	}
	big := "f: drop();\n" + strings.Repeat("#", MaxScriptBytes)
	if _, err := Parse(big); err == nil || err.Error() != "1:1: the script is larger than 256 KiB" {
		t.Errorf("huge script: %v", err)
	}
	long := `f: log-entry("` + strings.Repeat("x", MaxStringBytes+1) + `");`
	if _, err := Parse(long); err == nil || err.Error() != "1:14: string longer than 4096 bytes" {
		t.Errorf("long string: %v", err)
	}
	name := strings.Repeat("n", MaxNameBytes+1) + ": drop();"
	if _, err := Parse(name); err == nil || err.Error() != "1:1: the filter name is longer than 128 characters" {
		t.Errorf("long name: %v", err)
	}
	if _, err := Parse(`f: if (subject == "(0123456789){1000}") { drop(); }`); err != nil {
		t.Errorf("an 11,000-instruction expression: %v", err)
	}
	if _, err := Parse(`f: if (subject == "(01234567890123456789){1000}") { drop(); }`); err == nil ||
		err.Error() != "1:19: the regular expression is too large (more than 20000 instructions)" {
		t.Errorf("a 21,000-instruction expression: %v", err)
	}
}

// TestCanonical: String prints a parsed filter in the canonical form, and
// parsing that gives the same filter again.
func TestCanonical(t *testing.T) {
	t.Parallel()
	src := `# leads the filter
# second line
f1: if(subject=='it''s'or header('X-A')){  # trailing: dropped
  # kept
  insert-header('X-Note', 'say "hi" \' \\ done'); }
else if (body-size>=10k and not remote-ip=="192.0.2.0/24") {drop();}
else { if (mail-from == "example\.com$" and dmarc-status != 'PASS,none') { bounce(); } }
f2: quarantine("Policy"); log-entry("$FilterName")
;
.
`
	want := `# leads the filter
# second line
f1:
if (subject == "it" or header("X-A")) {
    # kept
    insert-header("X-Note", "say \"hi\" ' \ done");
} else if (body-size >= 10k and not remote-ip == "192.0.2.0/24") {
    drop();
} else {
    if (mail-from == "example\.com$" and dmarc-status != "pass, none") {
        bounce();
    }
}
f2:
quarantine("Policy");
log-entry("$FilterName");
`
	// 'it''s' is two strings, not an escaped quote: refused.
	if _, err := Parse(src); err == nil || err.Error() != `3:21: expected ')' or a condition operator (and, or), found string "s"` {
		t.Errorf("'it''s': %v", err)
	}
	src = strings.Replace(src, `'it''s'`, `'it'`, 1)
	fs := mustParse(t, src)
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String())
	}
	if b.String() != want {
		t.Errorf("canonical form:\n%s\nwant\n%s", b.String(), want)
	}
	again := mustParse(t, b.String())
	for i := range again {
		if again[i].String() != fs[i].String() {
			t.Errorf("round trip of %s changed it:\n%s", fs[i].Name, again[i].String())
		}
	}
	// The value of a string keeps its backslashes where they are not
	// escapes, so a regular expression reads the same either way.
	for _, s := range []string{`a\.b`, `a\\b`, `end\`, `q"uo'te`, `\"`} {
		fs := mustParse(t, "f: log-entry("+quote(s)+");")
		if got := fs[0].body[0].(*action).args[0]; got != s {
			t.Errorf("quote(%q) reads back as %q", s, got)
		}
	}
}

// TestSeedCanonical: DETAIL shows the seed's filters like this.
func TestSeedCanonical(t *testing.T) {
	t.Parallel()
	fs := mustParse(t, seedScript)
	want := `quarantine-spf-failed-mail:
if (spf-status("pra") == "Fail") {
    if (spf-status("mailfrom") == "Fail") {
        # completely malicious mail
        quarantine("Policy");
    } else {
        if (spf-status("mailfrom") == "SoftFail") {
            # malicious mail, but tempting
            quarantine("Policy");
        }
    }
} else {
    if (spf-status("pra") == "SoftFail") {
        if (spf-status("mailfrom") == "Fail" or spf-status("mailfrom") == "SoftFail") {
            # malicious mail, but tempting
            quarantine("Policy");
        }
    }
}
`
	if got := fs[1].String(); got != want {
		t.Errorf("canonical:\n%s\nwant\n%s", got, want)
	}
}

// TestApplianceForms: what the appliance's guide shows of the syntax — a
// condition without parentheses ("filterstatus: if true{skip-filters();}")
// and an inactive filter written with "!" instead of ":" — parses, and
// String writes "!" back.
func TestApplianceForms(t *testing.T) {
	t.Parallel()
	fs := mustParse(t, "filterstatus: if true{skip-filters();}\nfilterstatus2! if true{skip-filters();}\n")
	if fs[0].Inactive || !fs[1].Inactive {
		t.Errorf("Inactive: %v %v", fs[0].Inactive, fs[1].Inactive)
	}
	want := "filterstatus2!\nif (true) {\n    skip-filters();\n}\n"
	if got := fs[1].String(); got != want {
		t.Errorf("String:\n%s\nwant\n%s", got, want)
	}
	again := mustParse(t, fs[1].String())
	if !again[0].Inactive || again[0].String() != want {
		t.Errorf("round trip: %v\n%s", again[0].Inactive, again[0].String())
	}
	fs = mustParse(t, "g: if not spf-passed and true { drop(); }")
	if got := fs[0].String(); got != "g:\nif (not spf-passed and true) {\n    drop();\n}\n" {
		t.Errorf("String:\n%s", got)
	}
}
