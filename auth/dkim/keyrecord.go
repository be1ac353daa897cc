package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeyRecord is a parsed DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4.2)
// or DomainKeys key record (RFC 4870 §3.2.3).
type KeyRecord struct {
	KeyType  string   // k=: "rsa" (default) or "ed25519"
	Hashes   []string // h=: acceptable hash algorithms; nil means any
	Services []string // s=: service types; nil means "*"
	Flags    []string // t=: flags as published
	Notes    string   // n=
	// Granularity is the g= tag of DomainKeys and of RFC 4871 (dropped by
	// RFC 6376 §C.1, where it is ignored); HasGranularity tells "g=" from
	// no tag.
	Granularity    string
	HasGranularity bool
	Key            crypto.PublicKey // *rsa.PublicKey or ed25519.PublicKey
	Revoked        bool             // p= is empty (RFC 6376 §3.6.1)
}

// Testing reports t=y: the domain is testing DKIM and verifiers must not
// treat the result differently from unsigned mail (RFC 6376 §3.6.1).
func (k *KeyRecord) Testing() bool { return k.hasFlag("y") }

// Strict reports t=s: the i= domain must equal d=, no subdomain
// (RFC 6376 §3.6.1).
func (k *KeyRecord) Strict() bool { return k.hasFlag("s") }

func (k *KeyRecord) hasFlag(f string) bool {
	for _, x := range k.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// Bits returns the key size: the modulus length for RSA, 256 for Ed25519.
func (k *KeyRecord) Bits() int {
	switch pk := k.Key.(type) {
	case *rsa.PublicKey:
		return pk.N.BitLen()
	case ed25519.PublicKey:
		return 256
	}
	return 0
}

// errRevoked is returned for an empty p= tag.
var errRevoked = errors.New("key revoked")

// ParseKeyRecord parses a DKIM key record (the TXT strings concatenated,
// RFC 6376 §3.6.2.2). Unknown tags are ignored (§3.6.1 "Unrecognized tags
// MUST be ignored"); anything else that is wrong is an error, which the
// verifier reports as permerror.
func ParseKeyRecord(txt string) (*KeyRecord, error) {
	tags, err := parseTagList(txt)
	if err != nil {
		return nil, err
	}
	// v= is optional but, when present, must be "DKIM1" and come first.
	if v, ok := tags.get("v"); ok {
		if v != "DKIM1" {
			return nil, fmt.Errorf("unsupported key record version %q", v)
		}
		if tags[0].name != "v" {
			return nil, errors.New("v= is not the first tag of the key record")
		}
	}
	rec := &KeyRecord{KeyType: "rsa"}
	if k, ok := tags.get("k"); ok {
		rec.KeyType = strings.ToLower(k)
	}
	if h, ok := tags.get("h"); ok {
		rec.Hashes = splitColon(stripFWS(h))
	}
	if s, ok := tags.get("s"); ok {
		rec.Services = splitColon(stripFWS(s))
		usable := false
		for _, x := range rec.Services {
			if x == "*" || x == "email" {
				usable = true
			}
		}
		if !usable {
			return nil, fmt.Errorf("key is not for email (s=%s)", s)
		}
	}
	if t, ok := tags.get("t"); ok {
		rec.Flags = splitColon(stripFWS(t))
	}
	rec.Notes, _ = tags.get("n")
	rec.Granularity, rec.HasGranularity = tags.get("g")
	p, ok := tags.get("p")
	if !ok {
		return nil, errors.New("key record has no p= tag")
	}
	if err := rec.decodeKey(stripFWS(p)); err != nil {
		return rec, err
	}
	return rec, nil
}

func (rec *KeyRecord) decodeKey(p string) error {
	if p == "" {
		rec.Revoked = true
		return errRevoked
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return errors.New("p= is not valid base64")
	}
	switch rec.KeyType {
	case "rsa":
		// RFC 6376 §3.6.1 says SubjectPublicKeyInfo; some publishers put a
		// bare PKCS#1 RSAPublicKey (dkimpy and OpenDKIM accept it), so we do
		// too: there is no ambiguity between the two encodings.
		if pk, err := x509.ParsePKIXPublicKey(der); err == nil {
			rsaKey, ok := pk.(*rsa.PublicKey)
			if !ok {
				return errors.New("p= is not an RSA key")
			}
			rec.Key = rsaKey
			return nil
		}
		pk, err := x509.ParsePKCS1PublicKey(der)
		if err != nil {
			return errors.New("p= is not an RSA public key")
		}
		rec.Key = pk
	case "ed25519":
		// RFC 8463 §4.2: the bare 32-byte public key, not an SPKI structure.
		if len(der) != ed25519.PublicKeySize {
			return fmt.Errorf("ed25519 key has %d bytes, want %d", len(der), ed25519.PublicKeySize)
		}
		rec.Key = ed25519.PublicKey(der)
	default:
		return fmt.Errorf("unsupported key type %q", rec.KeyType)
	}
	return nil
}

// ParseDKKeyRecord parses a DomainKeys key record (RFC 4870 §3.2.3): tags
// g, k, n, p, t; no v=.
func ParseDKKeyRecord(txt string) (*KeyRecord, error) {
	tags, err := parseTagList(txt)
	if err != nil {
		return nil, err
	}
	rec := &KeyRecord{KeyType: "rsa"}
	if k, ok := tags.get("k"); ok {
		rec.KeyType = strings.ToLower(k)
	}
	if rec.KeyType != "rsa" {
		return nil, fmt.Errorf("unsupported key type %q", rec.KeyType)
	}
	if t, ok := tags.get("t"); ok {
		rec.Flags = splitColon(stripFWS(t))
	}
	rec.Notes, _ = tags.get("n")
	rec.Granularity, rec.HasGranularity = tags.get("g")
	p, ok := tags.get("p")
	if !ok {
		return nil, errors.New("key record has no p= tag")
	}
	if err := rec.decodeKey(stripFWS(p)); err != nil {
		return rec, err
	}
	return rec, nil
}
