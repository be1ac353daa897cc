package dmarcconf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"esa/store/names"
)

// The checks below are the one validator of the table: dmarcconfig's
// questions use them for each answer, IMPORT for each line, and
// Table.Validate for the whole. Their messages are sentences in the
// appliance's style (ESA-CLI.md §0.1), shown after a refused answer.

// MaxText bounds a reply text: it goes out on one SMTP reply line, which
// RFC 5321 §4.5.3.1.5 limits to 512 octets with the code.
const MaxText = 400

// ValidName checks a profile name: 1 to 64 letters, digits, '-', '_' or
// '.', as the other profile names of the appliance.
func ValidName(name string) error { return names.Profile(name) }

// CheckCode checks an SMTP reply code of the class lo (400: temporary,
// 500: permanent; RFC 5321 §4.2.1).
func CheckCode(code, lo int) error {
	if code < lo || code > lo+99 {
		return fmt.Errorf("The value must be an SMTP code from %d to %d.", lo, lo+99)
	}
	return nil
}

// CheckText checks an SMTP reply text: printable ASCII (RFC 5321 §4.2,
// textstring), not empty, at most MaxText characters.
func CheckText(text string) error {
	if text == "" {
		return errors.New("You must enter a value.")
	}
	if len(text) > MaxText {
		return fmt.Errorf("The value must be at most %d characters long.", MaxText)
	}
	for _, r := range text {
		if r < ' ' || r > '~' {
			return errors.New("The value must be printable ASCII (no control characters).")
		}
	}
	return nil
}

// CheckTime checks a time of day HH:MM, 00:00 to 23:59.
func CheckTime(s string) error {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return errors.New("The value must be a time of day HH:MM from 00:00 to 23:59.")
	}
	return nil
}

// CheckDomain checks a domain name: dot-separated labels of letters,
// digits and '-' (RFC 1123 §2.1), at most 253 characters.
func CheckDomain(d string) error {
	if !isDomain(d) {
		return fmt.Errorf("%q is not a valid domain name.", d)
	}
	return nil
}

func isDomain(d string) bool { return names.Hostname(d) }

