package dmarc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seedReport returns the aggregate report example of the appliance's
// documentation (the second half of seed 004).
func seedReport(t *testing.T) string {
	path := filepath.Join("..", "..", "..", "shared", "seeds", "004_be3015f47d69ffcc.txt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("seed document not found at %s (%v): skipping", path, err)
	}
	s := string(b)
	i := strings.Index(s, `<?xml version="1.0" encoding="UTF-8" ?>`)
	j := strings.Index(s, "</feedback>")
	if i < 0 || j < i {
		t.Fatal("no aggregate report example in the seed")
	}
	return s[i : j+len("</feedback>")]
}

var interTag = regexp.MustCompile(`>\s+<`)

func squeeze(s string) string { return interTag.ReplaceAllString(strings.TrimSpace(s), "><") }

// TestSeedExampleReport builds the appliance's example report from its
// evaluations and checks the XML is the example, element for element.
func TestSeedExampleReport(t *testing.T) {
	want := seedReport(t)
	dns := &memDNS{txt: map[string][]string{"_dmarc.example.com": {"v=DMARC1; p=none; sp=none; rua=mailto:dmarc@example.com"}}}
	e := New(dns, Options{})
	in := Input{
		FromDomains: []string{"example.com"},
		SPF:         SPFResult{Domain: "example.com", Scope: ScopeMailFrom, Result: ResultPass},
		DKIM: []DKIMResult{
			{Domain: "example.com", Selector: "ny", Result: ResultFail},
			{Domain: "example.net", Result: ResultPass},
		},
	}
	c := Collector{Begin: time.Unix(1335571200, 0), End: time.Unix(1335657599, 0)}
	for range 2 {
		res := e.Evaluate(context.Background(), in)
		// The seed's example reports this source IP: data in the report,
		// never an address anything connects to.
		row, ok := NewRow(netip.AddrFrom4([4]byte{1, 1, 1, 1}), "", "example.com", in, res)
		if !ok || !c.Add(res, row) {
			t.Fatalf("evaluation not reportable: %+v", res)
		}
	}
	rep := c.Reports["example.com"]
	rep.OrgName, rep.Email = "cisco.com", "noreply-dmarc-support@cisco.com"
	rep.ExtraContactInfo = "http://cisco.com/dmarc/support"
	rep.ReportID = "b1d925$4ecceab=0694614b826605cd@cisco.com"
	got, err := rep.XML()
	if err != nil {
		t.Fatal(err)
	}
	if squeeze(string(got)) != squeeze(want) {
		t.Errorf("report differs from the seed's example\n got: %s\nwant: %s", squeeze(string(got)), squeeze(want))
	}
}

// dayOfTraffic evaluates a day of varied test traffic and collects it.
func dayOfTraffic(t *testing.T) *Collector {
	t.Helper()
	dns := &memDNS{txt: map[string][]string{
		"_dmarc.example.com": {"v=DMARC1; p=reject; sp=quarantine; pct=50; fo=1:d; rua=mailto:agg@example.com!10m,https://example.com/x"},
		"_dmarc.example.org": {"v=DMARC1; p=none"}, // no rua: no report
	}}
	e := New(dns, Options{Rand: &fixedRand{t: t, vals: []int{10, 10, 90, 10}}})
	begin := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	c := &Collector{Begin: begin, End: begin.Add(24*time.Hour - time.Second)}
	msgs := []struct {
		ip, envFrom string
		in          Input
	}{
		{"192.0.2.10", "example.com", Input{FromDomains: []string{"example.com"}, SPF: spfPass("example.com"), DKIM: pass("example.com")}},
		{"192.0.2.10", "example.com", Input{FromDomains: []string{"example.com"}, SPF: spfPass("example.com"), DKIM: pass("example.com")}},
		{"2001:db8::25", "bounce.esp.example", Input{FromDomains: []string{"example.com"}, SPF: spfPass("bounce.esp.example"),
			DKIM: []DKIMResult{{Domain: "esp.example", Selector: "k1", Result: ResultPass}, {Domain: "example.com", Selector: "s1", Result: AuthResult("hardfail")}}}},
		{"198.51.100.7", "example.com", Input{FromDomains: []string{"example.com"}, SPF: SPFResult{Domain: "example.com", Scope: ScopeMailFrom, Result: ResultSoftFail}}}, // sampled in: reject
		{"198.51.100.7", "example.com", Input{FromDomains: []string{"example.com"}, SPF: SPFResult{Domain: "example.com", Scope: ScopeMailFrom, Result: ResultSoftFail}}}, // sampled out
		{"203.0.113.9", "", Input{FromDomains: []string{"news.example.com"}, SPF: SPFResult{Domain: "helo.example.net", Scope: ScopeHelo, Result: ResultNeutral}}},
		{"203.0.113.9", "example.org", Input{FromDomains: []string{"example.org"}, SPF: spfPass("example.org")}},
		{"203.0.113.9", "nowhere.example", Input{FromDomains: []string{"nowhere.example"}}},
	}
	reported := 0
	for _, m := range msgs {
		res := e.Evaluate(context.Background(), m.in)
		row, ok := NewRow(netip.MustParseAddr(m.ip), "example.net", m.envFrom, m.in, res)
		if ok && c.Add(res, row) {
			reported++
		}
	}
	if reported != 6 {
		t.Fatalf("%d messages reported, want 6", reported)
	}
	for _, r := range c.Reports {
		r.OrgName, r.Email, r.ReportID = "esa.example.net", "noreply-dmarc@esa.example.net", "1764547200.42"
		r.ExtraContactInfo = "https://esa.example.net/dmarc"
	}
	return c
}

