package domainkeys

import (
	"crypto/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/dkim"
)

var (
	keyOnce sync.Once
	rsaPEM  string
	edPEM   string
)

// keys makes one RSA-1024 and one Ed25519 key for the package's tests.
func keys(t testing.TB) (string, string) {
	keyOnce.Do(func() {
		r, err := dkim.GenerateRSAKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := dkim.MarshalPrivateKeyPEM(r)
		rsaPEM = string(b)
		e, _ := dkim.GenerateEd25519Key(rand.Reader)
		b, _ = dkim.MarshalPrivateKeyPEM(e)
		edPEM = string(b)
	})
	return rsaPEM, edPEM
}

func sample(t testing.TB) Table {
	r, e := keys(t)
	tb := Factory()
	tb.Keys = []Key{{Name: "rsa", Key: PrivateKey(r)}, {Name: "ed", Key: PrivateKey(e)}}
	p := NewDKIMProfile("dkim1")
	p.Domain, p.Selector, p.KeyName = "example.com", "sel", "rsa"
	q := NewDKProfile("dk1")
	q.Domain, q.Selector, q.KeyName = "example.com", "dk", "rsa"
	q.Users = []string{"joe@example.com"}
	tb.Signing = []SigningProfile{p, q}
	return tb
}

func TestFactory(t *testing.T) {
	f := Factory()
	if err := Validate(f); err != nil {
		t.Fatal(err)
	}
	if len(f.Verification) != 1 || f.Verification[0].Name != "DEFAULT" {
		t.Fatalf("factory verification profiles %+v", f.Verification)
	}
	d := dkim.DefaultVerifyProfile()
	got := f.Verification[0].VerifyProfile()
	if got.MinKeyBits != d.MinKeyBits || got.MaxKeyBits != d.MaxKeyBits || got.MaxSignatures != 5 ||
		got.KeyQueryTimeout != 10*time.Second || got.ClockSkew != 60*time.Second || got.TempFail != d.TempFail || got.PermFail != d.PermFail || !got.HonorBodyLength {
		t.Fatalf("DEFAULT round trip %+v, want %+v", got, d)
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(sample(t)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*Table)
		want string
	}{
		{"dup key", func(tb *Table) { tb.Keys = append(tb.Keys, Key{Name: "RSA", Key: tb.Keys[0].Key}) }, "listed twice"},
		{"bad pem", func(tb *Table) { tb.Keys[0].Key = "junk" }, `key "rsa"`},
		{"bad key name", func(tb *Table) { tb.Keys[0].Name = "a b" }, "Valid characters"},
		{"missing key", func(tb *Table) { tb.Signing[0].KeyName = "none" }, "not configured"},
		{"dk with ed25519", func(tb *Table) { tb.Signing[1].KeyName = "ed" }, "RSA keys only"},
		{"dk canon", func(tb *Table) { tb.Signing[1].HeaderCanon = "relaxed" }, "simple or nofws"},
		{"dkim canon", func(tb *Table) { tb.Signing[0].BodyCanon = "nofws" }, "simple or relaxed"},
		{"bad domain", func(tb *Table) { tb.Signing[0].Domain = "exa mple" }, "domain"},
		{"bad selector", func(tb *Table) { tb.Signing[0].Selector = "" }, "selector"},
		{"bad user", func(tb *Table) { tb.Signing[0].Users = []string{"@"} }, "not a valid user"},
		{"headers", func(tb *Table) { tb.Signing[0].Headers = "some" }, "header set"},
		{"bytes zero", func(tb *Table) { tb.Signing[0].BodyLength = BodyBytes }, "at least 1 byte"},
		{"body mode", func(tb *Table) { tb.Signing[0].BodyLength = "x" }, "body length mode"},
		{"identity", func(tb *Table) { tb.Signing[0].Identity = "example.com" }, "identity"},
		{"identity domain", func(tb *Table) { tb.Signing[0].Identity = "joe@example.org" }, "subdomain"},
		{"type", func(tb *Table) { tb.Signing[0].Type = "x" }, "type"},
		{"second key same algorithm", func(tb *Table) { tb.Signing[0].SecondKey, tb.Signing[0].SecondSelector = "rsa", "ed" }, "other algorithm"},
		{"second key missing", func(tb *Table) { tb.Signing[0].SecondKey, tb.Signing[0].SecondSelector = "none", "ed" }, "second signing key"},
		{"second selector same", func(tb *Table) { tb.Signing[0].SecondKey, tb.Signing[0].SecondSelector = "ed", "SEL" }, "must differ"},
		{"second selector alone", func(tb *Table) { tb.Signing[0].SecondSelector = "ed" }, "without a second key"},
		{"dk second key", func(tb *Table) { tb.Signing[1].SecondKey, tb.Signing[1].SecondSelector = "ed", "ed" }, "one key"},
		{"dup profile", func(tb *Table) { tb.Signing[1].Name = "DKIM1" }, "listed twice"},
		{"min>max", func(tb *Table) { tb.Verification[0].MinKeyBits = 4096; tb.Verification[0].MaxKeyBits = 1024 }, "above the maximum"},
		{"odd size", func(tb *Table) { tb.Verification[0].MinKeyBits = 1000 }, "key sizes"},
		{"signatures", func(tb *Table) { tb.Verification[0].MaxSignatures = 0 }, "maximum signatures"},
		{"timeout", func(tb *Table) { tb.Verification[0].KeyQueryTimeout = 0 }, "key query timeout"},
		{"skew", func(tb *Table) { tb.Verification[0].ClockSkew = -1 }, "clock skew"},
		{"tempfail code", func(tb *Table) { tb.Verification[0].TempFailReject = true; tb.Verification[0].TempFailCode = 550 }, "4xx"},
		{"permfail code", func(tb *Table) { tb.Verification[0].PermFailReject = true; tb.Verification[0].PermFailCode = 451 }, "5xx"},
		{"dup verification", func(tb *Table) {
			tb.Verification = append(tb.Verification, DefaultVerification())
		}, "listed twice"},
	}
	for _, c := range cases {
		tb := sample(t)
		c.edit(&tb)
		err := Validate(tb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestMatch(t *testing.T) {
	tb := sample(t)
	p := NewDKIMProfile("joe")
	p.Domain, p.Selector, p.KeyName, p.Users = "example.com", "joe", "ed", []string{"joe@example.com"}
	tb.Signing = append(tb.Signing, p)
	for _, c := range []struct {
		typ, addr, want string
	}{
		{TypeDKIM, "ann@example.com", "dkim1"},
		{TypeDKIM, "JOE@example.com", "joe"},
		{TypeDK, "joe@example.com", "dk1"},
		{TypeDK, "ann@example.com", ""},
		{TypeDKIM, "ann@example.org", ""},
	} {
		i, ok := tb.Match(c.typ, c.addr)
		got := ""
		if ok {
			got = tb.Signing[i].Name
		}
		if got != c.want {
			t.Errorf("Match(%s, %s) = %q, want %q", c.typ, c.addr, got, c.want)
		}
		// The in-place scan agrees with auth/dkim's BestProfile.
		var idx []int
		var domains []string
		var users [][]string
		for k, p := range tb.Signing {
			if p.Type == c.typ {
				idx, domains, users = append(idx, k), append(domains, p.Domain), append(users, p.Users)
			}
		}
		if j, ok2 := dkim.BestProfile(c.addr, domains, users); ok2 != ok || ok && idx[j] != i {
			t.Errorf("Match(%s, %s) = %d %v, BestProfile says %d %v", c.typ, c.addr, i, ok, j, ok2)
		}
	}
}

// TestSignProfiles signs with the converted profiles and checks the
// signature header carries what the profile asked for.
func TestSignProfiles(t *testing.T) {
	tb := sample(t)
	p := tb.Signing[0]
	p.BodyLength, p.BodyLengthBytes, p.Headers, p.Identity = BodyBytes, 5, HeadersAll, "@example.com"
	sp, err := tb.SignProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: joe@example.com\r\nSubject: hi\r\n\r\nhello world\r\n"
	now := time.Unix(1700000000, 0)
	sigs, err := dkim.Sign(strings.NewReader(msg), now, sp)
	if err != nil || len(sigs) != 1 {
		t.Fatal(sigs, err)
	}
	for _, want := range []string{"d=example.com", "s=sel", "l=5", "i=@example.com", "c=relaxed/simple", "t=1700000000", "x=1731536000"} {
		if !strings.Contains(strings.ReplaceAll(sigs[0], "\r\n\t", ""), want) {
			t.Errorf("signature lacks %s: %s", want, sigs[0])
		}
	}
	dp, err := tb.DKProfile(tb.Signing[1])
	if err != nil {
		t.Fatal(err)
	}
	h, err := dkim.SignDomainKeys(strings.NewReader(msg), dp)
	if err != nil || !strings.Contains(h, "c=nofws") {
		t.Fatalf("DomainKeys signature %q %v", h, err)
	}
	if _, err := tb.DKProfile(SigningProfile{KeyName: "ed"}); err == nil {
		t.Fatal("DomainKeys with an Ed25519 key accepted")
	}
	if tb.Keys[0].Describe() != "RSA 1024 bits" || tb.Keys[1].Describe() != "Ed25519" {
		t.Fatal(tb.Keys[0].Describe(), tb.Keys[1].Describe())
	}
}

// FuzzValidUser feeds profile user entries (typed or imported) through
// the validator; accepted entries must be usable by the matcher.
func FuzzValidUser(f *testing.F) {
	for _, s := range []string{"joe@example.com", "@example.com", ".example.com", "example.com", "@", "a@b@c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if ValidUser(u) != nil {
			return
		}
		addr := u
		switch {
		case strings.LastIndexByte(u, '@') > 0:
		case strings.HasPrefix(u, "@"):
			addr = "x" + u
		case strings.HasPrefix(u, "."):
			addr = "x@sub" + u
		case !strings.Contains(u, "@"):
			addr = "x@" + u
		}
		if dkim.UserMatch(u, addr) == 0 {
			t.Fatalf("valid user %q does not match %q", u, addr)
		}
	})
}

func TestCheckVerificationUses(t *testing.T) {
	tb := Factory()
	if err := CheckVerificationUses(tb, []string{"", "default"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckVerificationUses(tb, []string{"strict"}); err == nil || !strings.Contains(err.Error(), `"strict"`) {
		t.Fatalf("missing profile accepted: %v", err)
	}
}

// BenchmarkMatch: profile lookup per outbound message over 1,000 DKIM
// profiles (one per domain), the worst case of a linear scan.
func BenchmarkMatch(b *testing.B) {
	var tb Table
	for i := range 1000 {
		p := NewDKIMProfile("p" + strconv.Itoa(i))
		p.Domain = "d" + strconv.Itoa(i) + ".example"
		tb.Signing = append(tb.Signing, p)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tb.Match(TypeDKIM, "joe@d999.example"); !ok {
			b.Fatal("no match")
		}
	}
}

// TestDualSign: a DKIM profile with a second key signs twice, RSA and
// Ed25519 (RFC 8463), under its two selectors; MatchUser names the entry
// that matched.
func TestDualSign(t *testing.T) {
	tb := sample(t)
	tb.Signing[0].SecondKey, tb.Signing[0].SecondSelector = "ed", "sel-ed"
	if err := Validate(tb); err != nil {
		t.Fatal(err)
	}
	sps, err := tb.SignProfiles(tb.Signing[0])
	if err != nil || len(sps) != 2 {
		t.Fatal(sps, err)
	}
	sigs, err := dkim.Sign(strings.NewReader("From: a@example.com\r\n\r\nhi\r\n"), time.Unix(1700000000, 0), sps...)
	if err != nil || len(sigs) != 2 {
		t.Fatal(sigs, err)
	}
	all := strings.Join(sigs, "")
	for _, want := range []string{"a=rsa-sha256", "a=ed25519-sha256", "s=sel;", "s=sel-ed;"} {
		if !strings.Contains(strings.ReplaceAll(all, "\r\n\t", ""), want) {
			t.Errorf("signatures lack %s:\n%s", want, all)
		}
	}
	ps, err := ParseProfiles(FormatProfiles(tb.Signing))
	if err != nil || ps[0].SecondKey != "ed" || ps[0].SecondSelector != "sel-ed" {
		t.Fatalf("export/import of the second key: %+v %v", ps, err)
	}
	if i, u, ok := tb.MatchUser(TypeDK, "JOE@example.com"); !ok || i != 1 || u != "joe@example.com" {
		t.Errorf("MatchUser(DK) = %d %q %v", i, u, ok)
	}
	if i, u, ok := tb.MatchUser(TypeDKIM, "ann@example.com"); !ok || i != 0 || u != "example.com" {
		t.Errorf("MatchUser(DKIM) = %d %q %v", i, u, ok)
	}
}
