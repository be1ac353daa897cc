// Package spf evaluates the Sender Policy Framework (RFC 7208) and Sender ID
// (RFC 4406, with the Purported Responsible Address of RFC 4407) for the
// identities of an inbound SMTP transaction: HELO, MAIL FROM and PRA.
//
// The package is a leaf: DNS comes through the Resolver interface declared
// here, time through Checker.Now, and every verdict is a plain value that
// the listener, the trace command and message filters can reuse.
package spf

import (
	"errors"
	"strconv"
	"strings"
)

// Result is the outcome of check_host() (RFC 7208 §2.6, RFC 4406 §4).
type Result uint8

// The seven results of RFC 7208 §2.6. None is the zero value so that an
// identity that was never checked reads as None.
const (
	None Result = iota
	Neutral
	Pass
	Fail
	SoftFail
	TempError
	PermError
)

var resultNames = [...]string{"None", "Neutral", "Pass", "Fail", "SoftFail", "TempError", "PermError"}

// String returns the result as the appliance prints it in Received-SPF:,
// mail_logs and filter rules (ESA-CLI §11.5: Pass, Fail, SoftFail, None,
// Neutral, PermError, TempError).
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// ParseResult reads a result name in any letter case ("pass", "SoftFail").
func ParseResult(s string) (Result, bool) {
	for i, n := range resultNames {
		if strings.EqualFold(n, s) {
			return Result(i), true
		}
	}
	return None, false
}

// ErrNXDomain is what a Resolver returns (possibly wrapped) when the queried
// name does not exist (RCODE 3). RFC 7208 treats it, like an empty answer
// (NODATA), as a "void lookup" (§4.6.4), never as a temporary error.
var ErrNXDomain = errors.New("spf: no such domain")
