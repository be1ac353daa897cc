package smtpclient

import "strings"

// Extensions are the service extensions of an EHLO reply (RFC 5321
// §4.1.1.1): keyword, upper case, to its parameters (space-separated, as
// sent).
type Extensions map[string]string

// Has reports whether the server offered keyword (case-insensitive).
func (e Extensions) Has(keyword string) bool {
	_, ok := e[strings.ToUpper(keyword)]
	return ok
}

// ParseEHLO reads the extension lines of a 250 reply to EHLO. The first line
// is the server's name and greeting; each later line is an ehlo-keyword
// (a letter or digit, then letters, digits and dashes) and its parameters.
// Lines that do not start with a valid keyword (an empty "250-" line, junk)
// are ignored: they offer nothing.
func ParseEHLO(r Reply) Extensions {
	ext := Extensions{}
	if len(r.Lines) < 2 {
		return ext
	}
	for _, l := range r.Lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		if !isKeyword(kw) {
			continue
		}
		ext[strings.ToUpper(kw)] = strings.TrimSpace(params)
	}
	return ext
}

// isKeyword: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
// (RFC 5321 §4.1.1.1).
func isKeyword(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
