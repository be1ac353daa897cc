package smtpd

import (
	"bytes"
	"net/mail"
	"strconv"
	"strings"

	"esa/auth/dkim"
	"esa/auth/spf"
)

// The Authentication-Results: field the listeners stamp for DKIM and
// DomainKeys (RFC 8601). Wording, decided for issue 16:
//
//   - On the wire the result values are RFC 8601 §2.7.1's: pass, fail,
//     neutral, temperror, permerror, none. The appliance's older
//     "dkim=permfail (body hash did not verify)" (seed 004) predates
//     RFC 5451 and no current parser knows "permfail"; a hardfail is
//     written "fail", with the appliance's reason kept.
//   - The reason is an RFC 5322 comment, as the appliance writes it
//     ("dkim=pass (signature verified)", "dkim=pass (partially verified
//     [1000 bytes])"); RFC 8601 §2.2 allows CFWS there.
//   - Properties per the IANA registry: dkim gets header.d, header.i,
//     header.s and header.a (RFC 8601 §6.7) and RFC 6008's header.b (the
//     start of the signature, so several signatures of one domain stay
//     apart);
//     domainkeys gets header.d and header.from or header.sender (RFC 4870
//     §3.5's sending address). header.b is not registered for domainkeys,
//     so it is not written there.
//   - The seed's "example1.com header.from=From:user@..." prefix is the
//     pre-RFC draft's syntax and is not reproduced.
//   - A message without any DomainKey-Signature gets no domainkeys entry
//     (the verdict "none" is still stored and logged): almost no mail
//     carries one, and "dkim=none" already says the message is unsigned.

// maxComment bounds a reason comment: reasons may quote a signature's tag
// values, which the sender chooses, and the field must stay under RFC 5322
// §2.1.1's 998 characters a line.
const maxComment = 120

// maxPValue bounds a property value; a longer d= or i= is not a domain
// name (RFC 1035 §2.3.4: 255) and is left out.
const maxPValue = 255

// authResults renders the field's value: the authserv-id, then one entry
// per DKIM result and per DomainKeys result that found a signature, each
// after the first on its own folded line. header is the message's header
// section; results are matched to its DKIM-Signature and
// DomainKey-Signature fields by position, the verifiers' order (top to
// bottom, one result each).
func authResults(authservID string, dkimRes, dkRes []dkim.Result, header []byte) string {
	f := sigFields(headerFields(header))
	var entries []string
	dkimB := f.tagValues("dkim-signature", "b")
	for i, r := range dkimRes {
		e := "dkim=" + arValue(r)
		if r.Status != dkim.None {
			e += arProps("header.d", r.Domain, "header.i", r.Identity, "header.s", r.Selector, "header.a", r.Algorithm, "header.b", shortB(dkimB, i))
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		entries = append(entries, "dkim=none")
	}
	for _, r := range dkRes {
		if r.Status == dkim.None {
			continue
		}
		who := "header.from"
		if f.has("sender", r.Identity) {
			who = "header.sender"
		}
		entries = append(entries, "domainkeys="+arValue(r)+arProps("header.d", r.Domain, who, r.Identity))
	}
	return pvalue(authservID) + "; " + strings.Join(entries, ";\r\n\t")
}

// arValue is the result value and its reason comment.
func arValue(r dkim.Result) string {
	var v string
	switch r.Status {
	case dkim.Pass:
		v = "pass"
	case dkim.Neutral:
		v = "neutral"
	case dkim.TempError:
		v = "temperror"
	case dkim.PermError:
		v = "permerror"
	case dkim.HardFail:
		v = "fail"
	default:
		return "none"
	}
	reason := r.Reason
	if r.Status == dkim.Pass {
		reason = "signature verified"
		if r.Partial {
			reason = "partially verified [" + strconv.FormatInt(r.BodyLength, 10) + " bytes]"
		}
	}
	if reason == "" {
		return v
	}
	return v + " " + comment(reason)
}

// arProps writes the name=value pairs whose value is usable.
func arProps(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" || len(kv[i+1]) > maxPValue {
			continue
		}
		b.WriteString(" " + kv[i] + "=" + pvalue(kv[i+1]))
	}
	return b.String()
}

// shortB is RFC 6008 §4's header.b for the i-th signature: the first 8
// characters of its b= value, more when another signature of the message
// starts the same way; "" when the header did not show the signature.
func shortB(all []string, i int) string {
	if i >= len(all) || all[i] == "" {
		return ""
	}
	b := all[i]
	for n := 8; n < len(b); n++ {
		unique := true
		for j, o := range all {
			if j != i && strings.HasPrefix(o, b[:n]) {
				unique = false
				break
			}
		}
		if unique {
			return b[:n]
		}
	}
	return b
}

