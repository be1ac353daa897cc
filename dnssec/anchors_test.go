package dnssec

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestBuiltinAnchors(t *testing.T) {
	t.Parallel()
	a := BuiltinAnchors()
	if len(a) != 2 {
		t.Fatalf("got %d anchors", len(a))
	}
	tags := map[uint16]string{}
	for _, rr := range a {
		ds := rr.(*dns.DS)
		if ds.Hdr.Name != "." || ds.Algorithm != 8 || ds.DigestType != 2 {
			t.Errorf("bad anchor %s", ds)
		}
		tags[ds.KeyTag] = strings.ToUpper(ds.Digest)
	}
	if tags[20326] != "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D" ||
		tags[38696] != "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16" {
		t.Fatalf("wrong digests: %v", tags)
	}
}

func TestParseAnchors(t *testing.T) {
	t.Parallel()
	good := `; test bed root
$TTL 3600
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D ; KSK-2017
example. IN DNSKEY 257 3 13 (
    mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )
`
	rrs, err := ParseAnchors(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(rrs) != 2 || rrs[0].Header().Rrtype != dns.TypeDS || rrs[1].Header().Rrtype != dns.TypeDNSKEY {
		t.Fatalf("got %v", rrs)
	}
	for _, c := range []struct{ text, want string }{
		{". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n\nexample. IN A 192.0.2.1\n", "line 3: A record"},
		{"; nothing\n", "no DS or DNSKEY"},
		{"example. IN DNSKEY 1 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n", "not a zone key"},
		{". IN DS 20326 8 2 (\nE06D\n", "unbalanced"},
		{"garbage here\n", `anchors: line 1: not a TTL: "here"`},
	} {
		_, err := ParseAnchors(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAnchors(%q) = %v, want error containing %q", c.text, err, c.want)
		}
	}
}

func FuzzParseAnchors(f *testing.F) {
	f.Add(rootAnchors)
	f.Add("$TTL 60\nexample. DNSKEY 257 3 13 ( AAAA )\n")
	f.Add("x. IN A 1.2.3.4\n")
	f.Fuzz(func(t *testing.T, text string) {
		rrs, err := ParseAnchors(text)
		if err != nil {
			return
		}
		for _, rr := range rrs {
			switch rr.(type) {
			case *dns.DS, *dns.DNSKEY:
			default:
				t.Fatalf("non-anchor record returned: %v", rr)
			}
		}
	})
}
