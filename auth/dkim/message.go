package dkim

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

// field is one header field exactly as received, folds included, with its
// line endings normalised to CRLF (RFC 6376 §5.3: verifiers treat a bare LF
// as the CRLF it stood for in transit).
type field struct {
	raw  []byte // "Name: value\r\n", folded lines included
	name string // lower-case field name
}

// value returns the text after the colon, unfolded by nothing.
func (f field) value() string {
	i := bytes.IndexByte(f.raw, ':')
	return string(bytes.TrimSuffix(f.raw[i+1:], []byte("\r\n")))
}

// readers recycles the buffered readers messages are read through, so a
// busy signer or verifier does not allocate 4 KiB per message.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

func getReader(r io.Reader) *bufio.Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readers.Put(br)
}

// commonNames maps the field names seen in nearly every message to their
// lower-case form without allocating.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range append(StandardHeaders, "Received", "Return-Path", "DKIM-Signature",
		"DomainKey-Signature", "Authentication-Results", "X-Mailer", "Delivered-To") {
		m[n] = strings.ToLower(n)
		m[strings.ToLower(n)] = strings.ToLower(n)
	}
	return m
}()

func lowerName(b []byte) string {
	if s, ok := commonNames[string(b)]; ok {
		return s
	}
	return strings.ToLower(string(b))
}

// lowerString is lowerName for a string: already lower-case names (what
// most signers write in h=) come back as they are.
func lowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			if l, ok := commonNames[s]; ok {
				return l
			}
			return strings.ToLower(s)
		}
	}
	return s
}

// maxHeaderBytes bounds the header block kept in memory; a message with more
// header than this is refused rather than buffered without limit.
const maxHeaderBytes = 1 << 20

var errHeaderTooLarge = errors.New("message header block exceeds 1 MiB")

// readHeader reads the header block up to and including the empty line. It
// returns the fields in message order. A message without an empty line is
// all header and no body, which RFC 5322 §3.5 allows.
func readHeader(br *bufio.Reader) ([]field, error) {
	h := &headerBuf{}
	return h.read(br)
}

// headerBuf holds a header block: the fields and the arena their bytes
// live in. Signing and verification borrow one from headerBufs and give it
// back when done, so the header of every message is not a fresh 4 KiB;
// nothing they return points into it.
type headerBuf struct {
	fields []field
	arena  []byte
	starts []int // readFast's field offsets
}

var headerBufs = sync.Pool{New: func() any {
	return &headerBuf{fields: make([]field, 0, 24), arena: make([]byte, 0, 4096)}
}}

// readPooledHeader reads the header block into a pooled buffer; release
// returns it, after which the fields must not be used. (A method rather
// than a returned closure, which would cost an allocation per message.)
func readPooledHeader(br *bufio.Reader) (*headerBuf, []field, error) {
	h := headerBufs.Get().(*headerBuf)
	fields, err := h.read(br)
	return h, fields, err
}

func (h *headerBuf) release() {
	if cap(h.arena) <= 64<<10 && cap(h.fields) <= 1024 {
		clear(h.fields) // entries past len were cleared by an earlier release
		h.fields, h.arena = h.fields[:0], h.arena[:0]
		headerBufs.Put(h)
	}
}

func (h *headerBuf) read(br *bufio.Reader) ([]field, error) {
	if fields, ok := h.readFast(br); ok {
		return fields, nil
	}
	return h.readSlow(br)
}

// readSlow reads the header line by line, whatever its line ends and size.
func (h *headerBuf) readSlow(br *bufio.Reader) ([]field, error) {
	if h.arena == nil {
		h.arena = make([]byte, 0, 4096)
	}
	var (
		fields = h.fields[:0]
		cur    []byte
		total  int
		arena  = h.arena[:0] // backing store for the fields' bytes
	)
	defer func() { h.fields, h.arena = fields, arena }()
	flush := func() {
		if cur == nil {
			return
		}
		name := cur
		if i := bytes.IndexByte(cur, ':'); i >= 0 {
			name = cur[:i]
		}
		for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
			name = name[:len(name)-1] // WSP before the colon (RFC 5322 §4.5.2 obsolete syntax)
		}
		fields = append(fields, field{raw: cur, name: lowerName(name)})
		cur = nil
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: collect the rest of it.
			buf := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
				if len(buf) > maxHeaderBytes {
					return nil, errHeaderTooLarge
				}
			}
			line = buf
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		total += len(line)
		if total > maxHeaderBytes {
			return nil, errHeaderTooLarge
		}
		if len(line) == 0 {
			flush()
			return fields, nil
		}
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(content) == 0 && line[len(line)-1] == '\n' {
			flush()
			return fields, nil
		}
		// Fields are carved out of one arena; a field that grows past the
		// arena's capacity is moved to a fresh one, so the bytes of a field
		// stay contiguous and earlier fields keep theirs.
		if !(len(content) > 0 && (content[0] == ' ' || content[0] == '\t') && cur != nil) {
			flush()
			cur = arena[len(arena):]
		}
		need := len(content) + 2
		if cap(arena)-len(arena) < need {
			fresh := make([]byte, 0, max(2*cap(arena), len(cur)+need+1024))
			fresh = append(fresh, cur...)
			arena = fresh
			cur = fresh
		}
		arena = append(arena, content...)
		arena = append(arena, '\r', '\n')
		cur = arena[len(arena)-len(cur)-need : len(arena) : len(arena)]
		if err == io.EOF {
			flush()
			return fields, nil
		}
	}
}

