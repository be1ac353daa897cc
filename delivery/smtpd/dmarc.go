package smtpd

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"esa/auth/dkim"
	"esa/auth/dmarc"
	"esa/auth/spf"
	"esa/store/dmarcconf"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
)

// DMARC verification of inbound mail (SPEC.md §4, seed 004 "DMARC 検証の
// ワークフロー"): after SPF and DKIM (step 2, their verdicts reused), the
// policy record of the From: domain is fetched (step 3: none → skip; DNS
// failure → the profile's temporary-failure action), the message is
// evaluated (step 4), and the profile decides between accepting,
// quarantining and rejecting (steps 5–6). Evaluated messages feed the
// aggregate reports when the policy asks (step 7).

// dmarcTimeout bounds the policy record lookups of one message.
const dmarcTimeout = 20 * time.Second

// dmarcOutcome is what the DMARC stage decided for one message.
type dmarcOutcome struct {
	// reject refuses the message (the profile's reject or failure action).
	reject *smtp.SMTPError
	// quarantine names the quarantine the profile sends the message to.
	quarantine, reason string
	// header is the dmarc clause for Authentication-Results:, verdict the
	// envelope's "dmarc" verdict; both empty when DMARC did not run.
	header, verdict string
}

// dmarcOn reports whether the connection's policy verifies DMARC.
func (ss *session) dmarcOn() (mailflow.DMARCSettings, bool) {
	set := ss.limits().DMARC
	// Relayed mail is the gateway's own users' mail going out: DMARC is
	// for inbound mail, as SPF is (SPEC.md §4 "Not applied to incoming
	// relay").
	return set, set.Enabled && ss.s.opt.DMARC != nil && ss.pc.decision.Action != mailflow.ActRelay
}

