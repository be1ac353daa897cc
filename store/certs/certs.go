package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DemoName is the name of the demo certificate, the one a fresh appliance
// offers with STARTTLS (ESA-CLI.md §4.1: "The ESA comes preconfigured with a
// demonstration certificate").
const DemoName = "Demo"

// PrivateKey is a PEM private key. The store treats values of this type as
// secrets (ConfigSecret): masked in showconfig, sealed at rest.
type PrivateKey string

// ConfigSecret marks PrivateKey as a secret for the store's file writer.
func (PrivateKey) ConfigSecret() {}

// Certificate is one certificate profile.
type Certificate struct {
	Name string `xml:"name"`
	// Demo marks the demo certificate the daemon generated at its first
	// start: self-signed, it cannot offer a verifiable connection.
	Demo bool `xml:"demo"`
	// Cert is the PEM certificate; Chain the PEM intermediates, leaf's
	// issuer first (RFC 8446 §4.4.2 order), possibly empty.
	Cert  string     `xml:"certificate"`
	Chain string     `xml:"chain,omitempty"`
	Key   PrivateKey `xml:"private_key"`
	// CSR is the signing request made with the self-signed certificate of
	// certconfig NEW, kept so EDIT can show it until the signed certificate
	// replaces the self-signed one.
	CSR string `xml:"csr,omitempty"`
}

// Authority is one custom certificate authority (PEM).
type Authority struct {
	Cert string `xml:"certificate"`
}

// Table is the certconfig table.
type Table struct {
	Certificates []Certificate `xml:"profile"`
	// Outbound names the certificate presented to servers that ask for a
	// client certificate during outbound TLS ("" none).
	Outbound string `xml:"outbound"`
	// SystemCAs: the system's trusted root list is used by the verify
	// modes; CustomCAs: the custom list is.
	// DemoMade records that the daemon made the demo certificate (at its
	// first start): from then on "Demo" names only a profile of the table,
	// and deleting the demo does not bring it back.
	DemoMade    bool        `xml:"demo_made"`
	SystemCAs   bool        `xml:"system_cas"`
	CustomCAs   bool        `xml:"custom_cas"`
	Authorities []Authority `xml:"authorities>authority"`
}

// Factory is a fresh appliance's table: no certificate yet (the daemon adds
// the demo certificate at its first start, so the factory configuration
// stays deterministic), outbound TLS with the demo certificate, the system
// CA list on and the custom list off.
func Factory() Table {
	return Table{Outbound: DemoName, SystemCAs: true}
}

