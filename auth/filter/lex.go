package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on what Parse accepts (see the package comment).
const (
	MaxScriptBytes = 256 << 10
	MaxDepth       = 32
	MaxStringBytes = 4096
	MaxRegexCost   = 20000
	MaxNameBytes   = 128
)

// Error is a parse error at a line and column (both from 1; columns count
// characters, not bytes).
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tComment
	tPunct
)

// token is one lexical unit. For tString, text is the value with escapes
// resolved; for tComment, the text after '#'; for tWord and tPunct, the
// characters themselves.
type token struct {
	kind      tokKind
	text      string
	line, col int
	ownLine   bool // a comment with nothing before it on its line
}

// describe names a token in an error message: "'{'", `"Pass"`, "end of
// script". Control characters cannot occur (lex refuses them) and %q
// escapes anything else unprintable.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of script"
	case tString:
		return fmt.Sprintf("string %q", clip(t.text))
	case tWord:
		return fmt.Sprintf("%q", clip(t.text))
	default:
		return "'" + t.text + "'"
	}
}

func clip(s string) string {
	if len(s) > 40 {
		i := 40
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
	}
	return s
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// lex splits src into tokens. It refuses what the stored configuration
// could not carry (invalid UTF-8, control characters other than tab, CR and
// LF) so every script that parses can be stored and shown.
func lex(src string) ([]token, error) {
	if len(src) > MaxScriptBytes {
		return nil, &Error{1, 1, fmt.Sprintf("the script is larger than %d KiB", MaxScriptBytes>>10)}
	}
	var toks []token
	line, col := 1, 1
	lineStart := true // only blanks so far on this line
	i := 0
	bad := func(msg string, a ...any) error { return &Error{line, col, fmt.Sprintf(msg, a...)} }
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			i++
			line, col, lineStart = line+1, 1, true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			i++
			col++
			continue
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			text := src[i+1 : i+j]
			if err := checkText(text, line, col+1, true); err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tComment, text: strings.TrimRight(text, " \t\r"), line: line, col: col, ownLine: lineStart})
			col += utf8.RuneCountInString(src[i : i+j])
			i += j
			continue
		}
		lineStart = false
		start := col
		switch {
		case isWordByte(c):
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, text: src[i:j], line: line, col: start})
			col += j - i
			i = j
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) || src[j] == '\n' {
					return nil, &Error{line, start, "unterminated string"}
				}
				d := src[j]
				if d == c {
					j++
					break
				}
				if d == '\\' && j+1 < len(src) && (src[j+1] == '\\' || src[j+1] == '"' || src[j+1] == '\'') {
					b.WriteByte(src[j+1])
					j += 2
					continue
				}
				b.WriteByte(d)
				j++
			}
			raw := src[i:j]
			if err := checkText(raw, line, start, false); err != nil {
				return nil, err
			}
			if b.Len() > MaxStringBytes {
				return nil, &Error{line, start, fmt.Sprintf("string longer than %d bytes", MaxStringBytes)}
			}
			toks = append(toks, token{kind: tString, text: b.String(), line: line, col: start})
			col += utf8.RuneCountInString(raw)
			i = j
		default:
			p := string(c)
			if i+1 < len(src) && src[i+1] == '=' && strings.IndexByte("=!<>", c) >= 0 {
				p = src[i : i+2]
			} else if strings.IndexByte("(){},;:.<>!", c) < 0 {
				r, _ := utf8.DecodeRuneInString(src[i:])
				if c == '=' {
					return nil, bad("unexpected %q: the comparisons are == and !=", string(r))
				}
				if r == utf8.RuneError && !strings.HasPrefix(src[i:], "\uFFFD") {
					return nil, bad("invalid UTF-8")
				}
				return nil, bad("unexpected character %q", string(r))
			}
			toks = append(toks, token{kind: tPunct, text: p, line: line, col: start})
			col += len(p)
			i += len(p)
		}
	}
	toks = append(toks, token{kind: tEOF, line: line, col: col})
	return toks, nil
}

// checkText refuses invalid UTF-8 and control characters (tab is allowed;
// a comment may also end in CR, as lines of a file written on Windows do).
func checkText(s string, line, col int, comment bool) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return &Error{line, col, "invalid UTF-8"}
		case r == '\t', comment && r == '\r':
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfffe || r == 0xffff:
			return &Error{line, col, fmt.Sprintf("control character %U", r)}
		}
		col++
	}
	return nil
}
