package dkim

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dkimpy 1.1.4's unit-test messages with the records its tests serve
// (dns.txt; the first binding of a name is the one its verify tests use).
func TestDkimpyData(t *testing.T) {
	dir := testdataDir(t, "dkimpy-1.1.4")
	res := loadZone(t, filepath.Join(dir, "dns.txt"), false)
	for _, tc := range []struct {
		file   string
		want   []Status
		reason string
	}{
		// RFC 8463 draft example: ed25519 (brisbane) and rsa (test).
		{"rfc6376.signed.msg", []Status{Pass, Pass}, ""},
		{"rfc6376.signed.rsa.msg", []Status{Pass}, ""},
		// Exim-made ed25519 signature (test_dkim_ed25519.py).
		{"ed25519test2.msg", []Status{Pass}, ""},
		// Gmail 2048-bit rsa-sha256, relaxed/relaxed.
		{"test2.message", []Status{Pass}, ""},
		// d= with a "(" to smuggle a different DNS name: refused
		// (test_dkim.py test_badly_encoded_domain).
		{"test.message.baddomain", []Status{PermError}, "invalid key name"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			results := verifyFile(t, res, readFile(t, filepath.Join(dir, "data", tc.file)), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
			if len(results) != len(tc.want) {
				t.Fatalf("results = %v, want %v", results, tc.want)
			}
			for i, r := range results {
				if r.Status != tc.want[i] || !strings.Contains(r.Reason, tc.reason) {
					t.Errorf("signature %d: %v, want %v (%q)", i, r, tc.want[i], tc.reason)
				}
			}
		})
	}
}
