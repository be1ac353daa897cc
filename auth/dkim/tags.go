package dkim

import (
	"errors"
	"fmt"
	"strings"
)

// tag is one tag=value pair of a tag-list (RFC 6376 §3.2).
type tag struct {
	name, value string
}

// tagList is a parsed tag-list; order is kept because the signature's own
// tags are reproduced in order when the b= value is blanked.
type tagList []tag

func (l tagList) get(name string) (string, bool) {
	for _, t := range l {
		if t.name == name {
			return t.value, true
		}
	}
	return "", false
}

// isFWS reports the bytes that RFC 6376 §3.2 allows as folding white space
// around tags and inside values (WSP and the CRLF of a folded line).
func isFWS(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func trimFWS(s string) string {
	i, j := 0, len(s)
	for i < j && isFWS(s[i]) {
		i++
	}
	for j > i && isFWS(s[j-1]) {
		j--
	}
	return s[i:j]
}

var errEmptyTagList = errors.New("empty tag list")

// parseTagList parses a tag-list as defined in RFC 6376 §3.2:
//
//	tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//	tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//	tag-name  =  ALPHA *ALNUMPUNC
//	tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]     ; tval = 1*VALCHAR
//
// Duplicate tag names are an error ("Tags with duplicate names MUST NOT
// occur within a single tag-list; if a tag name does occur more than once,
// the entire tag-list is invalid"). Values are returned with the
// surrounding FWS removed and inner FWS kept; callers that need base64 strip
// it themselves.
func parseTagList(s string) (tagList, error) {
	return parseTagListInto(make(tagList, 0, 16), s)
}

// parseTagListInto is parseTagList appending to l, so a caller with room
// for the tags allocates nothing.
func parseTagListInto(l tagList, s string) (tagList, error) {
	for i := 0; i <= len(s); {
		j := strings.IndexByte(s[i:], ';')
		last := j < 0
		if last {
			j = len(s)
		} else {
			j += i
		}
		p := s[i:j]
		i = j + 1
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			// A spec without "=" is either empty, which only the
			// optional trailing ";" may leave, or a tag without value.
			if trimFWS(p) == "" {
				if last && len(l) > 0 {
					break
				}
				return nil, fmt.Errorf("empty tag in tag list")
			}
			return nil, fmt.Errorf("tag %q has no value", trimFWS(p))
		}
		name := trimFWS(p[:eq])
		if !validTagName(name) {
			return nil, fmt.Errorf("invalid tag name %q", name)
		}
		value := trimFWS(p[eq+1:])
		if err := checkTagValue(value); err != nil {
			return nil, fmt.Errorf("tag %s: %v", name, err)
		}
		if _, dup := l.get(name); dup {
			return nil, fmt.Errorf("duplicate tag %s", name)
		}
		l = append(l, tag{name, value})
		if last {
			break
		}
	}
	if len(l) == 0 {
		return nil, errEmptyTagList
	}
	return l, nil
}

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

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// checkTagValue enforces VALCHAR (%x21-3A / %x3C-7E) separated by FWS; a
// bare CR or LF that is not part of a fold is refused.
func checkTagValue(v string) error {
	for i := 0; i < len(v); i++ {
		// Eight VALCHARs at a time: long values (b=, p=, h=) are nearly
		// all VALCHAR between folds, and this check is on the path of
		// every signature and key record verified.
		for i+8 <= len(v) && allVALCHAR(leUint64(v[i:])) {
			i += 8
		}
		if i >= len(v) {
			break
		}
		c := v[i]
		if c > ' ' && c < 0x7f {
			continue // VALCHAR (";" cannot occur: it ends the spec)
		}
		switch {
		case c == ' ' || c == '\t':
		case c == '\r':
			if i+2 >= len(v) || v[i+1] != '\n' || (v[i+2] != ' ' && v[i+2] != '\t') {
				return errors.New("bare CR in value")
			}
		case c == '\n':
			if i == 0 || v[i-1] != '\r' {
				return errors.New("bare LF in value")
			}
		case c >= 0x21 && c <= 0x7e && c != ';':
		default:
			return fmt.Errorf("invalid character %q in value", c)
		}
	}
	return nil
}

// allVALCHAR reports whether all eight bytes of w lie in %x21-7E. With no
// high bit set (x < 0x80) neither addition carries into the next byte, so
// x+0x5F has its high bit set exactly when x >= 0x21 and x+0x01 exactly
// when x >= 0x7F.
func allVALCHAR(w uint64) bool {
	const ones = 0x0101010101010101
	const high = 0x8080808080808080
	return (^(w+0x5f*ones)|(w+ones)|w)&high == 0
}

// leUint64 loads eight bytes of s (little-endian, as the SWAR checks
// expect; the order does not matter to an all-bytes test).
func leUint64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// noneAtOrBelowSP reports whether none of the eight bytes of w is at or
// below SP (white space, CR, LF and the other controls); bytes of 0x80 and
// above count as visible. The borrow of (x - 0x21) can only flag a byte
// above one that is itself flagged, so the any-byte answer is exact.
func noneAtOrBelowSP(w uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	return (w-0x21*ones)&^w&high == 0
}

// visibleRunString returns the index of the first byte at or after i in s
// that is at or below SP, or len(s): the end of a run that base64 decoding
// copies as it is. Eight bytes are tested at a time.
func visibleRunString(s string, i int) int {
	for i+8 <= len(s) && noneAtOrBelowSP(leUint64(s[i:])) {
		i += 8
	}
	for i < len(s) && s[i] > ' ' {
		i++
	}
	return i
}

// stripFWS removes all folding white space, as needed for base64 values
// (b=, bh=, p=) and colon-separated lists (RFC 6376 §3.5: "Whitespace is
// ignored in this value").
func stripFWS(s string) string {
	// A byte loop rather than strings.ContainsAny, which builds its
	// character set on every call; most values have no FWS at all.
	i := 0
	for i < len(s) && !isFWS(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && !isFWS(s[j]) {
			j++
		}
		b = append(b, s[i:j]...)
		for j < len(s) && isFWS(s[j]) {
			j++
		}
		i = j
	}
	return string(b)
}

// splitColon splits a colon-separated list (h=, s=, t=, k= lists) and
// trims FWS around each element.
func splitColon(s string) []string {
	parts := strings.Split(s, ":")
	for i := range parts {
		parts[i] = trimFWS(parts[i])
	}
	return parts
}

// decodeQP decodes dkim-quoted-printable (RFC 6376 §2.11): "=XX" hex pairs,
// FWS ignored.
func decodeQP(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isFWS(c):
		case c == '=':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", errors.New("bad quoted-printable escape")
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// encodeQP encodes dkim-quoted-printable for z= (RFC 6376 §3.5): besides
// the characters qp-section forbids, "|" separates the copied fields and
// ";" ends the tag, so both are escaped, as is every space.
func encodeQP(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && c != ';' && c != '=' && c != '|' && c != ':' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}
