package filter

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedScript is the seed's (AsyncOS user guide, "spf-status" and
// "spf-passed") four example message filters, as printed there, with the
// CLI's final ".".
var seedScript = strings.TrimSuffix(seedFile("seed_examples.txt"), ".\n") + seedFile("seed_spf_passed.txt") + ".\n"

// seedFile reads one of the seed's filter texts from testdata/filters.
func seedFile(name string) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "filters", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustParse(t testing.TB, src string) []*Filter {
	t.Helper()
	fs, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return fs
}

func spf(pra, mailfrom, helo string) map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{"pra": pra, "mailfrom": mailfrom, "helo": helo} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// TestSeedFilters: the seed's four filters parse from one script and act
// as their comments and the guide's text say.
func TestSeedFilters(t *testing.T) {
	t.Parallel()
	fs := mustParse(t, seedScript)
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	want := []string{"skip-spam-check-for-verified-senders", "quarantine-spf-failed-mail",
		"stamp-mail-with-spf-verification-error", "quarantine-spf-unauthorized-mail"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	// The last filter quarantines everything that did not pass; the
	// first three are checked alone as well as all four together.
	first3 := fs[:3]
	subject := Field{"Subject", "Quarterly report"}
	stamped := []Field{{"Subject", "[POTENTIAL PHISHING] Quarterly report"}}
	for _, tc := range []struct {
		name       string
		filters    []*Filter
		m          Message
		quarantine string
		insert     []Field
		strip      []string
		matched    []string
	}{
		{"trusted and pass: spam check skipped", first3,
			Message{SenderGroup: "TRUSTED", SPF: spf("Pass", "Pass", "Pass")}, "", nil, nil,
			[]string{"skip-spam-check-for-verified-senders"}},
		{"trusted, one identity passes: spam check skipped", first3,
			Message{SenderGroup: "TRUSTED", SPF: spf("SoftFail", "Pass", "")}, "", nil, nil,
			[]string{"skip-spam-check-for-verified-senders"}},
		{"trusted, no identity passes: nothing", first3,
			Message{SenderGroup: "TRUSTED", SPF: spf("SoftFail", "Neutral", "None")}, "", nil, nil, nil},
		{"untrusted group never matches TRUSTED", first3,
			Message{SenderGroup: "UNTRUSTED", SPF: spf("Pass", "", "")}, "", nil, nil, nil},
		{"pra fail, mailfrom fail: completely malicious", first3,
			Message{SPF: spf("Fail", "Fail", "")}, "Policy", nil, nil, []string{"quarantine-spf-failed-mail"}},
		{"pra fail, mailfrom softfail: malicious but tempting", first3,
			Message{SPF: spf("Fail", "SoftFail", "")}, "Policy", nil, nil, []string{"quarantine-spf-failed-mail"}},
		{"pra fail, mailfrom pass: nothing", first3,
			Message{SPF: spf("Fail", "Pass", "")}, "", nil, nil, nil},
		{"pra softfail, mailfrom fail", first3,
			Message{SPF: spf("SoftFail", "Fail", "")}, "Policy", nil, nil, []string{"quarantine-spf-failed-mail"}},
		{"pra softfail, mailfrom softfail", first3,
			Message{SPF: spf("SoftFail", "SoftFail", "")}, "Policy", nil, nil, []string{"quarantine-spf-failed-mail"}},
		{"pra softfail, mailfrom neutral: nothing", first3,
			Message{SPF: spf("SoftFail", "Neutral", "")}, "", nil, nil, nil},
		{"pra neutral, mailfrom fail: nothing", first3,
			Message{SPF: spf("Neutral", "Fail", "")}, "", nil, nil, nil},
		{"pra permerror: subject stamped", first3,
			Message{SPF: spf("PermError", "Pass", "Pass"), Header: []Field{subject}}, "", stamped, []string{"Subject"},
			[]string{"stamp-mail-with-spf-verification-error"}},
		{"helo temperror: subject stamped", first3,
			Message{SPF: spf("Pass", "Pass", "TempError"), Header: []Field{subject}}, "", stamped, []string{"Subject"},
			[]string{"stamp-mail-with-spf-verification-error"}},
		{"mailfrom temperror, no subject: empty $Subject", first3,
			Message{SPF: spf("", "TempError", "")}, "", []Field{{"Subject", "[POTENTIAL PHISHING] "}}, []string{"Subject"},
			[]string{"stamp-mail-with-spf-verification-error"}},
		{"all four: pass is delivered untouched", fs,
			Message{SenderGroup: "TRUSTED", SPF: spf("Pass", "Pass", "Pass")}, "", nil, nil,
			[]string{"skip-spam-check-for-verified-senders"}},
		{"all four: neutral is not spf-passed", fs,
			Message{SPF: spf("Neutral", "Pass", "")}, "Policy", nil, nil, []string{"quarantine-spf-unauthorized-mail"}},
		{"all four: no SPF at all is not spf-passed", fs,
			Message{}, "Policy", nil, nil, []string{"quarantine-spf-unauthorized-mail"}},
		{"all four: fail, stamped and quarantined once", fs,
			Message{SPF: spf("Fail", "Fail", "PermError"), Header: []Field{subject}}, "Policy", stamped, []string{"Subject"},
			[]string{"quarantine-spf-failed-mail", "stamp-mail-with-spf-verification-error", "quarantine-spf-unauthorized-mail"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(tc.filters, &tc.m, Env{})
			if r.Disposition != Deliver || r.Quarantine != tc.quarantine || !reflect.DeepEqual(r.Insert, tc.insert) ||
				!reflect.DeepEqual(r.Strip, tc.strip) || !reflect.DeepEqual(r.Matched, tc.matched) {
				t.Errorf("got %s quarantine %q insert %q strip %q matched %q\nwant quarantine %q insert %q strip %q matched %q\ntrace:\n%s",
					r.Disposition, r.Quarantine, r.Insert, r.Strip, r.Matched, tc.quarantine, tc.insert, tc.strip, tc.matched, r.Trace)
			}
			if len(r.Trace) != len(tc.filters) {
				t.Errorf("%d trace lines for %d filters: %q", len(r.Trace), len(tc.filters), r.Trace)
			}
		})
	}
}
