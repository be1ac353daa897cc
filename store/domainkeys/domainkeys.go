package domainkeys

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	"esa/auth/dkim"
)

// PrivateKey is a PEM private key. The store treats values of this type as
// secrets (ConfigSecret): masked in showconfig, sealed at rest.
type PrivateKey string

// ConfigSecret marks PrivateKey as a secret for the store's file writer.
func (PrivateKey) ConfigSecret() {}

// Profile types.
const (
	TypeDK   = "domainkeys"
	TypeDKIM = "dkim"
)

// Header sets of a DKIM profile (seed 004 step 10).
const (
	HeadersAll      = "all"
	HeadersStandard = "standard"
)

// Body length modes of a DKIM profile (seed 004 step 11).
const (
	BodyImplied = "implied" // whole body implied: no l=
	BodyAuto    = "auto"    // whole body auto-determined: l= is the length
	BodyBytes   = "bytes"   // sign the first N bytes
)

// Key is one signing key (domainkeysconfig KEYS).
type Key struct {
	Name string     `xml:"name"`
	Key  PrivateKey `xml:"private_key"`
}

// Parse decodes the key's PEM.
func (k Key) Parse() (crypto.Signer, error) {
	return dkim.ParsePrivateKeyPEM([]byte(k.Key))
}

// Describe is the key's type as PRINT and the key list show it:
// "RSA 1024 bits" or "Ed25519".
func (k Key) Describe() string {
	s, err := k.Parse()
	if err != nil {
		return "invalid"
	}
	if _, ok := s.(*rsa.PrivateKey); ok {
		return fmt.Sprintf("RSA %d bits", dkim.KeySize(s))
	}
	return "Ed25519"
}

// SigningProfile is one DomainKeys or DKIM signing profile.
type SigningProfile struct {
	Name     string `xml:"name"`
	Type     string `xml:"type"` // TypeDK or TypeDKIM
	Domain   string `xml:"domain"`
	Selector string `xml:"selector"`
	// KeyName names a Key of the table. SecondKey, for DKIM only, names
	// a second key of the other algorithm: the profile then signs twice,
	// RSA and Ed25519 (RFC 8463 §1 recommends dual signing while
	// verifiers adopt Ed25519). Beyond the appliance, which is RSA only.
	KeyName   string `xml:"key"`
	SecondKey string `xml:"second_key,omitempty"`
	// SecondSelector is the selector the second key is published under.
	SecondSelector string `xml:"second_selector,omitempty"`
	// HeaderCanon and BodyCanon: DKIM simple/relaxed each; DomainKeys uses
	// HeaderCanon only, simple/nofws (RFC 4870 §3.4).
	HeaderCanon string `xml:"header_canon"`
	BodyCanon   string `xml:"body_canon,omitempty"`
	// DKIM only.
	Headers         string   `xml:"headers,omitempty"`
	ExtraHeaders    []string `xml:"extra_headers>header"`
	BodyLength      string   `xml:"body_length,omitempty"`
	BodyLengthBytes int64    `xml:"body_length_bytes,omitempty"`
	Identity        string   `xml:"identity,omitempty"` // i=
	TagQ            bool     `xml:"tag_q"`
	TagT            bool     `xml:"tag_t"`
	// Expiration is x= in seconds after t=; 0 writes no x=.
	Expiration int64 `xml:"expiration"`
	TagZ       bool  `xml:"tag_z"`
	// Users are the addresses, domains and subdomains the profile signs
	// for; empty means all users of Domain.
	Users []string `xml:"users>user"`
}

// VerificationProfile is one DKIM verification profile (seed 004
// "Managing DKIM verification profiles").
type VerificationProfile struct {
	Name            string `xml:"name"`
	MinKeyBits      int    `xml:"min_key_bits"`
	MaxKeyBits      int    `xml:"max_key_bits"`
	MaxSignatures   int    `xml:"max_signatures"`
	KeyQueryTimeout int    `xml:"key_query_timeout"` // seconds
	ClockSkew       int    `xml:"clock_skew"`        // seconds
	HonorBodyLength bool   `xml:"honor_body_length"`
	TempFailReject  bool   `xml:"tempfail_reject"`
	TempFailCode    int    `xml:"tempfail_code"`
	TempFailText    string `xml:"tempfail_text"`
	PermFailReject  bool   `xml:"permfail_reject"`
	PermFailCode    int    `xml:"permfail_code"`
	PermFailText    string `xml:"permfail_text"`
}

