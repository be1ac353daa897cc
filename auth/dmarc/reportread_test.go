package dmarc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadOwnReport: what we send reads back as sent, through gzip.
func TestReadOwnReport(t *testing.T) {
	rep := dayOfTraffic(t).Reports["example.com"]
	p, err := rep.Build("esa.example.net")
	if err != nil {
		t.Fatal(err)
	}
	fb, err := ReadReport(p.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if fb.OrgName != rep.OrgName || fb.ReportID != rep.ReportID || !fb.Begin.Equal(rep.Begin) || !fb.End.Equal(rep.End) ||
		fb.Policy.Domain != "example.com" || fb.Policy.P != "reject" || fb.Policy.Pct != "50" || len(fb.Records) != len(rep.Rows) {
		t.Fatalf("read back %+v", fb)
	}
	for i, r := range fb.Records {
		w := rep.Rows[i]
		if r.SourceIP != reportIP(w.SourceIP) || r.Count != w.Count || r.Disposition != w.Disposition.String() ||
			r.HeaderFrom != w.HeaderFrom || len(r.DKIMResults) != len(w.DKIMResults) || len(r.SPFResults) != 1 {
			t.Errorf("record %d: %+v, sent %+v", i, r, w)
		}
	}
}

// TestReadParsedmarcSamples reads parsedmarc's aggregate samples (XML,
// gzip, zip, mail messages, RFC 9990, broken ones): none may crash the
// reader, the readable ones must give their records, and the broken ones an
// error.
func TestReadParsedmarcSamples(t *testing.T) {
	want := map[string]struct {
		records int    // -1: must fail
		domain  string // policy_published domain
	}{
		"!example.com!1538204542!1538463818.xml":                                              {1, "example.com"},
		"!large-example.com!1711897200!1711983600.xml":                                        {0, ""},
		"Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml": {1, "borschow.com"},
		"addisonfoods.com!example.com!1536105600!1536191999.xml":                              {0, "example.com"},
		"empty_reason.xml": {0, ""},
		"estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip": {0, "example.com"},
		"example.net!example.com!1529366400!1529452799.xml":                             {0, "example.com"},
		"fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz":               {0, "indemed.com"},
		"ikea.com!example.de!1538690400!1538776800.xml":                                 {0, "example.de"},
		"invalid_utf_8.xml":       {0, ""},
		"invalid_xml.xml":         {-1, ""},
		"mimecast-weird-gzip.eml": {0, ""},
		"old_draft_from_wiki.xml": {1, "example.com"},
		"protection.outlook.com!example.com!1711756800!1711843200.xml": {0, "example.com"},
		"rfc9990-example.net!example.com!1700000000!1700086399.xml":    {0, "example.com"},
		"rfc9990-sample.xml": {0, "example.com"},
		"twilight.eml":       {0, "twlnet.com"},
		"usssa.com!example.com!1538784000!1538870399.xml": {0, "example.com"},
		"veeam.com!example.com!1530133200!1530219600.xml": {0, "example.com"},
		// aggregate_invalid: "Pass" in capitals reads as pass.
		"report_with_upper_cased_pass.xml": {1, ""},
	}
	dir := sharedDir(t, "parsedmarc-samples")
	var files []string
	for _, sub := range []string{"aggregate", "aggregate_invalid"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			files = append(files, filepath.Join(dir, sub, e.Name()))
		}
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fb, err := ReadReport(data)
			w, known := want[name]
			if !known {
				t.Fatalf("sample %s has no expectation in this test", name)
			}
			if w.records < 0 {
				if err == nil {
					t.Fatalf("broken sample read without error: %+v", fb)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadReport: %v", err)
			}
			if len(fb.Records) == 0 {
				t.Fatal("no records")
			}
			if w.records > 0 && len(fb.Records) != w.records {
				t.Errorf("%d records, want %d", len(fb.Records), w.records)
			}
			if w.domain != "" && fb.Policy.Domain != w.domain {
				t.Errorf("policy domain %q, want %q", fb.Policy.Domain, w.domain)
			}
			for _, r := range fb.Records {
				if r.SourceIP == "" || r.Count < 0 || r.DKIM != strings.ToLower(r.DKIM) || r.SPF != strings.ToLower(r.SPF) {
					t.Errorf("record %+v", r)
				}
			}
			if name == "report_with_upper_cased_pass.xml" {
				r := fb.Records[0]
				if r.DKIM != "pass" || r.SPF != "pass" || r.SPFResults[0].Result != ResultPass {
					t.Errorf("upper-case Pass read as %+v", r)
				}
			}
		})
	}
}

// TestReadFailureSamples: failure (ruf) reports are not aggregate reports;
// the reader says so instead of crashing or inventing one.
func TestReadFailureSamples(t *testing.T) {
	dir := filepath.Join(sharedDir(t, "parsedmarc-samples"), "failure")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if fb, err := ReadReport(data); err == nil {
			t.Errorf("%s read as an aggregate report: %+v", e.Name(), fb)
		}
	}
}