// dmarcCheck runs the DMARC stage on the message whose header the scanner
// kept and whose DKIM results are dkimRes (nil when DKIM did not run).
func (ss *session) dmarcCheck(header []byte, dkimRes []dkim.Result) dmarcOutcome {
	set, ok := ss.dmarcOn()
	if !ok {
		return dmarcOutcome{}
	}
	log := ss.s.opt.Log
	var settings dmarcconf.Settings
	if ss.s.opt.DMARCSettings != nil {
		settings = ss.s.opt.DMARCSettings()
	}
	fields := headerFields(header)
	if why := dmarcBypass(settings, ss.from, fields); why != "" {
		log.Info("MID %d DMARC: Verification skipped (%s)", ss.mid, why)
		return dmarcOutcome{}
	}
	in := dmarc.Input{FromDomains: fromDomains(fields)}
	if len(in.FromDomains) == 0 {
		// RFC 7489 §6.6.1: without an RFC5322.From domain there is
		// nothing to evaluate; such a message is malformed (RFC 5322
		// §3.6 requires From:), which is for other checks to refuse.
		log.Info("MID %d DMARC: Verification skipped (No From: domain in the message)", ss.mid)
		return dmarcOutcome{}
	}
	in.SPF = ss.dmarcSPF()
	for _, r := range dkimRes {
		if r.Status == dkim.None || r.Domain == "" {
			continue
		}
		in.DKIM = append(in.DKIM, dmarc.DKIMResult{Domain: r.Domain, Selector: r.Selector, Result: dkimForDMARC(r.Status)})
	}
	// The seed's log stages: verification attempted, the policy record
	// fetched and parsed (or the DNS failure), the details with the
	// alignments, the outcome.
	log.Info("MID %d DMARC: Verification started for domain %s", ss.mid, strings.Join(in.FromDomains, ", "))
	ctx, cancel := context.WithTimeout(context.Background(), dmarcTimeout)
	res := ss.s.opt.DMARC().Evaluate(ctx, in)
	cancel()
	if r := res.Record; r != nil {
		log.Info("MID %d DMARC: Record found for %s (p=%s sp=%s pct=%d adkim=%s aspf=%s)", ss.mid,
			res.PolicyDomain, r.P, policyOr(r.SP, r.P), r.Pct, r.ADKIM, r.ASPF)
	} else if res.Verdict == dmarc.VerdictTempError {
		log.Info("MID %d DMARC: DNS failure looking up the record of %s", ss.mid, res.FromDomain)
	}
	log.Info("MID %d DMARC: %s", ss.mid, pyQuoteFree(res.LogText()))

	prof := dmarcconf.NewProfile(dmarcconf.DefaultProfile)
	if ss.s.opt.DMARCProfile != nil {
		prof = ss.s.opt.DMARCProfile(set.Profile)
	}
	out := dmarcOutcome{header: res.AuthResults(), verdict: string(res.Verdict)}
	applied, why := res.Disposition, dmarc.OverrideReason("")
	switch res.Verdict {
	case dmarc.VerdictPass:
		log.Info("MID %d DMARC: Verification passed", ss.mid)
	case dmarc.VerdictTempError:
		if prof.TempFailAction == dmarcconf.ActionReject {
			log.Info("MID %d ICID %d Receiving Failed: DMARC temporary failure", ss.mid, ss.pc.icid)
			out.reject = &smtp.SMTPError{Code: prof.TempFailCode, EnhancedCode: smtp.NoEnhancedCode, Message: prof.TempFailText}
		}
	case dmarc.VerdictPermError:
		if prof.PermFailAction == dmarcconf.ActionReject {
			log.Info("MID %d ICID %d Receiving Failed: DMARC permanent failure", ss.mid, ss.pc.icid)
			out.reject = &smtp.SMTPError{Code: prof.PermFailCode, EnhancedCode: smtp.NoEnhancedCode, Message: prof.PermFailText}
		}
	case dmarc.VerdictFail:
		log.Info("MID %d DMARC: Verification failed", ss.mid)
		action, quarantine := dmarcconf.ActionNone, ""
		switch res.Disposition {
		case dmarc.PolicyReject:
			action, quarantine = prof.RejectAction, prof.RejectQuarantine
		case dmarc.PolicyQuarantine:
			action, quarantine = prof.QuarantineAction, prof.QuarantineQuarantine
		}
		switch action {
		case dmarcconf.ActionReject:
			log.Info("MID %d DMARC: Message rejected by DMARC policy (p=%s)", ss.mid, res.Disposition)
			log.Info("MID %d ICID %d Receiving Failed: DMARC policy reject", ss.mid, ss.pc.icid)
			out.reject = &smtp.SMTPError{Code: prof.RejectCode, EnhancedCode: smtp.NoEnhancedCode, Message: prof.RejectText}
		case dmarcconf.ActionQuarantine:
			if quarantine == "" {
				quarantine = "Policy"
			}
			log.Info("MID %d DMARC: Message quarantined by DMARC policy (p=%s) in %s", ss.mid, res.Disposition, quarantine)
			out.quarantine = quarantine
			out.reason = "DMARC policy " + res.Disposition.String()
			applied = dmarc.PolicyQuarantine
		default:
			if res.Disposition != dmarc.PolicyNone {
				// The profile overrides the Domain Owner: reported as
				// local_policy (RFC 7489 Appendix C).
				log.Info("MID %d DMARC: No action taken by DMARC verification profile %s (p=%s)", ss.mid, prof.Name, res.Disposition)
				applied, why = dmarc.PolicyNone, dmarc.OverrideLocalPolicy
			}
		}
	}
	if set.Reports && ss.s.opt.DMARCRecord != nil {
		for _, r := range res.PerAuthor() {
			row, ok := dmarc.NewRow(ss.pc.ip, ss.rcptDomain(), ss.fromDomain(), in, r)
			if !ok {
				continue
			}
			if out.reject != nil {
				applied = dmarc.PolicyReject
			}
			if applied != r.Disposition {
				if why == "" {
					why = dmarc.OverrideLocalPolicy
				}
				row.Applied(applied, why, "profile "+prof.Name)
			}
			ss.s.opt.DMARCRecord(r, row)
		}
	}
	return out
}

// dmarcDKIMStart starts a DKIM verification with the DEFAULT profile for
// DMARC's sake when the policy verifies DMARC but not DKIM, or returns nil.
func (ss *session) dmarcDKIMStart() *dkimRun {
	if _, ok := ss.dmarcOn(); !ok || ss.s.opt.DKIM == nil {
		return nil
	}
	prof := dkim.DefaultVerifyProfile()
	return newDKIMRun(ss.s.verifier(prof), prof, false)
}

// rcptDomain is the envelope recipient domain an aggregate report row
// names (RFC 7489 Appendix C envelope_to): the first recipient's.
func (ss *session) rcptDomain() string {
	if len(ss.rcpts) == 0 {
		return ""
	}
	r := ss.rcpts[0]
	return r[strings.LastIndexByte(r, '@')+1:]
}

// fromDomain is the envelope sender's domain, or the HELO name for the
// null reverse-path (RFC 7489 §3.1.2 and Appendix C envelope_from).
func (ss *session) fromDomain() string {
	if i := strings.LastIndexByte(ss.from, '@'); i >= 0 {
		return ss.from[i+1:]
	}
	return ss.helo
}