func TestCollectorRows(t *testing.T) {
	c := dayOfTraffic(t)
	if got := c.Domains(); len(got) != 1 || got[0] != "example.com" {
		t.Fatalf("report domains %q, want [example.com]", got)
	}
	rep := c.Reports["example.com"]
	type short struct {
		ip    string
		count int
		disp  Policy
		dkim  bool
		spf   bool
		why   string
		hdr   string
	}
	var got []short
	for _, r := range rep.Rows {
		why := ""
		for _, x := range r.Reasons {
			why += string(x.Type)
		}
		got = append(got, short{r.SourceIP.String(), r.Count, r.Disposition, r.DKIM, r.SPF, why, r.HeaderFrom})
	}
	want := []short{
		{"192.0.2.10", 2, PolicyNone, true, true, "", "example.com"},
		{"2001:db8::25", 1, PolicyReject, false, false, "", "example.com"},
		{"198.51.100.7", 1, PolicyReject, false, false, "", "example.com"},
		{"198.51.100.7", 1, PolicyQuarantine, false, false, "sampled_out", "example.com"},
		{"203.0.113.9", 1, PolicyQuarantine, false, false, "", "news.example.com"},
	}
	if len(got) != len(want) {
		t.Fatalf("rows %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if rep.Policy.P != PolicyReject || rep.Policy.SP != PolicyQuarantine || rep.Policy.Pct != 50 || rep.Policy.FO != "1:d" {
		t.Errorf("policy_published %+v", rep.Policy)
	}
	// A local override is a row of its own with its reason.
	row := rep.Rows[1]
	row.Count = 1
	row.Applied(PolicyNone, OverrideLocalPolicy, "profile: no action")
	rep.Add(row)
	if n := len(rep.Rows); n != 6 || rep.Rows[5].Reasons[0].Comment != "profile: no action" {
		t.Errorf("local override row not kept apart: %d rows", n)
	}
}

// TestReportValidatesAgainstSchema runs xmllint --schema with the fixed RFC
// 7489 Appendix C schema over a report of a day of test traffic (IPv4 and
// IPv6 sources, sampled-out and local-policy reasons, HELO scope).
func TestReportValidatesAgainstSchema(t *testing.T) {
	xsd := filepath.Join(sharedDir(t), "rfc7489-appendixC-fixed.szepeviktor.xsd")
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install -y libxml2-utils): skipping schema validation")
	}
	rep := dayOfTraffic(t).Reports["example.com"]
	row := rep.Rows[1]
	row.Applied(PolicyNone, OverrideLocalPolicy, "profile: no action")
	rep.Add(row)
	rep.Errors = []string{"one DNS lookup timed out"}
	doc, err := rep.XML()
	if err != nil {
		t.Fatal(err)
	}
	validate := func(t *testing.T, doc []byte) (string, error) {
		path := filepath.Join(t.TempDir(), "report.xml")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput()
		return string(out), err
	}
	if out, err := validate(t, doc); err != nil {
		t.Fatalf("xmllint rejects our report: %v\n%s\n%s", err, out, doc)
	}
	// The check can fail: a report with an out-of-vocabulary disposition
	// must be refused by the same command.
	bad := bytes.Replace(doc, []byte("<disposition>reject</disposition>"), []byte("<disposition>discard</disposition>"), 1)
	if out, err := validate(t, bad); err == nil {
		t.Fatalf("xmllint accepted an invalid report:\n%s", out)
	}
}

