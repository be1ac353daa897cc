package dmarc

import (
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
				_ = u.Mailbox()
			}
		}
	})
}