// readFast reads the usual header block: already in br's buffer up to the
// empty line, every line ending in CRLF, the first one not a continuation.
// It finds the lines in the buffer, copies the block to the arena in one
// piece and consumes it; anything else it leaves unread and reports false,
// and read goes line by line (bare LF, a header longer than the buffer, a
// message that is all header). The fields are what read would build.
func (h *headerBuf) readFast(br *bufio.Reader) ([]field, bool) {
	if br.Buffered() == 0 {
		if _, err := br.Peek(1); err != nil {
			return nil, false
		}
	}
	data, _ := br.Peek(br.Buffered())
	if len(data) > 0 && (data[0] == ' ' || data[0] == '\t') {
		return nil, false
	}
	starts := h.starts[:0]
	end := -1
	for i := 0; i < len(data); {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 1 || data[i+nl-1] != '\r' {
			return nil, false // no line end in the buffer, or a bare LF
		}
		if nl == 1 {
			end = i // the empty line
			break
		}
		if data[i] != ' ' && data[i] != '\t' {
			starts = append(starts, i) // a field starts; others continue it
		}
		i += nl + 1
	}
	h.starts = starts
	if end < 0 {
		return nil, false
	}
	arena := append(h.arena[:0], data[:end]...)
	fields := h.fields[:0]
	for k, fs := range starts {
		fe := end
		if k+1 < len(starts) {
			fe = starts[k+1]
		}
		raw := arena[fs:fe:fe]
		name := raw // as read's flush: a line without a colon is all name
		if i := bytes.IndexByte(name, ':'); i >= 0 {
			name = name[:i]
		}
		for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
			name = name[:len(name)-1]
		}
		fields = append(fields, field{raw: raw, name: lowerName(name)})
	}
	h.fields, h.arena = fields, arena
	br.Discard(end + 2)
	return fields, true
}

// crlfWriter turns bare LF into CRLF on the way to w, so messages stored
// with Unix line ends hash as they were sent (RFC 5322 §2.3 lines end in
// CRLF). CRLF input passes through in large slices without copying.
type crlfWriter struct {
	w      io.Writer
	lastCR bool
	// wspEOL: a line seen so far ends in white space before its CRLF. It
	// is set before the bytes are passed on, so relaxed body
	// canonicalization downstream can skip looking for that case while
	// it is false (bodyCanon.eol): this writer visits every line end
	// anyway.
	wspEOL bool
}

var crlf = []byte("\r\n")

func (c *crlfWriter) Write(p []byte) (int, error) {
	n := len(p)
	s := 0 // start of the bytes not yet written
	for from := 0; ; {
		i := bytes.IndexByte(p[from:], '\n')
		if i < 0 {
			break
		}
		i += from
		from = i + 1
		if i > 0 && p[i-1] == '\r' {
			if i > 1 && (p[i-2] == ' ' || p[i-2] == '\t') {
				c.wspEOL = true
			}
			continue // already CRLF: written later in one slice
		}
		if i == 0 && c.lastCR {
			continue
		}
		if i > s {
			if _, err := c.w.Write(p[s:i]); err != nil {
				return 0, err
			}
		}
		if _, err := c.w.Write(crlf); err != nil {
			return 0, err
		}
		s = i + 1
	}
	if s < n {
		if _, err := c.w.Write(p[s:]); err != nil {
			return 0, err
		}
	}
	if n > 0 {
		c.lastCR = p[n-1] == '\r'
	}
	return n, nil
}
