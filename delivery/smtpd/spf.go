package smtpd

import (
	"bytes"
	"context"
	"strings"
	"time"

	"esa/auth/spf"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
)

// SPF/SIDF verification during the SMTP conversation (SPEC.md §4, issue
// 15): the HELO identity at HELO/EHLO, MAIL FROM at MAIL, the PRA once the
// DATA header has arrived, each bounded by the policy's verification
// timeout. The first identity whose result the policy rejects ends the
// session with the configured reply (the connection closes after it); the
// verdicts of an accepted
// message go into its envelope and its Received-SPF: header fields.

// heloVerdict is the HELO identity's verdict of a connection. go-smtp starts
// a new session at each EHLO (after STARTTLS too); the name is checked once.
type heloVerdict struct {
	name string
	v    spf.Verdict
	// reject is the reply that refused the HELO name: any later HELO or
	// EHLO on the connection gets it again, so a refused client cannot
	// start a transaction by greeting once more.
	reject *smtp.SMTPError
}

// spfOn returns the connection policy's SPF settings and the checker's
// policy; ok is false when nothing is checked: verification off in the
// mail-flow policy, no checker, or relayed mail, which SPF does not apply
// to (SPEC.md §4: "Not applied to incoming relay").
func (ss *session) spfOn() (mailflow.SPFSettings, spf.Policy, bool) {
	set := ss.limits().SPF
	if !set.Enabled || ss.s.opt.SPF == nil || ss.pc.decision.Action == mailflow.ActRelay {
		return set, spf.Policy{}, false
	}
	p := spf.Policy{CheckHELO: set.HELOCheck, DowngradePRA: set.DowngradePRA}
	switch set.Level {
	case "spf_only":
		p.Level = spf.SPFOnly
	case "sidf_strict":
		p.Level = spf.SIDFStrict
	default:
		p.Level = spf.SIDFCompatible
	}
	return set, p, true
}

