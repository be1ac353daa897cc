package dmarc

import (
	"context"
	"reflect"
	"testing"
)

func TestWalkTargets(t *testing.T) {
	for d, want := range map[string][]string{
		"com":                {"com"},
		"example.com":        {"example.com", "com"},
		"a.mail.example.com": {"a.mail.example.com", "mail.example.com", "example.com", "com"},
		// 8 labels or more: jump to the 7-label suffix, so at most 8 names.
		"a.b.c.d.e.f.g.h": {"a.b.c.d.e.f.g.h", "b.c.d.e.f.g.h", "c.d.e.f.g.h", "d.e.f.g.h", "e.f.g.h", "f.g.h", "g.h", "h"},
		"1.2.3.4.5.6.7.8.9.10.example.com": {"1.2.3.4.5.6.7.8.9.10.example.com",
			"6.7.8.9.10.example.com", "7.8.9.10.example.com", "8.9.10.example.com",
			"9.10.example.com", "10.example.com", "example.com", "com"},
	} {
		if got := walkTargets(d); !reflect.DeepEqual(got, want) {
			t.Errorf("walkTargets(%q) = %q, want %q", d, got, want)
		}
		if n := len(walkTargets(d)); n > 8 {
			t.Errorf("walkTargets(%q) has %d names, more than 8", d, n)
		}
	}
}

func bis() Options { return Options{Mode: DMARCbis} }

// TestTreeWalkPolicyDiscovery: DMARCbis finds the first record walking up,
// including intermediate names RFC 7489 never asks.
func TestTreeWalkPolicyDiscovery(t *testing.T) {
	zone := map[string][]string{
		"_dmarc.example.com":      {"v=DMARC1; p=reject; sp=quarantine"},
		"_dmarc.mail.example.com": {"v=DMARC1; p=none"},
	}
	from := Input{FromDomains: []string{"a.mail.example.com"}}

	dns := &memDNS{txt: zone}
	res := eval(t, dns, bis(), from)
	if res.PolicyDomain != "mail.example.com" || res.PolicyTag != "p" || res.Requested != PolicyNone || res.Discovery != "treewalk" {
		t.Errorf("DMARCbis: policy %s=%s from %s (%s)", res.PolicyTag, res.Requested, res.PolicyDomain, res.Discovery)
	}
	if got, want := dns.queries(), []string{"_dmarc.a.mail.example.com", "_dmarc.mail.example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DMARCbis asked %q, want %q", got, want)
	}

	// The same zone under RFC 7489: From domain, then straight to the PSL
	// Organizational Domain.
	dns = &memDNS{txt: zone}
	res = eval(t, dns, Options{}, from)
	if res.PolicyDomain != "example.com" || res.PolicyTag != "sp" || res.Requested != PolicyQuarantine {
		t.Errorf("RFC 7489: policy %s=%s from %s", res.PolicyTag, res.Requested, res.PolicyDomain)
	}
	if got, want := dns.queries(), []string{"_dmarc.a.mail.example.com", "_dmarc.example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("RFC 7489 asked %q, want %q", got, want)
	}

	// Several records at one name are discarded and the walk goes on.
	dns = &memDNS{txt: map[string][]string{
		"_dmarc.mail.example.com": {"v=DMARC1; p=none", "v=DMARC1; p=reject"},
		"_dmarc.example.com":      {"v=DMARC1; p=reject; sp=quarantine"},
	}}
	res = eval(t, dns, bis(), Input{FromDomains: []string{"mail.example.com"}})
	if res.Verdict != VerdictFail || res.PolicyDomain != "example.com" || res.Requested != PolicyQuarantine {
		t.Errorf("several records: %s policy %s from %s (%s)", res.Verdict, res.Requested, res.PolicyDomain, res.Reason)
	}

	// Nothing anywhere: every name up to the TLD asked, at most 8.
	dns = &memDNS{}
	res = eval(t, dns, bis(), Input{FromDomains: []string{"1.2.3.4.5.6.7.8.9.example.com"}})
	if res.Verdict != VerdictNone || res.Reason != "No record found for the sending domain" {
		t.Errorf("no record: %s (%s)", res.Verdict, res.Reason)
	}
	if q := dns.queries(); len(q) != 8 || q[7] != "_dmarc.com" || q[1] != "_dmarc.5.6.7.8.9.example.com" {
		t.Errorf("long name asked %q", q)
	}

	// A temporary failure anywhere on the walk is temperror.
	dns = &memDNS{fail: map[string]bool{"_dmarc.example.com": true}}
	if res := eval(t, dns, bis(), Input{FromDomains: []string{"a.example.com"}}); res.Verdict != VerdictTempError {
		t.Errorf("failing walk: %s (%s)", res.Verdict, res.Reason)
	}
}

