package commands

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"esa/store"
	"esa/store/certs"
	"esa/store/mailflow"
)

// certFixture reads a test certificate of store/certs/testdata (fixed
// certificates valid at the transcripts' clock).
func certFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "store", "certs", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// demoSetup is what the daemon's first start leaves: the demo certificate
// (a fixed one, so the screens are stable) and a listener using it.
func demoSetup(t *testing.T, env *Env) {
	commitCerts(t, env, func(c *store.Config) {
		c.Certificates.Certificates = append(c.Certificates.Certificates, certs.Certificate{Name: certs.DemoName, Demo: true,
			Cert: certFixture(t, "demo.pem"), Key: certs.PrivateKey(certFixture(t, "demo.key"))})
		c.Certificates.DemoMade = true
		l := mailflow.NewListener("IncomingMail", mailflow.Public, "127.0.0.1", 25)
		l.Certificate = certs.DemoName
		c.Listeners.Listeners = append(c.Listeners.Listeners, l)
	})
}

// mailSetup adds a CA-signed profile "mail.example" to demoSetup.
func mailSetup(t *testing.T, env *Env) {
	demoSetup(t, env)
	commitCerts(t, env, func(c *store.Config) {
		c.Certificates.Certificates = append(c.Certificates.Certificates, certs.Certificate{Name: "mail.example",
			Cert: certFixture(t, "leaf.pem"), Key: certs.PrivateKey(certFixture(t, "leaf.key"))})
	})
}

