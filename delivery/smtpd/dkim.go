package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"esa/auth/dkim"

	"github.com/emersion/go-smtp"
)

// DKIM verification of inbound mail (SPEC.md §4, issue 16 item 4): where
// the connection's mail-flow policy enables it, the message is verified as
// it is written to the queue (the same bytes, teed into the verifiers, so
// nothing is buffered whole), before the queue commit. DomainKeys
// signatures (RFC 4870) are verified in the same pass through a second
// pipe. The verdicts go into the envelope and an Authentication-Results:
// field (RFC 8601, domainkeys_authres.go); the profile's tempfail and permfail
// actions may refuse the message for its DKIM verdict only (DomainKeys is
// historic and informational: it never refuses).

// dkimRun is one message's verifications running beside the queue write:
// DKIM on the pipe pw (results in res), DomainKeys on dk when set.
type dkimRun struct {
	pw      *io.PipeWriter
	cancel  context.CancelFunc
	done    chan struct{}
	profile dkim.VerifyProfile
	res     []dkim.Result
	// DomainKeys, when wanted: dk verifies the DomainKey-Signature
	// fields in the same pass, started only once the header shows one
	// (almost no mail carries one, and an idle second pipe would still
	// cost a hand-over per write); dkRes holds the results after finish.
	dkWanted bool
	dkSkip   bool // the header has no DomainKey-Signature
	dkCtx    context.Context
	v        *dkim.Verifier
	dk       *verifyPipe
	dkRes    []dkim.Result
	// hdr keeps the header section for Authentication-Results: (the
	// signatures' b= and the Sender: field); the body is not kept.
	hdr headerCapture
}

// verifyPipe is a second verifier reading the message from its own pipe.
type verifyPipe struct {
	pw   *io.PipeWriter
	done chan struct{}
	res  []dkim.Result
}