// TestTreeWalkOrganizationalDomain: relaxed alignment under DMARCbis
// compares Organizational Domains found by the tree walk: psd=n marks one,
// psd=y above a name marks the name one label below, otherwise the record
// with the fewest labels.
func TestTreeWalkOrganizationalDomain(t *testing.T) {
	zone := map[string][]string{
		// A PSD publishing policy for its registrants.
		"_dmarc.bank": {"v=DMARC1; p=reject; psd=y"},
		// An organization whose mail subdomain declares itself separate.
		"_dmarc.example.com":      {"v=DMARC1; p=reject"},
		"_dmarc.corp.example.com": {"v=DMARC1; p=reject; psd=n"},
		// Records at two levels, no psd: the shorter one is the org.
		"_dmarc.a.example.net": {"v=DMARC1; p=quarantine"},
		"_dmarc.example.net":   {"v=DMARC1; p=reject"},
	}
	for _, tc := range []struct {
		name      string
		from, d   string
		aligned   bool
		policyDom string
	}{
		{"PSD names its child", "foo.bank", "mail.foo.bank", true, "bank"},
		{"PSD children differ", "foo.bank", "other.bank", false, "bank"},
		{"psd=n splits an org", "corp.example.com", "example.com", false, "corp.example.com"},
		{"psd=n below", "x.corp.example.com", "corp.example.com", true, "corp.example.com"},
		{"psd=n other side", "example.com", "x.corp.example.com", false, "example.com"},
		{"plain org", "example.com", "mail.example.com", true, "example.com"},
		{"fewest labels", "x.a.example.net", "b.example.net", true, "a.example.net"},
		{"fewest labels 2", "a.example.net", "example.net", true, "a.example.net"},
		{"no record for d", "example.com", "example.org", false, "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns := &memDNS{txt: zone}
			res := eval(t, dns, bis(), Input{FromDomains: []string{tc.from}, DKIM: pass(tc.d)})
			if res.DKIMAligned != tc.aligned || res.PolicyDomain != tc.policyDom {
				t.Errorf("from %s d=%s: aligned %v policy domain %s, want %v %s (%s)",
					tc.from, tc.d, res.DKIMAligned, res.PolicyDomain, tc.aligned, tc.policyDom, res.Reason)
			}
			// Under RFC 7489 the PSL decides instead: bank is a public
			// suffix, corp.example.com is just a subdomain.
			if tc.name == "psd=n splits an org" {
				r7 := eval(t, &memDNS{txt: zone}, Options{}, Input{FromDomains: []string{tc.from}, DKIM: pass(tc.d)})
				if !r7.DKIMAligned {
					t.Errorf("RFC 7489 ignores psd: example.com must align with corp.example.com")
				}
			}
		})
	}

	// The walk for the author domain is shared with discovery and a name
	// outside its Organizational Domain is not walked at all.
	dns := &memDNS{txt: zone}
	eval(t, dns, bis(), Input{FromDomains: []string{"example.com"}, DKIM: pass("example.org")})
	if got, want := dns.queries(), []string{"_dmarc.example.com", "_dmarc.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}

	// A DNS failure while walking for the authenticated domain, with no
	// other aligned pass, is temperror; with another aligned pass it does
	// not matter.
	dns = &memDNS{txt: zone, fail: map[string]bool{"_dmarc.mail.example.com": true}}
	if res := eval(t, dns, bis(), Input{FromDomains: []string{"example.com"}, DKIM: pass("mail.example.com")}); res.Verdict != VerdictTempError {
		t.Errorf("alignment walk failure: %s (%s)", res.Verdict, res.Reason)
	}
	if res := eval(t, dns, bis(), Input{FromDomains: []string{"example.com"}, DKIM: pass("mail.example.com"), SPF: spfPass("example.com")}); res.Verdict != VerdictPass {
		t.Errorf("alignment walk failure beside an SPF pass: %s (%s)", res.Verdict, res.Reason)
	}
}

