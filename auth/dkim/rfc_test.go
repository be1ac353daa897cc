package dkim

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"
)

func verifyFile(t *testing.T, res TXTResolver, msg []byte, now time.Time) []Result {
	t.Helper()
	v := &Verifier{Resolver: res, Now: fixedClock(now), Profile: DefaultVerifyProfile()}
	results, err := v.Verify(context.Background(), bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// RFC 6376 Appendix A.2: the signed example message verifies with the
// Appendix C key.
func TestRFC6376AppendixA(t *testing.T) {
	dir := testdataDir(t, "rfc6376-appendixA")
	res := loadZone(t, filepath.Join(dir, "dns.txt"), false)
	results := verifyFile(t, res, readFile(t, filepath.Join(dir, "message.eml")), time.Now())
	if len(results) != 1 || results[0].Status != Pass {
		t.Fatalf("results = %+v, want one pass", results)
	}
	if r := results[0]; r.Domain != "example.com" || r.Selector != "brisbane" || r.KeyBits != 1024 {
		t.Errorf("result = %+v", r)
	}
}

// RFC 8463 Appendix A.3: both the ed25519-sha256 and the rsa-sha256
// signature verify.
func TestRFC8463AppendixA(t *testing.T) {
	dir := testdataDir(t, "rfc8463-appendixA")
	res := loadZone(t, filepath.Join(dir, "dns.txt"), false)
	results := verifyFile(t, res, readFile(t, filepath.Join(dir, "message.eml")), time.Now())
	if len(results) != 2 {
		t.Fatalf("results = %+v, want two", results)
	}
	algs := map[string]bool{}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s: %v", r.Algorithm, r)
		}
		algs[r.Algorithm] = true
	}
	if !algs["ed25519-sha256"] || !algs["rsa-sha256"] {
		t.Errorf("algorithms = %v", algs)
	}
}
