package routes

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	f, err := os.Open("testdata/routes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want := Table{Routes: []Route{
		{"example.com", []Destination{{Host: "mail1.example.com"}, {Host: "mail2.example.com", Port: 2525, Priority: 10}}},
		{".example.org", []Destination{{Host: "relay.example.org", Port: 587, AOnly: true}}},
		{"partner.example", []Destination{{Host: UseDNS}}},
		{".spam.example", []Destination{{Host: DevNull}}},
		{"ipv6.example", []Destination{{Host: "2001:db8::25", Port: 2525}, {Host: "2001:db8::26", Priority: 5}, {Host: "192.0.2.25"}}},
		{All, []Destination{{Host: "smtp.isp.example", Priority: 1}, {Host: "backup.isp.example", Priority: 2}}},
	}}
	if !reflect.DeepEqual(tb, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", tb, want)
	}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, tb); err != nil {
		t.Fatal(err)
	}
	wantText := `example.com mail1.example.com,mail2.example.com:2525/pri=10
.example.org [relay.example.org]:587
partner.example USEDNS
.spam.example /dev/null
ipv6.example [2001:db8::25]:2525,2001:db8::26/pri=5,192.0.2.25
ALL: smtp.isp.example/pri=1,backup.isp.example/pri=2
`
	if b.String() != wantText {
		t.Errorf("written:\n%s\nwant:\n%s", b.String(), wantText)
	}
	back, err := Parse(&b)
	if err != nil || !reflect.DeepEqual(back, tb) {
		t.Errorf("read back: %v\n%+v", err, back)
	}
}

// TestParseNormalises: case, trailing dots, a bracketed address, an
// explicit /pri=0, tabs and spaces after commas read to the canonical
// table.
func TestParseNormalises(t *testing.T) {
	tb, err := Parse(strings.NewReader("Example.COM.\tMX1.Example.com., [192.0.2.1]:25 ,host/pri=0\nall usedns\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Table{Routes: []Route{
		{"example.com", []Destination{{Host: "mx1.example.com"}, {Host: "192.0.2.1", Port: 25}, {Host: "host"}}},
		{All, []Destination{{Host: UseDNS}}},
	}}
	if !reflect.DeepEqual(tb, want) {
		t.Fatalf("parsed %+v", tb)
	}
}

// TestParseRefuses: every bad line is refused with its number and the
// reason; nothing is returned.
func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", "line 1: the file holds no routes"},
		{"# only a comment\n\n", "line 1: the file holds no routes"},
		{"example.com\n", `line 1: "example.com": expected a domain and its destinations`},
		{"ok.example a.example\nbad_domain! a.example\n", `line 2: "bad_domain!" is not a domain, .partial.domain or ALL`},
		{"ok.example a.example\n\n# c\nOK.example b.example\n", "line 4: The value ok.example is already in the routing table (line 1)."},
		{"ALL: a.example\nall b.example\n", "line 2: There is already a default route set (line 1)."},
		{"x.example host:0\n", `line 1: "host:0" has a bad port: use 1 to 65535`},
		{"x.example host:65536\n", `line 1: "host:65536" has a bad port: use 1 to 65535`},
		{"x.example host:+25\n", `line 1: "host:+25" has a bad port: use 1 to 65535`},
		{"x.example host/pri=70000\n", `line 1: "host/pri=70000" has a bad priority: /pri= takes 0 to 65535`},
		{"x.example host/pri=-1\n", `line 1: "host/pri=-1" has a bad priority: /pri= takes 0 to 65535`},
		{"x.example [host\n", `line 1: "[host" has an unclosed bracket`},
		{"x.example [host]x\n", `line 1: "[host]x" is not host[:port][/pri=N]`},
		{"x.example bad host\n", `line 1: "bad host" is not a valid destination host`},
		{"x.example USEDNS,a.example\n", "line 1: USEDNS must be the only destination of its route"},
		{"x.example a.example,/dev/null\n", "line 1: /dev/null must be the only destination of its route"},
		{"x.example a.example,A.example\n", "line 1: The host a.example is already a destination of this route."},
		{"x.example a.example,a.example:2525\n", "line 1: The host a.example is already using the standard port."},
		{"x.example a.example:2525,a.example\n", "line 1: The host a.example already has an alternate port (2525)."},
		{"x.example ,,\n", "line 1: a route needs at least one destination"},
		{"x.example " + strings.Repeat("h.example/pri=1,", 0) + many(33) + "\n", "line 1: Routes may not contain more than 32 destinations."},
		{"x.example a\x01b\n", "line 1: control character in the line"},
		// Regressions found by FuzzParse: names that would read back as
		// the keywords.
		{"a.example USEDNS.\n", `line 1: "USEDNS." is not a valid destination host`},
		{"ALL. a.example\n", `line 1: "ALL." is not a domain, .partial.domain or ALL`},
		{"x.example " + strings.Repeat("a", MaxLineBytes) + "\n", "line 1: line longer than 65536 bytes"},
	} {
		_, err := Parse(strings.NewReader(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%.40q):\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}

func many(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = "h" + strings.Repeat("x", i) + ".example"
	}
	return strings.Join(s, ",")
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	line := "d.example h.example\n"
	var b strings.Builder
	for b.Len() <= MaxImportBytes {
		b.WriteString("# padding padding padding padding padding padding padding padding padding\n")
	}
	b.WriteString(line)
	_, err := Parse(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "the file is larger than 8388608 bytes") {
		t.Fatalf("got %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tb   Table
		want string
	}{
		{Table{Routes: []Route{{"Example.com", []Destination{{Host: "a.example"}}}}}, `"Example.com" is not a domain, .partial.domain or ALL`},
		{Table{Routes: []Route{{"a.example", []Destination{{Host: "x.example"}}}, {"a.example", []Destination{{Host: "y.example"}}}}}, "The value a.example is already in the routing table."},
		{Table{Routes: []Route{{"a.example", nil}}}, "a.example: a route needs at least one destination"},
		{Table{Routes: []Route{{"a.example", []Destination{{Host: "192.0.2.1", AOnly: true}}}}}, "a.example: 192.0.2.1 is an IP address: brackets force address records of a host name"},
		{Table{Routes: []Route{{"a.example", []Destination{{Host: "::ffff:192.0.2.1"}}}}}, `a.example: "::ffff:192.0.2.1" is not an IP address in its standard form`},
		{Table{Routes: []Route{{"a.example", []Destination{{Host: UseDNS, Port: 25}}}}}, "a.example: USEDNS takes no port, priority or brackets"},
		{Table{Routes: []Route{{"a.example", []Destination{{Host: "x.example", Port: 70000}}}}}, "a.example: the port of x.example must be from 1 to 65535"},
	} {
		if err := c.tb.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("Validate(%+v) = %v, want %s", c.tb, err, c.want)
		}
	}
}

