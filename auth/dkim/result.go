package dkim

import (
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// Status is a verification verdict in the appliance's vocabulary (SPEC §4:
// pass, neutral, temperror, permerror, hardfail, none).
type Status int

const (
	None      Status = iota // no signature
	Pass                    // signature verified
	Neutral                 // signature present but not evaluated (t=y key, over the signature limit)
	TempError               // key could not be fetched now (RFC 6376 §6.1.2 TEMPFAIL)
	PermError               // signature or key unusable (RFC 6376 PERMFAIL other than a crypto mismatch)
	HardFail                // body hash or signature did not verify
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Neutral:
		return "neutral"
	case TempError:
		return "temperror"
	case PermError:
		return "permerror"
	case HardFail:
		return "hardfail"
	}
	return "none"
}

// Result is the verdict for one signature.
type Result struct {
	Status    Status
	Reason    string // why, for logs and Authentication-Results
	Domain    string // d=
	Selector  string // s=
	Identity  string // i= (or "@" + d=)
	Algorithm string // a=
	KeyBits   int    // size of the key used, when one was fetched
	// Partial is set on a pass whose l= covered less than the body;
	// BodyLength is then the number of body bytes verified.
	Partial    bool
	BodyLength int64
	// Testing is set when the key carries t=y (RFC 6376 §3.6.1): the
	// domain is testing, the result is Neutral and no action follows.
	Testing bool
	// DomainKeys marks a result of a DomainKey-Signature (RFC 4870).
	DomainKeys bool
}

// String renders the verdict as the appliance logs and stamps it:
// "pass", "pass (partially verified [1000 bytes])", "hardfail (body hash
// did not verify)".
func (r Result) String() string {
	switch {
	case r.Status == Pass && r.Partial:
		return fmt.Sprintf("pass (partially verified [%d bytes])", r.BodyLength)
	case r.Status == Pass || r.Reason == "":
		return r.Status.String()
	}
	return r.Status.String() + " (" + r.Reason + ")"
}

// Verdict picks the result that speaks for the message, as the appliance
// does (seed 004: verification stops at the first valid signature): the
// first pass; otherwise a temporary error, which may turn into a pass on
// retry; otherwise the first failure; otherwise the first result.
func Verdict(results []Result) Result {
	if len(results) == 0 {
		return Result{Status: None, Reason: "no signature"}
	}
	for _, want := range []Status{Pass, TempError, HardFail, PermError} {
		for _, r := range results {
			if r.Status == want {
				return r
			}
		}
	}
	return results[0]
}

// SMTPAction is what a verification profile does with a message whose
// verdict is a temporary or permanent failure (seed 004, steps 10 and 11).
type SMTPAction struct {
	Reject bool
	Code   int
	Text   string
}

// Action returns the profile's SMTP action for a verdict; ok is false when
// the message is simply accepted. Neutral and none never reject: t=y keys
// and unsigned mail are accepted regardless (seed 004).
func (p VerifyProfile) Action(verdict Result) (a SMTPAction, ok bool) {
	switch verdict.Status {
	case TempError:
		a = p.TempFail
	case PermError, HardFail:
		a = p.PermFail
	default:
		return SMTPAction{}, false
	}
	return a, a.Reject
}

// AuthResult converts a result for an Authentication-Results field
// (RFC 8601 §2.7.1): hardfail is "fail", the appliance's extra detail goes
// to the reason.
func (r Result) AuthResult() authres.Result {
	var v authres.ResultValue
	switch r.Status {
	case Pass:
		v = authres.ResultPass
	case Neutral:
		v = authres.ResultNeutral
	case TempError:
		v = authres.ResultTempError
	case PermError:
		v = authres.ResultPermError
	case HardFail:
		v = authres.ResultFail
	default:
		v = authres.ResultNone
	}
	reason := r.Reason
	if r.Status == Pass {
		reason = "signature verified"
		if r.Partial {
			reason = fmt.Sprintf("partially verified [%d bytes]", r.BodyLength)
		}
	}
	if r.DomainKeys {
		return &authres.DomainKeysResult{Value: v, Reason: reason, Domain: r.Domain}
	}
	return &authres.DKIMResult{Value: v, Reason: reason, Domain: r.Domain, Identifier: r.Identity}
}

// AuthenticationResults renders the value of an Authentication-Results
// field for the given results, one method entry per signature
// ("none" when there is none).
func AuthenticationResults(authservID string, results []Result) string {
	var rs []authres.Result
	for _, r := range results {
		if r.Status == None {
			continue
		}
		rs = append(rs, r.AuthResult())
	}
	if len(rs) == 0 {
		return strings.TrimSpace(authres.Format(authservID, []authres.Result{&authres.DKIMResult{Value: authres.ResultNone}}))
	}
	return strings.TrimSpace(authres.Format(authservID, rs))
}
