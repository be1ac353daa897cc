// Package smtperr is the one vocabulary of SMTP replies used in both
// directions: the inbound listeners answer peers with it and the delivery
// engine classifies remote answers with it.
//
// A Reply carries what the peer sees (code, enhanced status code, text) and,
// separately, a Detail for the log that is never sent on the wire. Whether a
// failure is temporary or permanent is a property of the type (Temporary,
// Permanent, or errors.As to *Reply), not a bool threaded through callers.
package smtperr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// Enhanced is an RFC 3463 enhanced status code (class.subject.detail). The
// zero value means "none".
type Enhanced [3]int

// IsZero reports whether e is absent.
func (e Enhanced) IsZero() bool { return e == Enhanced{} }

func (e Enhanced) String() string {
	if e.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
}

// Reply is an SMTP reply: a three-digit code, an optional enhanced code and
// the text lines for the peer. Detail is for the log only.
type Reply struct {
	Code     int
	Enhanced Enhanced
	Text     string
	Detail   string
}

// New returns a reply. Text may hold several lines separated by "\n"; each
// becomes a line of a multi-line reply.
func New(code int, enh Enhanced, text string) *Reply {
	return &Reply{Code: code, Enhanced: enh, Text: text}
}

// WithDetail returns a copy of r carrying detail for the log.
func (r *Reply) WithDetail(format string, a ...any) *Reply {
	c := *r
	c.Detail = fmt.Sprintf(format, a...)
	return &c
}

// Error renders the reply the way mail_logs quotes it: code, enhanced code and
// text, then the detail in parentheses when there is one.
func (r *Reply) Error() string {
	s := strconv.Itoa(r.Code)
	if !r.Enhanced.IsZero() {
		s += " " + r.Enhanced.String()
	}
	if r.Text != "" {
		s += " " + strings.ReplaceAll(r.Text, "\n", " ")
	}
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

// Temporary reports a 4xx reply: the sender should try again later.
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports a 5xx reply.
func (r *Reply) Permanent() bool { return r.Code >= 500 && r.Code < 600 }

// Positive reports a 2xx or 3xx reply.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// Lines returns the reply text split into the lines of a multi-line reply.
func (r *Reply) Lines() []string { return strings.Split(r.Text, "\n") }

// Wire renders the reply as sent on the wire, CRLF-terminated, with the
// enhanced code repeated on every line as RFC 2034 §3 asks.
func (r *Reply) Wire() string {
	var b strings.Builder
	lines := r.Lines()
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString(strconv.Itoa(r.Code))
		b.WriteString(sep)
		if !r.Enhanced.IsZero() {
			b.WriteString(r.Enhanced.String())
			b.WriteString(" ")
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}

// SMTP converts r into the error go-smtp's server writes to the peer. The
// detail stays behind.
func (r *Reply) SMTP() *smtp.SMTPError {
	enh := smtp.NoEnhancedCode
	if !r.Enhanced.IsZero() {
		enh = smtp.EnhancedCode(r.Enhanced)
	}
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: enh, Message: r.Text}
}

// As finds the Reply in err's chain.
func As(err error) (*Reply, bool) {
	var r *Reply
	if errors.As(err, &r) {
		return r, true
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return FromSMTP(se), true
	}
	return nil, false
}

// IsTemporary reports whether err is a temporary SMTP failure. An error that
// is not an SMTP reply at all (a network error, a timeout) is temporary: the
// remote side never gave a permanent answer.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	if r, ok := As(err); ok {
		return r.Temporary()
	}
	return true
}

// IsPermanent reports whether err is a permanent (5xx) SMTP failure.
func IsPermanent(err error) bool {
	r, ok := As(err)
	return ok && r.Permanent()
}

// FromSMTP converts a go-smtp error (as its client returns for a remote
// reply) into a Reply. go-smtp leaves the enhanced code in the message when
// it does not parse it; it is picked up here.
func FromSMTP(se *smtp.SMTPError) *Reply {
	r := &Reply{Code: se.Code, Text: se.Message}
	if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
		r.Enhanced = Enhanced(se.EnhancedCode)
	} else if e, rest, ok := cutEnhanced(r.Text, r.Code); ok {
		r.Enhanced, r.Text = e, rest
	}
	return r
}

// cutEnhanced takes a leading "x.y.z " enhanced code off text when its class
// agrees with the reply code's first digit (RFC 3463 §2).
func cutEnhanced(text string, code int) (Enhanced, string, bool) {
	word, rest, _ := strings.Cut(text, " ")
	e, ok := parseEnhanced(word)
	if !ok || e[0] != code/100 {
		return Enhanced{}, text, false
	}
	return e, rest, true
}

// parseEnhanced parses "x.y.z" with class 2, 4 or 5, subject 0-999 and
// detail 0-999 (RFC 3463 §2).
func parseEnhanced(s string) (Enhanced, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Enhanced{}, false
	}
	var e Enhanced
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return Enhanced{}, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p[0] == '+' {
			return Enhanced{}, false
		}
		e[i] = n
	}
	if e[0] != 2 && e[0] != 4 && e[0] != 5 {
		return Enhanced{}, false
	}
	return e, true
}

// ParseConfig reads a reply as the appliance's configuration writes it:
// `550 #5.7.1 SPF unauthorized mail is prohibited`. The `#` before the
// enhanced code is the appliance's notation and optional here; the code must
// be a 4xx or 5xx whose class the enhanced code agrees with. The text may be
// empty.
func ParseConfig(s string) (*Reply, error) {
	s = strings.TrimSpace(s)
	codeStr, rest, _ := strings.Cut(s, " ")
	code, err := strconv.Atoi(codeStr)
	if err != nil || len(codeStr) != 3 || code < 400 || code > 599 {
		return nil, fmt.Errorf("the SMTP code must be a number from 400 to 599, not %q", codeStr)
	}
	r := &Reply{Code: code}
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, "#") {
		word, text, _ := strings.Cut(rest[1:], " ")
		e, ok := parseEnhanced(word)
		if !ok {
			return nil, fmt.Errorf("%q is not an enhanced status code (class.subject.detail)", word)
		}
		if e[0] != code/100 {
			return nil, fmt.Errorf("the enhanced code %s does not agree with the SMTP code %d", e, code)
		}
		r.Enhanced = e
		rest = text
	} else if e, text, ok := cutEnhanced(rest, code); ok {
		r.Enhanced, rest = e, text
	}
	r.Text = strings.TrimSpace(rest)
	return r, nil
}

// Config renders r the way the appliance's configuration shows it
// (`550 #5.7.1 text`); ParseConfig reads it back.
func (r *Reply) Config() string {
	s := strconv.Itoa(r.Code)
	if !r.Enhanced.IsZero() {
		s += " #" + r.Enhanced.String()
	}
	if r.Text != "" {
		s += " " + r.Text
	}
	return s
}
