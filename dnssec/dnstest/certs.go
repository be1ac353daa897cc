package dnstest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Cert is one generated certificate and its key.
type Cert struct {
	Cert *x509.Certificate
	Key  ed25519.PrivateKey
}

// DER returns the certificate's DER encoding.
func (c *Cert) DER() []byte { return c.Cert.Raw }

// Chain is a generated certificate chain: private root CA -> intermediate
// -> leaf, or a self-signed leaf (Root and Intermediate nil).
type Chain struct {
	Root, Intermediate, Leaf *Cert
	// TLS is what the server presents: the leaf and the intermediate, and
	// the root too when ChainOptions.SendRoot is set.
	TLS tls.Certificate
}

// ChainOptions describes a chain. Keys are Ed25519 derived from Seed, so
// the same options give byte-identical certificates and TLSA digests
// (golden transcripts stay stable).
type ChainOptions struct {
	// Names are the leaf's DNS names (SAN); the first is also its CN.
	Names []string
	// Seed makes the keys (and so the certificates) reproducible; ""
	// uses the first name.
	Seed string
	// Now anchors validity (default time.Now): leaves are valid from
	// Now-1h to Now+1y, CAs from Now-1y to Now+10y.
	Now time.Time
	// SelfSigned makes a lone self-signed leaf.
	SelfSigned bool
	// LeafCA marks the leaf as a CA (basic constraints CA:TRUE), as
	// `openssl req -x509` makes self-signed certificates: such a leaf
	// verifies its own signature, so only the rule that DANE-TA never
	// matches at depth 0 keeps a "2 0 0" record of it from authenticating
	// it (RFC 7671 §5.2.2).
	LeafCA bool
	// Expired makes the leaf valid from Now-2y to Now-1y (DANE-EE must
	// still accept it, RFC 7671 §5.1; DANE-TA must not).
	Expired bool
	// SendRoot adds the root CA to the presented chain, so a DANE-TA
	// record for the root can match (RFC 7671 §5.2.2).
	SendRoot bool
}

// NewChain generates a chain.
func NewChain(t testing.TB, o ChainOptions) *Chain {
	t.Helper()
	if len(o.Names) == 0 {
		t.Fatalf("dnstest: NewChain needs at least one name")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Seed == "" {
		o.Seed = o.Names[0]
	}
	now := o.Now.Truncate(time.Second)
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(o.Seed, "leaf"),
		Subject:      pkix.Name{CommonName: strings.TrimSuffix(o.Names[0], ".")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range o.Names {
		leafTmpl.DNSNames = append(leafTmpl.DNSNames, strings.TrimSuffix(n, "."))
	}
	if o.LeafCA {
		leafTmpl.BasicConstraintsValid, leafTmpl.IsCA = true, true
		leafTmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if o.Expired {
		leafTmpl.NotBefore, leafTmpl.NotAfter = now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)
	}
	c := &Chain{}
	if o.SelfSigned {
		c.Leaf = issue(t, leafTmpl, o.Seed+"/leaf", nil)
		c.TLS = tls.Certificate{Certificate: [][]byte{c.Leaf.DER()}, PrivateKey: c.Leaf.Key, Leaf: c.Leaf.Cert}
		return c
	}
	ca := func(cn, role string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber:          serial(o.Seed, role),
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"dnstest"}},
			NotBefore:             now.AddDate(-1, 0, 0),
			NotAfter:              now.AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
	}
	c.Root = issue(t, ca("dnstest root CA", "root"), o.Seed+"/root", nil)
	c.Intermediate = issue(t, ca("dnstest intermediate CA", "intermediate"), o.Seed+"/intermediate", c.Root)
	c.Leaf = issue(t, leafTmpl, o.Seed+"/leaf", c.Intermediate)
	c.TLS = tls.Certificate{Certificate: [][]byte{c.Leaf.DER(), c.Intermediate.DER()}, PrivateKey: c.Leaf.Key, Leaf: c.Leaf.Cert}
	if o.SendRoot {
		c.TLS.Certificate = append(c.TLS.Certificate, c.Root.DER())
	}
	return c
}

func serial(seed, role string) *big.Int {
	s := sha256.Sum256([]byte("dnstest serial " + seed + "/" + role))
	return new(big.Int).SetBytes(s[:16])
}

