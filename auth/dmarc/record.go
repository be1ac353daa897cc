package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Mode selects the rule set: RFC 7489 (the DMARC the appliance has always
// spoken) or DMARCbis (RFC 9989), which replaces the public suffix list with
// a DNS tree walk, adds np, psd and t, and drops pct, rf and ri. Both are in
// the field, so the administrator chooses.
type Mode int

const (
	// RFC7489 follows RFC 7489: the public suffix list, pct sampling.
	RFC7489 Mode = iota
	// DMARCbis follows RFC 9989: DNS tree walk, np, psd and t.
	DMARCbis
)

// String names the mode as the configuration shows it.
func (m Mode) String() string {
	switch m {
	case RFC7489:
		return "RFC 7489"
	case DMARCbis:
		return "DMARCbis (RFC 9989)"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Policy is a Domain Owner's requested handling of failing mail, and equally
// the disposition applied (the report's DispositionType). The zero value means
// "not given".
type Policy uint8

const (
	PolicyUnset Policy = iota
	PolicyNone
	PolicyQuarantine
	PolicyReject
)

// String returns the record and report spelling ("none", "quarantine",
// "reject"), or "" when unset.
func (p Policy) String() string {
	switch p {
	case PolicyNone:
		return "none"
	case PolicyQuarantine:
		return "quarantine"
	case PolicyReject:
		return "reject"
	}
	return ""
}

// lower is the next weaker policy: what a message not selected by pct gets
// (RFC 7489 §6.6.4: reject becomes quarantine, quarantine becomes none).
func (p Policy) lower() Policy {
	switch p {
	case PolicyReject:
		return PolicyQuarantine
	case PolicyQuarantine:
		return PolicyNone
	}
	return p
}

func parsePolicy(v string) (Policy, bool) {
	// ABNF quoted literals are case-insensitive (RFC 5234 §2.3), so
	// p=ReJect is p=reject.
	switch strings.ToLower(v) {
	case "none":
		return PolicyNone, true
	case "quarantine":
		return PolicyQuarantine, true
	case "reject":
		return PolicyReject, true
	}
	return PolicyUnset, false
}

// Alignment is an identifier alignment mode (RFC 7489 §3.1).
type Alignment uint8

const (
	Relaxed Alignment = iota // the default, "r"
	Strict                   // "s"
)

// String returns "r" or "s".
func (a Alignment) String() string {
	if a == Strict {
		return "s"
	}
	return "r"
}

// PSD is the DMARCbis psd tag: whether the record's domain is a Public
// Suffix Domain. The default is PSDUnknown ("u").
type PSD uint8

const (
	PSDUnknown PSD = iota // "u"
	PSDYes                // "y": the domain is a public suffix
	PSDNo                 // "n": the domain is an Organizational Domain
)

// String returns "u", "y" or "n".
func (p PSD) String() string {
	switch p {
	case PSDYes:
		return "y"
	case PSDNo:
		return "n"
	}
	return "u"
}

// ReportURI is one entry of rua or ruf: the URI and its optional size limit
// (RFC 7489 §6.2; 0 means no limit).
type ReportURI struct {
	URI     string
	MaxSize uint64
}

// Mailbox returns the address of a mailto: URI, or "" for any other scheme
// or a mailto: URI without one (reports go by mail only, RFC 7489 §7.2.1.1).
func (u ReportURI) Mailbox() string {
	p, err := url.Parse(u.URI)
	if err != nil || !strings.EqualFold(p.Scheme, "mailto") || p.Opaque == "" {
		return ""
	}
	addr, err := url.PathUnescape(p.Opaque)
	if err != nil || !strings.Contains(addr, "@") {
		return ""
	}
	return addr
}

// Record is a parsed DMARC policy record with every default filled in.
type Record struct {
	// P is the policy for the domain itself. When the record had no valid p
	// (or an invalid sp) and RFC 7489 §6.6.3 step 6 let it through because
	// of a valid rua, P is PolicyNone and PFallback is set.
	P         Policy
	PFallback bool
	// SP is the subdomain policy, PolicyUnset when absent (P applies).
	SP Policy
	// NP is the DMARCbis policy for non-existent subdomains, PolicyUnset when
	// absent or in RFC 7489 mode.
	NP    Policy
	ADKIM Alignment
	ASPF  Alignment
	// Pct is the sampling rate, 100 unless given (RFC 7489 only).
	Pct int
	// FO is the failure reporting options as a colon list ("0" default).
	FO string
	// RF is the failure report format ("afrf" default).
	RF string
	// RI is the requested aggregate report interval in seconds (86400).
	RI  uint32
	RUA []ReportURI
	RUF []ReportURI
	// PSD and Testing (the t tag) are DMARCbis only.
	PSD     PSD
	Testing bool
	// Notes says which tags were ignored and why, for the debug log.
	Notes []string
}

var (
	// ErrNotDMARC: the TXT string does not begin with "v=DMARC1", so it is not
	// a DMARC record at all and is discarded (RFC 7489 §6.6.3 step 2).
	ErrNotDMARC = errors.New("not a DMARC record")
	// ErrNoPolicy: a DMARC record without a usable p (or with a bad sp) and
	// no valid rua; DMARC is not applied (RFC 7489 §6.6.3 step 6.2).
	ErrNoPolicy = errors.New("DMARC record has no valid policy")
)

// IsDMARC reports whether a TXT string starts with the DMARC version tag,
// which is what counts for "several records = none" (RFC 7489 §6.6.3 steps 2
// and 5): a broken record that begins with v=DMARC1 still counts.
func IsDMARC(txt string) bool {
	_, ok := versionEnd(txt)
	return ok
}

// versionEnd matches dmarc-version = "v" *WSP "=" *WSP "DMARC1" at the very
// start (no leading space: the record must *start* with it) and returns the
// offset just after it. "DMARC1" is case-sensitive: the ABNF spells it with
// %x codes (RFC 7489 §6.4). The tag name "v" is a quoted literal and so
// case-insensitive. The version must end the first tag.
func versionEnd(s string) (int, bool) {
	if s == "" || (s[0] != 'v' && s[0] != 'V') {
		return 0, false
	}
	i := skipWSP(s, 1)
	if i >= len(s) || s[i] != '=' {
		return 0, false
	}
	i = skipWSP(s, i+1)
	if !strings.HasPrefix(s[i:], "DMARC1") {
		return 0, false
	}
	i += len("DMARC1")
	j := skipWSP(s, i)
	if j < len(s) && s[j] != ';' {
		return 0, false
	}
	return j, true
}

func skipWSP(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func trimWSP(s string) string { return strings.Trim(s, " \t") }

// Parse reads one DMARC TXT record under the rules of mode.
//
// It is tolerant as RFC 7489 §6.3 asks: unknown tags are ignored, and an
// optional tag with a bad value is ignored and takes its default (each such
// case is listed in Record.Notes). A tag given twice is a syntax error for
// that tag (the ABNF allows it once) and is treated as if its value were bad.
// Only the p/sp rules of §6.6.3 step 6 can reject a DMARC record: then the
// error is ErrNoPolicy and the partly parsed record is still returned for the
// log. A string that does not start with v=DMARC1 gives ErrNotDMARC.
func Parse(txt string, mode Mode) (*Record, error) {
	end, ok := versionEnd(txt)
	if !ok {
		return nil, ErrNotDMARC
	}
	r := &Record{Pct: 100, FO: "0", RF: "afrf", RI: 86400}
	tags := map[string]string{}
	dup := map[string]bool{}
	var order []string
	for _, part := range strings.Split(txt[end:], ";") {
		part = trimWSP(part)
		if part == "" {
			continue // empty part: a trailing or doubled separator
		}
		name, value, found := strings.Cut(part, "=")
		name = strings.ToLower(trimWSP(name))
		if !found || !validTagName(name) {
			r.note("malformed tag %q ignored", part)
			continue
		}
		if name == "v" {
			r.note("v given again: ignored")
			continue
		}
		if _, seen := tags[name]; seen {
			dup[name] = true
			continue
		}
		tags[name] = trimWSP(value)
		order = append(order, name)
	}

	var pValid, spBad bool
	for _, name := range order {
		v := tags[name]
		if dup[name] {
			r.note("tag %s given more than once: ignored", name)
			continue
		}
		switch name {
		case "p":
			if p, ok := parsePolicy(v); ok {
				r.P, pValid = p, true
			} else {
				r.note("p=%s is not a policy", v)
			}
		case "sp":
			if p, ok := parsePolicy(v); ok {
				r.SP = p
			} else {
				spBad = true
				r.note("sp=%s is not a policy", v)
			}
		case "adkim", "aspf":
			a, ok := parseAlignment(v)
			if !ok {
				r.note("%s=%s is not r or s: relaxed", name, v)
			}
			if name == "adkim" {
				r.ADKIM = a
			} else {
				r.ASPF = a
			}
		case "fo":
			if fo, ok := parseFO(v); ok {
				r.FO = fo
			} else {
				r.note("fo=%s is not a colon list of 0, 1, d, s: fo=0", v)
			}
		case "rua", "ruf":
			uris, bad := parseURIs(v)
			for _, b := range bad {
				r.note("%s URI %q ignored", name, b)
			}
			if mode == DMARCbis {
				// RFC 9989 made the "!size" suffix obsolete: reporters
				// ignore it.
				for i := range uris {
					if uris[i].MaxSize != 0 {
						r.note("%s size limit on %s ignored", name, uris[i].URI)
						uris[i].MaxSize = 0
					}
				}
			}
			if name == "rua" {
				r.RUA = uris
			} else {
				r.RUF = uris
			}
		case "pct", "rf", "ri":
			if mode == DMARCbis {
				// RFC 9989 removed these; unknown tags are ignored.
				r.note("%s is not a DMARCbis tag: ignored", name)
				continue
			}
			r.parse7489Only(name, v)
		case "np", "psd", "t":
			if mode != DMARCbis {
				// RFC 7489 §6.3: only registered tags are processed.
				r.note("%s is not an RFC 7489 tag: ignored", name)
				continue
			}
			r.parseBisOnly(name, v)
		default:
			r.note("unknown tag %s ignored", name)
		}
	}
	if dup["sp"] {
		spBad = true
	}

	if mode == DMARCbis {
		// RFC 9989 drops the rua condition of RFC 7489 §6.6.3 step 6: a
		// record without a valid p is read as p=none, and a bad sp or np
		// is simply ignored like any other bad optional tag (checkdmarc, which
		// tracks RFC 9989, reads it the same way).
		if !pValid {
			r.P, r.PFallback = PolicyNone, true
		}
		return r, nil
	}
	if !pValid || spBad {
		// RFC 7489 §6.6.3 step 6: with at least one valid rua URI, act as if
		// the record were "v=DMARC1; p=none"; otherwise no DMARC at all.
		if len(r.RUA) == 0 {
			return r, ErrNoPolicy
		}
		r.P, r.SP, r.PFallback = PolicyNone, PolicyUnset, true
	}
	return r, nil
}

func (r *Record) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Record) parse7489Only(name, v string) {
	switch name {
	case "pct":
		// dmarc-percent = 1*3DIGIT, 0..100 by §6.3.
		n, err := strconv.Atoi(v)
		if err != nil || !allDigits(v) || len(v) > 3 || n > 100 {
			r.note("pct=%s is not 0-100: pct=100", v)
			return
		}
		r.Pct = n
	case "rf":
		// Only afrf is registered (§6.3); Keyword list separated by ':'.
		for _, k := range strings.Split(v, ":") {
			if !strings.EqualFold(trimWSP(k), "afrf") {
				r.note("rf=%s is not afrf: rf=afrf", v)
				return
			}
		}
		r.RF = "afrf"
	case "ri":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || !allDigits(v) {
			r.note("ri=%s is not a 32-bit count of seconds: ri=86400", v)
			return
		}
		r.RI = uint32(n)
	}
}

func (r *Record) parseBisOnly(name, v string) {
	switch name {
	case "np":
		if p, ok := parsePolicy(v); ok {
			r.NP = p
		} else {
			r.note("np=%s is not a policy: ignored", v)
		}
	case "psd":
		switch strings.ToLower(v) {
		case "y":
			r.PSD = PSDYes
		case "n":
			r.PSD = PSDNo
		case "u":
			r.PSD = PSDUnknown
		default:
			r.note("psd=%s is not y, n or u: psd=u", v)
		}
	case "t":
		switch strings.ToLower(v) {
		case "y":
			r.Testing = true
		case "n":
			r.Testing = false
		default:
			r.note("t=%s is not y or n: t=n", v)
		}
	}
}

// validTagName: tag-name = ALPHA *ALNUMPUNC (RFC 6376 §3.2, which RFC 7489
// §6.3 borrows).
func validTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseAlignment(v string) (Alignment, bool) {
	switch strings.ToLower(v) {
	case "r":
		return Relaxed, true
	case "s":
		return Strict, true
	}
	return Relaxed, false
}

// parseFO checks dmarc-fo: a colon list of 0, 1, d, s with optional WSP.
func parseFO(v string) (string, bool) {
	var out []string
	for _, o := range strings.Split(v, ":") {
		o = strings.ToLower(trimWSP(o))
		switch o {
		case "0", "1", "d", "s":
			out = append(out, o)
		default:
			return "", false
		}
	}
	return strings.Join(out, ":"), true
}

// parseURIs splits a dmarc-uri list (RFC 7489 §6.2, §6.4). Commas and '!'
// inside a URI must be percent-encoded, so splitting on them is exact. A URI
// must have a scheme; the size suffix is 1*DIGIT with an optional k/m/g/t
// (powers of two) and must fit 64 bits. Bad entries are returned separately
// so the rest of the list still counts.
func parseURIs(v string) (uris []ReportURI, bad []string) {
	for _, item := range strings.Split(v, ",") {
		item = trimWSP(item)
		if item == "" {
			continue
		}
		u, size, hasSize := strings.Cut(item, "!")
		var max uint64
		if hasSize {
			n, ok := parseSize(size)
			if !ok {
				bad = append(bad, item)
				continue
			}
			max = n
		}
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "" || strings.ContainsAny(u, " \t") {
			bad = append(bad, item)
			continue
		}
		uris = append(uris, ReportURI{URI: u, MaxSize: max})
	}
	return uris, bad
}

func parseSize(s string) (uint64, bool) {
	shift := 0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		}
		if shift != 0 {
			s = s[:len(s)-1]
		}
	}
	if !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > (^uint64(0))>>shift {
		return 0, false
	}
	return n << shift, true
}