func TestReportFileNameAndPayload(t *testing.T) {
	rep := dayOfTraffic(t).Reports["example.com"]
	// The unique id keeps only the report ID's letters and digits.
	if got, want := rep.FileName("esa.example.net"), "esa.example.net!example.com!1795996800!1796083199!176454720042.xml.gz"; got != want {
		t.Errorf("FileName = %q, want %q", got, want)
	}
	if got, want := (&Report{Policy: PublishedPolicy{Domain: "example.com"}, ReportID: "-", Begin: time.Unix(0, 0), End: time.Unix(0, 0)}).FileName("r.example"), "r.example!example.com!0!0.xml.gz"; got != want {
		t.Errorf("FileName without id = %q, want %q", got, want)
	}
	if got := rep.Subject("esa.example.net"); got != "Report Domain: example.com Submitter: esa.example.net Report-ID: <1764547200.42>" {
		t.Errorf("Subject = %q", got)
	}
	p, err := rep.Build("esa.example.net")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(p.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := rep.XML()
	if !bytes.Equal(plain, doc) || p.XMLSize != len(doc) || zr.Name != strings.TrimSuffix(p.FileName, ".gz") {
		t.Errorf("gzip payload does not hold the report (name %q)", zr.Name)
	}
	// EncodedSize is exactly what a MIME base64 body of 76-column lines is.
	enc := base64.StdEncoding.EncodeToString(p.Gzip)
	var lines int
	for len(enc) > 0 {
		n := min(76, len(enc))
		enc = enc[n:]
		lines++
	}
	if want := uint64(len(base64.StdEncoding.EncodeToString(p.Gzip)) + 2*lines); p.EncodedSize() != want {
		t.Errorf("EncodedSize = %d, want %d", p.EncodedSize(), want)
	}
	if _, err := (&Report{}).XML(); err != ErrEmptyReport {
		t.Errorf("empty report: %v", err)
	}
}

// TestPlanDelivery: URIs whose size limit the payload exceeds are not used
// (RFC 7489 §7.2.1); when none is left, every mailto URI gets an error
// report (§7.2.2). The appliance's own 10 MB limit works the same way.
func TestPlanDelivery(t *testing.T) {
	p := Payload{Gzip: make([]byte, 3000)} // 4000 base64 chars, 53 lines
	size := p.EncodedSize()
	if size != 4106 {
		t.Fatalf("EncodedSize = %d", size)
	}
	small := ReportURI{URI: "mailto:small@example.com", MaxSize: 4096}
	big := ReportURI{URI: "mailto:big@example.com", MaxSize: 1 << 20}
	nolimit := ReportURI{URI: "mailto:any@example.com"}
	web := ReportURI{URI: "https://example.com/report"}

	plan := p.PlanDelivery([]ReportURI{small, web, big, nolimit}, 0)
	if !sameURIs(plan.Send, big, nolimit) || !sameURIs(plan.TooLarge, small) || len(plan.ErrorReport) != 0 {
		t.Errorf("plan %+v", plan)
	}
	plan = p.PlanDelivery([]ReportURI{small, web}, 0)
	if len(plan.Send) != 0 || !sameURIs(plan.ErrorReport, small) {
		t.Errorf("all too small: %+v", plan)
	}
	plan = p.PlanDelivery([]ReportURI{big, nolimit}, 4000) // appliance limit below the payload
	if len(plan.Send) != 0 || !sameURIs(plan.ErrorReport, big, nolimit) {
		t.Errorf("over the appliance limit: %+v", plan)
	}
	plan = p.PlanDelivery([]ReportURI{web}, 0)
	if len(plan.Send)+len(plan.TooLarge)+len(plan.ErrorReport) != 0 {
		t.Errorf("no mailto URI: %+v", plan)
	}

	rep := &Report{ReportID: "42", Policy: PublishedPolicy{Domain: "example.com"}}
	got := rep.ErrorReportText("esa.example.net", size, []ReportURI{small}, time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC))
	want := "Report-Date: Tue, 01 Dec 2026 00:05:00 +0000\r\nReport-Domain: example.com\r\nReport-ID: 42\r\n" +
		"Report-Size: 4106\r\nSubmitter: esa.example.net\r\nSubmitting-URI: mailto:small@example.com\r\n"
	if got != want {
		t.Errorf("error report\n%q\nwant\n%q", got, want)
	}
}