// TestLookup: the exact domain before the longest partial domain before
// ALL; a partial domain does not match the domain itself; case and a
// trailing dot do not matter.
func TestLookup(t *testing.T) {
	tb, err := Parse(strings.NewReader(`ALL: default.example
.example.com partial.example
.deep.example.com deeper.example
example.com exact.example
mx.deep.example.com USEDNS
`))
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(tb)
	for domain, want := range map[string]string{
		"example.com":           "exact.example",
		"EXAMPLE.com.":          "exact.example",
		"a.example.com":         "partial.example",
		"b.a.example.com":       "partial.example",
		"deep.example.com":      "partial.example",
		"x.deep.example.com":    "deeper.example",
		"mx.deep.example.com":   UseDNS,
		"y.mx.deep.example.com": "deeper.example",
		"example.org":           "default.example",
		"com":                   "default.example",
		"notexample.com":        "default.example",
		"a.notexample.com":      "default.example",
		"":                      "default.example",
	} {
		r, ok := ix.Lookup(domain)
		if !ok || r.Destinations[0].Host != want {
			t.Errorf("Lookup(%q) = %+v %v, want %s", domain, r, ok, want)
		}
		if r2, _ := tb.Lookup(domain); !reflect.DeepEqual(r, r2) {
			t.Errorf("Table.Lookup(%q) differs from the index", domain)
		}
	}
	tb.Routes = tb.Routes[1:] // no default route
	if r, ok := NewIndex(tb).Lookup("example.org"); ok {
		t.Errorf("without ALL, example.org routed to %+v", r)
	}
}

func TestRouteHelpers(t *testing.T) {
	ds, err := ParseDestinations("c.example/pri=5,a.example,b.example/pri=5,d.example")
	if err != nil {
		t.Fatal(err)
	}
	r := Route{Domain: "x.example", Destinations: ds}
	tiers := r.Tiers()
	got := [][]string{}
	for _, tier := range tiers {
		var hs []string
		for _, d := range tier {
			hs = append(hs, d.Host)
		}
		got = append(got, hs)
	}
	if !reflect.DeepEqual(got, [][]string{{"a.example", "d.example"}, {"c.example", "b.example"}}) {
		t.Errorf("tiers %v", got)
	}
	if r.Discard() || r.UsesDNS() {
		t.Error("a host route reads as special")
	}
	dn := Route{Domain: "x", Destinations: []Destination{{Host: DevNull}}}
	ud := Route{Domain: "x", Destinations: []Destination{{Host: UseDNS}}}
	if !dn.Discard() || dn.UsesDNS() || dn.Tiers() != nil || !ud.UsesDNS() || ud.Tiers() != nil {
		t.Error("special routes misread")
	}
}
