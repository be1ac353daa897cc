package dmarcreport

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"esa/auth/dmarc"
	"esa/store"
)

// FuzzReportMail: whatever rua a DNS record gives, the addresses the job
// would send to are plain (nothing outside printable ASCII, no spaces or
// angle brackets: nothing that can break an SMTP command), and the report
// message built for them parses with exactly its own header fields and
// those recipients in To:.
func FuzzReportMail(f *testing.F) {
	for _, s := range []string{
		"mailto:dmarc@example.com",
		"mailto:a@example.com!10m,mailto:b@example.net",
		"mailto:a%0d%0aBcc:%20x@evil.example@example.com",
		"mailto:%22a%20b%22@example.com",
		"mailto:a@example.com%0d%0a",
		"mailto:a@exa%00mple.com",
		"mailto:<a@example.com>",
		"mailto:a@example.com?subject=hi",
		"mailto:ü@bücher.example",
		"https://example.com/r,mailto:.a@example.com,mailto:a..b@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rua string) {
		rec, _ := dmarc.Parse("v=DMARC1; p=none; rua="+rua, dmarc.RFC7489)
		if rec == nil {
			return
		}
		ok, _ := usableRUA(rec.RUA)
		var to []string
		for _, u := range ok {
			a := u.Mailbox()
			for i := 0; i < len(a); i++ {
				if a[i] <= ' ' || a[i] > '~' || a[i] == '<' || a[i] == '>' {
					t.Fatalf("address %q from rua %q", a, rua)
				}
			}
			to = appendAddr(to, a)
		}
		if len(to) == 0 {
			return
		}
		rep := store.DMARCReport{ID: 1, Domain: "example.com", ReportID: "1.2@esa.example.net", FileName: "x.xml.gz",
			Begin: time.Unix(0, 0), End: time.Unix(86399, 0)}
		st := settings{receiver: "esa.example.net", from: "dmarc@esa.example.net", hostname: "esa.example.net"}
		msg := reportMail(rep, st, to, ok, reportSubject(rep, st.receiver), 7, time.Unix(86400, 0), []byte("gz"))
		m, err := mail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("rua %q: %v", rua, err)
		}
		var keys []string
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if strings.Join(keys, ",") != "Auto-Submitted,Content-Type,Date,From,Message-Id,Mime-Version,Subject,To" {
			t.Fatalf("rua %q gave header fields %q", rua, keys)
		}
		got, err := m.Header.AddressList("To")
		if err != nil || len(got) != len(to) {
			t.Fatalf("rua %q: To %v, %v; want %q", rua, got, err, to)
		}
	})
}

// TestUnusableRUA: a percent-encoded line break or a quoted local part
// never reaches a recipient list; plain addresses do.
func TestUnusableRUA(t *testing.T) {
	t.Parallel()
	u := func(s string) dmarc.ReportURI { return dmarc.ReportURI{URI: s} }
	ok, bad := usableRUA([]dmarc.ReportURI{
		u("mailto:dmarc@example.com"), u("mailto:a%0d%0aBcc:%20x@evil.example@example.com"), u("https://example.com/r"),
		u("mailto:%22a%20b%22@example.com"), u("mailto:first.last+dmarc@sub.example.com"), u("mailto:reports@_in-box.example"),
		u("mailto:a@example..com"), u("mailto:a.@example.com"),
	})
	if len(ok) != 3 || ok[0].URI != "mailto:dmarc@example.com" || ok[1].URI != "mailto:first.last+dmarc@sub.example.com" ||
		ok[2].URI != "mailto:reports@_in-box.example" || len(bad) != 4 {
		t.Errorf("usable %+v, refused %+v", ok, bad)
	}
}
