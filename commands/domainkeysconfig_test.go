package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esa/auth/dkim"
	"esa/dnssec"
	"esa/store"

	"github.com/miekg/dns"

	"esa/store/domainkeys"
)

// The domainkeysconfig transcripts; each check reads the committed table,
// so a screen that looks right but stores the wrong thing fails.
func init() {
	for name, tc := range map[string]transcript{
		"domainkeysconfig_keys": {check: func(t *testing.T, env *Env) {
			dk := env.Store.Committed().DomainKeys
			if len(dk.Keys) != 2 || dk.Keys[0].Name != "rsa1" || dk.Keys[1].Name != "ed1" {
				t.Fatalf("committed keys %+v", dk.Keys)
			}
			if dk.Keys[0].Describe() != "RSA 1024 bits" || dk.Keys[1].Describe() != "Ed25519" {
				t.Errorf("key types %s, %s", dk.Keys[0].Describe(), dk.Keys[1].Describe())
			}
			if dk.SignSystemGenerated || !dk.FromHeader {
				t.Errorf("SETUP not stored: %+v", dk)
			}
		}},
		"domainkeysconfig_signing": {check: func(t *testing.T, env *Env) {
			dk := env.Store.Committed().DomainKeys
			if len(dk.Signing) != 1 {
				t.Fatalf("committed profiles %+v", dk.Signing)
			}
			p := dk.Signing[0]
			want := domainkeys.SigningProfile{Name: "dkim2", Type: domainkeys.TypeDKIM, Domain: "mail.example.com", Selector: "sel1",
				KeyName: "rsa1", HeaderCanon: "relaxed", BodyCanon: "simple", Headers: domainkeys.HeadersStandard,
				BodyLength: domainkeys.BodyBytes, BodyLengthBytes: 100, Identity: "@mail.example.com", TagQ: true, TagT: true, Expiration: 600}
			if p.Name != want.Name || p.Type != want.Type || p.Domain != want.Domain || p.Selector != want.Selector ||
				p.KeyName != want.KeyName || p.HeaderCanon != want.HeaderCanon || p.BodyCanon != want.BodyCanon ||
				p.Headers != want.Headers || p.BodyLength != want.BodyLength || p.BodyLengthBytes != want.BodyLengthBytes ||
				p.Identity != want.Identity || p.TagQ != want.TagQ || p.TagT != want.TagT || p.Expiration != want.Expiration || p.TagZ {
				t.Errorf("profile\n got %+v\nwant %+v", p, want)
			}
			if len(p.ExtraHeaders) != 2 || p.ExtraHeaders[0] != "X-Custom" || p.ExtraHeaders[1] != "List-Id" {
				t.Errorf("extra headers %q", p.ExtraHeaders)
			}
			if len(p.Users) != 3 || p.Users[2] != "ann@example.com" {
				t.Errorf("users %q", p.Users)
			}
			// The stored profile is usable by the signer.
			if _, err := dk.SignProfile(p); err != nil {
				t.Error(err)
			}
			if i, ok := dk.Match(domainkeys.TypeDKIM, "ann@example.com"); !ok || i != 0 {
				t.Errorf("Match(ann@example.com) = %d %v", i, ok)
			}
		}},
		"domainkeysconfig_verification": {setup: func(t *testing.T, env *Env) {
			writeConfigFile(t, env, "dkv_bad.txt", "name=x\nmin_key_bits=1000\n")
		}, check: func(t *testing.T, env *Env) {
			dk := env.Store.Committed().DomainKeys
			if len(dk.Verification) != 1 {
				t.Fatalf("after CLEAR and IMPORT: %+v", dk.Verification)
			}
			v := dk.Verification[0]
			if v.Name != "strict" || v.MinKeyBits != 1536 || v.MaxKeyBits != 4096 || v.MaxSignatures != 4 || v.KeyQueryTimeout != 3 ||
				v.ClockSkew != 60 || v.HonorBodyLength || v.TempFailReject || v.PermFailReject {
				t.Errorf("strict profile %+v", v)
			}
		}},
		"domainkeysconfig_edit_refusals": {setup: dkSetup2, check: func(t *testing.T, env *Env) {
			dk := env.Store.Committed().DomainKeys
			if len(dk.Keys) != 2 || len(dk.Signing) != 1 {
				t.Fatalf("committed %d keys, %d profiles", len(dk.Keys), len(dk.Signing))
			}
			p := dk.Signing[0]
			if p.Domain != "example.net" || p.Selector != "s2" || p.KeyName != "rsa2048" || p.HeaderCanon != "simple" ||
				p.BodyCanon != "relaxed" || p.Headers != domainkeys.HeadersAll || p.BodyLength != domainkeys.BodyAuto || len(p.Users) != 0 ||
				p.Expiration != 0 || p.Identity != "" || p.TagQ || p.TagT || !p.TagZ || p.SecondKey != "ed1" || p.SecondSelector != "s2ed" {
				t.Errorf("edited profile %+v", p)
			}
		}},
		"domainkeysconfig_import_export": {setup: dkFiles, check: func(t *testing.T, env *Env) {
			want := newEnv(t)
			dkSetup2(t, want)
			got, exp := env.Store.Committed().DomainKeys, want.Store.Committed().DomainKeys
			if domainkeys.FormatKeys(got.Keys) != domainkeys.FormatKeys(exp.Keys) ||
				domainkeys.FormatProfiles(got.Signing) != domainkeys.FormatProfiles(exp.Signing) {
				t.Errorf("after the round trip:\n%+v\nwant\n%+v", got, exp)
			}
		}},
		"domainkeysconfig_test": {setup: dkTestBed},
		"domainkeysconfig_eof": {check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("an abandoned wizard left pending changes in %v", env.Session.Changed())
			}
		}},
		"domainkeysconfig_keys_edit": {setup: dkSetup2, check: func(t *testing.T, env *Env) {
			dk := env.Store.Committed().DomainKeys
			if dk.Keys[0].Name != "main" || dk.Keys[0].Describe() != "RSA 1024 bits" || dk.Signing[0].KeyName != "main" || len(dk.Signing) != 2 || dk.Signing[1].KeyName != "main" {
				t.Errorf("after EDIT: keys %s %s, profiles use %s %s", dk.Keys[0].Name, dk.Keys[0].Describe(), dk.Signing[0].KeyName, dk.Signing[1].KeyName)
			}
		}},
	} {
		transcripts[name] = tc
	}
}

func dkFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "store", "domainkeys", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dkSetup2 commits an RSA-2048 and an Ed25519 key and a DKIM profile p1
// for joe@example.com signing with the RSA key.
func dkSetup2(t *testing.T, env *Env) {
	commitCerts(t, env, func(c *store.Config) {
		c.DomainKeys.Keys = []domainkeys.Key{
			{Name: "rsa2048", Key: domainkeys.PrivateKey(dkFixture(t, "rsa2048.pem"))},
			{Name: "ed1", Key: domainkeys.PrivateKey(dkFixture(t, "ed25519.pem"))},
		}
		p := domainkeys.NewDKIMProfile("p1")
		p.Domain, p.Selector, p.KeyName, p.Users = "example.com", "s1", "rsa2048", []string{"joe@example.com"}
		c.DomainKeys.Signing = []domainkeys.SigningProfile{p}
	})
}

// TestDomainKeysSecretMasked: showconfig's masked form hides the signing
// keys; the plain form shows them.
func TestDomainKeysSecretMasked(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	dkSetup2(t, env)
	line := strings.Split(dkFixture(t, "rsa2048.pem"), "\n")[1]
	masked := script(env, "showconfig\n1\n")
	if strings.Contains(masked, line) || !strings.Contains(masked, "<private_key>*****</private_key>") {
		t.Errorf("masked showconfig shows the signing key:\n%s", masked)
	}
	if plain := script(env, "showconfig\n3\n"); !strings.Contains(plain, line) {
		t.Errorf("plain showconfig lacks the signing key")
	}
}

// dkFiles is dkSetup2 plus the refused import files.
func dkFiles(t *testing.T, env *Env) {
	dkSetup2(t, env)
	writeConfigFile(t, env, "dk_bad.txt", "name=p9\ncolour=red\n")
	writeConfigFile(t, env, "dk_orphan.txt", "name=p9\ntype=domainkeys\ndomain=example.com\nselector=s\nkey_name=nokey\nheader_canonicalization=nofws\n")
	writeConfigFile(t, env, "dk_onekey.txt", "name=other\n"+dkFixture(t, "ed25519.pem"))
}

// txtLookuper answers TXT queries from a map, with the security it is
// told: the command's side of the validating resolver (dnssec.Lookuper).
type txtLookuper map[string]struct {
	txt []string
	sec dnssec.Security
}

func (m txtLookuper) Lookup(ctx context.Context, name string, qtype uint16) (*dnssec.Answer, error) {
	e, ok := m[name]
	if !ok {
		return &dnssec.Answer{Name: name, Qtype: qtype, Security: dnssec.Secure}, nil
	}
	a := &dnssec.Answer{Name: name, Qtype: qtype, Security: e.sec}
	if e.sec == dnssec.Bogus {
		a.Reason = "signature expired"
	}
	a.Records = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: e.txt}}
	return a, nil
}

// dkTestBed is dkSetup2 with profiles p2 to p4 and a resolver publishing
// p1's key (split into 255-character strings), the Ed25519 key at p2's
// selector, nothing at p3's and a Bogus answer at p4's.
func dkTestBed(t *testing.T, env *Env) {
	dkSetup2(t, env)
	commitCerts(t, env, func(c *store.Config) {
		for _, sel := range []string{"p2", "p3", "p4"} {
			p := domainkeys.NewDKIMProfile(sel)
			p.Domain, p.Selector, p.KeyName = "example.com", sel, "rsa2048"
			c.DomainKeys.Signing = append(c.DomainKeys.Signing, p)
		}
	})
	rec := func(name string) string {
		k, err := domainkeys.Key{Key: domainkeys.PrivateKey(dkFixture(t, name))}.Parse()
		if err != nil {
			t.Fatal(err)
		}
		r, err := dkim.KeyRecordText(k, dkim.RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	m := txtLookuper{
		"s1._domainkey.example.com.": {dkim.SplitTXT(rec("rsa2048.pem")), dnssec.Secure},
		"p2._domainkey.example.com.": {[]string{rec("ed25519.pem")}, dnssec.Insecure},
		"p4._domainkey.example.com.": {[]string{rec("rsa2048.pem")}, dnssec.Bogus},
	}
	env.Resolver = func() (dnssec.Lookuper, error) { return m, nil }
}