// dmarcSPF is the SPF result DMARC uses: the MAIL FROM verdict the policy's
// SPF verification already has (reused, seed step 4 note), else an SPF
// check of the MAIL FROM identity made for DMARC alone, or of the HELO
// identity for the null reverse-path (RFC 7489 §3.1.2).
func (ss *session) dmarcSPF() dmarc.SPFResult {
	for _, v := range ss.spf {
		if v.Identity == spf.MailFrom && ss.from != "" {
			return dmarc.SPFResult{Domain: v.Domain, Scope: dmarc.ScopeMailFrom, Result: spfForDMARC(v.Result)}
		}
	}
	for _, v := range ss.spf {
		if v.Identity == spf.HELO && ss.from == "" {
			return dmarc.SPFResult{Domain: v.Domain, Scope: dmarc.ScopeHelo, Result: spfForDMARC(v.Result)}
		}
	}
	if ss.s.opt.SPF == nil {
		return dmarc.SPFResult{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pol := spf.Policy{Level: spf.SPFOnly, CheckHELO: ss.from == ""}
	if ss.from == "" {
		v, _ := ss.s.opt.SPF.VerifyHELO(ctx, pol, ss.pc.ip, ss.helo)
		return dmarc.SPFResult{Domain: v.Domain, Scope: dmarc.ScopeHelo, Result: spfForDMARC(v.Result)}
	}
	v := ss.s.opt.SPF.VerifyMailFrom(ctx, pol, ss.pc.ip, ss.helo, ss.from)
	return dmarc.SPFResult{Domain: v.Domain, Scope: dmarc.ScopeMailFrom, Result: spfForDMARC(v.Result)}
}

// spfForDMARC names an SPF result as the aggregate report's SPFResultType
// does (RFC 7489 Appendix C).
func spfForDMARC(r spf.Result) dmarc.AuthResult {
	switch r {
	case spf.Pass:
		return dmarc.ResultPass
	case spf.Fail:
		return dmarc.ResultFail
	case spf.SoftFail:
		return dmarc.ResultSoftFail
	case spf.Neutral:
		return dmarc.ResultNeutral
	case spf.TempError:
		return dmarc.ResultTempError
	case spf.PermError:
		return dmarc.ResultPermError
	}
	return dmarc.ResultNone
}

// dkimForDMARC names a DKIM result as DKIMResultType does: the appliance's
// hardfail (a signature that does not verify) is RFC 8601's fail.
func dkimForDMARC(s dkim.Status) dmarc.AuthResult {
	switch s {
	case dkim.Pass:
		return dmarc.ResultPass
	case dkim.Neutral:
		return dmarc.ResultNeutral
	case dkim.TempError:
		return dmarc.ResultTempError
	case dkim.PermError:
		return dmarc.ResultPermError
	case dkim.HardFail:
		return dmarc.ResultFail
	}
	return dmarc.ResultNone
}

// fromDomains are the domains of the From: addresses, lower case, one per
// address (RFC 7489 §6.6.1). Several From: fields are all read: a message
// with two is malformed (RFC 5322 §3.6), and evaluating every author keeps
// a forger from hiding behind the first.
func fromDomains(fields []spf.HeaderField) []string {
	var out []string
	for _, f := range fields {
		if !strings.EqualFold(f.Name, "From") {
			continue
		}
		list, err := mail.ParseAddressList(f.Value)
		if err != nil {
			// An unparsable From: still names a domain after its last
			// @ when there is one; without it DMARC cannot run.
			if i := strings.LastIndexByte(f.Value, '@'); i >= 0 {
				d := strings.Trim(f.Value[i+1:], "> \t")
				if d != "" {
					out = append(out, strings.ToLower(d))
				}
			}
			continue
		}
		for _, a := range list {
			if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
				out = append(out, strings.ToLower(strings.TrimSuffix(a.Address[i+1:], ".")))
			}
		}
	}
	return out
}

// dmarcBypass says why a message skips DMARC verification under the
// global settings (seed 004 DMARC global settings: bypass address list,
// bypass header fields), or "".
func dmarcBypass(s dmarcconf.Settings, from string, fields []spf.HeaderField) string {
	if from != "" && s.BypassSender(from) {
		return "sender " + strings.ToLower(from) + " is in the bypass list"
	}
	for _, f := range fields {
		if s.BypassHeader(f.Name) {
			return "header " + f.Name + " present"
		}
	}
	return ""
}

// policyOr is p, or def when p is unset (an absent sp= is p).
func policyOr(p, def dmarc.Policy) dmarc.Policy {
	if p == dmarc.PolicyUnset {
		return def
	}
	return p
}
