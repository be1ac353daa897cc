package dmarc

import (
	"context"
	"reflect"
	"testing"
)

// TestReportDestinations: the external destination check of RFC 7489 §7.1,
// with the RFC's own blue/red example.
func TestReportDestinations(t *testing.T) {
	dns := &memDNS{
		txt: map[string][]string{
			"blue.example.com._report._dmarc.red.example.net":  {"v=DMARC1"},
			"blue.example.com._report._dmarc.over.example.net": {"v=DMARC1; rua=mailto:elsewhere@over.example.net!5m"},
			"blue.example.com._report._dmarc.loop.example.net": {"v=DMARC1; rua=mailto:x@victim.example"},
			"blue.example.com._report._dmarc.notdmarc.example": {"v=spf1 -all"},
		},
		fail: map[string]bool{"blue.example.com._report._dmarc.slow.example": true},
	}
	e := New(dns, Options{})
	u := func(s string) ReportURI { return ReportURI{URI: s} }
	got, err := e.ReportDestinations(context.Background(), "blue.example.com", []ReportURI{
		u("mailto:dmarc@example.com"),          // same Organizational Domain: no query
		u("mailto:reports@red.example.net"),    // authorized
		u("mailto:a@over.example.net"),         // authorized, overridden on the same host
		u("mailto:b@loop.example.net"),         // override to another host: nothing
		u("mailto:c@unauthorized.example"),     // no record: ignored
		u("mailto:d@notdmarc.example"),         // not a DMARC record: ignored
		u("https://reports.example.com/dmarc"), // not mail
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ReportURI{u("mailto:dmarc@example.com"), u("mailto:reports@red.example.net"), {URI: "mailto:elsewhere@over.example.net", MaxSize: 5 << 20}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("destinations %+v\nwant %+v", got, want)
	}
	for _, q := range dns.queries() {
		if q == "blue.example.com._report._dmarc.example.com" {
			t.Error("a same-organization destination was checked")
		}
	}

	got, err = e.ReportDestinations(context.Background(), "blue.example.com", []ReportURI{u("mailto:ok@example.com"), u("mailto:x@slow.example")})
	if err == nil || !reflect.DeepEqual(got, []ReportURI{u("mailto:ok@example.com")}) {
		t.Errorf("temporary failure: %+v, %v", got, err)
	}
}
