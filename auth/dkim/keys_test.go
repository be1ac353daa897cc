package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateAndPEMRoundTrip(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{512, 768, 1024} {
		k, err := GenerateRSAKey(rand.Reader, bits)
		if err != nil {
			t.Fatalf("%d: %v", bits, err)
		}
		if KeySize(k) != bits {
			t.Errorf("generated %d bits, want %d", KeySize(k), bits)
		}
		pemBytes, err := MarshalPrivateKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN RSA PRIVATE KEY-----\n")) {
			t.Errorf("%d-bit key PEM starts %q", bits, pemBytes[:32])
		}
		back, err := ParsePrivateKeyPEM(pemBytes)
		if err != nil {
			t.Fatalf("%d: parse back: %v", bits, err)
		}
		if !back.(*rsa.PrivateKey).Equal(k) {
			t.Errorf("%d: key changed in PEM round trip", bits)
		}
		// Small keys still sign and verify DomainKeys.
		digest := make([]byte, 20)
		sig, err := rsaSign(k, 3 /* crypto.SHA1 */, digest)
		if err != nil {
			t.Fatalf("%d: sign: %v", bits, err)
		}
		if err := rsaVerify(&k.PublicKey, 3, digest, sig); err != nil {
			t.Errorf("%d: verify: %v", bits, err)
		}
		digest[0] = 1
		if rsaVerify(&k.PublicKey, 3, digest, sig) == nil {
			t.Errorf("%d: verified a signature over another digest", bits)
		}
	}
	if _, err := GenerateRSAKey(rand.Reader, 1000); err == nil || !strings.Contains(err.Error(), "512, 768, 1024, 1536, or 2048") {
		t.Errorf("1000 bits: %v", err)
	}
	ed, err := GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MarshalPrivateKeyPEM(ed)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKeyPEM(p)
	if err != nil || !back.(ed25519.PrivateKey).Equal(ed) {
		t.Errorf("ed25519 round trip: %v", err)
	}
	pub, _ := PublicKeyPEM(ed)
	if !bytes.HasPrefix(pub, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Errorf("public PEM %q", pub)
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := ParsePrivateKeyPEM([]byte(bad)); err == nil {
			t.Errorf("ParsePrivateKeyPEM(%q) accepted", bad)
		}
	}
}

// Private keys from the shared test data match the records published for
// them, which checks PEM parsing (PKCS#1, PKCS#8 RSA, PKCS#8 Ed25519) and
// record rendering together.
func TestTestdataKeysMatchRecords(t *testing.T) {
	t.Parallel()
	root := testdataDir(t, "")
	for _, tc := range []struct{ key, zone, name string }{
		{"rfc6376-appendixA/private-key.pem", "rfc6376-appendixA/dns.txt", "brisbane._domainkey.example.com"},
		{"rfc8463-appendixA/rsa-private-key.pem", "rfc8463-appendixA/dns.txt", "test._domainkey.football.example.com"},
		{"dkimpy-1.1.4/data/1024_testkey.key", "dkimpy-1.1.4/dns.txt", "test._domainkey.example.com"},
		{"dkimpy-1.1.4/data/2048_testkey_PKCS8.key", "dkimpy-1.1.4/dns.txt", "test5._domainkey.example.com"},
		{"domainkeys-vectors/private-key.pem", "domainkeys-vectors/dns.txt", "test8._domainkey.messiah.edu"},
	} {
		key, err := ParsePrivateKeyPEM(readFile(t, filepath.Join(root, tc.key)))
		if err != nil {
			t.Errorf("%s: %v", tc.key, err)
			continue
		}
		res := loadZone(t, filepath.Join(root, tc.zone), true)
		mine, _ := KeyRecordText(key, RecordOptions{})
		myP := mine[strings.Index(mine, "p="):]
		found := false
		for _, txt := range res.records[tc.name] {
			rec, err := ParseKeyRecord(txt)
			if err != nil {
				continue
			}
			found = found || rec.Key.(*rsa.PublicKey).Equal(key.Public())
		}
		if !found {
			t.Errorf("%s: no record at %s matches (%s…)", tc.key, tc.name, myP[:40])
		}
	}
}

