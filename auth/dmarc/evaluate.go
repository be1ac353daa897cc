package dmarc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// AuthResult is an SPF or DKIM result as Authentication-Results spells it
// (RFC 8601 §2.7), which is also the report's DKIMResultType and
// SPFResultType.
type AuthResult string

const (
	ResultNone      AuthResult = "none"
	ResultPass      AuthResult = "pass"
	ResultFail      AuthResult = "fail"
	ResultSoftFail  AuthResult = "softfail"
	ResultNeutral   AuthResult = "neutral"
	ResultPolicy    AuthResult = "policy"
	ResultTempError AuthResult = "temperror"
	ResultPermError AuthResult = "permerror"
)

// SPFScope is the identity SPF checked. DMARC uses the MAIL FROM identity
// (RFC 7489 §4.1), which for a null reverse-path is the HELO name (RFC 7208
// §2.4).
type SPFScope string

const (
	ScopeMailFrom SPFScope = "mfrom"
	ScopeHelo     SPFScope = "helo"
)

// SPFResult is the SPF verdict handed to DMARC.
type SPFResult struct {
	Domain string
	Scope  SPFScope
	Result AuthResult
}

// DKIMResult is one DKIM signature's verdict handed to DMARC.
type DKIMResult struct {
	Domain   string // d=
	Selector string // s=
	Result   AuthResult
}

// Input is everything DMARC needs about one message.
type Input struct {
	// FromDomains are the domains of the RFC5322.From addresses, one per
	// address. Several distinct domains are each evaluated (RFC 7489
	// §6.6.1); the caller decides beforehand whether to reject such mail.
	FromDomains []string
	SPF         SPFResult
	DKIM        []DKIMResult
}

// Verdict is the DMARC result, as the "dmarc" Authentication-Results method
// spells it (RFC 7489 §11.2).
type Verdict string

const (
	VerdictNone      Verdict = "none"      // no policy record: DMARC not applied
	VerdictPass      Verdict = "pass"      // an aligned identifier passed
	VerdictFail      Verdict = "fail"      // a policy record, no aligned pass
	VerdictTempError Verdict = "temperror" // DNS failed; try again later
	// VerdictPermError: the policy record is unusable (several records, or
	// one RFC 7489 §6.6.3 step 6 refuses). No policy is applied; the
	// appliance's profile decides between accept and reject.
	VerdictPermError Verdict = "permerror"
)

// OverrideReason says why the disposition differs from the requested policy
// (RFC 7489 Appendix C PolicyOverrideType; policy_test_mode from the
// DMARCbis aggregate reporting document).
type OverrideReason string

const (
	OverrideSampledOut     OverrideReason = "sampled_out"
	OverridePolicyTestMode OverrideReason = "policy_test_mode"
)

// Result is the outcome of one evaluation.
type Result struct {
	Verdict Verdict
	// Reason says in words why: which identifier aligned, or why DMARC was
	// not applied.
	Reason string
	// FromDomain is the author domain evaluated (A-label, lower case).
	FromDomain string
	// PolicyDomain is where the policy record was found, Record the record.
	PolicyDomain string
	Record       *Record
	// Discovery is "psl" (RFC 7489) or "treewalk" (DMARCbis), as the
	// DMARCbis aggregate report names it.
	Discovery string
	// Requested is the policy the Domain Owner asks for this author domain
	// (p, sp or np, named by PolicyTag).
	Requested Policy
	PolicyTag string
	// Disposition is what the owner's policy asks for this message after
	// pct sampling or test mode: PolicyNone on pass, PolicyUnset when DMARC
	// was not applied. Override says why it differs from Requested.
	Disposition Policy
	Override    OverrideReason
	// SPFAligned / DKIMAligned: that mechanism passed with an identifier
	// aligned with the author domain (the report's policy_evaluated).
	SPFAligned  bool
	DKIMAligned bool
	// DKIMDomain is the d= of the first aligned passing signature.
	DKIMDomain string
	// Authors holds one result per distinct author domain when the message
	// had more than one; this Result is then the deciding one.
	Authors []Result
}

