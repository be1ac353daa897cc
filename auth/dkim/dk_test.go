package dkim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The 16 DomainKeys signing vectors: rsa-sha1 PKCS#1 v1.5 is
// deterministic, so the same key, headers and tags must give the same
// DomainKey-Signature field byte for byte.
func TestDomainKeysSigningVectors(t *testing.T) {
	dir := testdataDir(t, "domainkeys-vectors")
	key, err := ParsePrivateKeyPEM(readFile(t, filepath.Join(dir, "private-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "vectors.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res := loadZone(t, filepath.Join(dir, "dns.txt"), false)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		file, msg, canon, withH := cols[0], cols[1], cols[2], cols[3] == "yes"
		n++
		t.Run(file, func(t *testing.T) {
			signed := readFile(t, filepath.Join(dir, file))
			want, _, _ := bytes.Cut(signed, []byte("\r\n"))
			want = append(want, '\r', '\n')
			p := &DKProfile{Domain: "messiah.edu", Selector: "test8", Key: key.(*rsa.PrivateKey), Canon: Canonicalization(canon)}
			if withH {
				tags, err := parseTagList(strings.TrimPrefix(string(want), "DomainKey-Signature:"))
				if err != nil {
					t.Fatal(err)
				}
				h, _ := tags.get("h")
				p.Headers = strings.Split(h, ":")
			}
			got, err := SignDomainKeys(bytes.NewReader(readFile(t, filepath.Join(dir, msg+".unsigned.eml"))), p)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("signature differs\n got: %q\nwant: %q", got, want)
			}
			v := &Verifier{Resolver: res, Now: fixedClock(time.Now()), Profile: DefaultVerifyProfile()}
			results, err := v.VerifyDomainKeys(context.Background(), bytes.NewReader(signed))
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 1 || results[0].Status != Pass {
				t.Errorf("verify %s: %+v", file, results)
			}
		})
	}
	if n != 16 {
		t.Errorf("%d vectors, want 16", n)
	}
}