// comment renders s as an RFC 5322 §3.2.2 comment: parentheses and
// backslashes quoted, control and non-ASCII characters replaced, bounded.
func comment(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	n := 0
	for i := 0; i < len(s) && n < maxComment; i++ {
		c := s[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
		n++
	}
	b.WriteByte(')')
	return b.String()
}

// pvalue renders a property value (RFC 8601 §2.2): as is when it is a
// MIME token (RFC 2045 §5.1) or an address ([local-part] "@" domain-name
// of atext), else as a quoted-string with control and non-ASCII
// characters replaced.
func pvalue(s string) string {
	if isToken(s) {
		return s
	}
	if local, dom, ok := strings.Cut(s, "@"); ok && isDotAtom(dom) && (local == "" || isDotAtom(local)) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// isDotAtom reports an RFC 5322 §3.2.3 dot-atom.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) < 0 {
			return false
		}
	}
	return true
}

// sigFields are the captured header's fields (spf.go's headerFields,
// the same unfolding the PRA uses).
type sigFields []spf.HeaderField

// tagValues returns, for each field named name, the value of its tag
// (RFC 6376 §3.2 tag-list) with whitespace removed ("" when absent).
func (f sigFields) tagValues(name, tag string) []string {
	var out []string
	for _, fl := range f {
		if !strings.EqualFold(fl.Name, name) {
			continue
		}
		v := ""
		for _, spec := range strings.Split(fl.Value, ";") {
			k, val, ok := strings.Cut(spec, "=")
			if ok && strings.TrimSpace(k) == tag {
				v = strings.Map(func(r rune) rune {
					if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
						return -1
					}
					return r
				}, val)
				break
			}
		}
		out = append(out, v)
	}
	return out
}

// has reports whether a field named name holds the address addr.
func (f sigFields) has(name, addr string) bool {
	if addr == "" {
		return false
	}
	for _, fl := range f {
		if !strings.EqualFold(fl.Name, name) {
			continue
		}
		if a, err := mail.ParseAddress(strings.TrimSpace(fl.Value)); err == nil && strings.EqualFold(a.Address, addr) {
			return true
		}
		if strings.Contains(strings.ToLower(fl.Value), strings.ToLower(addr)) {
			return true
		}
	}
	return false
}

// headerCapture keeps the header section of a message as it streams past,
// up to maxHeaderCapture bytes.
type headerCapture struct {
	buf  []byte
	done bool
	// complete: the capture ends where the header does (the empty line
	// was seen), rather than at the size bound.
	complete bool
}

func (c *headerCapture) write(p []byte) {
	if c.done {
		return
	}
	// The header ends at the first CRLF CRLF (RFC 5322 §2.1), which may
	// span this write and the last bytes captured; only the header is
	// copied, never the body.
	k := min(3, len(c.buf))
	var edge [6]byte
	n := copy(edge[:], c.buf[len(c.buf)-k:])
	n += copy(edge[n:], p[:min(3, len(p))])
	found, end := false, 0 // end: where the header ends, counted from the start of p
	if i := bytes.Index(edge[:n], crlfcrlf); i >= 0 {
		found, end = true, i+2-k
	} else if i := bytes.Index(p, crlfcrlf); i >= 0 {
		found, end = true, i+2
	}
	room := maxHeaderCapture - len(c.buf)
	switch {
	case !found:
		c.buf = append(c.buf, p[:min(len(p), room)]...)
		c.done = len(c.buf) >= maxHeaderCapture
	case end <= 0:
		// The end was in the bytes already captured: cut back to it.
		c.buf = c.buf[:len(c.buf)+end]
		c.done, c.complete = true, true
	case end > room:
		c.buf = append(c.buf, p[:room]...)
		c.done = true
	default:
		c.buf = append(c.buf, p[:end]...)
		c.done, c.complete = true, true
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// after returns the stream that followed the header, for a write p that
// completed the capture, before being the capture's length before p: a
// few bytes of an earlier write when the header's end spanned two writes
// (the capture was cut back to it), then the rest of p.
func (c *headerCapture) after(before int, p []byte) [][]byte {
	n := len(c.buf)
	if n < before {
		return [][]byte{c.buf[n:before:before], p}
	}
	return [][]byte{p[n-before:]}
}

// Bytes is the captured header (its fields, each with its CRLF).
func (c *headerCapture) Bytes() []byte { return c.buf }