// TestNPPolicy: np applies to author domains that do not exist, found at a
// parent; sp or p otherwise; without a DomainChecker np is never used.
func TestNPPolicy(t *testing.T) {
	zone := map[string][]string{"_dmarc.example.com": {"v=DMARC1; p=reject; sp=none; np=quarantine"}}
	for _, tc := range []struct {
		name    string
		from    string
		exists  bool
		checker bool
		tag     string
		want    Policy
	}{
		{"non-existent subdomain", "ghost.example.com", false, true, "np", PolicyQuarantine},
		{"existing subdomain", "mail.example.com", true, true, "sp", PolicyNone},
		{"no checker", "ghost.example.com", false, false, "sp", PolicyNone},
		{"the domain itself", "example.com", false, true, "p", PolicyReject},
	} {
		dns := &memDNS{txt: zone, exists: map[string]bool{tc.from: tc.exists}}
		opts := bis()
		if tc.checker {
			opts.Exists = dns
		}
		res := eval(t, dns, opts, Input{FromDomains: []string{tc.from}})
		if res.PolicyTag != tc.tag || res.Requested != tc.want || res.Disposition != tc.want {
			t.Errorf("%s: %s=%s disposition %s, want %s=%s", tc.name, res.PolicyTag, res.Requested, res.Disposition, tc.tag, tc.want)
		}
	}
	// np is not asked about passing mail, and is ignored under RFC 7489.
	dns := &memDNS{txt: zone}
	opts := bis()
	opts.Exists = dns
	eval(t, dns, opts, Input{FromDomains: []string{"ghost.example.com"}, DKIM: pass("example.com")})
	for _, q := range dns.queries() {
		if q == "exists?ghost.example.com" {
			t.Error("existence asked for a passing message")
		}
	}
	dns = &memDNS{txt: zone}
	res := eval(t, dns, Options{Exists: dns}, Input{FromDomains: []string{"ghost.example.com"}})
	if res.PolicyTag != "sp" || res.Requested != PolicyNone {
		t.Errorf("RFC 7489 with np: %s=%s", res.PolicyTag, res.Requested)
	}
	// A failing existence check is a temporary failure.
	dns = &memDNS{txt: zone, fail: map[string]bool{"exists?ghost.example.com": true}}
	opts.Exists = dns
	if res := eval(t, dns, opts, Input{FromDomains: []string{"ghost.example.com"}}); res.Verdict != VerdictTempError || res.Disposition != PolicyUnset {
		t.Errorf("existence failure: %s %s (%s)", res.Verdict, res.Disposition, res.Reason)
	}
}

// TestTestingMode: t=y asks that the policy not be applied; the report says
// policy_test_mode. pct means nothing under DMARCbis.
func TestTestingMode(t *testing.T) {
	for _, tc := range []struct {
		rec  string
		want Policy
		why  OverrideReason
	}{
		{"v=DMARC1; p=reject; t=y", PolicyNone, OverridePolicyTestMode},
		{"v=DMARC1; p=quarantine; t=y", PolicyNone, OverridePolicyTestMode},
		{"v=DMARC1; p=reject; t=n", PolicyReject, ""},
		{"v=DMARC1; p=reject; pct=0", PolicyReject, ""},
		{"v=DMARC1; p=none; t=y", PolicyNone, ""},
	} {
		dns := &memDNS{txt: map[string][]string{"_dmarc.example.com": {tc.rec}}}
		res := eval(t, dns, bis(), Input{FromDomains: []string{"example.com"}})
		if res.Verdict != VerdictFail || res.Disposition != tc.want || res.Override != tc.why {
			t.Errorf("%s: %s disposition %s (%s), want %s (%s)", tc.rec, res.Verdict, res.Disposition, res.Override, tc.want, tc.why)
		}
	}
}

// TestConcurrentEvaluations: one Evaluator serves many goroutines (run with
// -race).
func TestConcurrentEvaluations(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{"_dmarc.example.com": {"v=DMARC1; p=reject"}}}
	e := New(dns, Options{Mode: DMARCbis})
	done := make(chan Result)
	for i := 0; i < 8; i++ {
		go func() {
			done <- e.Evaluate(context.Background(), Input{FromDomains: []string{"mail.example.com"}, DKIM: pass("example.com")})
		}()
	}
	for i := 0; i < 8; i++ {
		if res := <-done; res.Verdict != VerdictPass {
			t.Errorf("goroutine result %s (%s)", res.Verdict, res.Reason)
		}
	}
}