// PerAuthor lists the result of each author domain: Authors when the
// message had several From domains, else the result itself. Each goes to its
// own Domain Owner's aggregate report.
func (r Result) PerAuthor() []Result {
	if len(r.Authors) > 0 {
		return r.Authors
	}
	return []Result{r}
}

// LogText is the text of the mail_logs line after "DMARC: " (ESA-CLI §11.5):
// "Message from domain example.com, DMARC pass (SPF aligned True, DKIM
// aligned True)", or "Verification skipped (No record found for the sending
// domain)".
func (r Result) LogText() string {
	switch r.Verdict {
	case VerdictPass, VerdictFail:
		return fmt.Sprintf("Message from domain %s, DMARC %s (SPF aligned %s, DKIM aligned %s)",
			r.FromDomain, r.Verdict, pyBool(r.SPFAligned), pyBool(r.DKIMAligned))
	case VerdictTempError:
		return "Verification failed (" + r.Reason + ")"
	}
	return "Verification skipped (" + r.Reason + ")"
}

// AuthResults is the dmarc clause of an Authentication-Results header field
// (RFC 8601 §2.2, the "dmarc" method and header.from property of RFC 7489
// §11.2), with the policy and disposition as a comment the way OpenDMARC
// writes them: "dmarc=fail (p=reject dis=quarantine) header.from=example.com".
func (r Result) AuthResults() string {
	var b strings.Builder
	b.WriteString("dmarc=")
	b.WriteString(string(r.Verdict))
	if r.Record != nil && (r.Verdict == VerdictPass || r.Verdict == VerdictFail) {
		fmt.Fprintf(&b, " (p=%s", r.Record.P)
		if r.Record.SP != PolicyUnset {
			fmt.Fprintf(&b, " sp=%s", r.Record.SP)
		}
		fmt.Fprintf(&b, " dis=%s)", policyOrNone(r.Disposition))
	}
	if r.FromDomain != "" {
		b.WriteString(" header.from=")
		b.WriteString(r.FromDomain)
	}
	return b.String()
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// Rand is the randomness pct sampling draws on; *math/rand/v2.Rand fits.
type Rand interface {
	IntN(n int) int
}

type globalRand struct{}

func (globalRand) IntN(n int) int { return rand.IntN(n) }

// Options configure an Evaluator. The zero value is RFC 7489 with the
// compiled-in public suffix list and the process-wide random source.
type Options struct {
	Mode           Mode
	Exists         DomainChecker    // DMARCbis np; nil: np never applies
	PublicSuffixes PublicSuffixList // RFC 7489; nil: DefaultPublicSuffixList
	Rand           Rand             // pct sampling; nil: math/rand/v2
}

// Evaluator applies DMARC to messages. It keeps no state between calls and
// is safe for concurrent use.
type Evaluator struct {
	r    Resolver
	opts Options
}

// New returns an Evaluator that asks r for DNS records.
func New(r Resolver, opts Options) *Evaluator {
	if opts.PublicSuffixes == nil {
		opts.PublicSuffixes = DefaultPublicSuffixList()
	}
	if opts.Rand == nil {
		opts.Rand = globalRand{}
	}
	return &Evaluator{r: r, opts: opts}
}

// Evaluate runs DMARC for one message.
func (e *Evaluator) Evaluate(ctx context.Context, in Input) Result {
	var domains []string
	seen := map[string]bool{}
	for _, d := range in.FromDomains {
		n, ok := normalizeDomain(d)
		if !ok {
			n = strings.ToLower(d)
		}
		if !seen[n] {
			seen[n] = true
			domains = append(domains, n)
		}
	}
	if len(domains) == 0 {
		return Result{Verdict: VerdictNone, Reason: "No RFC5322.From domain"}
	}
	l := &lookup{ctx: ctx, r: e.r, mode: e.opts.Mode}
	if len(domains) == 1 {
		return e.evaluate(l, domains[0], in)
	}
	// RFC 7489 §6.6.1: evaluate each author domain and apply the strictest
	// policy among the checks that fail.
	all := make([]Result, len(domains))
	best := 0
	for i, d := range domains {
		all[i] = e.evaluate(l, d, in)
		if rank(all[i]) > rank(all[best]) {
			best = i
		}
	}
	res := all[best]
	res.Authors = all
	return res
}

// rank orders results for several author domains: a failure with a stricter
// disposition first, then temperror, pass, none.
func rank(r Result) int {
	switch r.Verdict {
	case VerdictFail:
		return 10 + int(r.Disposition)
	case VerdictTempError:
		return 4
	case VerdictPermError:
		return 3
	case VerdictPass:
		return 2
	}
	return 1
}

func (e *Evaluator) evaluate(l *lookup, from string, in Input) Result {
	res := Result{FromDomain: from, Discovery: "psl"}
	if e.opts.Mode == DMARCbis {
		res.Discovery = "treewalk"
	}
	if _, ok := normalizeDomain(from); !ok {
		res.Verdict, res.Reason = VerdictNone, fmt.Sprintf("Invalid RFC5322.From domain %q", from)
		return res
	}
	var d discovery
	var err error
	if e.opts.Mode == DMARCbis {
		d, err = l.discoverBis(from)
	} else {
		d, err = l.discover7489(e.opts.PublicSuffixes, from)
	}
	if err != nil {
		res.Verdict, res.Reason = VerdictTempError, err.Error()
		return res
	}
	if d.rec == nil {
		res.Verdict, res.Reason = VerdictNone, d.reason
		if d.perm {
			res.Verdict = VerdictPermError
		}
		return res
	}
	res.Record, res.PolicyDomain = d.rec, d.policyDomain

	// Identifier alignment (RFC 7489 §3.1): a mechanism counts only when it
	// passed for a domain aligned with the author domain. Both are checked
	// even when one passes, because the report shows each (Appendix C
	// policy_evaluated).
	var alignErr error
	if in.SPF.Result == ResultPass {
		ok, err := e.aligned(l, d.rec.ASPF, from, in.SPF.Domain)
		res.SPFAligned = ok
		alignErr = errors.Join(alignErr, err)
	}
	for _, s := range in.DKIM {
		if s.Result != ResultPass {
			continue
		}
		ok, err := e.aligned(l, d.rec.ADKIM, from, s.Domain)
		alignErr = errors.Join(alignErr, err)
		if ok {
			res.DKIMAligned, res.DKIMDomain = true, strings.ToLower(strings.TrimSuffix(s.Domain, "."))
			break
		}
	}
	switch {
	case res.SPFAligned || res.DKIMAligned:
		res.Verdict, res.Disposition = VerdictPass, PolicyNone
		var how []string
		if res.SPFAligned {
			how = append(how, fmt.Sprintf("SPF %s aligned (%s)", in.SPF.Domain, d.rec.ASPF.long()))
		}
		if res.DKIMAligned {
			how = append(how, fmt.Sprintf("DKIM d=%s aligned (%s)", res.DKIMDomain, d.rec.ADKIM.long()))
		}
		res.Reason = strings.Join(how, ", ")
	case alignErr != nil:
		// Without an aligned pass, a DNS failure while finding an
		// Organizational Domain leaves the answer open.
		res.Verdict, res.Reason = VerdictTempError, alignErr.Error()
		return res
	default:
		res.Verdict = VerdictFail
		res.Reason = "No aligned SPF or DKIM pass"
	}

	if err := e.choosePolicy(l, &res); err != nil {
		res.Verdict, res.Reason, res.Disposition = VerdictTempError, err.Error(), PolicyUnset
		return res
	}
	if res.Verdict == VerdictFail {
		res.Disposition = res.Requested
		e.sample(&res)
		res.Reason += fmt.Sprintf("; policy %s=%s from %s", res.PolicyTag, res.Requested, res.PolicyDomain)
		if res.Override != "" {
			res.Reason += fmt.Sprintf(", applied %s (%s)", res.Disposition, res.Override)
		}
	}
	return res
}

func (a Alignment) long() string {
	if a == Strict {
		return "strict"
	}
	return "relaxed"
}

// choosePolicy picks p, sp or np. The author domain's own record gives p
// (RFC 7489 §6.3). A record found above it is a subdomain policy: sp when
// given, else p; under DMARCbis np comes first when the author domain does
// not exist (RFC 9989 np tag, from RFC 9091). Existence is only asked when it
// matters: np is set and the message failed.
func (e *Evaluator) choosePolicy(l *lookup, res *Result) error {
	rec := res.Record
	res.Requested, res.PolicyTag = rec.P, "p"
	if res.PolicyDomain == res.FromDomain {
		return nil
	}
	if e.opts.Mode == DMARCbis && rec.NP != PolicyUnset && e.opts.Exists != nil && res.Verdict == VerdictFail {
		exists, err := e.opts.Exists.DomainExists(l.ctx, res.FromDomain)
		if err != nil {
			return &dnsError{name: res.FromDomain, err: err}
		}
		if !exists {
			res.Requested, res.PolicyTag = rec.NP, "np"
			return nil
		}
	}
	if rec.SP != PolicyUnset {
		res.Requested, res.PolicyTag = rec.SP, "sp"
	}
	return nil
}

// sample applies pct (RFC 7489 §6.6.4) or t=y (RFC 9989 t tag) to a failing
// message. A message pct does not select gets the next lower policy; test
// mode asks that the policy not be applied at all. Randomness is drawn only
// when it can change the outcome.
func (e *Evaluator) sample(res *Result) {
	rec := res.Record
	if res.Requested == PolicyNone || res.Requested == PolicyUnset {
		return
	}
	if e.opts.Mode == DMARCbis {
		if rec.Testing {
			res.Disposition, res.Override = PolicyNone, OverridePolicyTestMode
		}
		return
	}
	if rec.Pct >= 100 {
		return
	}
	if rec.Pct > 0 && e.opts.Rand.IntN(100) < rec.Pct {
		return
	}
	res.Disposition, res.Override = res.Requested.lower(), OverrideSampledOut
}

// aligned reports whether other is aligned with the author domain from under
// mode (RFC 7489 §3.1.1, §3.1.2): strict needs the same name, relaxed the
// same Organizational Domain.
func (e *Evaluator) aligned(l *lookup, mode Alignment, from, other string) (bool, error) {
	o, ok := normalizeDomain(other)
	if !ok {
		return false, nil
	}
	if o == from {
		return true, nil
	}
	if mode == Strict {
		return false, nil
	}
	if e.opts.Mode != DMARCbis {
		return orgOrSelf(e.opts.PublicSuffixes, from) == orgOrSelf(e.opts.PublicSuffixes, o), nil
	}
	orgFrom, err := l.orgBis(from)
	if err != nil {
		return false, err
	}
	// The Organizational Domain of a name is the name or one of its
	// ancestors, so a name outside orgFrom cannot share it: no walk needed.
	if o != orgFrom && !strings.HasSuffix(o, "."+orgFrom) {
		return false, nil
	}
	orgO, err := l.orgBis(o)
	if err != nil {
		return false, err
	}
	return orgO == orgFrom, nil
}

// orgOrSelf is the PSL Organizational Domain, or the name itself when it is
// a public suffix (RFC 7489 §3.2 step 4 has no label to add; OpenDMARC does
// the same).
func orgOrSelf(psl PublicSuffixList, d string) string {
	if org, ok := orgByPSL(psl, d); ok {
		return org
	}
	return d
}
