package spf

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// FuzzParseRecord: the record parser never panics, and whatever it accepts
// survives a round trip through Mechanism.String (the form trace and logs
// print) with the same meaning.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24//64 ptr ~all",
		"v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} redirect=%{d2}",
		"v=spf1 a:%{d}.example.com/24 exp=explain._spf.%{d}",
		"spf2.0/mfrom,pra +mx a:colo.example.com/28 -all",
		"v=spf1 -all foo=%{i}",
		"v=spf1 a:museum.",
		"v=spf1 ip4:1.2.3.4/032",
		"v=spf1 redirect=a redirect=b",
		"v=spf1 mx:%{",
		"V=SPF1 A/0 -MX//0",
		"v=spf1 ip6:::ffff:1.2.3.4/128",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString(r.Version)
		if r.Version == "spf2.0" {
			b.WriteString("/" + strings.Join(r.Scopes, ","))
		}
		for i := range r.Mechanisms {
			b.WriteString(" " + r.Mechanisms[i].String())
		}
		r2, err := ParseRecord(b.String())
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", b.String(), s, err)
		}
		if len(r2.Mechanisms) != len(r.Mechanisms) {
			t.Fatalf("%q: %d mechanisms, re-parsed %d", s, len(r.Mechanisms), len(r2.Mechanisms))
		}
		for i := range r.Mechanisms {
			a, c := r.Mechanisms[i], r2.Mechanisms[i]
			if a.Kind != c.Kind || a.Qualifier != c.Qualifier || a.Domain != c.Domain ||
				a.Prefix4 != c.Prefix4 || a.Prefix6 != c.Prefix6 || a.Net != c.Net {
				t.Fatalf("%q: mechanism %d %+v re-parsed as %+v", s, i, a, c)
			}
		}
	})
}

// FuzzMacroExpand: the macro expander never panics; text without "%" is
// its own expansion; the URL-escaped letters give only unreserved
// characters and %XX escapes (RFC 7208 §7.3).
func FuzzMacroExpand(f *testing.F) {
	for _, s := range []string{
		"%{s}", "%{l1r+-}.%{d}", "%{ir}.%{v}._spf.%{d2}", "%{S}%{L}%{O}%{D}%{I}%{P}%{V}%{H}",
		"%%%_%-", "%{c} is %{r} at %{t}", "%{i", "%x", "%{d0}", "%{d129}", "%{lr-+.,/_=}",
		"explain for %{p}", "a b c",
	} {
		f.Add(s, true, "strong-bad@email.example.com", "2001:db8::cb01")
		f.Add(s, false, "user@[1.2.3.4]", "192.0.2.3")
	}
	f.Fuzz(func(t *testing.T, s string, explain bool, sender, ip string) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			addr = netip.MustParseAddr("192.0.2.3")
		}
		out, err := ExpandMacro(s, explain, addr, sender, "email.example.com", "mx.example.org", "box.example.net", 1234567890)
		if err != nil {
			return
		}
		if !strings.Contains(s, "%") && out != s {
			t.Fatalf("%q expanded to %q without any macro", s, out)
		}
		up, err := ExpandMacro("%{S}", false, addr, sender, "email.example.com", "mx.example.org", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(up); i++ {
			c := up[i]
			if c == '%' {
				if i+2 >= len(up) {
					t.Fatalf("%%{S} of %q: truncated escape in %q", sender, up)
				}
				continue
			}
			if c >= 0x80 || c <= ' ' || strings.IndexByte("!\"#$&'()*+,/:;<=>?@[\\]^`{|}", c) >= 0 {
				t.Fatalf("%%{S} of %q left %q unescaped in %q", sender, c, up)
			}
		}
	})
}

