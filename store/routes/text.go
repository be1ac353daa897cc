package routes

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// The export file format (ESA-CLI.md §10.1): one route a line, the key,
// white space, and the destinations separated by commas,
//
//	example.com mail1.example.com,mail2.example.com:2525/pri=10
//	.example.org [relay.example.org]
//	ALL: smtp.isp.example
//
// with the default route written "ALL:" as the appliance does. Blank lines
// and lines starting with # are ignored.

// Write writes the table in the export format, in table order.
func Write(w io.Writer, t Table) error {
	bw := bufio.NewWriter(w)
	for _, r := range t.Routes {
		key := r.Domain
		if key == All {
			key = All + ":"
		}
		fmt.Fprintf(bw, "%s %s\n", key, r.DestinationsText())
	}
	return bw.Flush()
}

// ParseError is the refusal of an import file, naming the line.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// MaxImportBytes bounds an import file; MaxLineBytes one line of it.
const (
	MaxImportBytes = 8 << 20
	MaxLineBytes   = 64 << 10
)

// Parse reads the export format back. The result is a valid table or
// nothing: the first bad line is refused with its number and reason, so
// an import changes everything or nothing.
func Parse(r io.Reader) (Table, error) {
	cr := &countingReader{r: io.LimitReader(r, MaxImportBytes+1)}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 4096), MaxLineBytes)
	var t Table
	lines := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		if cr.n > MaxImportBytes {
			return Table{}, &ParseError{n, fmt.Sprintf("the file is larger than %d bytes", MaxImportBytes)}
		}
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for _, c := range l {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return Table{}, &ParseError{n, "control character in the line"}
			}
		}
		key, rest, ok := strings.Cut(l, " ")
		if k, r, tab := strings.Cut(l, "\t"); tab && (!ok || len(k) < len(key)) {
			key, rest, ok = k, r, true
		}
		rest = strings.TrimSpace(rest)
		if !ok || rest == "" {
			return Table{}, &ParseError{n, fmt.Sprintf("%q: expected a domain and its destinations", l)}
		}
		d, err := ParseDomain(key)
		if err != nil {
			return Table{}, &ParseError{n, err.Error()}
		}
		if first, dup := lines[d]; dup {
			if d == All {
				return Table{}, &ParseError{n, fmt.Sprintf("There is already a default route set (line %d).", first)}
			}
			return Table{}, &ParseError{n, fmt.Sprintf("The value %s is already in the routing table (line %d).", d, first)}
		}
		lines[d] = n
		ds, err := ParseDestinations(rest)
		if err != nil {
			return Table{}, &ParseError{n, err.Error()}
		}
		if len(t.Routes) == MaxRoutes {
			return Table{}, &ParseError{n, fmt.Sprintf("There is a maximum of %d routes.", MaxRoutes)}
		}
		t.Routes = append(t.Routes, Route{Domain: d, Destinations: ds})
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return Table{}, &ParseError{n + 1, fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
		}
		return Table{}, err
	}
	if cr.n > MaxImportBytes {
		return Table{}, &ParseError{n, fmt.Sprintf("the file is larger than %d bytes", MaxImportBytes)}
	}
	if len(t.Routes) == 0 {
		return Table{}, &ParseError{1, "the file holds no routes"}
	}
	return t, nil
}

// countingReader counts the bytes read through it, so that a file past
// MaxImportBytes is refused rather than silently cut.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}