// Find returns the index of the named certificate, or -1. Names are
// compared without regard to case, as the appliance's profiles.
func (t Table) Find(name string) int {
	for i, c := range t.Certificates {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// Resolves reports whether a reference to name is good: a certificate of
// the table, or the demo certificate before the daemon's first start made
// it (a factory configuration references "Demo" already).
func (t Table) Resolves(name string) bool {
	if t.Find(name) >= 0 {
		return true
	}
	return !t.DemoMade && strings.EqualFold(name, DemoName)
}

// AddDemo makes the demo certificate for host and adds it to the table,
// once: it does nothing when the demo was made before (even if deleted
// since) and reports whether it added one. The daemon calls it at its
// first start in a system session.
func (t *Table) AddDemo(host string, now time.Time) (bool, error) {
	if t.DemoMade {
		return false, nil
	}
	d, err := NewDemo(host, now)
	if err != nil {
		return false, err
	}
	if i := t.Find(DemoName); i >= 0 {
		// An administrator's profile named Demo (made before the first
		// start, by loadconfig) keeps its name; the demo is not added.
		t.DemoMade = true
		return false, nil
	}
	t.Certificates = append([]Certificate{d}, t.Certificates...)
	t.DemoMade = true
	return true, nil
}

// TLSCertificate returns the named certificate with its chain and key, for
// a listener's STARTTLS or for outbound TLS.
func (t Table) TLSCertificate(name string) (tls.Certificate, error) {
	i := t.Find(name)
	if i < 0 {
		return tls.Certificate{}, fmt.Errorf("certificate %q is not configured", name)
	}
	c := t.Certificates[i]
	p, err := c.Parse()
	if err != nil {
		return tls.Certificate{}, err
	}
	out := tls.Certificate{PrivateKey: p.Key, Leaf: p.Leaf, Certificate: [][]byte{p.Leaf.Raw}}
	for _, ic := range p.Chain {
		out.Certificate = append(out.Certificate, ic.Raw)
	}
	return out, nil
}

// RootPool is the pool the verify modes check a server's chain against: the
// custom authorities when the custom list is on, plus the system pool when
// the system list is on. system is the system's pool (nil: the host's,
// x509.SystemCertPool); a parameter so tests and lab beds can give their
// own. With both lists off the pool is empty: nothing verifies.
func (t Table) RootPool(system *x509.CertPool) *x509.CertPool {
	var pool *x509.CertPool
	if t.SystemCAs {
		if system == nil {
			system, _ = x509.SystemCertPool()
		}
		if system != nil {
			pool = system.Clone()
		}
	}
	if pool == nil {
		pool = x509.NewCertPool()
	}
	if t.CustomCAs {
		for _, a := range t.Authorities {
			if cs, err := ParseCertificates(a.Cert); err == nil {
				for _, c := range cs {
					pool.AddCert(c)
				}
			}
		}
	}
	return pool
}

// Parsed is a certificate profile decoded.
type Parsed struct {
	Leaf  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Parse decodes and checks a profile: the certificate and chain parse, the
// key parses and is the certificate's.
func (c Certificate) Parse() (Parsed, error) {
	var p Parsed
	leaf, err := ParseCertificates(c.Cert)
	if err != nil {
		return p, err
	}
	if len(leaf) != 1 {
		return p, fmt.Errorf("expected one certificate, found %d", len(leaf))
	}
	p.Leaf = leaf[0]
	if strings.TrimSpace(c.Chain) != "" {
		if p.Chain, err = ParseCertificates(c.Chain); err != nil {
			return p, fmt.Errorf("intermediate certificate: %v", err)
		}
	}
	if p.Key, err = ParsePrivateKey(string(c.Key)); err != nil {
		return p, err
	}
	if err := KeyMatches(p.Leaf, p.Key); err != nil {
		return p, err
	}
	return p, nil
}

// ErrKeyMismatch: the private key is not the certificate's.
var ErrKeyMismatch = errors.New("key does not sign certificate")

// KeyMatches reports ErrKeyMismatch unless key's public half is cert's.
func KeyMatches(cert *x509.Certificate, key crypto.Signer) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return ErrKeyMismatch
	}
	return nil
}

// ParseCertificates decodes one or more PEM CERTIFICATE blocks (RFC 7468
// §5). Anything else in the text, or text that is no PEM at all, is an
// error naming what was found.
func ParseCertificates(text string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("expected a CERTIFICATE PEM block, found %q", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("text after the last PEM certificate is not PEM")
	}
	return out, nil
}

// ParsePrivateKey decodes one PEM private key: PKCS #1 RSA (RFC 8017
// appendix A.1.2), SEC 1 EC (RFC 5915) or PKCS #8 (RFC 5208, RSA, ECDSA,
// Ed25519). Encrypted PEM is refused: the key is asked for unencrypted, the
// store encrypts it.
func ParsePrivateKey(text string) (crypto.Signer, error) {
	b, rest := pem.Decode([]byte(text))
	if b == nil {
		return nil, errors.New("no PEM private key found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("text after the PEM private key")
	}
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the private key is encrypted; paste it unencrypted")
	default:
		return nil, fmt.Errorf("expected a PRIVATE KEY PEM block, found %q", b.Type)
	}
	if err != nil {
		return nil, err
	}
	switch s := k.(type) {
	case *rsa.PrivateKey:
		return s, nil
	case *ecdsa.PrivateKey:
		return s, nil
	case ed25519.PrivateKey:
		return s, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", k)
}

// EncodeCertificates is the PEM text of certs.
func EncodeCertificates(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return b.String()
}

// EncodeKey is the PKCS #8 PEM text of key.
func EncodeKey(key crypto.Signer) (PrivateKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return PrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// Status is the certificate's state at now as the list shows it: "Active",
// "Expired" or "Not valid yet", and the whole days remaining.
func Status(leaf *x509.Certificate, now time.Time) (string, int) {
	days := int(leaf.NotAfter.Sub(now) / (24 * time.Hour))
	switch {
	case now.After(leaf.NotAfter):
		return "Expired", 0
	case now.Before(leaf.NotBefore):
		return "Not valid yet", days
	}
	return "Active", days
}

// FromPEM reads a PEM file holding a certificate, its intermediates (in
// that order) and its unencrypted private key, as certconfig IMPORT takes.
func FromPEM(text string) (Certificate, error) {
	var certText, keyText strings.Builder
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			if keyText.Len() > 0 {
				return Certificate{}, errors.New("more than one private key")
			}
			keyText.Write(pem.EncodeToMemory(b))
		} else {
			certText.Write(pem.EncodeToMemory(b))
		}
	}
	cs, err := ParseCertificates(certText.String())
	if err != nil {
		return Certificate{}, err
	}
	if keyText.Len() == 0 {
		return Certificate{}, errors.New("no PEM private key found")
	}
	c := Certificate{Cert: EncodeCertificates(cs[0]), Chain: EncodeCertificates(cs[1:]...), Key: PrivateKey(keyText.String())}
	if _, err := c.Parse(); err != nil {
		return Certificate{}, err
	}
	return c, nil
}
