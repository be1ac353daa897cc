package dmarc

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// FuzzParseRecord feeds arbitrary TXT strings to the record parser in both
// modes. Beyond not panicking, every answer must be one of the three the
// discovery code relies on, and a record that parses must carry values
// inside their ranges.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none; rua=mailto:a@example.com!10m,mailto:b@example.net",
		"v=DMARC1;p=ReJect; sp=quarantine; adkim=s; aspf=r; pct=50; fo=0:1:d:s; rf=afrf; ri=3600",
		"v=DMARC1; p=reject; np=quarantine; psd=y; t=y",
		"v = DMARC1 ; p = quarantine ; pct = 20",
		"v=DMARC1; p=none; rf=afrf; fo=1:s rua=mailto:dmarc-a@abuse.net",
		"v=DMARC1; rua=mailto:x@example.com!99999999999999999999t",
		"v=DMARC1; p=reject; p=none",
		" v=DMARC1; p=reject",
		"v=DMARC1\x00; p=\xff",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, mode := range []Mode{RFC7489, DMARCbis} {
			r, err := Parse(s, mode)
			switch {
			case errors.Is(err, ErrNotDMARC):
				if r != nil || IsDMARC(s) {
					t.Fatalf("%v: ErrNotDMARC for %q but IsDMARC=%v", mode, s, IsDMARC(s))
				}
				continue
			case errors.Is(err, ErrNoPolicy):
				if mode == DMARCbis || r == nil {
					t.Fatalf("%v: ErrNoPolicy for %q", mode, s)
				}
				continue
			case err != nil:
				t.Fatalf("%v: unexpected error %v for %q", mode, err, s)
			}
			if !IsDMARC(s) {
				t.Fatalf("%v: parsed %q, which IsDMARC refuses", mode, s)
			}
			if r.P < PolicyNone || r.P > PolicyReject || r.SP > PolicyReject || r.NP > PolicyReject {
				t.Fatalf("%v: policy out of range in %+v", mode, r)
			}
			if r.Pct < 0 || r.Pct > 100 {
				t.Fatalf("%v: pct %d", mode, r.Pct)
			}
			if strings.Trim(r.FO, "01ds:") != "" || r.RF != "afrf" {
				t.Fatalf("%v: fo %q rf %q", mode, r.FO, r.RF)
			}
			if mode == DMARCbis && (r.Pct != 100 || r.RI != 86400) {
				t.Fatalf("DMARCbis kept a removed tag: %+v", r)
			}
			if mode == RFC7489 && (r.NP != PolicyUnset || r.PSD != PSDUnknown || r.Testing) {
				t.Fatalf("RFC 7489 read a DMARCbis tag: %+v", r)
			}
			for _, u := range append(append([]ReportURI{}, r.RUA...), r.RUF...) {
				if u.URI == "" || strings.ContainsAny(u.URI, ",! \t") {
					t.Fatalf("%v: bad report URI %q kept", mode, u.URI)
				}
				if mode == DMARCbis && u.MaxSize != 0 {
					t.Fatalf("DMARCbis kept a size limit: %+v", u)
				}
				_ = u.Mailbox()
			}
		}
	})
}

// FuzzReadReport feeds arbitrary bytes to the aggregate report reader (XML,
// gzip, zip and mail framings). It must never panic, and what it accepts
// must be sane.
func FuzzReadReport(f *testing.F) {
	small := `<?xml version="1.0"?><feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><report_metadata><org_name>x</org_name>` +
		`<date_range><begin>1337270400.0</begin><end>1337356799</end></date_range></report_metadata>` +
		`<policy_published><domain>Example.com</domain><p>reject</p></policy_published>` +
		`<record><row><source_ip>192.0.2.1</source_ip><count>3</count><policy_evaluated><disposition>none</disposition>` +
		`<dkim>Pass</dkim><spf>fail</spf><reason><type>local_policy</type></reason></policy_evaluated></row>` +
		`<identifiers><header_from>example.com</header_from></identifiers><auth_results><spf><domain>example.com</domain>` +
		`<result>pass</result></spf></auth_results></record></feedback>`
	f.Add([]byte(small))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(small))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(gz.Bytes()[:gz.Len()-6]) // trailer cut off
	mail := "From: r@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain\r\n\r\nreport attached\r\n--b\r\nContent-Type: application/gzip\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(gz.Bytes()) + "\r\n--b--\r\n"
	f.Add([]byte(mail))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("<xs:schema><feedback><record><row><count>-1</count></row></record>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fb, err := ReadReport(data)
		if err != nil {
			return
		}
		for _, r := range fb.Records {
			if r.Count < 0 {
				t.Fatalf("negative count accepted: %+v", r)
			}
		}
		if fb.Policy.Domain != strings.ToLower(fb.Policy.Domain) {
			t.Fatalf("domain not lower-cased: %q", fb.Policy.Domain)
		}
	})
}
