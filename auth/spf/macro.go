package spf

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// macroItem is a literal run or one %{...} macro-expand (RFC 7208 §7.1).
type macroItem struct {
	lit    string // literal text, including the expansions of %%, %_ and %-
	letter byte   // lower-case macro letter; 0 for a literal
	upper  bool   // upper-case letter: URL-escape the result (§7.3)
	digits int    // rightmost parts to keep; 0 = all
	rev    bool   // "r" transformer
	delims string // split characters; "" = "."
}

type macroString struct {
	items []macroItem
}

var errMacro = errors.New("malformed macro")

// parseMacroString parses a macro-string (RFC 7208 §7.1). explain allows
// the explanation-only letters c, r and t and spaces (explain-string).
func parseMacroString(s string, explain bool) (*macroString, error) {
	ms := &macroString{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ms.items = append(ms.items, macroItem{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			// macro-literal = %x21-24 / %x26-7E; explain-string adds SP.
			if c < 0x21 || c > 0x7e {
				if !(explain && c == ' ') {
					return nil, errMacro
				}
			}
			lit.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, errMacro
		}
		switch s[i] {
		case '%':
			lit.WriteByte('%')
		case '_':
			lit.WriteByte(' ')
		case '-':
			lit.WriteString("%20")
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, errMacro
			}
			it, err := parseMacroExpand(s[i+1:i+end], explain)
			if err != nil {
				return nil, err
			}
			flush()
			ms.items = append(ms.items, it)
			i += end
		default:
			// RFC 7208 §7.1: a "%" not followed by "{", "%", "-" or "_"
			// is a syntax error.
			return nil, errMacro
		}
	}
	flush()
	return ms, nil
}

func parseMacroExpand(body string, explain bool) (macroItem, error) {
	var it macroItem
	if body == "" {
		return it, errMacro
	}
	l := body[0]
	lower := l | 0x20
	switch lower {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		// RFC 7208 §7.1: c, r and t are only allowed in exp= text.
		if !explain {
			return it, errMacro
		}
	default:
		return it, errMacro
	}
	it.letter = lower
	it.upper = l >= 'A' && l <= 'Z'
	rest := body[1:]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		d, err := strconv.Atoi(rest[:min(n, 4)])
		// RFC 7208 §7.1: the number of parts kept must be nonzero. A count
		// beyond any name's label count keeps every part.
		if err != nil || strings.Trim(rest[:n], "0") == "" {
			return it, errMacro
		}
		it.digits = d
		rest = rest[n:]
	}
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		it.rev = true
		rest = rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[i])) {
			return it, errMacro
		}
	}
	it.delims = rest
	return it, nil
}

// parseDomainSpec parses a domain-spec: a macro-string ending in a
// macro-expand or in "." toplabel ["."] (RFC 7208 §7.1, §4.6.1).
func parseDomainSpec(s string, explain bool) (*macroString, error) {
	if s == "" {
		return nil, errors.New("empty domain-spec")
	}
	ms, err := parseMacroString(s, explain)
	if err != nil {
		return nil, err
	}
	last := ms.items[len(ms.items)-1]
	if last.letter != 0 {
		return ms, nil
	}
	lit := strings.TrimSuffix(last.lit, ".")
	dot := strings.LastIndexByte(lit, '.')
	if dot < 0 {
		// The literal run holds no dot: it must follow a macro-expand to
		// complete a label, but then the domain-end is not ".toplabel".
		return nil, errors.New("domain-spec does not end in a top-level label")
	}
	if !validTopLabel(lit[dot+1:]) {
		return nil, errors.New("invalid top-level label")
	}
	return ms, nil
}

// validTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) (RFC 7208 §7.1).
func validTopLabel(t string) bool {
	if t == "" || t[0] == '-' || t[len(t)-1] == '-' {
		return false
	}
	alpha, dash := false, false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isAlpha(c):
			alpha = true
		case c >= '0' && c <= '9':
		case c == '-':
			dash = true
		default:
			return false
		}
	}
	return alpha || dash
}