// FuzzExtractPRA: PRA extraction never panics and never returns a mailbox
// without a domain.
func FuzzExtractPRA(f *testing.F) {
	f.Add("Resent-Sender", "a@b.example", "From", "c@d.example")
	f.Add("From", "\"A, B\" <a@b.example>", "Sender", "")
	f.Add("Resent-From", "a@b.example, c@d.example", "Received", "x")
	f.Add("From", "undisclosed-recipients:;", "Sender", "=?utf-8?q?x?= <a@[1.2.3.4]>")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		p, err := ExtractPRA([]HeaderField{{n1, v1}, {n2, v2}})
		if err != nil {
			if !IsNoPRA(err) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		at := strings.LastIndexByte(p.Address, '@')
		if at <= 0 || at == len(p.Address)-1 {
			t.Fatalf("PRA %q has no domain", p.Address)
		}
	})
}

// FuzzCheckHost evaluates a fuzzed record (and a fuzzed included record)
// against an in-memory zone: the evaluator never panics, always returns
// one of the seven results, and never makes more DNS queries than the
// limits of RFC 7208 §4.6.4 allow (10 terms, each at most one query plus
// 10 address lookups for mx or ptr, the record itself, exp= and %{p}).
func FuzzCheckHost(f *testing.F) {
	f.Add("v=spf1 mx ptr a/24 include:inc.example exists:%{ir}.x.example -all", "v=spf1 ?all", "192.0.2.1")
	f.Add("v=spf1 redirect=inc.example", "v=spf1 include:example.com", "2001:db8::1")
	f.Add("v=spf1 -all exp=exp.example", "%{p} %{c} %{r} %{t}", "192.0.2.7")
	f.Add("v=spf1 mx:many.example mx:many.example//64 ~all", "v=spf1 include:inc.example", "192.0.2.1")
	f.Fuzz(func(t *testing.T, rec, inc, ip string) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			addr = netip.MustParseAddr("192.0.2.1")
		}
		z := zone{}
		add := func(name string, items ...any) {
			if err := z.addName(name, items); err != nil {
				t.Fatal(err)
			}
		}
		add("example.com", map[string]any{"TXT": rec}, map[string]any{"MX": []any{10, "mx.example.com"}}, map[string]any{"A": "192.0.2.1"})
		add("inc.example", map[string]any{"TXT": inc})
		add("exp.example", map[string]any{"TXT": inc})
		add("mx.example.com", map[string]any{"A": "192.0.2.1"}, map[string]any{"AAAA": "2001:db8::1"})
		var many []any
		for i := 0; i < 12; i++ {
			many = append(many, map[string]any{"MX": []any{i, "mx.example.com"}})
		}
		add("many.example", many...)
		add(reverseName(addr), map[string]any{"PTR": "mx.example.com"}, map[string]any{"PTR": "example.com"})
		cz := &countingAll{r: z}
		ck := &Checker{Resolver: cz, Sequential: true, DefaultExplanation: "%{s} %{i}"}
		v := ck.CheckMailFrom(context.Background(), addr, "user@example.com", "helo.example")
		if v.Result > PermError {
			t.Fatalf("result %d", v.Result)
		}
		if n := cz.n.Load(); n > 1+10*11+1+11 {
			t.Fatalf("%d DNS queries for %q", n, rec)
		}
	})
}

// countingAll counts every query.
type countingAll struct {
	r Resolver
	n atomic.Int32
}

func (c *countingAll) LookupTXT(ctx context.Context, n string) ([]string, error) {
	c.n.Add(1)
	return c.r.LookupTXT(ctx, n)
}
func (c *countingAll) LookupA(ctx context.Context, n string) ([]netip.Addr, error) {
	c.n.Add(1)
	return c.r.LookupA(ctx, n)
}
func (c *countingAll) LookupAAAA(ctx context.Context, n string) ([]netip.Addr, error) {
	c.n.Add(1)
	return c.r.LookupAAAA(ctx, n)
}
func (c *countingAll) LookupMX(ctx context.Context, n string) ([]string, error) {
	c.n.Add(1)
	return c.r.LookupMX(ctx, n)
}
func (c *countingAll) LookupPTR(ctx context.Context, a netip.Addr) ([]string, error) {
	c.n.Add(1)
	return c.r.LookupPTR(ctx, a)
}
