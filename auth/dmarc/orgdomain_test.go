package dmarc

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var checkPSL = regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);$`)

// TestPSLVectors runs the PSL project's checkPublicSuffix vectors: the
// registrable domain they expect is the RFC 7489 §3.2 Organizational Domain.
func TestPSLVectors(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedDir(t, "psl"), "test_psl.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '/' {
			continue
		}
		m := checkPSL.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unreadable vector %q", line)
			continue
		}
		n++
		if m[1] == "null" {
			continue // a null input has no Go equivalent beyond ""
		}
		in := m[1][1 : len(m[1])-1]
		got, ok := OrganizationalDomain(nil, in)
		if m[2] == "null" {
			if ok {
				t.Errorf("OrganizationalDomain(%q) = %q, want none", in, got)
			}
			continue
		}
		want := m[2][1 : len(m[2])-1]
		if !ok || got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// 82 lines, of which 4 (the "local" TLD) are commented out upstream.
	if n != 78 {
		t.Errorf("read %d vectors, want 78", n)
	}
	if _, ok := OrganizationalDomain(nil, ""); ok {
		t.Error(`OrganizationalDomain("") must have no answer`)
	}
}

// TestOrganizationalDomainEdges: forms mail headers produce that the PSL
// vectors do not cover.
func TestOrganizationalDomainEdges(t *testing.T) {
	for in, want := range map[string]string{
		"Mail.Example.COM.":   "example.com",
		"a.b.example.co.uk":   "example.co.uk",
		"192.0.2.1":           "",
		"2001:db8::1":         "",
		"a..example.com":      "",
		"x.blogspot.com":      "x.blogspot.com",
		"mail.x.blogspot.com": "x.blogspot.com",
	} {
		got, ok := OrganizationalDomain(DefaultPublicSuffixList(), in)
		if (want == "") == ok || got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
