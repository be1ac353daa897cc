package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// NewDemo makes the demo certificate for host: self-signed, ECDSA P-256,
// valid ten years from an hour before now (the appliance's demo lasts about
// ten years, ESA-CLI.md §4.1), named DemoName and marked Demo. The daemon
// calls it once, at its first start.
func NewDemo(host string, now time.Time) (Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Certificate{}, err
	}
	subj := pkix.Name{CommonName: "Messaging Gateway Appliance Demo Certificate", Organization: []string{"esa demo"}}
	c, err := selfSign(rand.Reader, key, subj, []string{host}, now, 3650)
	if err != nil {
		return Certificate{}, err
	}
	c.Name, c.Demo = DemoName, true
	return c, nil
}

// Request is what certconfig NEW asks (ESA-CLI.md §4.2), in its order.
type Request struct {
	Name                                            string
	CommonName, Org, Unit, Locality, State, Country string
	Days                                            int // duration before expiration
	Bits                                            int // RSA key size: 1024 or 2048
}

// NewSelfSigned makes the self-signed certificate and the certificate
// signing request (RFC 2986) of certconfig NEW, with an RSA key of r.Bits.
// The CSR is kept in the profile until a signed certificate replaces the
// self-signed one.
func NewSelfSigned(r Request, rnd io.Reader, now time.Time) (Certificate, error) {
	if r.Bits != 1024 && r.Bits != 2048 {
		return Certificate{}, fmt.Errorf("key size %d: must be 1024 or 2048", r.Bits)
	}
	if r.Days < 1 {
		return Certificate{}, errors.New("the duration must be at least one day")
	}
	key, err := rsa.GenerateKey(rnd, r.Bits)
	if err != nil {
		return Certificate{}, err
	}
	subj := pkix.Name{CommonName: r.CommonName}
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = []string{v}
		}
	}
	add(&subj.Organization, r.Org)
	add(&subj.OrganizationalUnit, r.Unit)
	add(&subj.Locality, r.Locality)
	add(&subj.Province, r.State)
	add(&subj.Country, r.Country)
	c, err := selfSign(rnd, key, subj, []string{r.CommonName}, now, r.Days)
	if err != nil {
		return Certificate{}, err
	}
	csr, err := x509.CreateCertificateRequest(rnd, &x509.CertificateRequest{Subject: subj, DNSNames: []string{r.CommonName}}, key)
	if err != nil {
		return Certificate{}, err
	}
	c.Name = r.Name
	c.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	return c, nil
}

func selfSign(rnd io.Reader, key crypto.Signer, subj pkix.Name, dns []string, now time.Time, days int) (Certificate, error) {
	serial, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subj,
		DNSNames:     dns,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(0, 0, days),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Certificate{}, err
	}
	k, err := EncodeKey(key)
	if err != nil {
		return Certificate{}, err
	}
	return Certificate{Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), Key: k}, nil
}

// ErrNotPKCS12: the file is no PKCS #12 file this package can read.
var ErrNotPKCS12 = errors.New("not a PKCS#12 file")

// ErrPassphrase: the PKCS #12 passphrase is wrong.
var ErrPassphrase = errors.New("the passphrase is incorrect")

// FromPKCS12 reads a PKCS #12 file (RFC 7292) with its passphrase: the key,
// the certificate and the CA certificates become the chain. Files made by
// current OpenSSL (PBES2 with AES-256-CBC, HMAC-SHA-256) and the legacy
// 3DES/RC2 ones both read.
func FromPKCS12(data []byte, passphrase string) (Certificate, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, passphrase)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return Certificate{}, ErrPassphrase
	}
	if err != nil {
		// The decoder's ASN.1 detail means nothing to an administrator.
		return Certificate{}, ErrNotPKCS12
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return Certificate{}, fmt.Errorf("unsupported private key type %T", key)
	}
	if err := KeyMatches(leaf, signer); err != nil {
		return Certificate{}, err
	}
	k, err := EncodeKey(signer)
	if err != nil {
		return Certificate{}, err
	}
	return Certificate{Cert: EncodeCertificates(leaf), Chain: EncodeCertificates(cas...), Key: k}, nil
}