// macroEnv holds what the letters of RFC 7208 §7.3 expand to.
type macroEnv struct {
	sender, local, senderDomain string // s, l, o
	domain                      string // d
	ip                          netip.Addr
	helo                        string   // h
	receiver                    string   // r
	now                         int64    // t, when clock is nil
	clock                       *Checker // t, read only when used
	chk                         *check   // for %{p}; nil expands it to "unknown"
}

// expand renders ms in env (RFC 7208 §7.3).
func (ms *macroString) expand(env *macroEnv) string {
	if len(ms.items) == 1 && ms.items[0].letter == 0 {
		return ms.items[0].lit
	}
	var b strings.Builder
	for _, it := range ms.items {
		if it.letter == 0 {
			b.WriteString(it.lit)
			continue
		}
		v := env.value(it.letter)
		v = transform(v, it)
		if it.upper {
			v = urlEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

func (e *macroEnv) value(l byte) string {
	switch l {
	case 's':
		return e.sender
	case 'l':
		return e.local
	case 'o':
		return e.senderDomain
	case 'd':
		return e.domain
	case 'i':
		return dottedIP(e.ip)
	case 'p':
		if e.chk == nil {
			return "unknown"
		}
		return e.chk.validatedName(e.domain)
	case 'v':
		if e.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return e.helo
	case 'c':
		return e.ip.String()
	case 'r':
		if e.receiver == "" {
			return "unknown"
		}
		return e.receiver
	case 't':
		if e.clock != nil {
			return strconv.FormatInt(e.clock.now(), 10)
		}
		return strconv.FormatInt(e.now, 10)
	}
	return ""
}

// dottedIP is the %{i} form: dotted quad for IPv4, dot-separated nibbles
// for IPv6 (RFC 7208 §7.3).
func dottedIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	// Upper-case nibbles, as in the RFC 7208 §7.4 examples (and pyspf);
	// DNS does not care, an explanation shows it.
	const hex = "0123456789ABCDEF"
	a := ip.As16()
	b := make([]byte, 0, 63)
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, hex[x>>4], '.', hex[x&15])
	}
	return string(b)
}

// transform applies delimiters, reversal and the digit count (§7.3).
func transform(v string, it macroItem) string {
	if it.digits == 0 && !it.rev && (it.delims == "" || it.delims == ".") {
		return v
	}
	delims := it.delims
	if delims == "" {
		delims = "."
	}
	// Empty parts are kept ("a..b" has an empty middle part).
	parts := splitAny(v, delims)
	if it.rev {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if it.digits > 0 && it.digits < len(parts) {
		parts = parts[len(parts)-it.digits:]
	}
	return strings.Join(parts, ".")
}

func splitAny(s, delims string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// urlEscape escapes everything outside RFC 3986 "unreserved" (§7.3).
func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ExpandMacro expands a macro-string the way check_host() does, for tools
// that show what a record would query. explain selects the exp= text rules.
// The %{p} letter expands to "unknown" here: it needs DNS.
func ExpandMacro(s string, explain bool, ip netip.Addr, sender, domain, helo, receiver string, now int64) (string, error) {
	ms, err := parseMacroString(s, explain)
	if err != nil {
		return "", err
	}
	local, sdom := splitSender(sender)
	env := &macroEnv{sender: sender, local: local, senderDomain: sdom, domain: domain, ip: ip, helo: helo, receiver: receiver,
		now: now}
	return ms.expand(env), nil
}

// splitSender splits a mailbox into local part and domain; an empty local
// part becomes "postmaster" (RFC 7208 §4.3).
func splitSender(s string) (local, domain string) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return "postmaster", s
	}
	local, domain = s[:i], s[i+1:]
	if local == "" {
		local = "postmaster"
	}
	return local, domain
}
