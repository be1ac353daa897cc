package spf

import (
	"context"
	"errors"
	"net/netip"
	"strings"
)

// Policy is what a listener's SPF/SIDF settings decide about which
// identities are checked and how (SPEC.md §4, seed 004).
type Policy struct {
	Level Conformance
	// CheckHELO enables the HELO identity at the SPF only and SIDF
	// compatible levels; SIDF strict always checks it.
	CheckHELO bool
	// DowngradePRA (SIDF compatible only) reports a PRA Pass as None when
	// the message has a Resent-Sender: or Resent-From: header.
	DowngradePRA bool
}

// ChecksHELO reports whether the HELO identity is checked under p.
func (p Policy) ChecksHELO() bool { return p.CheckHELO || p.Level == SIDFStrict }

// ChecksPRA reports whether the PRA identity is checked under p: only the
// Sender ID levels know it.
func (p Policy) ChecksPRA() bool { return p.Level != SPFOnly }

// Transaction is what the checks of one message need: the SMTP client's
// address, its HELO name, the reverse-path (without angle brackets, empty
// for the null sender) and, after DATA, the header.
type Transaction struct {
	ClientIP netip.Addr
	HELO     string
	MailFrom string
	Header   []HeaderField
}

// VerifyHELO checks the HELO identity as the listener does at HELO/EHLO.
// ok is false when p does not check it. Sender ID defines no HELO check,
// so every level uses RFC 7208 for it.
func (c *Checker) VerifyHELO(ctx context.Context, p Policy, ip netip.Addr, helo string) (v Verdict, ok bool) {
	if !p.ChecksHELO() {
		return Verdict{}, false
	}
	v = c.run(ctx, ip, helo, "postmaster@"+helo, helo, "", p.Level)
	v.Identity = HELO
	v.fill(c, ip, "")
	return v, true
}

// VerifyMailFrom checks the MAIL FROM identity (an empty reverse-path is
// postmaster@HELO). At the SPF only level it is RFC 7208 check_host(); at
// the Sender ID levels it is the "mfrom" scope of RFC 4406, with v=spf1
// records read as the level says and, under SIDF strict, Fail for a
// malformed or non-existent domain (RFC 4406 §4.3).
func (c *Checker) VerifyMailFrom(ctx context.Context, p Policy, ip netip.Addr, helo, mailFrom string) Verdict {
	sender, domain := mailFromIdentity(mailFrom, helo)
	scope := "mfrom"
	if p.Level == SPFOnly {
		scope = ""
	}
	v := c.run(ctx, ip, domain, sender, helo, scope, p.Level)
	v.Identity = MailFrom
	v.fill(c, ip, mailFrom)
	return v
}

// VerifyPRA checks the Purported Responsible Address (RFC 4407) of a
// message header; ok is false at the SPF only level, which does not check
// it. Without a PRA, or with a malformed one, the result is None under SIDF
// compatible and Fail under SIDF strict (RFC 4406 §4.3 / seed 004).
func (c *Checker) VerifyPRA(ctx context.Context, p Policy, ip netip.Addr, helo, mailFrom string, header []HeaderField) (v Verdict, ok bool) {
	if !p.ChecksPRA() {
		return Verdict{}, false
	}
	pra, err := ExtractPRA(header)
	if err != nil {
		v = Verdict{Identity: PRA, Result: None, why: outcome{reason: err.Error()}, Conformance: p.Level}
		if p.Level == SIDFStrict {
			v.Result = Fail
		}
		v.fill(c, ip, mailFrom)
		return v, true
	}
	_, domain := splitSender(pra.Address)
	v = c.run(ctx, ip, domain, pra.Address, helo, "pra", p.Level)
	v.Identity = PRA
	v.fill(c, ip, mailFrom)
	if p.Level == SIDFCompatible && p.DowngradePRA && v.Result == Pass && hasResent(header) {
		v.Result = None
		v.Downgraded = true
		v.why = outcome{reason: "Pass downgraded to None: the message has Resent-Sender: or Resent-From:"}
	}
	return v, true
}

func hasResent(h []HeaderField) bool {
	for _, f := range h {
		if (strings.EqualFold(f.Name, "Resent-Sender") || strings.EqualFold(f.Name, "Resent-From")) && nonEmpty(f) {
			return true
		}
	}
	return false
}

func (v *Verdict) fill(c *Checker, ip netip.Addr, mailFrom string) {
	v.ClientIP = ip
	v.Receiver = c.Receiver
	v.EnvelopeFrom = mailFrom
}

// Verify returns the verdict of every identity p checks, in the order the
// SMTP conversation meets them (HELO, MAIL FROM, PRA). It is the function
// behind trace and message filters: the same checks the listener makes at
// each stage, at once. A PRA verdict needs tx.Header; without it the PRA is
// not checked. The identities are independent, so they run concurrently.
func (c *Checker) Verify(ctx context.Context, p Policy, tx Transaction) []Verdict {
	var (
		helo, mfrom, pra Verdict
		heloOK, praOK    bool
		done             = make(chan struct{}, 2)
		checkPRA         = p.ChecksPRA() && tx.Header != nil
	)
	go func() {
		helo, heloOK = c.VerifyHELO(ctx, p, tx.ClientIP, tx.HELO)
		done <- struct{}{}
	}()
	go func() {
		if checkPRA {
			pra, praOK = c.VerifyPRA(ctx, p, tx.ClientIP, tx.HELO, tx.MailFrom, tx.Header)
		}
		done <- struct{}{}
	}()
	mfrom = c.VerifyMailFrom(ctx, p, tx.ClientIP, tx.HELO, tx.MailFrom)
	<-done
	<-done
	var out []Verdict
	if heloOK {
		out = append(out, helo)
	}
	out = append(out, mfrom)
	if praOK {
		out = append(out, pra)
	}
	return out
}

// IsNoPRA reports whether err says the message has no usable PRA.
func IsNoPRA(err error) bool {
	return errors.Is(err, ErrNoPRA) || errors.Is(err, ErrMalformedPRA)
}

// StrictHELORejects is the fixed HELO action of SIDF strict (seed 004:
// the HELO identity is checked, None and Neutral are accepted, the other
// results rejected; no per-result choice is offered). Pass is accepted as
// well: "the others" are the results that deny or cannot confirm the
// client's right to its name, and rejecting an authorised HELO would make
// the stricter level refuse the best-behaved senders.
func StrictHELORejects(r Result) bool {
	switch r {
	case None, Neutral, Pass:
		return false
	}
	return true
}
