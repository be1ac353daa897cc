package certs

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromPEM: pasted and imported PEM text is untrusted; any input is
// refused with an error or gives a profile that validates.
func FuzzFromPEM(f *testing.F) {
	for _, n := range []string{"leaf.pem", "leaf.key", "ca.pem", "demo.pem"} {
		b, _ := os.ReadFile(filepath.Join("testdata", n))
		f.Add(string(b))
	}
	f.Add("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		ParseCertificates(s)
		ParsePrivateKey(s)
		c, err := FromPEM(s)
		if err != nil {
			return
		}
		c.Name = "x"
		if err := Validate(Table{Certificates: []Certificate{c}}, nil); err != nil {
			t.Fatalf("FromPEM accepted a profile the validator refuses: %v", err)
		}
	})
}

// FuzzFromPKCS12: an imported PKCS#12 file is untrusted.
func FuzzFromPKCS12(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("testdata", "leaf.p12"))
	f.Add(b, "correct-horse")
	f.Add(b, "")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "x")
	f.Fuzz(func(t *testing.T, data []byte, pass string) {
		c, err := FromPKCS12(data, pass)
		if err != nil {
			return
		}
		c.Name = "x"
		if err := Validate(Table{Certificates: []Certificate{c}}, nil); err != nil {
			t.Fatalf("FromPKCS12 accepted a profile the validator refuses: %v", err)
		}
	})
}