// isDotAtom reports whether s is an RFC 5322 §3.2.3 dot-atom.
func isDotAtom(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, a := range strings.Split(s, ".") {
		if a == "" {
			return false
		}
		for i := 0; i < len(a); i++ {
			c := a[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// CheckAddress checks an email address local@domain (a dot-atom local
// part, RFC 5322 §3.4.1).
func CheckAddress(a string) error {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || !isDotAtom(a[:at]) || !isDomain(a[at+1:]) {
		return fmt.Errorf("%q is not a valid email address (An email address is a localname, an @ and a domain).", a)
	}
	return nil
}

// CheckBypass checks one entry of the bypass list: a whole address
// (user@example.com), a domain (@example.com or example.com) or all
// subdomains of one (.example.com or @.example.com), the forms of the
// appliance's address lists (seed 004: lists of full addresses or domains
// only).
func CheckBypass(e string) error {
	switch {
	case strings.HasPrefix(e, "@."):
		if isDomain(e[2:]) {
			return nil
		}
	case strings.HasPrefix(e, "@"):
		if isDomain(e[1:]) {
			return nil
		}
	case strings.HasPrefix(e, "."):
		if isDomain(e[1:]) {
			return nil
		}
	case strings.Contains(e, "@"):
		if CheckAddress(e) == nil {
			return nil
		}
	default:
		if isDomain(e) {
			return nil
		}
	}
	return fmt.Errorf("%q is not an address, @domain, domain, .domain or @.domain.", e)
}

// CheckHeaderName checks a header field name: printable ASCII without
// ':' or space (RFC 5322 §3.6.8 ftext), at most 76 characters.
func CheckHeaderName(n string) error {
	if n == "" || len(n) > 76 {
		return fmt.Errorf("%q is not a header name (1 to 76 characters).", n)
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 33 || n[i] > 126 || n[i] == ':' {
			return fmt.Errorf("%q is not a header name (printable characters without ':' or spaces).", n)
		}
	}
	return nil
}

// CheckContact checks the additional contact information of the reports:
// one line of text, at most 256 characters (it goes into the report's
// extra_contact_info, RFC 7489 Appendix C).
func CheckContact(s string) error {
	if len(s) > 256 {
		return errors.New("The value must be at most 256 characters long.")
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return errors.New("The value must not contain control characters.")
		}
	}
	return nil
}

func oneOf(v string, choices ...string) bool {
	for _, c := range choices {
		if v == c {
			return true
		}
	}
	return false
}

// Validate checks one profile: its name, that each action is one of its
// policy's choices with a quarantine when it quarantines, and the reply
// codes and texts (5xx for reject and permanent failure, 4xx for
// temporary failure, RFC 7489 §10.3 and RFC 5321 §4.2.1).
func (p *Profile) Validate() error {
	if err := ValidName(p.Name); err != nil {
		return fmt.Errorf("name: %v", err)
	}
	if !oneOf(p.RejectAction, ActionNone, ActionQuarantine, ActionReject) {
		return fmt.Errorf("reject_action must be none, quarantine or reject, not %q", p.RejectAction)
	}
	if p.RejectAction == ActionQuarantine && p.RejectQuarantine == "" {
		return errors.New("reject_quarantine: a quarantine must be named when the action is quarantine")
	}
	if !oneOf(p.QuarantineAction, ActionNone, ActionQuarantine) {
		return fmt.Errorf("quarantine_action must be none or quarantine, not %q", p.QuarantineAction)
	}
	if p.QuarantineAction == ActionQuarantine && p.QuarantineQuarantine == "" {
		return errors.New("quarantine_quarantine: a quarantine must be named when the action is quarantine")
	}
	for _, q := range []struct{ key, v string }{{"reject_quarantine", p.RejectQuarantine}, {"quarantine_quarantine", p.QuarantineQuarantine}} {
		if q.v != "" && CheckContact(q.v) != nil {
			return fmt.Errorf("%s: %q is not a quarantine name", q.key, q.v)
		}
	}
	if !oneOf(p.TempFailAction, ActionAccept, ActionReject) {
		return fmt.Errorf("tempfail_action must be accept or reject, not %q", p.TempFailAction)
	}
	if !oneOf(p.PermFailAction, ActionAccept, ActionReject) {
		return fmt.Errorf("permfail_action must be accept or reject, not %q", p.PermFailAction)
	}
	for _, c := range []struct {
		key  string
		code int
		lo   int
		text string
	}{
		{"reject", p.RejectCode, 500, p.RejectText},
		{"tempfail", p.TempFailCode, 400, p.TempFailText},
		{"permfail", p.PermFailCode, 500, p.PermFailText},
	} {
		if err := CheckCode(c.code, c.lo); err != nil {
			return fmt.Errorf("%s_code: %v", c.key, err)
		}
		if err := CheckText(c.text); err != nil {
			return fmt.Errorf("%s_text: %v", c.key, err)
		}
	}
	return nil
}

// Validate checks the global settings.
func (s *Settings) Validate() error {
	if err := CheckTime(s.ReportTime); err != nil {
		return fmt.Errorf("report_time: %v", err)
	}
	if s.Entity != "" {
		if err := CheckDomain(s.Entity); err != nil {
			return fmt.Errorf("entity: %v", err)
		}
	}
	if err := CheckContact(s.Contact); err != nil {
		return fmt.Errorf("contact: %v", err)
	}
	if s.ReturnAddress != "" {
		if err := CheckAddress(s.ReturnAddress); err != nil {
			return fmt.Errorf("return_address: %v", err)
		}
	}
	for _, a := range s.CopyTo {
		if err := CheckAddress(a); err != nil {
			return fmt.Errorf("copy_to: %v", err)
		}
	}
	for _, a := range s.BypassAddresses {
		if err := CheckBypass(a); err != nil {
			return fmt.Errorf("bypass_address: %v", err)
		}
	}
	seen := map[string]bool{}
	for _, h := range s.BypassHeaders {
		if err := CheckHeaderName(h); err != nil {
			return fmt.Errorf("bypass_header: %v", err)
		}
		if seen[strings.ToLower(h)] {
			return fmt.Errorf("bypass_header: %q is listed twice", h)
		}
		seen[strings.ToLower(h)] = true
	}
	if !oneOf(s.Rules, RulesRFC7489, RulesDMARCbis) {
		return fmt.Errorf("rules must be %s or %s, not %q", RulesRFC7489, RulesDMARCbis, s.Rules)
	}
	return nil
}

// BypassSender reports whether mail from the envelope sender addr skips
// DMARC verification: addr is on the bypass list as itself, by its domain
// (@domain or domain), or under a .domain or @.domain entry. Case is
// ignored.
func (s *Settings) BypassSender(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(addr[at+1:])
	for _, e := range s.BypassAddresses {
		e = strings.ToLower(e)
		switch {
		case strings.HasPrefix(e, "@."):
			if strings.HasSuffix(domain, e[1:]) {
				return true
			}
		case strings.HasPrefix(e, "@"):
			if domain == e[1:] {
				return true
			}
		case strings.HasPrefix(e, "."):
			if strings.HasSuffix(domain, e) {
				return true
			}
		case strings.Contains(e, "@"):
			if strings.EqualFold(addr, e) {
				return true
			}
		default:
			if domain == e {
				return true
			}
		}
	}
	return false
}

// BypassHeader reports whether a message with a header field of this name
// skips DMARC verification (names compare without case, RFC 5322 §1.2.2).
func (s *Settings) BypassHeader(name string) bool {
	for _, h := range s.BypassHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}
