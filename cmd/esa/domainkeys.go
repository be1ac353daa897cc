package main

import (
	"esa/auth/dkim"
	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/store"
	"esa/store/domainkeys"
)

// This file turns the committed domainkeysconfig table into the hooks of
// the listeners (the DKIM verification profile a policy names) and of the
// delivery engine (the signatures of an outgoing message). Both read the
// shared snapshot when asked, so a commit applies to the next message.

// dkimProfileFor is smtpd.Options.DKIMProfile: the named verification
// profile, DEFAULT for "", and the built-in DEFAULT values when the table
// has no such profile (a policy may still name one deleted since).
func dkimProfileFor(st *store.Store) func(name string) dkim.VerifyProfile {
	return func(name string) dkim.VerifyProfile {
		t := st.Snapshot().DomainKeys
		if name == "" {
			name = "DEFAULT"
		}
		if i := t.FindVerification(name); i >= 0 {
			return t.Verification[i].VerifyProfile()
		}
		return dkim.DefaultVerifyProfile()
	}
}

// signingFor is outbound.Config.Sign: for the signing identity addr, the
// DomainKeys and the DKIM profile whose users match it most specifically
// (both sign when both match). Received mail is signed only when the
// mail-flow policy that accepted it enables "DKIM/DomainKeys signing"
// (ESA-CLI §3.4 item 18, recorded as Envelope.Sign); mail the gateway
// generates itself (ICID 0: DMARC reports, bounces, delay notices) only
// when SETUP's "sign system-generated messages" says so; bounces and delay
// notices also need their bounce profile's consent, which the engine
// checks before asking (outbound/sign.go). on is false where nothing asks
// for a signature, so "cannot sign" is logged only where one was asked
// for (issue 16 item 3).
func signingFor(st *store.Store) func(env queue.Envelope, addr string) ([]outbound.Signing, bool) {
	return func(env queue.Envelope, addr string) ([]outbound.Signing, bool) {
		if env.ICID != 0 && !env.Sign {
			return nil, false
		}
		t := st.Snapshot().DomainKeys
		if len(t.Signing) == 0 {
			return nil, false // nothing configured: no "cannot sign" lines
		}
		if env.ICID == 0 && !t.SignSystemGenerated {
			return nil, false
		}
		return signatures(t, addr), true
	}
}

func signatures(t domainkeys.Table, addr string) []outbound.Signing {
	var out []outbound.Signing
	if i, user, ok := t.MatchUser(domainkeys.TypeDK, addr); ok {
		if dk, err := t.DKProfile(t.Signing[i]); err == nil {
			out = append(out, outbound.Signing{Profile: t.Signing[i].Name, Match: user, DK: dk})
		}
	}
	if i, user, ok := t.MatchUser(domainkeys.TypeDKIM, addr); ok {
		if sps, err := t.SignProfiles(t.Signing[i]); err == nil {
			for _, sp := range sps {
				out = append(out, outbound.Signing{Profile: t.Signing[i].Name, Match: user, DKIM: sp})
			}
		}
	}
	return out
}

// signUseFrom is outbound.Config.SignUseFrom (domainkeysconfig SETUP).
func signUseFrom(st *store.Store) func() bool {
	return func() bool { return st.Snapshot().DomainKeys.FromHeader }
}