// Table is the domainkeysconfig table.
type Table struct {
	// SignSystemGenerated signs bounces and other system-generated
	// messages (SETUP question 1); FromHeader always takes the signing
	// identity from From: instead of Sender: (SETUP question 2).
	SignSystemGenerated bool                  `xml:"sign_system_generated"`
	FromHeader          bool                  `xml:"use_from_header"`
	Keys                []Key                 `xml:"keys>key"`
	Signing             []SigningProfile      `xml:"signing>profile"`
	Verification        []VerificationProfile `xml:"verification>profile"`
}

// DefaultVerification is the appliance's DEFAULT verification profile,
// taken from auth/dkim so the two never disagree.
func DefaultVerification() VerificationProfile {
	d := dkim.DefaultVerifyProfile()
	return VerificationProfile{
		Name:            d.Name,
		MinKeyBits:      d.MinKeyBits,
		MaxKeyBits:      d.MaxKeyBits,
		MaxSignatures:   d.MaxSignatures,
		KeyQueryTimeout: int(d.KeyQueryTimeout / time.Second),
		ClockSkew:       int(d.ClockSkew / time.Second),
		HonorBodyLength: d.HonorBodyLength,
		TempFailReject:  d.TempFail.Reject,
		TempFailCode:    d.TempFail.Code,
		TempFailText:    d.TempFail.Text,
		PermFailReject:  d.PermFail.Reject,
		PermFailCode:    d.PermFail.Code,
		PermFailText:    d.PermFail.Text,
	}
}

// Factory is a fresh appliance's table: no keys, no signing profiles, the
// DEFAULT verification profile, system-generated mail signed.
func Factory() Table {
	return Table{SignSystemGenerated: true, Verification: []VerificationProfile{DefaultVerification()}}
}

// NewDKIMProfile is a DKIM profile with the appliance's proposals (ESA-CLI
// §2.4): relaxed header, simple body, standard headers, whole body implied,
// q= and t= on, x= one year.
func NewDKIMProfile(name string) SigningProfile {
	return SigningProfile{
		Name: name, Type: TypeDKIM,
		HeaderCanon: string(dkim.Relaxed), BodyCanon: string(dkim.Simple),
		Headers: HeadersStandard, BodyLength: BodyImplied,
		TagQ: true, TagT: true, Expiration: int64(dkim.DefaultExpiration / time.Second),
	}
}

// NewDKProfile is a DomainKeys profile with the appliance's proposal, nofws.
func NewDKProfile(name string) SigningProfile {
	return SigningProfile{Name: name, Type: TypeDK, HeaderCanon: string(dkim.NoFWS)}
}

func find[T any](list []T, name string, nameOf func(T) string) int {
	for i, v := range list {
		if strings.EqualFold(nameOf(v), name) {
			return i
		}
	}
	return -1
}

// FindKey, FindSigning and FindVerification return the index of the named
// entry or -1; names compare without regard to case.
func (t Table) FindKey(name string) int {
	return find(t.Keys, name, func(k Key) string { return k.Name })
}
func (t Table) FindSigning(name string) int {
	return find(t.Signing, name, func(p SigningProfile) string { return p.Name })
}
func (t Table) FindVerification(name string) int {
	return find(t.Verification, name, func(p VerificationProfile) string { return p.Name })
}

// Match returns the signing profile of type typ whose users match addr
// most specifically, by auth/dkim's rules (dkim.UserMatch: an address
// beats a domain beats a subdomain; a profile without users signs for its
// own domain; ties go to the earlier profile). It scans the table in place
// rather than building dkim.BestProfile's lists, which cost an allocation
// per message.
func (t Table) Match(typ, addr string) (int, bool) {
	best, bestScore := -1, 0
	for i := range t.Signing {
		p := &t.Signing[i]
		if p.Type != typ {
			continue
		}
		if len(p.Users) == 0 {
			if s := dkim.UserMatch(p.Domain, addr); s > bestScore {
				best, bestScore = i, s
			}
			continue
		}
		for _, u := range p.Users {
			if s := dkim.UserMatch(u, addr); s > bestScore {
				best, bestScore = i, s
			}
		}
	}
	return best, best >= 0
}

