package routes

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: whatever the importer accepts is a valid table that writes
// and reads back to itself, and the index finds for any domain the route
// the plain rule (exact, longest partial, ALL) names.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/routes.txt"); err == nil {
		f.Add(string(b), "a.example.org")
	}
	f.Add("example.com a.example,b.example:2525/pri=10\nALL: USEDNS\n", "example.com")
	f.Add(".x.example [h.example]:25/pri=3\n", "y.x.example")
	f.Add("v6.example [::1]:2525,::2\n", "V6.EXAMPLE.")
	f.Add("all: /dev/null\n", "anything")
	f.Fuzz(func(t *testing.T, in, domain string) {
		tb, err := Parse(strings.NewReader(in))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("refusal without a line: %v", err)
			}
			return
		}
		if err := tb.Validate(); err != nil {
			t.Fatalf("accepted an invalid table: %v\n%q", err, in)
		}
		var b bytes.Buffer
		if err := Write(&b, tb); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(bytes.NewReader(b.Bytes()))
		if err != nil || !reflect.DeepEqual(back, tb) {
			t.Fatalf("round trip: %v\n%q\n%+v\n%+v", err, b.String(), tb, back)
		}
		for _, d := range append([]string{domain}, keysOf(tb)...) {
			got, gok := NewIndex(tb).Lookup(d)
			want, wok := naiveLookup(tb, d)
			if gok != wok || !reflect.DeepEqual(got, want) {
				t.Fatalf("Lookup(%q) = %+v %v, the rule says %+v %v", d, got, gok, want, wok)
			}
		}
	})
}

// keysOf gives domains that exercise every route: each key itself and a
// subdomain of it.
func keysOf(tb Table) []string {
	var out []string
	for _, r := range tb.Routes {
		k := strings.TrimPrefix(r.Domain, ".")
		out = append(out, k, "sub."+k)
	}
	return out
}

// naiveLookup is the matching rule written as plainly as possible, the
// reference the index must agree with.
func naiveLookup(tb Table, domain string) (Route, bool) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, r := range tb.Routes {
		if r.Domain != All && !strings.HasPrefix(r.Domain, ".") && r.Domain == d {
			return r, true
		}
	}
	best := -1
	for i, r := range tb.Routes {
		if strings.HasPrefix(r.Domain, ".") && strings.HasSuffix(d, r.Domain) && len(d) > len(r.Domain) {
			if best < 0 || len(r.Domain) > len(tb.Routes[best].Domain) {
				best = i
			}
		}
	}
	if best >= 0 {
		return tb.Routes[best], true
	}
	for _, r := range tb.Routes {
		if r.Domain == All {
			return r, true
		}
	}
	return Route{}, false
}

// BenchmarkLookup: the engine asks for each recipient domain; with the
// table full (MaxRoutes routes) a lookup must stay a few map probes.
func BenchmarkLookup(b *testing.B) {
	var tb Table
	for i := 0; i < MaxRoutes-1; i++ {
		d := fmt.Sprintf("d%d.example", i)
		if i%2 == 1 {
			d = "." + d
		}
		tb.Routes = append(tb.Routes, Route{Domain: d, Destinations: []Destination{{Host: "mx.example"}}})
	}
	tb.Routes = append(tb.Routes, Route{Domain: All, Destinations: []Destination{{Host: "smart.example"}}})
	ix := NewIndex(tb)
	domains := []string{"d100.example", "a.b.d101.example", "unrouted.example.org", "D200.EXAMPLE."}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := ix.Lookup(domains[i%len(domains)]); !ok {
			b.Fatal("no route")
		}
	}
}

// BenchmarkParse: importing a full table.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < MaxRoutes; i++ {
		fmt.Fprintf(&buf, "d%d.example mx1.d%d.example,mx2.d%d.example:2525/pri=10\n", i, i, i)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
