package dmarc

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func eval(t *testing.T, dns *memDNS, opts Options, in Input) Result {
	t.Helper()
	if opts.Rand == nil {
		opts.Rand = &fixedRand{t: t}
	}
	return New(dns, opts).Evaluate(context.Background(), in)
}

func pass(d string) []DKIMResult {
	return []DKIMResult{{Domain: d, Selector: "s1", Result: ResultPass}}
}

func spfPass(d string) SPFResult {
	return SPFResult{Domain: d, Scope: ScopeMailFrom, Result: ResultPass}
}

// relation is how an authenticated domain stands to the author domain.
type relation int

const (
	identical relation = iota
	sameOrg
	otherOrg
)

// alignmentPairs: author domain, authenticated domain and how they relate.
// The zone publishes records at example.com and example.co.uk only.
var alignmentPairs = []struct {
	from, auth string
	rel        relation
}{
	{"example.com", "example.com", identical},
	{"example.com", "EXAMPLE.com.", identical},
	{"example.com", "mail.example.com", sameOrg},
	{"example.com", "a.b.example.com", sameOrg},
	{"mail.example.com", "example.com", sameOrg},
	{"mail.example.com", "mail.example.com", identical},
	{"mail.example.com", "news.example.com", sameOrg},
	{"a.mail.example.com", "mail.example.com", sameOrg},
	{"example.com", "example.net", otherOrg},
	{"example.com", "notexample.com", otherOrg},
	{"example.com", "com", otherOrg},
	{"example.com", "example.com.au", otherOrg},
	{"example.co.uk", "mail.example.co.uk", sameOrg},
	{"mail.example.co.uk", "shop.example.co.uk", sameOrg},
	{"example.co.uk", "other.co.uk", otherOrg},
	{"example.co.uk", "co.uk", otherOrg},
}

// TestAlignmentTable checks SPF and DKIM identifier alignment (RFC 7489
// §3.1) for every combination of adkim and aspf, for author domains that are
// Organizational Domains and subdomains, under both rule sets.
func TestAlignmentTable(t *testing.T) {
	for _, mode := range []Mode{RFC7489, DMARCbis} {
		for _, adkim := range []Alignment{Relaxed, Strict} {
			for _, aspf := range []Alignment{Relaxed, Strict} {
				rec := fmt.Sprintf("v=DMARC1; p=reject; adkim=%s; aspf=%s", adkim, aspf)
				dns := &memDNS{txt: map[string][]string{
					"_dmarc.example.com":   {rec},
					"_dmarc.example.co.uk": {rec},
				}}
				for _, p := range alignmentPairs {
					name := fmt.Sprintf("%v/adkim=%s/aspf=%s/%s~%s", mode, adkim, aspf, p.from, p.auth)
					t.Run(name, func(t *testing.T) {
						// SPF alone, then DKIM alone, so each verdict shows
						// one mechanism.
						spf := eval(t, dns, Options{Mode: mode}, Input{FromDomains: []string{p.from}, SPF: spfPass(p.auth)})
						dkim := eval(t, dns, Options{Mode: mode}, Input{FromDomains: []string{p.from}, DKIM: pass(p.auth)})
						wantSPF := p.rel == identical || p.rel == sameOrg && aspf == Relaxed
						wantDKIM := p.rel == identical || p.rel == sameOrg && adkim == Relaxed
						if spf.SPFAligned != wantSPF || spf.DKIMAligned {
							t.Errorf("SPF only: SPFAligned=%v DKIMAligned=%v, want %v false (%s)", spf.SPFAligned, spf.DKIMAligned, wantSPF, spf.Reason)
						}
						if dkim.DKIMAligned != wantDKIM || dkim.SPFAligned {
							t.Errorf("DKIM only: DKIMAligned=%v SPFAligned=%v, want %v false (%s)", dkim.DKIMAligned, dkim.SPFAligned, wantDKIM, dkim.Reason)
						}
						for _, r := range []struct {
							res  Result
							want bool
						}{{spf, wantSPF}, {dkim, wantDKIM}} {
							wantV, wantD := VerdictFail, PolicyReject
							if r.want {
								wantV, wantD = VerdictPass, PolicyNone
							}
							if r.res.Verdict != wantV || r.res.Disposition != wantD {
								t.Errorf("verdict %s/%s, want %s/%s (%s)", r.res.Verdict, r.res.Disposition, wantV, wantD, r.res.Reason)
							}
						}
					})
				}
			}
		}
	}
}

