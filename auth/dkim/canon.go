package dkim

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"slices"
)

// Canonicalization names an algorithm of RFC 6376 §3.4 (DKIM: simple,
// relaxed) or RFC 4870 §3.4 (DomainKeys: simple, nofws).
type Canonicalization string

const (
	Simple  Canonicalization = "simple"
	Relaxed Canonicalization = "relaxed"
	NoFWS   Canonicalization = "nofws" // DomainKeys only
)

// canonHeaderRelaxed implements RFC 6376 §3.4.2: lower-case the name,
// unfold, reduce WSP runs to one SP, drop WSP at the end of the value and
// around the colon.
//
// The result is never longer than raw plus ":" and CRLF, so the room is
// made once and bytes are stored by index; runs of visible characters (most
// of a value) are copied whole.
func canonHeaderRelaxed(dst, raw []byte) []byte {
	base := len(dst)
	dst = slices.Grow(dst, len(raw)+3)
	out := dst[:base+len(raw)+3]
	n := base
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		// A malformed line without a colon: all name, empty value.
		i = len(raw)
	}
	// The name is unfolded and its WSP runs reduced like the value's (a
	// well-formed name has neither); WSP before the colon goes.
	nameWSP := false
	name := raw[:i]
	for len(name) > 0 && isFWS(name[len(name)-1]) {
		name = name[:len(name)-1]
	}
	for _, c := range name {
		switch {
		case c == '\r' || c == '\n':
			continue
		case c == ' ' || c == '\t':
			nameWSP = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if nameWSP {
			out[n] = ' '
			n++
			nameWSP = false
		}
		out[n] = c
		n++
	}
	out[n] = ':'
	n++
	if i < len(raw) {
		v := raw[i+1:]
		started := false
		for j := 0; j < len(v); {
			if c := v[j]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				// A run of WSP and fold CRLFs: the CRLFs disappear
				// (unfolding), the WSP becomes one SP, unless the run
				// starts or ends the value.
				wsp := false
				for ; j < len(v); j++ {
					c := v[j]
					if c == ' ' || c == '\t' {
						wsp = true
					} else if c != '\r' && c != '\n' {
						break
					}
				}
				if j < len(v) && wsp && started {
					out[n] = ' '
					n++
				}
				continue
			}
			// Content, then everything up to the next byte that may need
			// changing, copied as it is: words with single spaces between
			// them are already canonical.
			started = true
			k := headerSpan(v, j+1)
			n += copy(out[n:], v[j:k])
			j = k
		}
	}
	out[n], out[n+1] = '\r', '\n'
	return out[:n+2]
}

// headerSpan returns an index k >= i such that v[i:k] holds no control
// byte, no two bytes at or below SP in a row and no SP ending v: nothing
// relaxed canonicalization changes. It may stop early (a borrow in the
// eight-byte test can flag a byte above one at or below SP), never late;
// the caller classifies v[k] exactly.
func headerSpan(v []byte, i int) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(v) {
		w := binary.LittleEndian.Uint64(v[i:])
		le := (w - 0x21*ones) &^ w & high // bytes <= SP
		special := (w-0x20*ones)&^w&high | le&(le>>8)
		if le&(1<<63) != 0 && (i+8 == len(v) || v[i+8] <= ' ') {
			special |= 1 << 63
		}
		if special != 0 {
			return i + bits.TrailingZeros64(special)>>3
		}
		i += 8
	}
	for ; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == ' ' && (i+1 == len(v) || v[i+1] <= ' ') {
			return i
		}
	}
	return i
}