func TestDNSTXT(t *testing.T) {
	t.Parallel()
	dir := testdataDir(t, "rfc6376-appendixA")
	key, err := ParsePrivateKeyPEM(readFile(t, filepath.Join(dir, "private-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := KeyRecordText(key, RecordOptions{})
	want := `brisbane._domainkey.example.com. IN TXT "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB;"`
	if got := DNSTXT("brisbane", "example.com", rec); got != want {
		t.Errorf("DNSTXT\n got %s\nwant %s", got, want)
	}
	rsa2048, ed := testKeys(t)
	for _, tc := range []struct {
		key     crypto.Signer
		o       RecordOptions
		strings int
		has     string
	}{
		{rsa2048, RecordOptions{}, 3, `"v=DKIM1;" "p=MIIBIjAN`},
		{rsa2048, RecordOptions{Testing: true, Strict: true, Notes: "key for mail; ask postmaster", Granularity: "joe"}, 3,
			`"v=DKIM1; g=joe; n=key=20for=20mail=3B=20ask=20postmaster; t=y:s;" "p=`},
		{ed, RecordOptions{}, 1, `"v=DKIM1; k=ed25519; p=`},
		{key, RecordOptions{DomainKeys: true, Testing: true}, 1, `"k=rsa; t=y; p=MIGf`},
	} {
		rec, err := KeyRecordText(tc.key, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		line := DNSTXT("sel", "example.com.", rec)
		if !strings.HasPrefix(line, "sel._domainkey.example.com. IN TXT ") || !strings.Contains(line, tc.has) {
			t.Errorf("DNSTXT = %s, want it to contain %s", line, tc.has)
		}
		parts := SplitTXT(rec)
		if len(parts) != tc.strings {
			t.Errorf("%d strings, want %d: %q", len(parts), tc.strings, parts)
		}
		for _, p := range parts {
			if len(p) > 255 {
				t.Errorf("string of %d characters", len(p))
			}
		}
		// What a resolver hands back (the strings concatenated) parses to
		// the same key.
		parse := ParseKeyRecord
		if tc.o.DomainKeys {
			parse = ParseDKKeyRecord
		}
		kr, err := parse(strings.Join(parts, ""))
		if err != nil {
			t.Fatalf("record %q: %v", strings.Join(parts, ""), err)
		}
		if !kr.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.key.Public()) || kr.Testing() != tc.o.Testing || kr.Strict() != (tc.o.Strict && !tc.o.DomainKeys) {
			t.Errorf("record %q parses to %+v", rec, kr)
		}
	}
	if _, err := KeyRecordText(ed, RecordOptions{DomainKeys: true}); err == nil {
		t.Error("an Ed25519 DomainKeys record was rendered")
	}
}

// Key records: the Mail::DKIM corpus' FAKE_DNS.dat records and dkimpy's RSA
// encodings, each with the verdict of ParseKeyRecord.
func TestKeyRecords(t *testing.T) {
	t.Parallel()
	const p512 = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALgSoqXVSEmfcIsOzw7oRuCCOwsmtX/SJnTWxYyj2leFxfS/AVJ+dYfY+hXqMsT7l+MZvvh/R1WzN4MO/kI/7XsCAwEAAQ=="
	for _, tc := range []struct {
		txt  string
		err  string // substring; "" = parses
		bits int
		test func(*KeyRecord) bool
	}{
		{"v=DKIM1; t=y; s=email; p=" + p512, "", 512, func(k *KeyRecord) bool { return k.Testing() }},
		{"v=DKIM1; s=email:web:fine; x1 = extra ; t = y:n:extra; h=md5:sha1; p=" + p512 + " ; ", "", 512,
			func(k *KeyRecord) bool { return k.Testing() && len(k.Hashes) == 2 }},
		{"v=DKIM1; g=jl*g; p=" + p512, "", 512, func(k *KeyRecord) bool { return k.Granularity == "jl*g" }},
		{"v=DKIM1; t=s; p=" + p512, "", 512, func(k *KeyRecord) bool { return k.Strict() && !k.Testing() }},
		{"v=DKIM3; t=y; p=" + p512, "unsupported key record version", 0, nil},
		{"k=rsa; t; p=" + p512, "has no value", 0, nil},
		{"k=foobar; t=y; p=" + p512, "unsupported key type", 0, nil},
		{"v=DKIM1; s=chat; p=" + p512, "not for email", 0, nil},
		{"k=rsa; t=y; p=", "revoked", 0, nil},
		{"k=rsa; t=y", "no p=", 0, nil},
		{"p=" + p512 + "; v=DKIM1", "first tag", 0, nil},
		{"v=DKIM1; k=ed25519; p=pP+YUyRjAvKha4Oc49KAY703oLUS1NLMEuGD3IHMKww=", "", 256, nil},
		{"v=DKIM1; k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=", "44 bytes", 0, nil},
		{"", "empty tag", 0, nil},
		{"p=!!!", "base64", 0, nil},
		{"p=" + p512 + "; p=" + p512, "duplicate tag", 0, nil},
		// dkimpy test_dkim_rsavariants: SubjectPublicKeyInfo and bare
		// PKCS#1 RSAPublicKey are both accepted.
		{"v=DKIM1; g=*; k=rsa; p=MIGJAoGBALppqRbOu5gApf05051Icx6apV0ZC6s1gsLUfs79PYtAgdVuQoXooqOWAUzuWvyyR9kyEl78pEYy9WMJXllqRkgZ4/ceLWpcIS+aNLgSWkw8w/I+tmKC33mKmrLA9hklYdtGInTzlV2RIK0tS+jmzKkDSdMl7KcSi4A37/AFoI7pAgMBAAE=", "", 1024, nil},
	} {
		k, err := ParseKeyRecord(tc.txt)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.txt, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want %q", tc.txt, err, tc.err)
		case tc.err == "" && (k.Bits() != tc.bits || tc.test != nil && !tc.test(k)):
			t.Errorf("%q: %+v (%d bits)", tc.txt, k, k.Bits())
		}
	}
}