// TestAlignmentNeedsPass: an aligned domain counts only with a pass result,
// and the first aligned passing signature is the one named.
func TestAlignmentNeedsPass(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{"_dmarc.example.com": {"v=DMARC1; p=quarantine"}}}
	for _, r := range []AuthResult{ResultFail, ResultSoftFail, ResultNeutral, ResultNone, ResultTempError, ResultPermError, ResultPolicy} {
		res := eval(t, dns, Options{}, Input{
			FromDomains: []string{"example.com"},
			SPF:         SPFResult{Domain: "example.com", Scope: ScopeMailFrom, Result: r},
			DKIM:        []DKIMResult{{Domain: "example.com", Result: r}},
		})
		if res.Verdict != VerdictFail || res.SPFAligned || res.DKIMAligned {
			t.Errorf("result %s: verdict %s SPFAligned=%v DKIMAligned=%v", r, res.Verdict, res.SPFAligned, res.DKIMAligned)
		}
	}
	res := eval(t, dns, Options{}, Input{
		FromDomains: []string{"example.com"},
		DKIM: []DKIMResult{
			{Domain: "example.com", Result: ResultFail},
			{Domain: "esp.example", Result: ResultPass},
			{Domain: "Mail.Example.com", Result: ResultPass},
		},
	})
	if res.Verdict != VerdictPass || res.DKIMDomain != "mail.example.com" {
		t.Errorf("verdict %s, DKIM domain %q", res.Verdict, res.DKIMDomain)
	}
}

// TestPolicyChoice: the author domain's own record gives p; a record found
// at the Organizational Domain gives sp, or p when sp is absent (RFC 7489
// §6.3, §6.6.3).
func TestPolicyChoice(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{
		"_dmarc.example.com":       {"v=DMARC1; p=reject; sp=quarantine"},
		"_dmarc.own.example.com":   {"v=DMARC1; p=none"},
		"_dmarc.example.net":       {"v=DMARC1; p=quarantine"},
		"_dmarc.mail.example.com":  {"v=spf1 -all"}, // not DMARC: ignored
		"_dmarc.other.example.com": {},              // NODATA
	}}
	for _, tc := range []struct {
		from         string
		policyDomain string
		tag          string
		want         Policy
	}{
		{"example.com", "example.com", "p", PolicyReject},
		{"mail.example.com", "example.com", "sp", PolicyQuarantine},
		{"a.b.example.com", "example.com", "sp", PolicyQuarantine},
		{"other.example.com", "example.com", "sp", PolicyQuarantine},
		{"own.example.com", "own.example.com", "p", PolicyNone},
		{"x.own.example.com", "example.com", "sp", PolicyQuarantine}, // RFC 7489 skips own.example.com
		{"mail.example.net", "example.net", "p", PolicyQuarantine},
	} {
		res := eval(t, dns, Options{}, Input{FromDomains: []string{tc.from}, SPF: spfPass("elsewhere.example")})
		if res.Verdict != VerdictFail || res.PolicyDomain != tc.policyDomain || res.PolicyTag != tc.tag ||
			res.Requested != tc.want || res.Disposition != tc.want || res.Discovery != "psl" {
			t.Errorf("%s: verdict %s policy %s=%s from %s disposition %s discovery %s; want %s=%s from %s",
				tc.from, res.Verdict, res.PolicyTag, res.Requested, res.PolicyDomain, res.Disposition, res.Discovery,
				tc.tag, tc.want, tc.policyDomain)
		}
	}
}