// spfContext bounds one identity's check by the policy's verification
// timeout; on expiry the check's result is TempError.
func spfContext(set mailflow.SPFSettings) (context.Context, context.CancelFunc) {
	t := time.Duration(set.Timeout) * time.Second
	if t <= 0 {
		t = 40 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// spfReply is the reply that refuses a message on v, or nil when the policy
// accepts v's result. SIDF strict has a fixed HELO action (seed 004).
// TempError is deferred with the defer code and text; the other results
// are rejected with the reject code and text, followed, when the policy
// takes the publisher's text, by the domain's explanation (RFC 7208 §6.2):
//
//	550-#5.7.1 SPF unauthorized mail is prohibited.
//	550-The domain example.com explains:
//	550 <explanation>
//
// The text is sent as configured, "#5.7.1" included, as the appliance does.
func spfReply(set mailflow.SPFSettings, v spf.Verdict) *smtp.SMTPError {
	var reject bool
	switch v.Identity {
	case spf.HELO:
		if set.Level == "sidf_strict" {
			reject = spf.StrictHELORejects(v.Result)
		} else {
			reject = mailflow.Rejects(set.HELOReject, v.Result.String())
		}
	case spf.MailFrom:
		reject = mailflow.Rejects(set.MailFromReject, v.Result.String())
	case spf.PRA:
		reject = mailflow.Rejects(set.PRAReject, v.Result.String())
	}
	if !reject {
		return nil
	}
	if v.Result == spf.TempError {
		return &smtp.SMTPError{Code: set.DeferCode, EnhancedCode: smtp.NoEnhancedCode, Message: set.DeferText}
	}
	lines := v.RejectText(set.RejectText, set.PublisherText)
	return &smtp.SMTPError{Code: set.RejectCode, EnhancedCode: smtp.NoEnhancedCode, Message: strings.Join(lines, "\n")}
}

// checkHELO runs the HELO identity check at HELO/EHLO when the policy asks
// for it, and returns the reply that refuses the greeting, if any.
func (ss *session) checkHELO() error {
	pc := ss.pc
	if pc.spfHELO != nil && pc.spfHELO.reject != nil {
		return pc.spfHELO.reject
	}
	set, pol, ok := ss.spfOn()
	if !ok || !pol.ChecksHELO() {
		return nil
	}
	if pc.spfHELO == nil || pc.spfHELO.name != ss.helo {
		ctx, cancel := spfContext(set)
		v, _ := ss.s.opt.SPF.VerifyHELO(ctx, pol, pc.ip, ss.helo)
		cancel()
		v.Receiver = ss.gen.hostname
		pc.spfHELO = &heloVerdict{name: ss.helo, v: v}
	}
	v := pc.spfHELO.v
	if r := spfReply(set, v); r != nil {
		log := ss.s.opt.Log
		log.Info("ICID %d %s", pc.icid, v.LogText())
		log.Info("ICID %d Receiving Failed: SPF helo identity %s", pc.icid, v.Result)
		pc.spfHELO.reject = r
		pc.endSession.Store(true)
		return r
	}
	return nil
}

// checkMailFrom logs the HELO verdict under the new MID and checks the
// MAIL FROM identity; it returns the reply that refuses the transaction.
func (ss *session) checkMailFrom() error {
	ss.spf = ss.spf[:0]
	set, pol, ok := ss.spfOn()
	if !ok {
		return nil
	}
	log := ss.s.opt.Log
	if pol.ChecksHELO() && ss.pc.spfHELO != nil {
		v := ss.pc.spfHELO.v
		log.Info("MID %d %s", ss.mid, v.LogText())
		ss.spf = append(ss.spf, v)
	}
	ctx, cancel := spfContext(set)
	v := ss.s.opt.SPF.VerifyMailFrom(ctx, pol, ss.pc.ip, ss.helo, ss.from)
	cancel()
	v.Receiver = ss.gen.hostname
	log.Info("MID %d %s", ss.mid, v.LogText())
	if r := spfReply(set, v); r != nil {
		log.Info("MID %d ICID %d Receiving Failed: SPF mailfrom identity %s", ss.mid, ss.pc.icid, v.Result)
		ss.pc.endSession.Store(true)
		return r
	}
	ss.spf = append(ss.spf, v)
	return nil
}

// checkPRA checks the Purported Responsible Address of the header the
// scanner kept (RFC 4407 §2), after the message is on disk and before it
// is committed: a refusal aborts the queue write.
func (ss *session) checkPRA(header []byte) error {
	set, pol, ok := ss.spfOn()
	if !ok || !pol.ChecksPRA() {
		return nil
	}
	ctx, cancel := spfContext(set)
	v, _ := ss.s.opt.SPF.VerifyPRA(ctx, pol, ss.pc.ip, ss.helo, ss.from, headerFields(header))
	cancel()
	v.Receiver = ss.gen.hostname
	ss.s.opt.Log.Info("MID %d %s", ss.mid, v.LogText())
	if r := spfReply(set, v); r != nil {
		ss.s.opt.Log.Info("MID %d ICID %d Receiving Failed: SPF pra identity %s", ss.mid, ss.pc.icid, v.Result)
		ss.pc.endSession.Store(true)
		return r
	}
	ss.spf = append(ss.spf, v)
	return nil
}

// spfHeaders renders a Received-SPF: field per checked identity (RFC 7208
// §9.1), each with its CRLF, in the order the conversation met them; they
// go above the gateway's Received: field, as §9.1 asks.
func spfHeaders(vs []spf.Verdict) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.ReceivedSPF())
		b.WriteString("\r\n")
	}
	return b.String()
}

// spfVerdicts names the verdicts as the envelope keeps them
// ("spf.mailfrom": "Pass").
func spfVerdicts(vs []spf.Verdict, into map[string]string) map[string]string {
	if len(vs) == 0 {
		return into
	}
	if into == nil {
		into = map[string]string{}
	}
	for _, v := range vs {
		into["spf."+v.Identity.String()] = v.Result.String()
	}
	return into
}

// headerFields splits a header section (as the client sent it, CRLF line
// ends, possibly cut short) into its fields in message order, for the PRA
// (RFC 4407 §2 depends on the order). Folded lines are unfolded (RFC 5322
// §2.2.3); a line that is neither a field nor a continuation is skipped,
// as is a continuation before any field. The section ends at the first
// empty line.
func headerFields(b []byte) []spf.HeaderField {
	var out []spf.HeaderField
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) > 0 {
				out[len(out)-1].Value += string(line)
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		name = bytes.TrimRight(name, " \t")
		if !ok || len(name) == 0 || !fieldName(name) {
			continue
		}
		out = append(out, spf.HeaderField{Name: string(name), Value: string(value)})
	}
	return out
}

// fieldName: printable US-ASCII except colon (RFC 5322 §3.6.8 ftext).
func fieldName(b []byte) bool {
	for _, c := range b {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}
