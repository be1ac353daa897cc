package shell

import (
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// The screen must never receive a control character that came from stored
// data: a commit comment, a log name or a replayed log line holding ESC
// could otherwise move the cursor, rewrite what the administrator sees,
// set the window title or (with some terminals) answer back into their
// input. The escaping layer below sits between every command and the
// session's output, so no command can forget it.
//
// One style is used everywhere: each byte that could drive a terminal is
// shown as \xHH (ESC is \x1b, BEL \x07, a lone CR \x0d). That covers the C0
// controls except TAB and LF, DEL, the C1 controls (U+0080–U+009F, which
// UTF-8 terminals take as CSI, OSC and the like; shown by the bytes of
// their UTF-8 form, \xc2\x9b) and every byte that is not part of valid
// UTF-8 (a lone 0x9b is CSI for 8-bit terminals). CR is kept when LF
// follows it, so CRLF text prints as it always did. Backslashes are not
// doubled: this is for reading, not a reversible encoding.

const hexDigits = "0123456789abcdef"

// appendEscaped appends the \xHH form of b.
func appendEscaped(dst []byte, b byte) []byte {
	return append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&15])
}

// needsEscape reports whether rune r (size bytes of valid UTF-8, or
// utf8.RuneError of size 1 for an invalid byte) must be escaped.
func needsEscape(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// Escape returns s as it is shown on the screen: control characters and
// invalid UTF-8 in the \xHH form, a CR kept only before LF. Commands need
// not call it for what they print through IO.Out, which escapes already;
// it is for text that goes elsewhere, such as a log line.
func Escape(s string) string {
	if !needsEscaping(s) {
		return s
	}
	return string(escapeBytes(nil, []byte(s), true))
}

func needsEscaping(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, size) {
			return true
		}
		i += size
	}
	return false
}

// escapeBytes appends p escaped to dst. final says that nothing follows p,
// so a trailing CR or incomplete UTF-8 sequence is escaped rather than
// held back; the caller of a non-final chunk gets back how much it used.
func escapeBytes(dst, p []byte, final bool) []byte {
	out, _ := escapeChunk(dst, p, final)
	return out
}

// escapeChunk escapes p into dst and returns the number of bytes of p
// consumed. Without final it stops before a trailing CR (it may start a
// CRLF) or a trailing incomplete UTF-8 sequence (the next write may
// complete it).
func escapeChunk(dst, p []byte, final bool) ([]byte, int) {
	i := 0
	for i < len(p) {
		c := p[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			dst = append(dst, c)
			i++
			continue
		}
		if c == '\r' {
			if i+1 < len(p) {
				if p[i+1] == '\n' {
					dst = append(dst, '\r', '\n')
					i += 2
					continue
				}
			} else if !final {
				return dst, i
			}
			dst = appendEscaped(dst, c)
			i++
			continue
		}
		if c >= 0x80 && !final && !utf8.FullRune(p[i:]) {
			return dst, i
		}
		r, size := utf8.DecodeRune(p[i:])
		if needsEscape(r, size) {
			for _, b := range p[i : i+size] {
				dst = appendEscaped(dst, b)
			}
		} else {
			dst = append(dst, p[i:i+size]...)
		}
		i += size
	}
	return dst, i
}

// escaper is the session's output writer (see Escape). It holds back at
// most a CR and an incomplete UTF-8 sequence between writes.
type escaper struct {
	mu   sync.Mutex
	w    io.Writer
	held []byte
	buf  []byte
}

// NewEscaper returns a writer that writes everything to w with control
// characters escaped as Escape does. Run wraps the session's output in one;
// commands' tests can use it to see their output as the screen would.
func NewEscaper(w io.Writer) io.Writer {
	if e, ok := w.(*escaper); ok {
		return e
	}
	return &escaper{w: w}
}

func (e *escaper) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := p
	if len(e.held) > 0 {
		in = append(e.held, p...)
	}
	out, used := escapeChunk(e.buf[:0], in, false)
	e.held = append(e.held[:0:0], in[used:]...)
	if len(e.held) > utf8.UTFMax {
		// Cannot happen (a CR or at most 3 bytes of a rune are held),
		// but never let the hold grow.
		out = escapeBytes(out, e.held, true)
		e.held = nil
	}
	if cap(out) <= 64<<10 {
		e.buf = out
	}
	if _, err := e.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held back, escaped as if the output ended here.
func (e *escaper) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.held) == 0 {
		return nil
	}
	out := escapeBytes(nil, e.held, true)
	e.held = nil
	_, err := e.w.Write(out)
	return err
}

// QuoteSingle returns s between single quotes with \, ' and every control
// character escaped (\\, \', \xHH), so that the result is one unambiguous
// field however s was typed: a ' inside s cannot end the field early.
func QuoteSingle(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case needsEscape(r, size) || r == '\n' || r == '\t':
			for _, c := range []byte(s[i : i+size]) {
				b.Write(appendEscaped(nil, c))
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}
