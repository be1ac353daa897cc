package smtpclient

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bounds on what a server may send in one reply. RFC 5321 §4.5.3.1.5 caps a
// reply line at 512 octets; real servers exceed it a little (long banners),
// so allow eight times that, and far more lines than any EHLO list has.
const (
	MaxLineLen    = 4096
	MaxReplyLines = 128
)

// Reply is one SMTP reply: its three-digit code and the text of each line,
// without the code, the separator and the line ending.
type Reply struct {
	Code  int
	Lines []string
}

// Text is the reply's lines joined by newlines.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

func (r Reply) String() string {
	if len(r.Lines) == 0 {
		return strconv.Itoa(r.Code)
	}
	return strconv.Itoa(r.Code) + " " + r.Text()
}

// ProtocolError is a reply that breaks RFC 5321 §4.2 syntax or our bounds.
type ProtocolError struct{ Reason string }

func (e *ProtocolError) Error() string { return "SMTP protocol error: " + e.Reason }

// CodeError is a well-formed reply with a code other than the one expected.
type CodeError struct {
	Want  int
	Reply Reply
}

func (e *CodeError) Error() string {
	return fmt.Sprintf("unexpected reply %s (want %d)", clip(e.Reply.String(), 200), e.Want)
}

// ReadReply reads one whole reply (RFC 5321 §4.2): lines "ddd-text" up to a
// last line "ddd text" or "ddd". Every line of a multiline reply must carry
// the same code (RFC 5321 §4.2.1). A bare LF ends a line too (servers in
// the wild send it; the text is what matters here). An EOF before the last
// line is io.ErrUnexpectedEOF (io.EOF when nothing at all was read).
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	for n := 0; ; n++ {
		line, err := readLine(r)
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, err
		}
		if n >= MaxReplyLines {
			return Reply{}, &ProtocolError{fmt.Sprintf("reply longer than %d lines", MaxReplyLines)}
		}
		code, more, text, err := parseLine(line)
		if err != nil {
			return Reply{}, err
		}
		if n == 0 {
			rep.Code = code
		} else if code != rep.Code {
			return Reply{}, &ProtocolError{fmt.Sprintf("reply code changed from %d to %d within a reply", rep.Code, code)}
		}
		rep.Lines = append(rep.Lines, text)
		if !more {
			return rep, nil
		}
	}
}

// parseLine splits one reply line into its code, whether more lines follow,
// and its text.
func parseLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", &ProtocolError{"reply line too short: " + strconv.Quote(clip(line, 40))}
	}
	// RFC 5321 §4.2: the first digit is 2 to 5 (1 is allowed by the
	// grammar but unused), the others 0 to 9.
	if line[0] < '1' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, "", &ProtocolError{"reply line without a reply code: " + strconv.Quote(clip(line, 40))}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case len(line) == 3:
		return code, false, "", nil
	case line[3] == '-':
		return code, true, line[4:], nil
	case line[3] == ' ':
		return code, false, line[4:], nil
	}
	return 0, false, "", &ProtocolError{"reply code not followed by a space or a dash: " + strconv.Quote(clip(line, 40))}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// readLine reads one line of at most MaxLineLen bytes, without its ending.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineLen+2 {
			return "", &ProtocolError{fmt.Sprintf("reply line longer than %d bytes", MaxLineLen)}
		}
		buf = append(buf, chunk...)
		switch err {
		case nil:
			s := strings.TrimSuffix(string(buf[:len(buf)-1]), "\r")
			if len(s) > MaxLineLen {
				return "", &ProtocolError{fmt.Sprintf("reply line longer than %d bytes", MaxLineLen)}
			}
			return s, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", io.EOF
		default:
			return "", err
		}
	}
}

// clip shortens s for an error message, so a hostile reply cannot fill the
// log.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