// TestDiscoveryOutcomes covers the no-record, several-records, malformed
// and DNS-failure branches of RFC 7489 §6.6.3.
func TestDiscoveryOutcomes(t *testing.T) {
	dns := &memDNS{
		txt: map[string][]string{
			"_dmarc.two.example":       {"v=DMARC1; p=none", "v=DMARC1; p=reject"},
			"_dmarc.sub.two.example":   {},
			"_dmarc.mixed.example":     {"v=spf1 -all", "v=DMARC1; p=reject", "hello"},
			"_dmarc.broken.example":    {"v=DMARC1; p=bogus"},
			"_dmarc.ruaonly.example":   {"v=DMARC1; rua=mailto:r@ruaonly.example"},
			"_dmarc.a.dup.example":     {"v=DMARC1; p=none", "v=DMARC1; p=none"},
			"_dmarc.dup.example":       {"v=DMARC1; p=reject"},
			"_dmarc.orgfail.example":   {"v=DMARC1; p=reject"},
			"_dmarc.nodmarc.example":   {"v=spf1 -all"},
			"_dmarc.temp.example":      {"v=DMARC1; p=reject"},
			"_dmarc.a.orgtemp.example": {},
		},
		fail: map[string]bool{
			"_dmarc.temp.example":      true,
			"_dmarc.orgtemp.example":   true,
			"_dmarc.x.orgfail.example": true,
		},
	}
	for _, tc := range []struct {
		from    string
		verdict Verdict
		reason  string
		asked   []string
	}{
		{"nowhere.example", VerdictNone, "No record found for the sending domain", []string{"_dmarc.nowhere.example"}},
		{"a.nowhere.example", VerdictNone, "No record found for the sending domain", []string{"_dmarc.a.nowhere.example", "_dmarc.nowhere.example"}},
		{"nodmarc.example", VerdictNone, "No record found for the sending domain", []string{"_dmarc.nodmarc.example"}},
		{"two.example", VerdictPermError, "Multiple DMARC records for two.example", []string{"_dmarc.two.example"}},
		{"sub.two.example", VerdictPermError, "Multiple DMARC records for two.example", []string{"_dmarc.sub.two.example", "_dmarc.two.example"}},
		// Several records at the author domain stop discovery: the
		// Organizational Domain is not asked (§6.6.3 step 5).
		{"a.dup.example", VerdictPermError, "Multiple DMARC records for a.dup.example", []string{"_dmarc.a.dup.example"}},
		{"mixed.example", VerdictFail, "No aligned SPF or DKIM pass; policy p=reject from mixed.example", []string{"_dmarc.mixed.example"}},
		{"broken.example", VerdictPermError, "Malformed DMARC record for broken.example (DMARC record has no valid policy)", []string{"_dmarc.broken.example"}},
		{"ruaonly.example", VerdictFail, "No aligned SPF or DKIM pass; policy p=none from ruaonly.example", []string{"_dmarc.ruaonly.example"}},
		{"temp.example", VerdictTempError, "DNS failure for _dmarc.temp.example: lookup _dmarc.temp.example: server misbehaving", []string{"_dmarc.temp.example"}},
		{"a.orgtemp.example", VerdictTempError, "DNS failure for _dmarc.orgtemp.example: lookup _dmarc.orgtemp.example: server misbehaving", []string{"_dmarc.a.orgtemp.example", "_dmarc.orgtemp.example"}},
		{"x.orgfail.example", VerdictTempError, "DNS failure for _dmarc.x.orgfail.example: lookup _dmarc.x.orgfail.example: server misbehaving", []string{"_dmarc.x.orgfail.example"}},
	} {
		dns.asked = nil
		res := eval(t, dns, Options{}, Input{FromDomains: []string{tc.from}})
		if res.Verdict != tc.verdict || res.Reason != tc.reason {
			t.Errorf("%s: %s (%s), want %s (%s)", tc.from, res.Verdict, res.Reason, tc.verdict, tc.reason)
		}
		if got := dns.queries(); !reflect.DeepEqual(got, tc.asked) {
			t.Errorf("%s: asked %q, want %q", tc.from, got, tc.asked)
		}
		if tc.verdict != VerdictFail && res.Disposition != PolicyUnset {
			t.Errorf("%s: %s must not carry a disposition, got %s", tc.from, tc.verdict, res.Disposition)
		}
	}
}

