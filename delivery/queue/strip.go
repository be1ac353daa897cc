package queue

import (
	"bufio"
	"bytes"
	"io"
)

// stripReader passes a message through without the header fields it was
// told to leave out (a filter's strip-header, forged email detection's
// From: replacement), continuation lines included (RFC 5322 §2.2.3). The
// header ends at the first empty line; the body passes untouched, in large
// reads. A header line longer than the reader's buffer is passed (or
// dropped) in pieces, still whole-field at a time.
type stripReader struct {
	br     *bufio.Reader
	names  [][]byte
	inHead bool
	drop   bool // the current field is being left out
	mid    bool // the last piece read ended inside a line
	pend   []byte
}

// StripHeader returns r without the header fields names names, as the
// queue sends a message whose Envelope.Strip names them.
func StripHeader(r io.Reader, names []string) io.Reader { return newStripReader(r, names) }

func newStripReader(r io.Reader, names []string) *stripReader {
	s := &stripReader{br: bufio.NewReaderSize(r, 8<<10), inHead: true}
	for _, n := range names {
		s.names = append(s.names, []byte(n))
	}
	return s
}

func (s *stripReader) Read(p []byte) (int, error) {
	for len(s.pend) == 0 {
		if !s.inHead {
			return s.br.Read(p)
		}
		line, err := s.br.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			return 0, err
		}
		cont := s.mid || line[0] == ' ' || line[0] == '\t'
		switch {
		case cont:
		case bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")):
			s.inHead, s.drop = false, false
		default:
			s.drop = s.named(line)
		}
		s.mid = line[len(line)-1] != '\n'
		if !s.drop {
			s.pend = line
		}
		if err != nil && err != bufio.ErrBufferFull {
			if len(s.pend) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, s.pend)
	s.pend = s.pend[n:]
	return n, nil
}

// named reports whether the field starting on line is one to leave out.
func (s *stripReader) named(line []byte) bool {
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return false
	}
	name = bytes.TrimRight(name, " \t")
	for _, n := range s.names {
		if bytes.EqualFold(name, n) {
			return true
		}
	}
	return false
}
