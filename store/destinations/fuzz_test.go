package destinations

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzImport: whatever Import accepts is a valid table that exports and
// imports back to itself; whatever it refuses is a *ParseError.
func FuzzImport(f *testing.F) {
	tb := rich()
	var b bytes.Buffer
	Export(&b, &tb)
	f.Add(b.String())
	f.Add("[DEFAULT]\nip_sort_pref = PREFER_V6\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\nbounce_validation = 0\ntls = 0\ndane = 0\n")
	f.Add("[default]\ntls=on\n[example.com]\ndane = 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		g := Global{AlertOnTLSFailure: true}
		tb, err := Import(strings.NewReader(in), g)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("refusal is %T: %v", err, err)
			}
			return
		}
		if err := tb.Validate(); err != nil {
			t.Fatalf("accepted an invalid table: %v", err)
		}
		var out bytes.Buffer
		Export(&out, tb)
		back, err := Import(&out, g)
		if err != nil {
			t.Fatalf("exported form refused: %v\n%s", err, out.String())
		}
		if !reflect.DeepEqual(back, tb) {
			t.Fatalf("round trip changed the table:\n%+v\n%+v", tb, back)
		}
		// Lookup finds each entry: a domain or address by itself, a
		// partial domain for a subdomain unless a longer partial domain
		// matches too; every effective setting has a value.
		for _, e := range tb.Entries {
			q := e.Domain
			if q[0] == '.' {
				q = "x" + q
			}
			got := tb.Lookup(q)
			if got.Concurrency < 1 || got.MessagesPerConnection < 1 || got.TLS == "" || got.DANE == "" ||
				got.BounceProfile == "" || got.IPSort == "" || got.LimitType == "" || got.LimitApply == "" {
				t.Fatalf("lookup of %s gave unset values %+v", q, got)
			}
			if got.Entry != e.Domain && (e.Domain[0] != '.' || len(got.Entry) < len(e.Domain) || !strings.HasSuffix(q, got.Entry)) {
				t.Fatalf("lookup of %s matched %q, want %q", q, got.Entry, e.Domain)
			}
		}
	})
}
