package domainkeys

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"esa/auth/dkim"
	"esa/store/names"
)

// ValidName checks a key or profile name: 1 to 64 characters, letters,
// digits, '-', '_' and '.', so it reads unambiguously in lists and files.
func ValidName(name string) error { return names.Profile(name) }

// ValidDomain checks a signing domain (d=) or selector (s=): dot-separated
// labels of letters, digits and '-' (RFC 6376 §3.1 and §3.5 take the
// sub-domain syntax of RFC 5321), at most 253 characters.
func ValidDomain(s string) error {
	if s == "" {
		return errors.New("You must enter a value.")
	}
	if len(s) > 253 {
		return errors.New("The value must be at most 253 characters long.")
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q is not a valid domain name.", s)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%q is not a valid domain name.", s)
			}
		}
	}
	return nil
}

// ValidUser checks a profile user entry: an address, a domain, "@domain" or
// ".domain" (a subdomain entry).
func ValidUser(u string) error {
	d := u
	if at := strings.LastIndexByte(u, '@'); at >= 0 {
		if at > 0 && strings.ContainsAny(u[:at], " \t\"<>@") {
			return fmt.Errorf("%q is not a valid user.", u)
		}
		d = u[at+1:]
	} else {
		d = strings.TrimPrefix(u, ".")
	}
	if ValidDomain(d) != nil {
		return fmt.Errorf("%q is not a valid user.", u)
	}
	return nil
}

// Validate checks the whole table: names unique, keys parse, every profile
// names an existing key of a type it can use, settings in range.
func Validate(t Table) error {
	for i, k := range t.Keys {
		if err := ValidName(k.Name); err != nil {
			return fmt.Errorf("key %d name %q: %v", i+1, k.Name, err)
		}
		if t.FindKey(k.Name) != i {
			return fmt.Errorf("key %q is listed twice", k.Name)
		}
		if _, err := k.Parse(); err != nil {
			return fmt.Errorf("key %q: %v", k.Name, err)
		}
	}
	for i, p := range t.Signing {
		if err := validateSigning(t, i, p); err != nil {
			return fmt.Errorf("signing profile %q: %v", p.Name, err)
		}
	}
	for i, v := range t.Verification {
		if err := ValidName(v.Name); err != nil {
			return fmt.Errorf("verification profile %d name %q: %v", i+1, v.Name, err)
		}
		if t.FindVerification(v.Name) != i {
			return fmt.Errorf("verification profile %q is listed twice", v.Name)
		}
		if err := ValidateVerification(v); err != nil {
			return fmt.Errorf("verification profile %q: %v", v.Name, err)
		}
	}
	return nil
}

func validateSigning(t Table, i int, p SigningProfile) error {
	if err := ValidName(p.Name); err != nil {
		return err
	}
	if t.FindSigning(p.Name) != i {
		return errors.New("listed twice")
	}
	if err := ValidDomain(p.Domain); err != nil {
		return fmt.Errorf("domain: %v", err)
	}
	if err := ValidDomain(p.Selector); err != nil {
		return fmt.Errorf("selector: %v", err)
	}
	for _, u := range p.Users {
		if err := ValidUser(u); err != nil {
			return err
		}
	}
	k := t.FindKey(p.KeyName)
	if k < 0 {
		return fmt.Errorf("signing key %q is not configured", p.KeyName)
	}
	signer, err := t.Keys[k].Parse()
	if err != nil {
		return err
	}
	switch p.Type {
	case TypeDK:
		if _, ok := signer.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("key %q: DomainKeys signs with RSA keys only", p.KeyName)
		}
		if p.HeaderCanon != string(dkim.Simple) && p.HeaderCanon != string(dkim.NoFWS) {
			return fmt.Errorf("canonicalization %q: must be simple or nofws", p.HeaderCanon)
		}
	case TypeDKIM:
		if p.SecondKey != "" {
			k2 := t.FindKey(p.SecondKey)
			if k2 < 0 {
				return fmt.Errorf("second signing key %q is not configured", p.SecondKey)
			}
			s2, err := t.Keys[k2].Parse()
			if err != nil {
				return err
			}
			_, rsa1 := signer.(*rsa.PrivateKey)
			_, rsa2 := s2.(*rsa.PrivateKey)
			if rsa1 == rsa2 {
				return errors.New("the second key must be of the other algorithm (RSA and Ed25519)")
			}
			if err := ValidDomain(p.SecondSelector); err != nil {
				return fmt.Errorf("second selector: %v", err)
			}
			if strings.EqualFold(p.SecondSelector, p.Selector) {
				return errors.New("the second selector must differ from the selector")
			}
		} else if p.SecondSelector != "" {
			return errors.New("a second selector without a second key")
		}
		for _, c := range []string{p.HeaderCanon, p.BodyCanon} {
			if c != string(dkim.Simple) && c != string(dkim.Relaxed) {
				return fmt.Errorf("canonicalization %q: must be simple or relaxed", c)
			}
		}
		if p.Headers != HeadersAll && p.Headers != HeadersStandard {
			return fmt.Errorf("header set %q: must be all or standard", p.Headers)
		}
		switch p.BodyLength {
		case BodyImplied, BodyAuto:
		case BodyBytes:
			if p.BodyLengthBytes < 1 {
				return errors.New("body length must be at least 1 byte")
			}
		default:
			return fmt.Errorf("body length mode %q: must be implied, auto or bytes", p.BodyLength)
		}
		if p.Expiration < 0 {
			return errors.New("expiration must not be negative")
		}
		if p.Identity != "" {
			// RFC 6376 §3.5 i=: the domain part must be d= or a subdomain.
			at := strings.LastIndexByte(p.Identity, '@')
			if at < 0 {
				return fmt.Errorf("identity %q: must contain '@' (RFC 6376 §3.5 i=)", p.Identity)
			}
			d, dom := strings.ToLower(p.Identity[at+1:]), strings.ToLower(p.Domain)
			if d != dom && !strings.HasSuffix(d, "."+dom) {
				return fmt.Errorf("identity %q: its domain must be %s or a subdomain of it (RFC 6376 §3.5 i=)", p.Identity, p.Domain)
			}
		}
	default:
		return fmt.Errorf("type %q: must be %s or %s", p.Type, TypeDK, TypeDKIM)
	}
	if p.Type == TypeDK && (p.SecondKey != "" || p.SecondSelector != "") {
		return errors.New("DomainKeys profiles sign with one key")
	}
	return nil
}