func sameURIs(got []ReportURI, want ...ReportURI) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestReportIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":        "192.0.2.1",
		"::ffff:192.0.2.1": "192.0.2.1",
		"2001:db8::1":      "2001:db8:0:0:0:0:0:1",
		"::1":              "0:0:0:0:0:0:0:1",
	} {
		if got := reportIP(netip.MustParseAddr(in)); got != want {
			t.Errorf("reportIP(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestDMARCbisReportValidates: under DMARCbis the report follows the
// DMARCbis aggregate schema (draft 30 of the aggregate reporting document),
// checked with xmllint; the draft's own sample validates with the same
// command, so the check is live.
func TestDMARCbisReportValidates(t *testing.T) {
	dir := sharedDir(t, "rfc9990-draft30")
	xsd := filepath.Join(dir, "dmarc-xml-0.2.xsd")
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install -y libxml2-utils): skipping schema validation")
	}
	run := func(path string) (string, error) {
		out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput()
		return string(out), err
	}
	if out, err := run(filepath.Join(dir, "dmarc-xml-0.2.xml")); err != nil {
		t.Fatalf("the draft's sample does not validate, so the check proves nothing: %v\n%s", err, out)
	}

	dns := &memDNS{txt: map[string][]string{
		"_dmarc.example.com": {"v=DMARC1; p=reject; sp=quarantine; np=reject; t=y; rua=mailto:agg@example.com"},
	}}
	e := New(dns, Options{Mode: DMARCbis})
	begin := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	c := &Collector{Begin: begin, End: begin.Add(24*time.Hour - time.Second)}
	for _, m := range []struct {
		ip string
		in Input
	}{
		{"192.0.2.10", Input{FromDomains: []string{"example.com"}, SPF: spfPass("example.com"), DKIM: pass("example.com")}},
		{"2001:db8::25", Input{FromDomains: []string{"news.example.com"}, SPF: SPFResult{Domain: "helo.example.net", Scope: ScopeHelo, Result: ResultNeutral}}},
		{"198.51.100.7", Input{FromDomains: []string{"example.com"}, DKIM: []DKIMResult{{Domain: "example.com", Selector: "s1", Result: ResultFail}}}},
	} {
		res := e.Evaluate(context.Background(), m.in)
		row, ok := NewRow(netip.MustParseAddr(m.ip), "", "example.com", m.in, res)
		if !ok || !c.Add(res, row) {
			t.Fatalf("not reportable: %+v", res)
		}
	}
	rep := c.Reports["example.com"]
	if rep.Format != DMARCbis {
		t.Fatalf("a tree-walk evaluation must give a DMARCbis report, got %v", rep.Format)
	}
	rep.OrgName, rep.Email, rep.ReportID = "esa.example.net", "noreply-dmarc@esa.example.net", "42"
	rep.Errors = []string{"a", "b"}
	row := rep.Rows[2]
	row.Applied(PolicyQuarantine, OverrideSampledOut, "") // not in the DMARCbis vocabulary: other
	rep.Add(row)
	p, err := rep.Build("esa.example.net")
	if err != nil {
		t.Fatal(err)
	}
	fb, err := ReadReport(p.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if fb.Policy.NP != "reject" || fb.Policy.Testing != "y" || fb.Policy.DiscoveryMethod != "treewalk" || fb.Policy.Pct != "" ||
		fb.Records[0].Disposition != "pass" || fb.Records[1].Reasons[0].Type != OverridePolicyTestMode {
		t.Errorf("DMARCbis report read back as %+v", fb)
	}
	doc, err := rep.XMLDMARCbis()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bis.xml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(path); err != nil {
		t.Fatalf("xmllint rejects our DMARCbis report: %v\n%s\n%s", err, out, doc)
	}
}

// TestBuildRefusesWhatDoesNotReadBack: a report whose document would miss
// what the schema requires (here a row without its header_from, an empty
// reporting organisation) is not built, so it is never sent.
func TestBuildRefusesWhatDoesNotReadBack(t *testing.T) {
	good := dayOfTraffic(t).Reports["example.com"]
	if _, err := good.Build("esa.example.net"); err != nil {
		t.Fatalf("a whole report refused: %v", err)
	}
	for name, spoil := range map[string]func(r *Report){
		"row without header_from": func(r *Report) { r.Rows[0].HeaderFrom = "" },
		"no org_name":             func(r *Report) { r.OrgName = "" },
		"no report_id":            func(r *Report) { r.ReportID = "" },
	} {
		r := dayOfTraffic(t).Reports["example.com"]
		spoil(r)
		if _, err := r.Build("esa.example.net"); err == nil || !strings.Contains(err.Error(), "does not read back") {
			t.Errorf("%s: Build error %v", name, err)
		}
	}
}