// canonHeaderNoFWS implements RFC 4870 §3.4.2 for one header field: all
// SP, HTAB, CR and LF are removed (which also unfolds), then the line gets
// its CRLF back. The name keeps its case.
func canonHeaderNoFWS(dst, raw []byte) []byte {
	for _, c := range raw {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

type bodyMode uint8

const (
	bodySimple   bodyMode = iota // RFC 6376 §3.4.3
	bodyRelaxed                  // RFC 6376 §3.4.4
	bodyDKSimple                 // RFC 4870 §3.4.1
	bodyDKNoFWS                  // RFC 4870 §3.4.2
)

// bodyCanon is a streaming body canonicalizer: Write takes CRLF-normalised
// body bytes in chunks of any size, Close finishes the body. The canonical
// bytes go to h, cut after limit bytes when limit >= 0 (the l= tag, RFC
// 6376 §3.5); total counts every canonical byte so the verifier can tell a
// body longer than l= (partial verification) from one that matches.
//
// Runs of complete lines that canonicalization leaves unchanged are written
// to h as one slice straight from the caller's buffer; only lines that
// change (white space to fold, empty lines that may be trailing) go through
// the byte-wise path.
type bodyCanon struct {
	mode   bodyMode
	h      io.Writer
	limit  int64
	total  int64
	held   int  // empty lines held back: they count only if content follows
	mid    bool // inside a line that has content
	wsp    bool // relaxed: white space seen and not yet written
	any    bool // some content line was produced
	cr     bool // the last chunk ended in CR; its LF may come next
	closed bool
	out    []byte
	// eol, when set, says whether any line so far ends in white space
	// before its CRLF (the crlfWriter in front sees every line end): while
	// it is false, relaxed canonicalization need not look for that case.
	eol *bool
}

func newBodyCanon(mode bodyMode, h io.Writer, limit int64) *bodyCanon {
	return &bodyCanon{mode: mode, h: h, limit: limit}
}

func (b *bodyCanon) emit(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.limit >= 0 {
		room := b.limit - b.total
		if room > 0 {
			if int64(len(p)) <= room {
				b.h.Write(p)
			} else {
				b.h.Write(p[:room])
			}
		}
	} else {
		b.h.Write(p)
	}
	b.total += int64(len(p))
}

var crlfBlock = bytes.Repeat([]byte("\r\n"), 64)

func (b *bodyCanon) flushHeld() {
	for b.held > 0 {
		n := min(b.held, len(crlfBlock)/2)
		b.emit(crlfBlock[:2*n])
		b.held -= n
	}
}

func (b *bodyCanon) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	if b.cr {
		b.cr = false
		if p[0] == '\n' {
			b.slow(crlf)
			p = p[1:]
		} else {
			b.slow([]byte{'\r'})
		}
	}
	if len(p) > 0 && p[len(p)-1] == '\r' {
		b.cr = true
		p = p[:len(p)-1]
	}
	b.process(p)
	return n, nil
}

// lineEnd returns the index just after the first CRLF in p, or -1.
func lineEnd(p []byte) int {
	from := 0
	for {
		i := bytes.IndexByte(p[from:], '\n')
		if i < 0 {
			return -1
		}
		i += from
		if i > 0 && p[i-1] == '\r' {
			return i + 1
		}
		from = i + 1
	}
}

// clean reports whether a line (without its CRLF) canonicalizes to itself
// and has content.
func (b *bodyCanon) clean(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	switch b.mode {
	case bodyDKNoFWS:
		return !bytes.ContainsAny(line, " \t\r\n")
	}
	return true
}

func (b *bodyCanon) process(p []byte) {
	switch b.mode {
	case bodySimple, bodyDKSimple:
		b.processSimple(p)
		return
	case bodyRelaxed:
		b.processRelaxed(p)
		return
	}
	for len(p) > 0 {
		if b.mid || b.wsp {
			e := b.finishLine(p)
			if e < 0 {
				return
			}
			p = p[e:]
			continue
		}
		run := 0
		for {
			e := lineEnd(p[run:])
			if e < 0 || !b.clean(p[run:run+e-2]) {
				break
			}
			run += e
		}
		if run > 0 {
			b.flushHeld()
			b.emit(p[:run])
			b.any = true
			p = p[run:]
			continue
		}
		e := lineEnd(p)
		if e < 0 {
			b.slow(p)
			return
		}
		b.slow(p[:e])
		p = p[e:]
	}
}

// processSimple handles the simple algorithms, which change nothing but
// trailing empty lines: everything up to the run of CRLFs that ends the
// chunk goes out as is; that run is held back until content follows.
func (b *bodyCanon) processSimple(p []byte) {
	k := len(p)
	for k >= 2 && p[k-2] == '\r' && p[k-1] == '\n' {
		k -= 2
	}
	n := (len(p) - k) / 2 // CRLFs at the end of the chunk
	if k == 0 {
		if n > 0 && b.mid {
			b.emit(crlf) // ends the line in progress
			b.mid = false
			n--
		}
		b.held += n
		return
	}
	b.flushHeld()
	b.emit(p[:k])
	b.any = true
	b.mid = true
	if n > 0 {
		b.emit(crlf)
		b.mid = false
		b.held += n - 1
	}
}

// relaxedChanges are the byte sequences relaxed body canonicalization
// changes inside a chunk (RFC 6376 §3.4.4): a tab (it becomes a space, or
// joins a run), two spaces (a run), and a space before a line's CRLF. Other
// white space (one space between words) and empty lines between content
// lines stay as they are. Each is found with the runtime's vectorised
// search, so a clean chunk costs a few passes at memory speed.
var relaxedChanges = [...][]byte{[]byte("\t"), []byte("  "), []byte(" \r\n")}

// wspBeforeCRLF is the index of " \r\n" in relaxedChanges.
const wspBeforeCRLF = 2

// processRelaxed writes the clean lines of the chunk as they are, in as
// few slices as possible, and gives each line relaxed canonicalization
// changes (and the empty lines right before it, which may turn out to be
// trailing) to the byte-wise path; empty lines that end the chunk and its
// unfinished last line are left to it too.
func (b *bodyCanon) processRelaxed(p []byte) {
	// next[k] is where relaxedChanges[k] next occurs in p (from its
	// current start), -1 for nowhere, and stays valid while p only loses
	// bytes before it.
	var next [len(relaxedChanges)]int
	for k, pat := range relaxedChanges {
		if k == wspBeforeCRLF && b.eol != nil && !*b.eol {
			next[k] = -1 // no line of the chunk ends in white space
			continue
		}
		next[k] = bytes.Index(p, pat)
	}
	off := 0 // bytes of the original chunk consumed; next[] is relative to the original
	for len(p) > 0 {
		if b.mid || b.wsp {
			e := b.finishLine(p)
			if e < 0 {
				return
			}
			p, off = p[e:], off+e
			continue
		}
		bad := -1 // the first change, relative to p
		for k, pat := range relaxedChanges {
			if next[k] >= 0 && next[k] < off {
				if i := bytes.Index(p, pat); i >= 0 {
					next[k] = off + i
				} else {
					next[k] = -1
				}
			}
			if next[k] >= 0 && (bad < 0 || next[k]-off < bad) {
				bad = next[k] - off
			}
		}
		// The start of the line holding the change, or of the unfinished
		// last line.
		var ls int
		if bad >= 0 {
			ls = bytes.LastIndex(p[:bad], crlf) + 2
			if ls < 2 {
				ls = 0
			}
		} else if bytes.HasSuffix(p, crlf) {
			ls = len(p)
		} else {
			ls = bytes.LastIndex(p, crlf) + 2
			if ls < 2 {
				ls = 0
			}
		}
		// Empty lines right before it are held back with it: they are
		// trailing if nothing but white space follows.
		k := ls
		for k >= 2 && p[k-2] == '\r' && p[k-1] == '\n' && (k == 2 || k >= 4 && p[k-4] == '\r' && p[k-3] == '\n') {
			k -= 2
		}
		if k > 0 {
			b.flushHeld()
			b.emit(p[:k])
			b.any = true
		}
		if bad < 0 {
			// Only the empty lines at the end and the unfinished line
			// are left.
			if k < len(p) {
				b.slow(p[k:])
			}
			return
		}
		e := lineEnd(p[ls:])
		if e < 0 {
			b.slow(p[k:])
			return
		}
		e += ls
		b.slow(p[k:e])
		p, off = p[e:], off+e
	}
}

// finishLine gives the rest of a line in progress to the byte-wise path:
// up to and including its CRLF, whose end it returns, or all of p (-1)
// when the line goes on in the next chunk.
func (b *bodyCanon) finishLine(p []byte) int {
	e := lineEnd(p)
	if e < 0 {
		b.slow(p)
		return -1
	}
	b.slow(p[:e])
	return e
}

// slow canonicalizes byte by byte. p never ends in a CR whose LF may still
// come (Write carries it over).
func (b *bodyCanon) slow(p []byte) {
	out := b.out[:0]
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\r' && i+1 < len(p) && p[i+1] == '\n' {
			i++
			b.wsp = false
			if b.mid {
				out = append(out, '\r', '\n')
				b.mid = false
			} else {
				b.held++
			}
			continue
		}
		switch b.mode {
		case bodyRelaxed:
			if c == ' ' || c == '\t' {
				b.wsp = true
				continue
			}
		case bodyDKNoFWS:
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				continue
			}
		}
		if b.held > 0 {
			b.emit(out)
			out = out[:0]
			b.flushHeld()
		}
		if b.wsp {
			out = append(out, ' ')
			b.wsp = false
		}
		out = append(out, c)
		b.mid = true
		b.any = true
		if len(out) >= 16<<10 {
			b.emit(out)
			out = out[:0]
		}
	}
	b.emit(out)
	b.out = out[:0]
}

// Close ends the body: trailing empty lines stay dropped, an unterminated
// last line gets its CRLF, and an empty body becomes a single CRLF under
// DKIM simple (RFC 6376 §3.4.3) and nothing under relaxed (§3.4.4 as
// corrected by erratum 3071) and DomainKeys.
func (b *bodyCanon) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.cr {
		b.cr = false
		b.slow([]byte{'\r'})
	}
	switch {
	case b.mode == bodySimple && !b.any:
		b.emit(crlf)
	case b.mid:
		b.emit(crlf)
	}
	b.mid = false
	return nil
}