func commitCerts(t *testing.T, env *Env, change func(c *store.Config)) {
	t.Helper()
	ss := env.Store.NewSession("system")
	if err := ss.Update(func(c *store.Config) error { change(c); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("setup", false); err != nil {
		t.Fatal(err)
	}
}

func certFiles(t *testing.T, env *Env) {
	demoSetup(t, env)
	p12, err := os.ReadFile(filepath.Join("..", "store", "certs", "testdata", "leaf.p12"))
	if err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, env, "leaf.p12", string(p12))
	writeConfigFile(t, env, "bundle.pem", certFixture(t, "leaf.key")+certFixture(t, "leaf.pem")+certFixture(t, "ca.pem"))
	writeConfigFile(t, env, "mismatch.pem", certFixture(t, "other.key")+certFixture(t, "leaf.pem"))
	writeConfigFile(t, env, "broken.pem", certFixture(t, "leaf.key")+strings.Replace(certFixture(t, "leaf.pem"), "MII", "MIX", 1))
	writeConfigFile(t, env, "garbage.bin", "\x00\x01not a certificate at all\n")
	writeConfigFile(t, env, "ca.pem", certFixture(t, "ca.pem")+certFixture(t, "demo.pem"))
}

func profile(t *testing.T, c store.Config, name string) certs.Certificate {
	t.Helper()
	i := c.Certificates.Find(name)
	if i < 0 {
		t.Fatalf("no certificate %q in %+v", name, c.Certificates)
	}
	return c.Certificates.Certificates[i]
}

func init() {
	for name, tc := range map[string]transcript{
		"certconfig_paste": {setup: demoSetup, check: func(t *testing.T, env *Env) {
			c := profile(t, env.Store.Committed(), "mail.example")
			if c.Cert != certFixture(t, "leaf.pem") || c.Chain != certFixture(t, "ca.pem") || string(c.Key) != certFixture(t, "leaf.key") || c.Demo {
				t.Errorf("pasted profile = %+v", c)
			}
		}},
		"certconfig_paste_broken": {setup: demoSetup, check: func(t *testing.T, env *Env) {
			tab := env.Session.Config().Certificates
			for _, n := range []string{"broken", "keyascert", "mismatch"} {
				if tab.Find(n) >= 0 {
					t.Errorf("refused profile %q was stored", n)
				}
			}
			if c := profile(t, env.Session.Config(), "withbadchain"); c.Chain != "" {
				t.Errorf("a refused intermediate was kept: %q", c.Chain)
			}
			if c := profile(t, env.Session.Config(), certs.DemoName); c.Cert != certFixture(t, "demo.pem") {
				t.Error("declining to overwrite changed Demo")
			}
		}},
		"certconfig_import": {setup: certFiles, check: func(t *testing.T, env *Env) {
			c := env.Store.Committed()
			for _, n := range []string{"frompem", "fromp12"} {
				p := profile(t, c, n)
				if p.Cert != certFixture(t, "leaf.pem") || p.Chain != certFixture(t, "ca.pem") {
					t.Errorf("%s = %+v", n, p)
				}
			}
			if c.Certificates.Find("missing") >= 0 {
				t.Error("a missing file was imported")
			}
		}},
		"certconfig_import_refused": {setup: certFiles, check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("refused imports left changes in %v", env.Session.Changed())
			}
		}},
		"certconfig_new": {setup: demoSetup, check: func(t *testing.T, env *Env) {
			p := profile(t, env.Store.Committed(), "selfsigned")
			x, err := p.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if x.Leaf.Subject.String() != "CN=mx.example.com,OU=Mail,O=Example Inc,L=Paris,ST=Ile-de-France,C=FR" ||
				x.Leaf.PublicKey.(interface{ Size() int }).Size() != 256 || !strings.Contains(p.CSR, "CERTIFICATE REQUEST") {
				t.Errorf("new certificate %s, CSR %q", x.Leaf.Subject, p.CSR)
			}
		}},
		"certconfig_edit_export": {setup: mailSetup, check: func(t *testing.T, env *Env) {
			p := profile(t, env.Session.Config(), "mail.example")
			if p.Chain != certFixture(t, "ca.pem") {
				t.Errorf("edited chain %q", p.Chain)
			}
			want := certFixture(t, "leaf.pem") + certFixture(t, "ca.pem")
			for file, w := range map[string]string{"mail.pem": want, "mail-with-key.pem": want + certFixture(t, "leaf.key")} {
				got, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), file))
				if err != nil || string(got) != w {
					t.Errorf("%s: %v\n%s", file, err, got)
				}
			}
		}},
		"certconfig_delete": {setup: mailSetup, check: func(t *testing.T, env *Env) {
			tab := env.Session.Config().Certificates
			if tab.Find(certs.DemoName) < 0 || tab.Find("mail.example") >= 0 {
				t.Errorf("after delete: %+v", tab.Certificates)
			}
		}},
		"certconfig_setup": {setup: mailSetup, check: func(t *testing.T, env *Env) {
			c := env.Store.Committed()
			if c.Listeners.Listeners[0].Certificate != "mail.example" || c.Certificates.Outbound != "mail.example" ||
				c.Certificates.Find(certs.DemoName) >= 0 {
				t.Errorf("after setup: listener %q outbound %q, %d certificates", c.Listeners.Listeners[0].Certificate,
					c.Certificates.Outbound, len(c.Certificates.Certificates))
			}
		}},
		"certconfig_certauthority": {setup: certFiles, check: func(t *testing.T, env *Env) {
			tab := env.Store.Committed().Certificates
			if !tab.SystemCAs || !tab.CustomCAs || len(tab.Authorities) != 2 {
				t.Fatalf("authorities: %+v", tab)
			}
			if tab.Authorities[0].Cert != certFixture(t, "ca.pem") || tab.Authorities[1].Cert != certFixture(t, "demo.pem") {
				t.Errorf("kept authorities %q", tab.Authorities)
			}
			got, err := os.ReadFile(filepath.Join(env.Store.ConfigDir(), "cas.pem"))
			if err != nil || string(got) != certFixture(t, "ca.pem")+certFixture(t, "demo.pem") {
				t.Errorf("exported: %v %q", err, got)
			}
		}},
	} {
		transcripts[name] = tc
	}
}

// TestCertconfigKeyMasked: after PASTE and commit, showconfig's masked
// form shows no line of the private key, and the plain form does.
func TestCertconfigKeyMasked(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	mailSetup(t, env)
	body := strings.Split(certFixture(t, "leaf.key"), "\n")[2]
	if out := script(env, "showconfig\n1\n"); strings.Contains(out, body) || !strings.Contains(out, "<private_key>*****</private_key>") {
		t.Errorf("masked showconfig shows the key:\n%s", out)
	}
	if out := script(env, "showconfig\n3\n"); !strings.Contains(out, body) {
		t.Errorf("plain showconfig lacks the key")
	}
}

