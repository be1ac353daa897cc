package dictionaries

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The dictionary file of IMPORT and EXPORT (in DATA/configuration): one
// term a line, UTF-8; empty lines and lines starting with '#' are
// comments; white space around a term is dropped; CRLF line ends and a
// byte order mark at the start are accepted, as files written on other
// systems have them. The settings (ignore case, whole words) are not part
// of the file: IMPORT replaces the terms only, as the appliance's does.

// ParseError is the refusal of a dictionary file, naming the line.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// MaxFileBytes bounds a dictionary file: MaxTerms terms of MaxTermLen
// four-byte characters fit, comments aside.
const MaxFileBytes = 16 << 20

// Parse reads a dictionary file. The result is a valid list of terms or
// nothing: the first bad line is refused with its number and reason, so an
// import changes everything or nothing.
func Parse(r io.Reader) ([]string, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxFileBytes+1))
	var terms []string
	seen := map[string]int{}
	read := 0
	var long []byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: read it whole into long
			// (bounded by MaxFileBytes, grown by append, so linear) and
			// let CheckTerm refuse it.
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
				if len(long) > MaxFileBytes {
					break
				}
			}
			line = long
		}
		read += len(line)
		if read > MaxFileBytes {
			return nil, &ParseError{n, fmt.Sprintf("the file is larger than %d bytes", MaxFileBytes)}
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		if !utf8.Valid(line) {
			return nil, &ParseError{n, "the line is not valid UTF-8"}
		}
		term := strings.TrimSpace(string(line))
		if term != "" && term[0] != '#' {
			if err := CheckTerm(term); err != nil {
				return nil, &ParseError{n, err.Error()}
			}
			if first, dup := seen[term]; dup {
				return nil, &ParseError{n, fmt.Sprintf("the term %q is already on line %d", term, first)}
			}
			if len(terms) == MaxTerms {
				return nil, &ParseError{n, fmt.Sprintf("a dictionary holds at most %d terms", MaxTerms)}
			}
			seen[term] = n
			terms = append(terms, term)
		}
		if err == io.EOF {
			break
		}
	}
	return terms, nil
}

// Write writes d's terms as a dictionary file, after a comment naming it.
func Write(w io.Writer, d Dictionary) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Content dictionary %s: one term a line; lines starting with # are comments.\n", d.Name)
	for _, t := range d.Terms {
		bw.WriteString(t)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
