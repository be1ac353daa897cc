package dkim

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
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

// maxHeaderBytes bounds the header block kept in memory; a message with more
// header than this is refused rather than buffered without limit.
const maxHeaderBytes = 1 << 20

var errHeaderTooLarge = errors.New("message header block exceeds 1 MiB")

// readHeader reads the header block up to and including the empty line. It
// returns the fields in message order. A message without an empty line is
// all header and no body, which RFC 5322 §3.5 allows.
func readHeader(br *bufio.Reader) ([]field, error) {
	var (
		fields []field
		cur    []byte
		total  int
	)
	flush := func() {
		if cur == nil {
			return
		}
		name := cur
		if i := bytes.IndexByte(cur, ':'); i >= 0 {
			name = cur[:i]
		}
		fields = append(fields, field{raw: cur, name: strings.ToLower(string(bytes.TrimRight(name, " \t")))})
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
		if len(content) > 0 && (content[0] == ' ' || content[0] == '\t') && cur != nil {
			cur = append(cur, content...)
			cur = append(cur, '\r', '\n')
		} else {
			flush()
			cur = make([]byte, 0, len(content)+2)
			cur = append(cur, content...)
			cur = append(cur, '\r', '\n')
		}
		if err == io.EOF {
			flush()
			return fields, nil
		}
	}
}

// crlfWriter turns bare LF into CRLF on the way to w, so messages stored
// with Unix line ends hash as they were sent (RFC 5322 §2.3 lines end in
// CRLF). CRLF input passes through in large slices without copying.
type crlfWriter struct {
	w      io.Writer
	lastCR bool
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
		if (i > 0 && p[i-1] == '\r') || (i == 0 && c.lastCR) {
			continue // already CRLF: written later in one slice
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
