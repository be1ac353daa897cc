package dmarc

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedDir is the conformance material shared by the project, outside the
// repository: ../../../shared/testdata/dmarc from this package.
func sharedDir(t testing.TB, parts ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{"..", "..", "..", "shared", "testdata", "dmarc"}, parts...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared DMARC test material not found at %s (%v): skipping", dir, err)
	}
	return dir
}

type yamlCase struct {
	id, record string
}

// readRecordCases reads the two fields we need from record-cases.yaml. The
// file is a flat list of "- id:" items with one "key: value" per line, plain
// or single-quoted, so a line reader is enough (no YAML dependency).
func readRecordCases(t *testing.T) []yamlCase {
	f, err := os.Open(filepath.Join(sharedDir(t), "record-cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []yamlCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "- id: "):
			cases = append(cases, yamlCase{id: yamlScalar(t, line[len("- id: "):])})
		case strings.HasPrefix(line, "  record: "):
			if len(cases) == 0 {
				t.Fatalf("record before any id: %q", line)
			}
			cases[len(cases)-1].record = yamlScalar(t, line[len("  record: "):])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func yamlScalar(t *testing.T, s string) string {
	if strings.HasPrefix(s, "'") {
		if !strings.HasSuffix(s, "'") || len(s) < 2 {
			t.Fatalf("unterminated single-quoted scalar %q", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
	if strings.HasPrefix(s, `"`) {
		t.Fatalf("double-quoted scalars are not expected in record-cases.yaml: %q", s)
	}
	return s
}

// want is the RFC 7489 reading of a case (the file's rfc7489_expected
// column, written out as values).
type want struct {
	err      error // ErrNotDMARC, ErrNoPolicy or nil
	p, sp    Policy
	fallback bool
	adkim    Alignment
	aspf     Alignment
	pct      int
	fo, rf   string
	ri       uint32
	rua, ruf []ReportURI
}

// base is the record every default gives.
func base(p Policy) want {
	return want{p: p, pct: 100, fo: "0", rf: "afrf", ri: 86400}
}

func with(w want, f func(*want)) want { f(&w); return w }

var abuseRUA = []ReportURI{{URI: "mailto:dmarc-a@abuse.net"}}
var abuseRUF = []ReportURI{{URI: "mailto:dmarc-f@abuse.net"}}

var recordCaseWants = map[string]want{
	"od-01": with(base(PolicyNone), func(w *want) { w.rua, w.ruf = abuseRUA, abuseRUF }),
	"od-02": base(PolicyNone),
	"od-03": base(PolicyReject),
	"od-04": base(PolicyQuarantine),
	"od-05": {err: ErrNoPolicy}, // p=n: no prefix matching, no rua
	"od-06": {err: ErrNotDMARC},
	"od-07": {err: ErrNotDMARC},
	"od-08": {err: ErrNoPolicy},
	"od-09": {err: ErrNoPolicy}, // bad sp, no rua
	"od-10": base(PolicyNone),   // adkim=bob ignored
	"od-11": base(PolicyNone),
	"od-12": base(PolicyNone),
	"od-13": base(PolicyNone),
	"od-14": base(PolicyNone), // pct=500 ignored
	"od-15": {err: ErrNoPolicy},
	"od-16": with(base(PolicyNone), func(w *want) { w.rua = []ReportURI{{URI: "ftp://abuse.com"}} }),
	"od-17": with(base(PolicyNone), func(w *want) { w.ruf = []ReportURI{{URI: "mailto://abuse.com"}} }),
	"od-18": with(base(PolicyNone), func(w *want) { w.ruf = []ReportURI{{URI: "mailto://abuse.com"}} }),
	"od-19": base(PolicyNone),
	"od-fetch": with(base(PolicyNone), func(w *want) {
		w.sp, w.adkim, w.aspf, w.pct, w.ri = PolicyNone, Strict, Strict, 50, 300
		w.rua, w.ruf = abuseRUA, abuseRUF
	}),
	// The missing ";" swallows rua into fo's value: fo is bad (ignored) and
	// there is no rua tag.
	"od-buf":          with(base(PolicyNone), func(w *want) { w.ruf = abuseRUF }),
	"cd-mixedcase":    base(PolicyReject),
	"cd-badpolicy":    with(base(PolicyNone), func(w *want) { w.fallback = true; w.rua = []ReportURI{{URI: "mailto:dmarc@example.com"}} }),
	"cd-dup":          {err: ErrNoPolicy}, // p twice is a syntax error in p
	"cd-unknown":      base(PolicyReject),
	"cd-fo-invalid":   base(PolicyReject),
	"cd-sp-invalid":   {err: ErrNoPolicy},
	"cd-no-p-rua":     with(base(PolicyNone), func(w *want) { w.fallback = true; w.rua = []ReportURI{{URI: "mailto:dmarc@example.com"}} }),
	"cd-p-not-second": with(base(PolicyReject), func(w *want) { w.sp = PolicyNone }),
	"cd-leading-ws":   {err: ErrNotDMARC},
	"rfc-np":          base(PolicyReject), // np is not RFC 7489: ignored
	"rfc-rua-size": with(base(PolicyNone), func(w *want) {
		w.rua = []ReportURI{{URI: "mailto:a@example.com", MaxSize: 10 << 20}, {URI: "mailto:b@example.net"}}
	}),
	"rfc-v-case":     {err: ErrNotDMARC},
	"rfc-spaces":     with(base(PolicyQuarantine), func(w *want) { w.pct = 20 }),
	"rfc-trailing":   base(PolicyReject),
	"rfc-fo-list":    with(base(PolicyNone), func(w *want) { w.fo = "0:1:d:s" }),
	"rfc-ri-zero":    with(base(PolicyNone), func(w *want) { w.ri = 0 }),
	"rfc-pct-0":      with(base(PolicyReject), func(w *want) { w.pct = 0 }),
	"rfc-adkim-case": with(base(PolicyNone), func(w *want) { w.adkim = Strict }),
}

// TestRecordCases checks every case of the shared record-cases.yaml against
// its RFC 7489 reading.
func TestRecordCases(t *testing.T) {
	cases := readRecordCases(t)
	if len(cases) != 39 {
		t.Errorf("record-cases.yaml has %d cases, the README promises 39", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.id] = true
		w, ok := recordCaseWants[c.id]
		if !ok {
			t.Errorf("case %s (%q) has no expectation in this test", c.id, c.record)
			continue
		}
		t.Run(c.id, func(t *testing.T) {
			r, err := Parse(c.record, RFC7489)
			if !errors.Is(err, w.err) || (w.err == nil) != (err == nil) {
				t.Fatalf("Parse(%q) error = %v, want %v", c.record, err, w.err)
			}
			if w.err != nil {
				return
			}
			got := want{p: r.P, sp: r.SP, fallback: r.PFallback, adkim: r.ADKIM, aspf: r.ASPF,
				pct: r.Pct, fo: r.FO, rf: r.RF, ri: r.RI, rua: r.RUA, ruf: r.RUF}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v\nnotes %q", c.record, got, w, r.Notes)
			}
		})
	}
	for id := range recordCaseWants {
		if !seen[id] {
			t.Errorf("expectation for %s has no case in record-cases.yaml", id)
		}
	}
}

// TestParseNotes: what the tolerant parser ignores is said, for the log.
func TestParseNotes(t *testing.T) {
	r, err := Parse("v=DMARC1; p=none; adkim=bob; foo=bar; pct=500; junk", RFC7489)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`malformed tag "junk" ignored`,
		`adkim=bob is not r or s: relaxed`,
		`unknown tag foo ignored`,
		`pct=500 is not 0-100: pct=100`,
	}
	if !reflect.DeepEqual(r.Notes, want) {
		t.Errorf("notes = %q, want %q", r.Notes, want)
	}
}

// TestParseDMARCbis: the DMARCbis tags are read only in that mode, the tags
// RFC 9989 removed are ignored there, and a missing p reads as none.
func TestParseDMARCbis(t *testing.T) {
	rec := "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y; t=y; pct=10; ri=60"
	r, err := Parse(rec, DMARCbis)
	if err != nil {
		t.Fatal(err)
	}
	if r.P != PolicyReject || r.SP != PolicyQuarantine || r.NP != PolicyReject || r.PSD != PSDYes || !r.Testing {
		t.Errorf("DMARCbis parse = %+v", r)
	}
	if r.Pct != 100 || r.RI != 86400 {
		t.Errorf("pct/ri must be ignored under DMARCbis: pct=%d ri=%d", r.Pct, r.RI)
	}
	r, err = Parse(rec, RFC7489)
	if err != nil {
		t.Fatal(err)
	}
	if r.NP != PolicyUnset || r.PSD != PSDUnknown || r.Testing || r.Pct != 10 || r.RI != 60 {
		t.Errorf("RFC 7489 parse = %+v", r)
	}

	for _, tc := range []struct {
		rec      string
		p, sp    Policy
		fallback bool
		psd      PSD
	}{
		{"v=DMARC1", PolicyNone, PolicyUnset, true, PSDUnknown},
		{"v=DMARC1; p=bogus; psd=n", PolicyNone, PolicyUnset, true, PSDNo},
		{"v=DMARC1; p=reject; sp=bogus; np=bogus; psd=x", PolicyReject, PolicyUnset, false, PSDUnknown},
		{"v=DMARC1; p=reject; t=maybe", PolicyReject, PolicyUnset, false, PSDUnknown},
	} {
		r, err := Parse(tc.rec, DMARCbis)
		if err != nil {
			t.Errorf("Parse(%q, DMARCbis): %v", tc.rec, err)
			continue
		}
		if r.P != tc.p || r.SP != tc.sp || r.PFallback != tc.fallback || r.PSD != tc.psd || r.NP != PolicyUnset || r.Testing {
			t.Errorf("Parse(%q, DMARCbis) = %+v", tc.rec, r)
		}
	}
}

func TestReportURIs(t *testing.T) {
	r, err := Parse("v=DMARC1; p=none; rua=mailto:a@example.com!1k , mailto:b%21c@example.net!2t,bad uri,mailto:c@example.org!x,nope", RFC7489)
	if err != nil {
		t.Fatal(err)
	}
	want := []ReportURI{{URI: "mailto:a@example.com", MaxSize: 1 << 10}, {URI: "mailto:b%21c@example.net", MaxSize: 2 << 40}}
	if !reflect.DeepEqual(r.RUA, want) {
		t.Errorf("rua = %+v, want %+v", r.RUA, want)
	}
	if got := r.RUA[1].Mailbox(); got != "b!c@example.net" {
		t.Errorf("Mailbox = %q", got)
	}
	for _, u := range []string{"ftp://abuse.com", "mailto://abuse.com", "mailto:nobody"} {
		if got := (ReportURI{URI: u}).Mailbox(); got != "" {
			t.Errorf("Mailbox(%q) = %q, want none", u, got)
		}
	}
	r, err = Parse("v=DMARC1; p=none; rua=mailto:a@example.com!10m", DMARCbis)
	if err != nil || len(r.RUA) != 1 || r.RUA[0].MaxSize != 0 {
		t.Errorf("DMARCbis must ignore the obsolete size suffix: %+v, %v", r, err)
	}
	if _, err := Parse("v=DMARC1; rua=mailto:a@example.com!99999999999999999999", RFC7489); !errors.Is(err, ErrNoPolicy) {
		t.Errorf("an overflowing size makes the URI invalid and leaves no rua: err = %v", err)
	}
}

func TestIsDMARC(t *testing.T) {
	for s, want := range map[string]bool{
		"v=DMARC1":           true,
		"V = DMARC1 ;p=none": true,
		"v=DMARC1;":          true,
		"v=DMARC10":          false,
		"v=DMARC1x; p=none":  false,
		" v=DMARC1":          false,
		"v=dmarc1":           false,
		"v=spf1 -all":        false,
		"":                   false,
	} {
		if got := IsDMARC(s); got != want {
			t.Errorf("IsDMARC(%q) = %v, want %v", s, got, want)
		}
	}
}