// issue signs tmpl with parent's key (self-signed when parent is nil).
func issue(t testing.TB, tmpl *x509.Certificate, seed string, parent *Cert) *Cert {
	t.Helper()
	s := sha256.Sum256([]byte("dnstest key " + seed))
	key := ed25519.NewKeyFromSeed(s[:])
	pc, pk := tmpl, key
	if parent != nil {
		pc, pk = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(nil, tmpl, pc, key.Public(), pk)
	if err != nil {
		t.Fatalf("dnstest: certificate %s: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("dnstest: certificate %s: %v", tmpl.Subject.CommonName, err)
	}
	return &Cert{Cert: cert, Key: key}
}

// TLSAName returns the TLSA owner for an SMTP host: "_25._tcp.<host>."
// (RFC 7672 §2.2.3: the port in the name is 25 whatever port a test
// actually connects to).
func TLSAName(host string) string { return "_25._tcp." + dns.Fqdn(host) }

// TLSAFor builds a TLSA record for cert at owner.
func TLSAFor(owner string, usage, selector, matching uint8, cert *x509.Certificate) *dns.TLSA {
	r := &dns.TLSA{Hdr: dns.RR_Header{Name: dns.Fqdn(owner), Rrtype: dns.TypeTLSA, Class: dns.ClassINET, Ttl: 300}}
	if err := r.Sign(int(usage), int(selector), int(matching), cert); err != nil {
		// Only unknown selectors/matching types fail; callers asking for
		// those want NonMatchingTLSA instead.
		panic(fmt.Sprintf("dnstest: TLSA %d %d %d: %v", usage, selector, matching, err))
	}
	return r
}

// EE returns a DANE-EE(3) record for the leaf: EE(owner, 1, 1) is the
// common "3 1 1", EE(owner, 0, 0) the full certificate.
func (c *Chain) EE(owner string, selector, matching uint8) *dns.TLSA {
	return TLSAFor(owner, 3, selector, matching, c.Leaf.Cert)
}

// TA returns a DANE-TA(2) record for the root CA ("2 0 1" etc.). The root
// only matches when the server sends it (ChainOptions.SendRoot).
func (c *Chain) TA(owner string, selector, matching uint8) *dns.TLSA {
	return TLSAFor(owner, 2, selector, matching, c.Root.Cert)
}

// TAIntermediate returns a DANE-TA(2) record for the intermediate, which
// the server always sends.
func (c *Chain) TAIntermediate(owner string, selector, matching uint8) *dns.TLSA {
	return TLSAFor(owner, 2, selector, matching, c.Intermediate.Cert)
}

// PKIX returns a PKIX-TA(0) or PKIX-EE(1) record (usage 0: root CA, 1:
// leaf), which RFC 7672 §3.1.3 makes unusable for SMTP.
func (c *Chain) PKIX(owner string, usage, selector, matching uint8) *dns.TLSA {
	cert := c.Leaf.Cert
	if usage == 0 && c.Root != nil {
		cert = c.Root.Cert
	}
	return TLSAFor(owner, usage, selector, matching, cert)
}

// NonMatchingTLSA returns a well-formed record that matches no
// certificate: its digest is the hash of a fixed string. matching 1 gives
// 32 bytes, 2 gives 64; other values (e.g. 255 private, or 3 unknown) get
// 32 bytes, which makes the record unusable.
func NonMatchingTLSA(owner string, usage, selector, matching uint8) *dns.TLSA {
	s := sha256.Sum256([]byte("dnstest non-matching"))
	d := hex.EncodeToString(s[:])
	if matching == 2 {
		d += d
	}
	return &dns.TLSA{
		Hdr:   dns.RR_Header{Name: dns.Fqdn(owner), Rrtype: dns.TypeTLSA, Class: dns.ClassINET, Ttl: 300},
		Usage: usage, Selector: selector, MatchingType: matching, Certificate: d,
	}
}

// Pool returns a pool holding the root CA (for PKIX verification in
// tlsverify tests), or nil for a self-signed chain.
func (c *Chain) Pool() *x509.CertPool {
	if c.Root == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(c.Root.Cert)
	return p
}
