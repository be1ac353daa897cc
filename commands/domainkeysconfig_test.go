package commands

import (
	"testing"

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
			want := domainkeys.SigningProfile{Name: "dkim2", Type: domainkeys.TypeDKIM, Domain: "example.com", Selector: "sel1",
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
		"domainkeysconfig_verification": {check: func(t *testing.T, env *Env) {
			dk := env.Store.Committed().DomainKeys
			if len(dk.Verification) != 0 {
				t.Errorf("CLEAR left %+v", dk.Verification)
			}
		}},
	} {
		transcripts[name] = tc
	}
}
