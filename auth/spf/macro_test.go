package spf

import (
	"net/netip"
	"testing"
)

// TestRFC7208MacroExamples: the expansions listed in RFC 7208 §7.4.
func TestRFC7208MacroExamples(t *testing.T) {
	const sender = "strong-bad@email.example.com"
	v4 := netip.MustParseAddr("192.0.2.3")
	v6 := netip.MustParseAddr("2001:db8::cb01")
	for _, tc := range []struct {
		ip       netip.Addr
		in, want string
	}{
		{v4, "%{s}", "strong-bad@email.example.com"},
		{v4, "%{o}", "email.example.com"},
		{v4, "%{d}", "email.example.com"},
		{v4, "%{d4}", "email.example.com"},
		{v4, "%{d3}", "email.example.com"},
		{v4, "%{d2}", "example.com"},
		{v4, "%{d1}", "com"},
		{v4, "%{dr}", "com.example.email"},
		{v4, "%{d2r}", "example.email"},
		{v4, "%{l}", "strong-bad"},
		{v4, "%{l-}", "strong.bad"},
		{v4, "%{lr}", "strong-bad"},
		{v4, "%{lr-}", "bad.strong"},
		{v4, "%{l1r-}", "strong"},
		{v4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{v4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{v4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{v4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{v4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{v6, "%{ir}.%{v}._spf.%{d2}", "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"},
		// §7.3: upper-case letters URL-escape; %%, %_ and %- are literals.
		{v4, "%{S}", "strong-bad%40email.example.com"},
		{v4, "100%%%_%-", "100% %20"},
		{v6, "%{c}", "2001:db8::cb01"},
		{v4, "%{r} %{t}", "box.example.net 1234567890"},
	} {
		got, err := ExpandMacro(tc.in, true, tc.ip, sender, "email.example.com", "mx.example.org", "box.example.net", 1234567890)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.in, got, tc.want)
		}
	}
	// c, r and t only in explanations (RFC 7208 §7.1).
	for _, s := range []string{"%{c}", "%{r}", "%{t}", "%{x}", "%{d0}", "%a", "%{d"} {
		if _, err := ExpandMacro(s, false, v4, sender, "email.example.com", "mx", "", 0); err == nil {
			t.Errorf("%s accepted outside an explanation", s)
		}
	}
}