// startDomainKeys runs the DomainKeys verification on a new pipe. Its
// error means a message the verifier cannot parse: a permanent error of
// the message (RFC 4870 §3.5, as RFC 6376 §6.1 PERMFAIL for DKIM).
func startDomainKeys(ctx context.Context, v *dkim.Verifier) *verifyPipe {
	pr, pw := io.Pipe()
	p := &verifyPipe{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		res, err := v.VerifyDomainKeys(ctx, pr)
		if err != nil {
			res = []dkim.Result{{Status: dkim.PermError, Reason: err.Error(), DomainKeys: true}}
		}
		p.res = res
		// As for DKIM: unsigned mail is not read past its header, and
		// the rest is drained so the queue write never blocks.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return p
}

// dkimStart starts verifying the message about to be written, or returns
// nil when the policy does not ask for it or no resolver is wired.
func (ss *session) dkimStart() *dkimRun {
	set := ss.limits().DKIM
	if !set.Enabled || ss.s.opt.DKIM == nil {
		return nil
	}
	prof := dkim.DefaultVerifyProfile()
	if ss.s.opt.DKIMProfile != nil {
		prof = ss.s.opt.DKIMProfile(set.Profile)
	}
	return newDKIMRun(ss.s.verifier(prof), prof, true)
}

// newDKIMRun starts the verifiers of one message: DKIM, and DomainKeys in
// the same pass when dk is set.
func newDKIMRun(v *dkim.Verifier, prof dkim.VerifyProfile, dk bool) *dkimRun {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &dkimRun{pw: pw, cancel: cancel, done: make(chan struct{}), profile: prof, dkWanted: dk, dkCtx: ctx, v: v}
	go func() {
		defer close(d.done)
		res, err := v.Verify(ctx, pr)
		if err != nil {
			// Only a message that cannot be parsed gets here (a header
			// beyond the verifier's limits): a permanent error of the
			// message, not of the gateway (RFC 6376 §6.1 PERMFAIL).
			res = []dkim.Result{{Status: dkim.PermError, Reason: err.Error()}}
		}
		d.res = res
		// Verify stops reading where it needs no more (an unsigned
		// message after its header): drain, so the queue write never
		// blocks on the pipe.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return d
}

// verifier returns the server's verifier for prof: one per distinct
// profile (a changed profile is a new key), so its parsed-key cache serves
// every message verified with it. Profiles are few; the map is bounded by
// clearing it when it grows past any sensible count.
func (s *Server) verifier(prof dkim.VerifyProfile) *dkim.Verifier {
	if v, ok := s.verifiers.Load(prof); ok {
		return v.(*dkim.Verifier)
	}
	n := 0
	s.verifiers.Range(func(any, any) bool { n++; return n < 256 })
	if n >= 256 {
		s.verifiers.Clear()
	}
	v, _ := s.verifiers.LoadOrStore(prof, &dkim.Verifier{Resolver: s.opt.DKIM, Now: s.opt.Now, Profile: prof})
	return v.(*dkim.Verifier)
}

// Write feeds the verifiers; it never fails the queue write.
func (d *dkimRun) Write(p []byte) (int, error) {
	switch {
	case d.dk != nil:
		_, _ = d.dk.pw.Write(p)
	case d.dkWanted && !d.dkSkip:
		before := len(d.hdr.buf)
		d.hdr.write(p)
		if d.hdr.done {
			d.startDK(d.hdr.after(before, p)...)
		}
	}
	_, _ = d.pw.Write(p)
	return len(p), nil
}

// startDK starts the DomainKeys verifier on the captured header and what
// followed it, unless the header (read whole) has no DomainKey-Signature.
func (d *dkimRun) startDK(rest ...[]byte) {
	if d.hdr.complete && !hasField(d.hdr.buf, "DomainKey-Signature") {
		d.dkSkip = true
		return
	}
	d.dk = startDomainKeys(d.dkCtx, d.v)
	_, _ = d.dk.pw.Write(d.hdr.buf)
	for _, b := range rest {
		_, _ = d.dk.pw.Write(b)
	}
}

// hasField reports whether the header section h has a field named name
// (RFC 5322 §2.2: a line starting with the name, optional blanks, then a
// colon; continuation lines start with a blank and never match).
func hasField(h []byte, name string) bool {
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		if len(line) > len(name) && strings.EqualFold(string(line[:len(name)]), name) &&
			bytes.HasPrefix(bytes.TrimLeft(line[len(name):], " \t"), []byte(":")) {
			return true
		}
	}
	return false
}

// abort stops the verifications of a message that is refused.
func (d *dkimRun) abort() {
	d.cancel()
	_ = d.pw.CloseWithError(io.ErrUnexpectedEOF)
	<-d.done
	if d.dk != nil {
		_ = d.dk.pw.CloseWithError(io.ErrUnexpectedEOF)
		<-d.dk.done
	}
}

// finish waits for the verdicts of the complete message: the DKIM ones
// returned, the DomainKeys ones in dkRes.
func (d *dkimRun) finish() []dkim.Result {
	_ = d.pw.Close()
	<-d.done
	if d.dkWanted && d.dk == nil && !d.dkSkip {
		// A message that ended inside its header.
		d.startDK()
	}
	switch {
	case d.dk != nil:
		_ = d.dk.pw.Close()
		<-d.dk.done
		d.dkRes = d.dk.res
	case d.dkWanted:
		// What VerifyDomainKeys says of an unsigned message.
		d.dkRes = []dkim.Result{{Status: dkim.None, Reason: "no signature", DomainKeys: true}}
	}
	d.cancel()
	return d.res
}

// logWord is a verdict in the words mail_logs uses (ESA-CLI §11.5:
// "DKIM: permfail body hash did not verify", "DKIM: tempfail ..."): the
// appliance's log keeps RFC 6376 §3.9's older PERMFAIL/TEMPFAIL names,
// while the envelope verdict keeps the content-filter names (hardfail,
// permerror, temperror; seed 004) and Authentication-Results: the RFC 8601
// ones (authres.go).
func logWord(s dkim.Status) string {
	switch s {
	case dkim.HardFail, dkim.PermError:
		return "permfail"
	case dkim.TempError:
		return "tempfail"
	}
	return s.String()
}

// dkimLogText is a result as mail_logs writes it after "DKIM: " or
// "DomainKeys: " (ESA-CLI §11.5): "pass signature verified (d=… s=… i=…)",
// "no signature", "permfail body hash did not verify (d=… s=… i=…)".
// DomainKeys signatures have no i= tag (RFC 4870 §3.3), so theirs end in
// "(d=… s=…)".
func dkimLogText(r dkim.Result) string {
	if r.Status == dkim.None {
		return "no signature"
	}
	reason := r.Reason
	if r.Status == dkim.Pass {
		reason = "signature verified"
		if r.Partial {
			reason = fmt.Sprintf("partially verified [%d bytes]", r.BodyLength)
		}
	}
	var b strings.Builder
	b.WriteString(logWord(r.Status))
	if reason != "" {
		b.WriteString(" " + reason)
	}
	switch {
	case r.Domain == "" && r.Selector == "":
	case r.DomainKeys:
		fmt.Fprintf(&b, " (d=%s s=%s)", r.Domain, r.Selector)
	default:
		fmt.Fprintf(&b, " (d=%s s=%s i=%s)", r.Domain, r.Selector, r.Identity)
	}
	return b.String()
}

// dkimDone logs the results, stores the verdicts and the
// Authentication-Results: field, and returns the reply that refuses the
// message when the profile's action for the DKIM verdict rejects (seed
// 004, verification profile steps 10 and 11). The DomainKeys verdict is
// logged and stamped only: the appliance's actions are DKIM's.
func (ss *session) dkimDone(d *dkimRun, prepend *string, verdicts *map[string]string) *smtp.SMTPError {
	res := d.finish()
	dkRes := d.dkRes
	log := ss.s.opt.Log
	for _, r := range res {
		log.Info("MID %d DKIM: %s", ss.mid, pyQuoteFree(dkimLogText(r)))
	}
	for _, r := range dkRes {
		log.Info("MID %d DomainKeys: %s", ss.mid, pyQuoteFree(dkimLogText(r)))
	}
	verdict := dkim.Verdict(res)
	if a, reject := d.profile.Action(verdict); reject {
		log.Info("MID %d ICID %d Receiving Failed: DKIM %s", ss.mid, ss.pc.icid, logWord(verdict.Status))
		return &smtp.SMTPError{Code: a.Code, EnhancedCode: smtp.NoEnhancedCode, Message: a.Text}
	}
	// RFC 8601 §5: the field goes above the fields it speaks for, so
	// first in the gateway's block.
	*prepend = "Authentication-Results: " + authResults(ss.gen.hostname, res, dkRes, d.hdr.Bytes()) + "\r\n" + *prepend
	if *verdicts == nil {
		*verdicts = map[string]string{}
	}
	(*verdicts)["dkim"] = verdict.Status.String()
	if verdict.Status == dkim.Pass {
		// The signing domain, for DMARC's alignment (RFC 7489 §3.1.1).
		(*verdicts)["dkim.d"] = verdict.Domain
	}
	dk := dkim.Verdict(dkRes)
	(*verdicts)["domainkeys"] = dk.Status.String()
	if dk.Status == dkim.Pass {
		(*verdicts)["domainkeys.d"] = dk.Domain
	}
	return nil
}

// pyQuoteFree keeps a logged verdict on one line: the reason and tags come
// from the message and its signer's DNS, so control characters are
// escaped (\xNN) and cannot forge a log line.
func pyQuoteFree(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
