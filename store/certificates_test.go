package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esa/store/certs"
	"esa/store/mailflow"
)

func certFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("certs", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCertificateKeySecret: a certificate's private key is a secret like a
// passphrase: config.db never holds it in plain text (committed table and
// rollback point), a masked file shows "*****", an encrypted file reads
// back to the same key, and the store reopens with the key intact.
func TestCertificateKeySecret(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	key := certFixture(t, "leaf.key")
	ss := s.NewSession("admin")
	if err := ss.Update(func(c *Config) error {
		c.Certificates.Certificates = append(c.Certificates.Certificates, certs.Certificate{
			Name: "mail", Cert: certFixture(t, "leaf.pem"), Chain: certFixture(t, "ca.pem"), Key: certs.PrivateKey(key)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("cert", true); err != nil {
		t.Fatal(err)
	}
	body := strings.Split(strings.TrimSpace(key), "\n")[1] // a line of the key's base64
	masked, err := s.MarshalConfig(s.Committed(), MaskSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(masked, []byte(body)) || !bytes.Contains(masked, []byte("<private_key>*****</private_key>")) {
		t.Errorf("masked file:\n%s", masked)
	}
	enc, err := s.MarshalConfig(s.Committed(), EncryptSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte(body)) {
		t.Error("encrypted file holds the key in plain text")
	}
	back, err := s.UnmarshalConfig(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(back.Certificates.Certificates[0].Key); got != key {
		t.Errorf("key after the encrypted round trip: %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(dir, "config.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(body)) || !bytes.Contains(db, []byte(certFixture(t, "leaf.pem")[30:90])) {
		t.Error("config.db holds the private key in plain text (or not the certificate at all)")
	}
	s = openDir(t, dir)
	if got := string(s.Committed().Certificates.Certificates[0].Key); got != key {
		t.Errorf("key after reopening: %q", got)
	}
}

// TestCertificateInUse: the store refuses a table that drops a certificate
// a listener uses, and accepts it once the listener uses another.
func TestCertificateInUse(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ss := s.NewSession("admin")
	mail := certs.Certificate{Name: "mail", Cert: certFixture(t, "leaf.pem"), Key: certs.PrivateKey(certFixture(t, "leaf.key"))}
	if err := ss.Update(func(c *Config) error {
		c.Certificates.Certificates = []certs.Certificate{mail}
		c.Listeners.Listeners = []mailflow.Listener{mailflow.NewListener("In", mailflow.Public, "127.0.0.1", 25)}
		c.Listeners.Listeners[0].Certificate = "mail"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := ss.Update(func(c *Config) error { c.Certificates.Certificates = nil; return nil })
	if err == nil || !strings.Contains(err.Error(), `certificates: certificate: listener certificate "mail" is not configured`) {
		t.Fatalf("deleting a certificate in use: %v", err)
	}
	if err := ss.Update(func(c *Config) error {
		c.Certificates.Certificates = nil
		c.Listeners.Listeners[0].Certificate = certs.DemoName
		return nil
	}); err != nil {
		t.Errorf("deleting an unused certificate: %v", err)
	}
}