// TestPctSampling: pct picks the messages the policy applies to with the
// injected randomness; the others get the next lower policy and the
// sampled_out reason (RFC 7489 §6.6.4). Randomness is drawn only when it
// can change the outcome (fixedRand fails the test otherwise).
func TestPctSampling(t *testing.T) {
	for _, tc := range []struct {
		rec   string
		draws []int
		spf   bool
		want  Policy
		why   OverrideReason
	}{
		{"v=DMARC1; p=reject; pct=50", []int{49}, false, PolicyReject, ""},
		{"v=DMARC1; p=reject; pct=50", []int{50}, false, PolicyQuarantine, OverrideSampledOut},
		{"v=DMARC1; p=quarantine; pct=1", []int{0}, false, PolicyQuarantine, ""},
		{"v=DMARC1; p=quarantine; pct=1", []int{99}, false, PolicyNone, OverrideSampledOut},
		{"v=DMARC1; p=reject; pct=0", nil, false, PolicyQuarantine, OverrideSampledOut},
		{"v=DMARC1; p=quarantine; pct=0", nil, false, PolicyNone, OverrideSampledOut},
		{"v=DMARC1; p=reject; pct=100", nil, false, PolicyReject, ""},
		{"v=DMARC1; p=none; pct=10", nil, false, PolicyNone, ""},
		{"v=DMARC1; p=reject; pct=10", nil, true, PolicyNone, ""}, // pass: no sampling
	} {
		dns := &memDNS{txt: map[string][]string{"_dmarc.example.com": {tc.rec}}}
		in := Input{FromDomains: []string{"example.com"}}
		if tc.spf {
			in.SPF = spfPass("example.com")
		}
		r := &fixedRand{t: t, vals: tc.draws}
		res := eval(t, dns, Options{Rand: r}, in)
		if res.Disposition != tc.want || res.Override != tc.why {
			t.Errorf("%s draws %v: disposition %s (%s), want %s (%s)", tc.rec, tc.draws, res.Disposition, res.Override, tc.want, tc.why)
		}
		if len(r.vals) != 0 {
			t.Errorf("%s: %d planned draws not used", tc.rec, len(r.vals))
		}
	}
}

// TestSeveralAuthors: each distinct From domain is evaluated and the
// strictest failing policy decides (RFC 7489 §6.6.1).
func TestSeveralAuthors(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{
		"_dmarc.a.example": {"v=DMARC1; p=quarantine"},
		"_dmarc.b.example": {"v=DMARC1; p=reject"},
		"_dmarc.c.example": {"v=DMARC1; p=reject"},
	}}
	for _, tc := range []struct {
		from    []string
		verdict Verdict
		decider string
		disp    Policy
		authors int
	}{
		{[]string{"a.example", "b.example"}, VerdictFail, "b.example", PolicyReject, 2},
		{[]string{"b.example", "a.example"}, VerdictFail, "b.example", PolicyReject, 2},
		{[]string{"c.example", "a.example"}, VerdictFail, "a.example", PolicyQuarantine, 2}, // c passes
		{[]string{"c.example", "none.example"}, VerdictPass, "c.example", PolicyNone, 2},
		{[]string{"none.example", "other.example"}, VerdictNone, "none.example", PolicyUnset, 2},
		{[]string{"A.example", "a.EXAMPLE."}, VerdictFail, "a.example", PolicyQuarantine, 0},
	} {
		res := eval(t, dns, Options{}, Input{FromDomains: tc.from, DKIM: pass("c.example")})
		if res.Verdict != tc.verdict || res.FromDomain != tc.decider || res.Disposition != tc.disp || len(res.Authors) != tc.authors {
			t.Errorf("%v: %s from %s disposition %s, %d authors; want %s from %s %s, %d",
				tc.from, res.Verdict, res.FromDomain, res.Disposition, len(res.Authors), tc.verdict, tc.decider, tc.disp, tc.authors)
		}
	}
	res := eval(t, dns, Options{}, Input{FromDomains: []string{"a.example", "c.example"}, DKIM: pass("c.example")})
	var per []string
	for _, a := range res.PerAuthor() {
		per = append(per, a.FromDomain+":"+string(a.Verdict))
	}
	if strings.Join(per, " ") != "a.example:fail c.example:pass" {
		t.Errorf("PerAuthor = %q", per)
	}
	if one := eval(t, dns, Options{}, Input{FromDomains: []string{"c.example"}}).PerAuthor(); len(one) != 1 || one[0].FromDomain != "c.example" {
		t.Errorf("PerAuthor of one author = %+v", one)
	}
	if res := eval(t, dns, Options{}, Input{}); res.Verdict != VerdictNone || res.Reason != "No RFC5322.From domain" {
		t.Errorf("no From: %s (%s)", res.Verdict, res.Reason)
	}
	if res := eval(t, dns, Options{}, Input{FromDomains: []string{"[192.0.2.1]"}}); res.Verdict != VerdictNone || !strings.HasPrefix(res.Reason, "Invalid RFC5322.From domain") {
		t.Errorf("address literal From: %s (%s)", res.Verdict, res.Reason)
	}
}

