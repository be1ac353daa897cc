package domainkeys

import (
	"strings"
	"testing"
)

// TestFileRoundTrip: exported keys and profiles import back identical and
// the table they make validates.
func TestFileRoundTrip(t *testing.T) {
	tb := sample(t)
	tb.Signing[0].ExtraHeaders = []string{"X-A", "List-Id"}
	tb.Signing[0].Identity, tb.Signing[0].TagZ = "@example.com", true
	keys, err := ParseKeys(FormatKeys(tb.Keys))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParseProfiles(FormatProfiles(tb.Signing))
	if err != nil {
		t.Fatal(err)
	}
	if FormatKeys(keys) != FormatKeys(tb.Keys) || FormatProfiles(ps) != FormatProfiles(tb.Signing) {
		t.Fatalf("round trip differs:\n%s\n%s", FormatProfiles(ps), FormatProfiles(tb.Signing))
	}
	if len(ps) != 2 || ps[0].Identity != "@example.com" || !ps[0].TagZ || len(ps[0].ExtraHeaders) != 2 || ps[1].Users[0] != "joe@example.com" {
		t.Fatalf("parsed %+v", ps)
	}
	tb.Keys, tb.Signing = keys, ps
	if err := Validate(tb); err != nil {
		t.Fatal(err)
	}
}

func TestFileRefused(t *testing.T) {
	r, _ := keys(t)
	for _, c := range []struct{ name, text, want string }{
		{"keys no name", "\n" + r, "Expecting name="},
		{"keys bad pem", "name=a\nnot pem\n", `key "a"`},
		{"keys twice", "name=a\n" + r + "\nname=A\n" + r, "listed twice"},
		{"keys bad name", "name=a b\n" + r, "Valid characters"},
	} {
		if _, err := ParseKeys(c.text); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct{ name, text, want string }{
		{"empty", "# nothing\n", "at least one"},
		{"no equals", "name=a\nbogus\n", "Expecting key=value"},
		{"unknown", "name=a\ncolour=red\n", "unknown field"},
		{"twice", "name=a\nname=b\n", "given twice"},
		{"number", "name=a\nexpiration=x\n", "Expecting a number"},
		{"tag", "name=a\ntags=q,w\n", "unknown tag"},
		{"no name", "type=dkim\n", "Expecting name="},
	} {
		if _, err := ParseProfiles(c.text); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzParseProfiles and FuzzParseKeys: import files are untrusted; what
// parses must format and parse back to the same thing.
func FuzzParseProfiles(f *testing.F) {
	f.Add(FormatProfiles([]SigningProfile{NewDKIMProfile("a"), NewDKProfile("b")}))
	f.Add("name=a\ntags=q,t\nusers=a@b.c,.d.e\n\nname=b\n")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseProfiles(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if strings.ContainsAny(p.Name+p.Domain+p.Selector+p.KeyName+strings.Join(p.Users, "")+strings.Join(p.ExtraHeaders, ""), "\n") {
				t.Fatalf("newline in a parsed field: %+v", p)
			}
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	f.Add("name=a\n-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIN2bTBwKxNRPHWdJ6HUQ6FXYvbJ9MvwxYfVmvjqH0I7y\n-----END PRIVATE KEY-----\n")
	f.Add("name=a\nname=b\n")
	f.Fuzz(func(t *testing.T, s string) {
		ks, err := ParseKeys(s)
		if err != nil {
			return
		}
		again, err := ParseKeys(FormatKeys(ks))
		if err != nil || len(again) != len(ks) {
			t.Fatalf("formatted keys do not parse back: %v", err)
		}
	})
}

func TestVerificationFile(t *testing.T) {
	v := DefaultVerification()
	w := v
	w.Name, w.TempFailReject, w.MinKeyBits = "strict", true, 2048
	vs, err := ParseVerification(FormatVerification([]VerificationProfile{v, w}))
	if err != nil || len(vs) != 2 || vs[0] != v || vs[1] != w {
		t.Fatalf("round trip: %+v %v", vs, err)
	}
	// Only what differs from DEFAULT need be given.
	vs, err = ParseVerification("name=lax\nclock_skew=300\n")
	if err != nil || vs[0].ClockSkew != 300 || vs[0].MaxSignatures != 5 {
		t.Fatalf("partial profile: %+v %v", vs, err)
	}
	for _, c := range []struct{ text, want string }{
		{"name=a\nclock_skew=x\n", "Expecting a number"},
		{"name=a\nhonor_body_length=maybe\n", "Expecting true or false"},
		{"name=a\nfoo=1\n", "unknown field"},
		{"clock_skew=1\n", "Expecting name="},
		{"", "at least one"},
	} {
		if _, err := ParseVerification(c.text); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

func FuzzParseVerification(f *testing.F) {
	f.Add(FormatVerification([]VerificationProfile{DefaultVerification()}))
	f.Add("name=a\nclock_skew=-1\n")
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParseVerification(s)
		if err != nil {
			return
		}
		again, err := ParseVerification(FormatVerification(vs))
		if err != nil || len(again) != len(vs) {
			t.Fatalf("formatted profiles do not parse back: %v", err)
		}
	})
}
