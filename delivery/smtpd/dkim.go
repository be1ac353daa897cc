package smtpd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"esa/auth/dkim"

	"github.com/emersion/go-smtp"
)

// DKIM verification of inbound mail (SPEC.md §4, issue 16 item 4): where
// the connection's mail-flow policy enables it, the message is verified as
// it is written to the queue (the same bytes, teed into the verifier, so
// nothing is buffered whole), before the queue commit. The verdicts go
// into the envelope and an Authentication-Results: field (RFC 8601); the
// profile's tempfail and permfail actions may refuse the message.

// dkimRun is one message's verification running beside the queue write.
type dkimRun struct {
	pw      *io.PipeWriter
	cancel  context.CancelFunc
	done    chan struct{}
	profile dkim.VerifyProfile
	res     []dkim.Result
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
	v := ss.s.verifier(prof)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &dkimRun{pw: pw, cancel: cancel, done: make(chan struct{}), profile: prof}
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

// Write feeds the verifier; it never fails the queue write.
func (d *dkimRun) Write(p []byte) (int, error) {
	_, _ = d.pw.Write(p)
	return len(p), nil
}

// abort stops a verification whose message is refused.
func (d *dkimRun) abort() {
	d.cancel()
	_ = d.pw.CloseWithError(io.ErrUnexpectedEOF)
	<-d.done
}

// finish waits for the verdicts of the complete message.
func (d *dkimRun) finish() []dkim.Result {
	_ = d.pw.Close()
	<-d.done
	d.cancel()
	return d.res
}

// dkimLogText is a result as mail_logs writes it after "DKIM: " (ESA-CLI
// §11.5): "pass signature verified (d=… s=… i=…)", "no signature",
// "hardfail body hash did not verify (d=… s=… i=…)".
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
	b.WriteString(r.Status.String())
	if reason != "" {
		b.WriteString(" " + reason)
	}
	if r.Domain != "" || r.Selector != "" {
		fmt.Fprintf(&b, " (d=%s s=%s i=%s)", r.Domain, r.Selector, r.Identity)
	}
	return b.String()
}

// dkimDone logs the results, stores the verdict and the
// Authentication-Results: field, and returns the reply that refuses the
// message when the profile's action for the verdict rejects (seed 004,
// verification profile steps 10 and 11).
func (ss *session) dkimDone(d *dkimRun, prepend *string, verdicts *map[string]string) *smtp.SMTPError {
	res := d.finish()
	log := ss.s.opt.Log
	for _, r := range res {
		log.Info("MID %d DKIM: %s", ss.mid, pyQuoteFree(dkimLogText(r)))
	}
	verdict := dkim.Verdict(res)
	if a, reject := d.profile.Action(verdict); reject {
		log.Info("MID %d ICID %d Receiving Failed: DKIM %s", ss.mid, ss.pc.icid, verdict.Status)
		return &smtp.SMTPError{Code: a.Code, EnhancedCode: smtp.NoEnhancedCode, Message: a.Text}
	}
	// RFC 8601 §5: the field goes above the fields it speaks for, so
	// first in the gateway's block.
	*prepend = "Authentication-Results: " + dkim.AuthenticationResults(ss.gen.hostname, res) + "\r\n" + *prepend
	if *verdicts == nil {
		*verdicts = map[string]string{}
	}
	(*verdicts)["dkim"] = verdict.Status.String()
	if verdict.Status == dkim.Pass {
		// The signing domain, for DMARC's alignment (RFC 7489 §3.1.1).
		(*verdicts)["dkim.d"] = verdict.Domain
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
