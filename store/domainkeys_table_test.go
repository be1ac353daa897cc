package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esa/store/domainkeys"
	"esa/store/mailflow"
)

// TestDomainKeysTable: a verification profile a mail-flow policy names
// cannot be deleted, and a signing key is a secret (masked, and absent in
// plain text from the database file).
func TestDomainKeysTable(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	pem, err := os.ReadFile(filepath.Join("domainkeys", "testdata", "rsa1024.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ss := s.NewSession("admin")
	if err := ss.Update(func(c *Config) error {
		c.DomainKeys.Keys = []domainkeys.Key{{Name: "k", Key: domainkeys.PrivateKey(pem)}}
		strict := domainkeys.DefaultVerification()
		strict.Name = "strict"
		c.DomainKeys.Verification = append(c.DomainKeys.Verification, strict)
		l := mailflow.NewListener("In", mailflow.Public, "127.0.0.1", 25)
		l.HAT.Policies = append(l.HAT.Policies, mailflow.Policy{Name: "STRICT", Action: "ACCEPT",
			Params: []mailflow.Param{{Key: "dkim_profile", Value: "strict"}}})
		c.Listeners.Listeners = append(c.Listeners.Listeners, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err = ss.Update(func(c *Config) error {
		c.DomainKeys.Verification = c.DomainKeys.Verification[:1]
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `"strict"`) {
		t.Fatalf("deleting a verification profile in use: %v", err)
	}
	if _, err := ss.Commit("dk", false); err != nil {
		t.Fatal(err)
	}
	masked, err := s.MarshalConfig(s.Committed(), MaskSecrets)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Split(string(pem), "\n")[1]
	if strings.Contains(string(masked), line) || !strings.Contains(string(masked), "<private_key>*****</private_key>") {
		t.Errorf("masked file shows the signing key")
	}
	s.Close()
	db, err := os.ReadFile(filepath.Join(dir, "config.db"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(db), line) {
		t.Errorf("config.db holds the signing key in plain text")
	}
}
