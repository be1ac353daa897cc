package main

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// TestDKIMThroughValidatingResolver: the daemon's DKIM key lookups ask the
// shell's validating resolver; signed and provably unsigned keys are used
// (a long key split into several strings comes back whole), a missing key
// wraps dkim.ErrNotFound (permerror), and a Bogus one (an expired
// signature on the TXT record) is an error (temperror), never a key.
func TestDKIMThroughValidatingResolver(t *testing.T) {
	t.Parallel()
	key, err := dkim.GenerateRSAKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.KeyRecordText(key, dkim.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Published as DNSTXT prints it: several strings, which a resolver
	// hands back concatenated (RFC 6376 §3.6.2.2).
	parts := dkim.SplitTXT(rec)
	if len(parts) < 2 {
		t.Fatalf("a 2048-bit key record in one string: %q", rec)
	}
	quoted := `"` + strings.Join(parts, `" "`) + `"`
	rec = strings.Join(parts, "")
	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	good, unsigned, bogus := "sel._domainkey."+dnstest.DomainGood, "sel._domainkey."+dnstest.DomainUnsigned, "sel._domainkey."+dnstest.DomainTA
	s.H.Add(good+" 300 IN TXT "+quoted, unsigned+" 300 IN TXT "+quoted, bogus+" 300 IN TXT "+quoted)
	s.H.Break(bogus, dns.TypeTXT, dnstest.ExpiredSig)
	anchor := filepath.Join(t.TempDir(), "anchor")
	if err := os.WriteFile(anchor, []byte(s.H.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	st, lm := openStore(t)
	get, err := buildResolver(st, lm, time.Now, s.DNS.Addr, anchor)
	if err != nil {
		t.Fatal(err)
	}
	r := dkimResolver{get}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{good, unsigned} {
		got, err := r.LookupTXT(ctx, strings.TrimSuffix(name, "."))
		if err != nil || len(got) != 1 || got[0] != rec {
			t.Errorf("%s: %q, %v; want the record whole", name, got, err)
		}
	}
	if _, err := r.LookupTXT(ctx, "sel._domainkey."+strings.TrimSuffix(dnstest.DomainNX, ".")); !errors.Is(err, dkim.ErrNotFound) {
		t.Errorf("missing key: %v, want ErrNotFound", err)
	}
	if got, err := r.LookupTXT(ctx, bogus); err == nil || errors.Is(err, dkim.ErrNotFound) {
		t.Errorf("bogus key: %q, %v; want a temporary error", got, err)
	}
}
