package certs

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, time.March, 4, 10, 20, 30, 0, time.UTC)

func read(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func leafProfile(t testing.TB) Certificate {
	return Certificate{Name: "mail", Cert: read(t, "leaf.pem"), Chain: read(t, "ca.pem"), Key: PrivateKey(read(t, "leaf.key"))}
}

func TestParseAndValidate(t *testing.T) {
	t.Parallel()
	good := leafProfile(t)
	if _, err := good.Parse(); err != nil {
		t.Fatalf("good profile: %v", err)
	}
	mismatch := good
	mismatch.Key = PrivateKey(read(t, "other.key"))
	broken := good
	broken.Cert = strings.Replace(good.Cert, "M", "x", 3)
	truncated := good
	truncated.Cert = good.Cert[:len(good.Cert)/2]
	notKey := good
	notKey.Key = PrivateKey(good.Cert)
	badChain := good
	badChain.Chain = "garbage"
	two := good
	two.Cert += good.Chain
	for _, tc := range []struct {
		name string
		tab  Table
		uses []string
		want string // substring of the error; "" valid
	}{
		{"good", Table{Certificates: []Certificate{good}, Outbound: "mail"}, []string{"MAIL"}, ""},
		{"factory", Factory(), []string{DemoName}, ""},
		{"mismatch", Table{Certificates: []Certificate{mismatch}}, nil, "key does not sign certificate"},
		{"broken base64", Table{Certificates: []Certificate{broken}}, nil, `certificate "mail"`},
		{"truncated", Table{Certificates: []Certificate{truncated}}, nil, "no PEM certificate found"},
		{"cert as key", Table{Certificates: []Certificate{notKey}}, nil, `expected a PRIVATE KEY PEM block, found "CERTIFICATE"`},
		{"bad chain", Table{Certificates: []Certificate{badChain}}, nil, "intermediate certificate: no PEM certificate found"},
		{"two leaves", Table{Certificates: []Certificate{two}}, nil, "expected one certificate, found 2"},
		{"bad name", Table{Certificates: []Certificate{{Name: "a b", Cert: good.Cert, Key: good.Key}}}, nil, "Valid characters"},
		{"duplicate", Table{Certificates: []Certificate{good, func() Certificate { c := good; c.Name = "MAIL"; return c }()}}, nil, "listed twice"},
		{"listener uses missing", Table{Certificates: []Certificate{good}}, []string{"gone"}, `listener certificate "gone" is not configured`},
		{"outbound missing", Table{Certificates: []Certificate{good}, Outbound: "gone"}, nil, `outbound certificate "gone"`},
		{"demo made, Demo deleted", Table{DemoMade: true, Certificates: []Certificate{good}}, []string{DemoName}, "not configured"},
		{"demo flag without demo made", Table{Certificates: []Certificate{func() Certificate { c := good; c.Demo = true; return c }()}}, nil, "never made"},
		{"bad authority", Table{Authorities: []Authority{{Cert: "x"}}}, nil, "custom certificate authority 1"},
	} {
		err := Validate(tc.tab, tc.uses)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestInUse(t *testing.T) {
	t.Parallel()
	tab := Table{Outbound: "mail"}
	got := InUse(tab, "Mail", []string{"In", "Out"}, []string{"Demo", "mail"})
	if strings.Join(got, ",") != "listener Out,outbound TLS" {
		t.Errorf("InUse = %q", got)
	}
	if got := InUse(tab, "other", []string{"In"}, []string{"Demo"}); got != nil {
		t.Errorf("unused certificate in use by %q", got)
	}
}

// TestTLSCertificate: the accessor gives the leaf, then the chain, and a key
// that completes a real handshake over loopback.
func TestTLSCertificate(t *testing.T) {
	t.Parallel()
	tab := Table{Certificates: []Certificate{leafProfile(t)}}
	c, err := tab.TLSCertificate("MAIL")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificate) != 2 || c.Leaf.Subject.CommonName != "mail.example.com" {
		t.Fatalf("chain of %d, leaf %v", len(c.Certificate), c.Leaf.Subject)
	}
	if _, err := tab.TLSCertificate("nope"); err == nil {
		t.Error("unknown certificate accepted")
	}
	roots := Table{CustomCAs: true, Authorities: []Authority{{Cert: read(t, "ca.pem")}}}.RootPool(x509.NewCertPool())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{c}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "mail.example.com",
		Time: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("handshake verified against the custom CA: %v", err)
	}
	conn.Close()
}

// TestRootPool: custom CAs only when the custom list is on; the system pool
// (given) only when the system list is on.
func TestRootPool(t *testing.T) {
	t.Parallel()
	leaf, _ := ParseCertificates(read(t, "leaf.pem"))
	ca := read(t, "ca.pem")
	sys := x509.NewCertPool()
	sysCA, _ := ParseCertificates(ca)
	sys.AddCert(sysCA[0])
	verifies := func(p *x509.CertPool) bool {
		_, err := leaf[0].Verify(x509.VerifyOptions{Roots: p, CurrentTime: now})
		return err == nil
	}
	for _, tc := range []struct {
		tab  Table
		sys  *x509.CertPool
		want bool
	}{
		{Table{CustomCAs: true, Authorities: []Authority{{Cert: ca}}}, nil, true},
		{Table{CustomCAs: false, Authorities: []Authority{{Cert: ca}}}, nil, false},
		{Table{SystemCAs: true}, sys, true},
		{Table{SystemCAs: false}, sys, false},
	} {
		if got := verifies(tc.tab.RootPool(tc.sys)); got != tc.want {
			t.Errorf("%+v: verifies %v, want %v", tc.tab, got, tc.want)
		}
	}
}

func TestNewDemo(t *testing.T) {
	t.Parallel()
	d, err := NewDemo("mx.example.org", now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Demo || d.Name != DemoName || p.Leaf.DNSNames[0] != "mx.example.org" {
		t.Errorf("demo = %+v, %v", d, p.Leaf.DNSNames)
	}
	if st, days := Status(p.Leaf, now); st != "Active" || days != 3650 {
		t.Errorf("status %s %d", st, days)
	}
	if err := Validate(Table{Certificates: []Certificate{d}, Outbound: DemoName, DemoMade: true}, []string{DemoName}); err != nil {
		t.Error(err)
	}
}

// TestAddDemo: the demo is made once; deleted, it does not come back and
// "Demo" no longer resolves.
func TestAddDemo(t *testing.T) {
	t.Parallel()
	tab := Factory()
	if !tab.Resolves(DemoName) {
		t.Fatal("a factory table must resolve Demo")
	}
	added, err := tab.AddDemo("esa.example.com", now)
	if err != nil || !added || len(tab.Certificates) != 1 || !tab.Certificates[0].Demo {
		t.Fatalf("AddDemo: %v %v %+v", added, err, tab)
	}
	if err := Validate(tab, []string{DemoName}); err != nil {
		t.Fatal(err)
	}
	if added, _ := tab.AddDemo("esa.example.com", now); added || len(tab.Certificates) != 1 {
		t.Error("a second AddDemo added another")
	}
	tab.Certificates = nil
	if added, _ := tab.AddDemo("esa.example.com", now); added || tab.Resolves(DemoName) {
		t.Error("the deleted demo came back or still resolves")
	}
}

func TestNewSelfSigned(t *testing.T) {
	t.Parallel()
	r := Request{Name: "selfie", CommonName: "mx.example.com", Org: "Example", Unit: "Mail", Locality: "Paris",
		State: "IDF", Country: "FR", Days: 30, Bits: 1024}
	c, err := NewSelfSigned(r, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Leaf.Subject.String(); got != "CN=mx.example.com,OU=Mail,O=Example,L=Paris,ST=IDF,C=FR" {
		t.Errorf("subject %s", got)
	}
	b, _ := pem.Decode([]byte(c.CSR))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("CSR %q", c.CSR)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil || csr.Subject.CommonName != "mx.example.com" {
		t.Errorf("CSR: %v %v", err, csr.Subject)
	}
	if _, err := NewSelfSigned(Request{Bits: 512, Days: 1}, rand.Reader, now); err == nil {
		t.Error("512-bit key accepted")
	}
}

func TestFromPEM(t *testing.T) {
	t.Parallel()
	c, err := FromPEM(read(t, "leaf.key") + read(t, "leaf.pem") + read(t, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Chain != read(t, "ca.pem") {
		t.Errorf("chain %q", c.Chain)
	}
	if _, err := FromPEM(read(t, "leaf.pem")); err == nil || err.Error() != "no PEM private key found" {
		t.Errorf("no key: %v", err)
	}
	if _, err := FromPEM(read(t, "other.key") + read(t, "leaf.pem")); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatch: %v", err)
	}
}

// TestPKCS12Committed: the committed file was made by OpenSSL 3
// (`openssl pkcs12 -export`: PBES2 AES-256-CBC, HMAC-SHA-256), which
// golang.org/x/crypto/pkcs12 cannot read.
func TestPKCS12Committed(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "leaf.p12"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromPKCS12(data, "correct-horse")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cert != read(t, "leaf.pem") || c.Chain != read(t, "ca.pem") {
		t.Errorf("imported %q / %q", c.Cert, c.Chain)
	}
	if _, err := FromPKCS12(data, "wrong"); !errors.Is(err, ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := FromPKCS12([]byte("not pkcs12"), "x"); !errors.Is(err, ErrNotPKCS12) {
		t.Errorf("garbage: %v", err)
	}
}

// TestPKCS12OpenSSL makes files with the openssl on this machine, in the
// current default and in the legacy (3DES) form, and imports them.
func TestPKCS12OpenSSL(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: PKCS#12 files from openssl are not tested (the committed one is)")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		extra []string
	}{{"default", nil}, {"legacy", []string{"-legacy"}}} {
		out := filepath.Join(dir, tc.name+".p12")
		args := append([]string{"pkcs12", "-export", "-in", "testdata/leaf.pem", "-inkey", "testdata/leaf.key",
			"-certfile", "testdata/ca.pem", "-out", out, "-passout", "pass:s3cret"}, tc.extra...)
		if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			if tc.extra != nil {
				t.Logf("openssl %s: %v %s (skipped)", tc.name, err, msg)
				continue
			}
			t.Fatalf("openssl: %v\n%s", err, msg)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := FromPKCS12(data, "s3cret"); err != nil || c.Cert != read(t, "leaf.pem") {
			t.Errorf("%s: %v", tc.name, err)
		}
		if _, err := FromPKCS12(data, "S3cret"); !errors.Is(err, ErrPassphrase) {
			t.Errorf("%s wrong passphrase: %v", tc.name, err)
		}
	}
}

func BenchmarkTLSCertificate(b *testing.B) {
	tab := Table{Certificates: []Certificate{leafProfile(b)}}
	for b.Loop() {
		if _, err := tab.TLSCertificate("mail"); err != nil {
			b.Fatal(err)
		}
	}
}