// TestCertconfigCSRSigned walks the CSR path: NEW shows the signing
// request, a CA signs it, EDIT puts the signed certificate in (the key
// stays, the CSR goes) and the profile then verifies against the CA.
func TestCertconfigCSRSigned(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	demoSetup(t, env)
	out := script(env, "certconfig\ncertificate\nnew\n\ncsr\nmx.example.net\nExample\nMail\nLyon\nARA\nFR\n365\n1\ny\n\n\n")
	i := strings.Index(out, "-----BEGIN CERTIFICATE REQUEST-----")
	j := strings.Index(out, "-----END CERTIFICATE REQUEST-----")
	if i < 0 || j < i {
		t.Fatalf("NEW did not show the CSR:\n%s", out)
	}
	b, _ := pem.Decode([]byte(out[i:]))
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "mx.example.net" {
		t.Fatalf("CSR: %v", err)
	}
	if p := profile(t, env.Session.Config(), "csr"); p.CSR != out[i:j+len("-----END CERTIFICATE REQUEST-----\n")] {
		t.Errorf("the CSR shown is not the one kept:\n%q\n%q", p.CSR, out[i:j])
	}
	caCert, err := certs.ParseCertificates(certFixture(t, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := certs.ParsePrivateKey(certFixture(t, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: csr.Subject, DNSNames: csr.DNSNames,
		NotBefore: clock.Add(-time.Hour), NotAfter: clock.AddDate(1, 0, 0), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert[0], csr.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	signed := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	out = script(env, "certconfig\ncertificate\nedit\ncsr\nn\ny\n"+signed+".\ny\n"+certFixture(t, "ca.pem")+".\nn\n\n\n")
	p := profile(t, env.Session.Config(), "csr")
	if p.CSR != "" || p.Cert != signed || p.Chain != certFixture(t, "ca.pem") {
		t.Fatalf("after EDIT: %+v\n%s", p, out)
	}
	if !regexp.MustCompile(`(?m)^csr +mx\.example\.net +Example Test CA +Active +365 days$`).MatchString(out) {
		t.Errorf("the list does not show the signed certificate:\n%s", out)
	}
	tc, err := env.Session.Config().Certificates.TLSCertificate("csr")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert[0])
	if _, err := tc.Leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: clock, DNSName: "mx.example.net"}); err != nil {
		t.Errorf("signed certificate does not verify: %v", err)
	}
}

// TestCertconfigPastedKeyNotLogged: the pasted private key is data, not a
// command line: it reaches neither the CLI audit log nor any other log.
func TestCertconfigPastedKeyNotLogged(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	demoSetup(t, env)
	key := certFixture(t, "leaf.key")
	out := script(env, "certconfig\ncertificate\npaste\nlogged\n"+certFixture(t, "leaf.pem")+".\n"+key+".\nn\n\n\ncommit\nc\nn\n")
	if !strings.Contains(out, "Changes committed") {
		t.Fatalf("paste:\n%s", out)
	}
	if !strings.Contains(readLogs(t, env), "User admin entered 'certconfig'") {
		t.Fatal("the audit log does not record the command: the check below would prove nothing")
	}
	body := strings.Split(key, "\n")[2]
	if strings.Contains(readLogs(t, env), body) {
		t.Error("a log holds the pasted private key")
	}
}

func readLogs(t *testing.T, env *Env) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(filepath.Join(env.Store.Dir(), "logs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}

// TestListenerconfigCertificate: listenerconfig EDIT → CERTIFICATE offers
// certconfig's certificates, the current one as the default.
func TestListenerconfigCertificate(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	mailSetup(t, env)
	out := script(env, "listenerconfig\nedit\n1\ncertificate\n2\n\n\n")
	if !strings.Contains(out, "Choose the certificate to use for STARTTLS:\n1. Demo\n2. mail.example\n[1]> 2") {
		t.Errorf("the question:\n%s", out)
	}
	if got := env.Session.Config().Listeners.Listeners[0].Certificate; got != "mail.example" {
		t.Errorf("listener certificate %q", got)
	}
}