// SignProfile turns a DKIM profile into the signer's profile.
func (t Table) SignProfile(p SigningProfile) (*dkim.SignProfile, error) {
	k, err := t.key(p)
	if err != nil {
		return nil, err
	}
	sp := &dkim.SignProfile{
		Domain: p.Domain, Selector: p.Selector, Key: k,
		HeaderCanon: dkim.Canonicalization(p.HeaderCanon), BodyCanon: dkim.Canonicalization(p.BodyCanon),
		Headers: dkim.HeadersStandard, ExtraHeaders: p.ExtraHeaders,
		BodyLength: dkim.BodyWholeImplied, Identity: p.Identity,
		TagQ: p.TagQ, TagT: p.TagT, TagZ: p.TagZ,
		Expiration: time.Duration(p.Expiration) * time.Second,
	}
	if p.Headers == HeadersAll {
		sp.Headers = dkim.HeadersAll
	}
	switch p.BodyLength {
	case BodyAuto:
		sp.BodyLength = dkim.BodyWholeAuto
	case BodyBytes:
		sp.BodyLength = dkim.BodyFirstN
		sp.BodyLengthBytes = p.BodyLengthBytes
	}
	return sp, nil
}

// SignProfiles is the signer's profiles of a DKIM profile: one, or two
// when the profile dual-signs with SecondKey (same d=, s= of each key is
// the profile's selector for the main key and SecondSelector's for the
// second).
func (t Table) SignProfiles(p SigningProfile) ([]*dkim.SignProfile, error) {
	sp, err := t.SignProfile(p)
	if err != nil {
		return nil, err
	}
	out := []*dkim.SignProfile{sp}
	if p.SecondKey != "" {
		q := p
		q.KeyName, q.Selector = p.SecondKey, p.SecondSelector
		sp2, err := t.SignProfile(q)
		if err != nil {
			return nil, err
		}
		out = append(out, sp2)
	}
	return out, nil
}

// MatchUser is Match that also returns the profile user entry that
// matched (the profile's domain for a profile without users), for the
// mail_logs line "signing with PROFILE - matches ADDR".
func (t Table) MatchUser(typ, addr string) (int, string, bool) {
	i, ok := t.Match(typ, addr)
	if !ok {
		return -1, "", false
	}
	p := t.Signing[i]
	if len(p.Users) == 0 {
		return i, p.Domain, true
	}
	best, score := "", 0
	for _, u := range p.Users {
		if s := dkim.UserMatch(u, addr); s > score {
			best, score = u, s
		}
	}
	return i, best, true
}

// DKProfile turns a DomainKeys profile into the signer's profile.
func (t Table) DKProfile(p SigningProfile) (*dkim.DKProfile, error) {
	k, err := t.key(p)
	if err != nil {
		return nil, err
	}
	r, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %q: DomainKeys signs with RSA keys only", p.KeyName)
	}
	return &dkim.DKProfile{Domain: p.Domain, Selector: p.Selector, Key: r, Canon: dkim.Canonicalization(p.HeaderCanon)}, nil
}

func (t Table) key(p SigningProfile) (crypto.Signer, error) {
	i := t.FindKey(p.KeyName)
	if i < 0 {
		return nil, fmt.Errorf("signing key %q is not configured", p.KeyName)
	}
	return t.Keys[i].Parse()
}

// VerifyProfile turns a verification profile into the verifier's.
func (v VerificationProfile) VerifyProfile() dkim.VerifyProfile {
	return dkim.VerifyProfile{
		Name: v.Name, MinKeyBits: v.MinKeyBits, MaxKeyBits: v.MaxKeyBits,
		MaxSignatures:   v.MaxSignatures,
		KeyQueryTimeout: time.Duration(v.KeyQueryTimeout) * time.Second,
		ClockSkew:       time.Duration(v.ClockSkew) * time.Second,
		HonorBodyLength: v.HonorBodyLength,
		TempFail:        dkim.SMTPAction{Reject: v.TempFailReject, Code: v.TempFailCode, Text: v.TempFailText},
		PermFail:        dkim.SMTPAction{Reject: v.PermFailReject, Code: v.PermFailCode, Text: v.PermFailText},
	}
}
