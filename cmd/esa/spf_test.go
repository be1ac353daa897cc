package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"esa/auth/spf"
	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// TestSPFThroughValidatingResolver: the daemon's SPF checker asks the
// shell's validating resolver; signed and provably unsigned answers are
// used, a Bogus one (an expired signature on the TXT record) makes the
// check TempError instead of trusting forged data.
func TestSPFThroughValidatingResolver(t *testing.T) {
	t.Parallel()
	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	s.H.Add(
		dnstest.DomainGood+" 300 IN TXT \"v=spf1 ip4:192.0.2.1 -all\"",
		dnstest.DomainTA+" 300 IN TXT \"v=spf1 ip4:192.0.2.1 -all\"",
		dnstest.DomainUnsigned+" 300 IN TXT \"v=spf1 ip4:192.0.2.1 -all\"",
	)
	s.H.Break(dnstest.DomainTA, dns.TypeTXT, dnstest.ExpiredSig)
	anchor := filepath.Join(t.TempDir(), "anchor")
	if err := os.WriteFile(anchor, []byte(s.H.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	st, lm := openStore(t)
	get, err := buildResolver(st, lm, time.Now, s.DNS.Addr, anchor)
	if err != nil {
		t.Fatal(err)
	}
	c := newSPFChecker(get, "esa.example.com")
	ip := netip.MustParseAddr("192.0.2.1")
	for domain, want := range map[string]spf.Result{
		dnstest.DomainGood:     spf.Pass,
		dnstest.DomainUnsigned: spf.Pass,
		dnstest.DomainTA:       spf.TempError,
		dnstest.DomainNX:       spf.None,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		v := c.VerifyMailFrom(ctx, spf.Policy{Level: spf.SPFOnly}, ip, "helo.example", "a@"+domain[:len(domain)-1])
		cancel()
		if v.Result != want {
			t.Errorf("%s: %s (%s), want %s", domain, v.Result, v.Reason(), want)
		}
	}
}
