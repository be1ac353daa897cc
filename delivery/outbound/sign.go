package outbound

import (
	"bufio"
	"net/mail"
	"strings"

	"esa/auth/dkim"
	"esa/delivery/queue"
)

// Outbound signing (SPEC.md §4, issue 16 item 3): relayed mail is signed
// as the last step before the transaction, with every DomainKeys and DKIM
// profile the signing identity matches. The signatures are computed over
// the message as it is sent (the gateway's fields and the stored body) and
// go on top of it; mail that already carries signatures gets one more
// (RFC 6376 §4.2 lets a message carry several).

// Signing is one signature the engine adds to a message: a DKIM or a
// DomainKeys profile, with the names mail_logs gives it.
type Signing struct {
	// Profile is the signing profile's name; Match the profile user the
	// identity matched ("joe@example.com", "example.com").
	Profile string
	Match   string
	// Exactly one of DKIM and DK is set.
	DKIM *dkim.SignProfile
	DK   *dkim.DKProfile
}

// signingIdentity is the address signing is chosen by: the Sender: field
// when there is one, else From: (RFC 4870 §3.1; seed 004), or always
// From: when useFrom is set (domainkeysconfig SETUP's "use From header
// for DKIM signing"). "" when the header has neither.
func signingIdentity(h mail.Header, useFrom bool) string {
	for _, name := range []string{"Sender", "From"} {
		if useFrom && name == "Sender" {
			continue
		}
		v := h.Get(name)
		if v == "" {
			continue
		}
		if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
			return list[0].Address
		}
	}
	return ""
}

// isNotification reports a bounce or delay notice the engine generated
// (dsn.go): a message of the gateway's own (ICID 0) from the null reverse
// path, which marks a notification (RFC 5321 §4.5.5, RFC 3464 §2). Other
// system-generated mail (DMARC reports) has a sender and follows only
// domainkeysconfig SETUP, which the Sign hook applies.
func isNotification(env queue.Envelope) bool {
	return env.ICID == 0 && env.From == ""
}

// signatures returns the signature fields for the message of env, each
// ending in CRLF, DKIM-Signature fields first; "" when the message is not
// signed. A failure to sign is logged and the message goes unsigned: an
// unsigned message is still mail, and the receiver treats it as such
// (RFC 6376 §6.1: unsigned and failed are the same to a verifier's policy).
func (e *Engine) signatures(env queue.Envelope) string {
	if e.cfg.Sign == nil || !env.Relayed {
		return ""
	}
	if isNotification(env) && !env.Sign {
		// A bounce or delay notice whose bounce profile does not sign
		// them (bounceconfig; ESA-CLI §10.2): unsigned, and no "cannot
		// sign" line, since nothing asked for a signature.
		return ""
	}
	m, err := e.cfg.Queue.Open(env.MID)
	if err != nil {
		return ""
	}
	msg, err := mail.ReadMessage(bufio.NewReader(m))
	m.Close()
	addr := ""
	if err == nil {
		useFrom := e.cfg.SignUseFrom != nil && e.cfg.SignUseFrom()
		addr = signingIdentity(msg.Header, useFrom)
	}
	sigs, on := e.cfg.Sign(env, addr)
	if !on {
		return ""
	}
	if addr == "" {
		e.logf("MID %d DKIM: cannot sign - no signing identity", env.MID)
		return ""
	}
	if len(sigs) == 0 {
		e.logf("MID %d DKIM: cannot sign - no profile matches %s", env.MID, addr)
		return ""
	}
	var dkimProfiles []*dkim.SignProfile
	var dk []string
	for _, s := range sigs {
		switch {
		case s.DKIM != nil:
			e.logf("MID %d DKIM: signing with %s - matches %s", env.MID, s.Profile, s.Match)
			dkimProfiles = append(dkimProfiles, s.DKIM)
		case s.DK != nil:
			e.logf("MID %d DomainKeys: signing with %s - matches %s", env.MID, s.Profile, s.Match)
			m, err := e.cfg.Queue.Open(env.MID)
			if err != nil {
				return ""
			}
			f, err := dkim.SignDomainKeys(m, s.DK)
			m.Close()
			if err != nil {
				e.cfg.Log.Warning("MID %d DomainKeys: cannot sign with %s: %v", env.MID, s.Profile, err)
				continue
			}
			dk = append(dk, f)
		}
	}
	var out []string
	if len(dkimProfiles) > 0 {
		m, err := e.cfg.Queue.Open(env.MID)
		if err != nil {
			return ""
		}
		out, err = dkim.Sign(m, e.cfg.Now(), dkimProfiles...)
		m.Close()
		if err != nil {
			e.cfg.Log.Warning("MID %d DKIM: cannot sign: %v", env.MID, err)
			out = nil
		}
	}
	return strings.Join(out, "") + strings.Join(dk, "")
}