// TestLogText pins the mail_logs wording (ESA-CLI §11.5).
func TestLogText(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{"_dmarc.microsoft.com": {"v=DMARC1; p=reject"}}}
	for _, tc := range []struct {
		in   Input
		want string
	}{
		{Input{FromDomains: []string{"microsoft.com"}, SPF: spfPass("microsoft.com"), DKIM: pass("microsoft.com")},
			"Message from domain microsoft.com, DMARC pass (SPF aligned True, DKIM aligned True)"},
		{Input{FromDomains: []string{"microsoft.com"}, DKIM: pass("microsoft.com")},
			"Message from domain microsoft.com, DMARC pass (SPF aligned False, DKIM aligned True)"},
		{Input{FromDomains: []string{"microsoft.com"}},
			"Message from domain microsoft.com, DMARC fail (SPF aligned False, DKIM aligned False)"},
		{Input{FromDomains: []string{"example.org"}},
			"Verification skipped (No record found for the sending domain)"},
	} {
		if got := eval(t, dns, Options{}, tc.in).LogText(); got != tc.want {
			t.Errorf("LogText = %q, want %q", got, tc.want)
		}
	}
}

// TestAuthResults pins the Authentication-Results clause.
func TestAuthResults(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{"_dmarc.example.com": {"v=DMARC1; p=reject; sp=quarantine; pct=0"}}}
	for _, tc := range []struct {
		in   Input
		want string
	}{
		{Input{FromDomains: []string{"example.com"}, DKIM: pass("example.com")}, "dmarc=pass (p=reject sp=quarantine dis=none) header.from=example.com"},
		{Input{FromDomains: []string{"example.com"}}, "dmarc=fail (p=reject sp=quarantine dis=quarantine) header.from=example.com"},
		{Input{FromDomains: []string{"example.org"}}, "dmarc=none header.from=example.org"},
		{Input{}, "dmarc=none"},
	} {
		if got := eval(t, dns, Options{}, tc.in).AuthResults(); got != tc.want {
			t.Errorf("AuthResults = %q, want %q", got, tc.want)
		}
	}
}

// TestUnicodeFrom: a U-label From domain is looked up and compared as its
// A-label.
func TestUnicodeFrom(t *testing.T) {
	dns := &memDNS{txt: map[string][]string{"_dmarc.xn--85x722f.xn--55qx5d.cn": {"v=DMARC1; p=reject"}}}
	res := eval(t, dns, Options{}, Input{FromDomains: []string{"食狮.公司.cn"}, DKIM: pass("mail.xn--85x722f.xn--55qx5d.cn")})
	if res.Verdict != VerdictPass || res.FromDomain != "xn--85x722f.xn--55qx5d.cn" {
		t.Errorf("%s from %s (%s)", res.Verdict, res.FromDomain, res.Reason)
	}
}