// ValidateVerification checks a verification profile's limits: RSA key
// bounds among the offered sizes, min ≤ max, at least one signature, the
// SMTP codes 4xx for temporary and 5xx for permanent failures.
func ValidateVerification(v VerificationProfile) error {
	if !bitsOK(v.MinKeyBits) || !bitsOK(v.MaxKeyBits) {
		return fmt.Errorf("key sizes %d/%d: must be one of 512, 768, 1024, 1536, 2048, 3072, 4096", v.MinKeyBits, v.MaxKeyBits)
	}
	if v.MinKeyBits > v.MaxKeyBits {
		return fmt.Errorf("minimum key size %d is above the maximum %d", v.MinKeyBits, v.MaxKeyBits)
	}
	if v.MaxSignatures < 1 || v.MaxSignatures > 100 {
		return fmt.Errorf("maximum signatures %d: must be 1 to 100", v.MaxSignatures)
	}
	if v.KeyQueryTimeout < 1 || v.KeyQueryTimeout > 600 {
		return fmt.Errorf("key query timeout %d: must be 1 to 600 seconds", v.KeyQueryTimeout)
	}
	if v.ClockSkew < 0 || v.ClockSkew > 86400 {
		return fmt.Errorf("clock skew %d: must be 0 to 86400 seconds", v.ClockSkew)
	}
	if v.TempFailReject && (v.TempFailCode < 400 || v.TempFailCode > 499) {
		return fmt.Errorf("temporary failure code %d: must be 4xx", v.TempFailCode)
	}
	if v.PermFailReject && (v.PermFailCode < 500 || v.PermFailCode > 599) {
		return fmt.Errorf("permanent failure code %d: must be 5xx", v.PermFailCode)
	}
	return nil
}

// VerifyKeySizes are the key sizes a verification profile may bound
// (seed 004, verification profile steps 2 and 3).
var VerifyKeySizes = []int{512, 768, 1024, 1536, 2048, 3072, 4096}

func bitsOK(n int) bool {
	for _, s := range VerifyKeySizes {
		if s == n {
			return true
		}
	}
	return false
}

// CheckVerificationUses reports a verification profile named in uses (the
// mail-flow policies' "Use DKIM Verification Profile") that the table does
// not hold: a profile in use cannot be deleted. "" names the DEFAULT
// profile and is always accepted (the flow falls back to the built-in
// DEFAULT values when it was deleted).
func CheckVerificationUses(t Table, uses []string) error {
	for _, u := range uses {
		if u != "" && t.FindVerification(u) < 0 {
			return fmt.Errorf("DKIM verification profile %q is used by a mail-flow policy and is not configured", u)
		}
	}
	return nil
}
