package mailflow

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PrintHAT writes the host access table in the appliance's PRINT form, which
// is also the EXPORT file format (ESA-CLI.md §3.3): the policies, each with
// its action and, when it overrides DEFAULT parameters, a { key = value }
// block; then the entries in order, sender groups as NAME: followed by their
// members and their decision, single hosts as the host followed by the
// decision. ParseHAT reads it back to the identical table.
func PrintHAT(w io.Writer, h *HAT) error {
	bw := bufio.NewWriter(w)
	for _, p := range h.Policies {
		fmt.Fprintf(bw, "$%s\n", p.Name)
		if len(p.Params) == 0 {
			fmt.Fprintf(bw, "    %s\n", p.Action)
			continue
		}
		fmt.Fprintf(bw, "    %s {\n", p.Action)
		for _, kv := range p.Params {
			fmt.Fprintf(bw, "        %s = %s\n", kv.Key, quoteParam(kv))
		}
		fmt.Fprintf(bw, "    }\n")
	}
	for _, e := range h.Entries {
		if e.Group != "" {
			fmt.Fprintf(bw, "%s:\n", e.Group)
			for _, m := range e.Members {
				fmt.Fprintf(bw, "        %s\n", m)
			}
			fmt.Fprintf(bw, "        %s\n", decisionText(e))
			continue
		}
		fmt.Fprintf(bw, "%s\n    %s\n", e.Members[0], decisionText(e))
	}
	return bw.Flush()
}

func decisionText(e Entry) string {
	if e.Comment == "" {
		return e.Decision
	}
	return e.Decision + " (" + e.Comment + ")"
}

func quoteParam(p Param) string {
	if s, ok := specFor(p.Key); ok && s.kind == kindInt {
		return p.Value
	}
	return strconv.Quote(p.Value)
}

// ParseError is a refusal of an import file, naming the line.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// MaxImportBytes bounds an import file: it is read as it arrives and refused
// once past this size, never held whole first.
const MaxImportBytes = 16 << 20

type lineReader struct {
	sc   *bufio.Scanner
	n    int
	back bool
	cur  string
}

func newLineReader(r io.Reader) *lineReader {
	sc := bufio.NewScanner(io.LimitReader(r, MaxImportBytes+1))
	sc.Buffer(make([]byte, 4096), 64<<10)
	return &lineReader{sc: sc}
}

// next returns the next line that is not blank or a # comment, with trailing
// white space removed.
func (lr *lineReader) next() (string, bool, error) {
	if lr.back {
		lr.back = false
		return lr.cur, true, nil
	}
	for lr.sc.Scan() {
		lr.n++
		l := strings.TrimRight(lr.sc.Text(), " \t\r")
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		for _, r := range l {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return "", false, &ParseError{lr.n, "control character in the line"}
			}
		}
		lr.cur = l
		return l, true, nil
	}
	if err := lr.sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return "", false, &ParseError{lr.n + 1, "line longer than 64 KB"}
		}
		return "", false, err
	}
	return "", false, nil
}

func (lr *lineReader) unread() { lr.back = true }

func indented(l string) bool { return l[0] == ' ' || l[0] == '\t' }

// splitDecision reads "$POLICY (comment)" or "ACTION (comment)".
func splitDecision(s string) (decision, comment string, err error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '('); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return "", "", fmt.Errorf("the comment's parenthesis is not closed")
		}
		comment = s[i+1 : len(s)-1]
		if strings.ContainsAny(comment, "()") {
			return "", "", fmt.Errorf("a comment must not contain parentheses")
		}
		s = strings.TrimSpace(s[:i])
	}
	if strings.ContainsAny(s, " \t") {
		return "", "", fmt.Errorf("%q is not one $POLICY or action", s)
	}
	return s, comment, nil
}

func isDecision(s string) bool { return strings.HasPrefix(s, "$") || isAction(s) }

// ParseHAT reads the PRINT/EXPORT form. The result keeps def as its DEFAULT
// parameters (the file does not carry them) and is validated as a whole; any
// error names the line and nothing is returned.
func ParseHAT(r io.Reader, def []Param) (*HAT, error) {
	lr := newLineReader(r)
	h := &HAT{Default: append([]Param(nil), def...)}
	policyLine := map[string]int{}
	var entryLines []int
	for {
		l, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		line := lr.n
		if indented(l) {
			return nil, &ParseError{line, fmt.Sprintf("%q is indented but belongs to no policy, sender group or host", strings.TrimSpace(l))}
		}
		switch {
		case strings.HasPrefix(l, "$"):
			p, err := parsePolicy(lr, strings.TrimPrefix(l, "$"))
			if err != nil {
				return nil, err
			}
			if policyLine[p.Name] != 0 {
				return nil, &ParseError{line, fmt.Sprintf("policy $%s is already defined on line %d", p.Name, policyLine[p.Name])}
			}
			policyLine[p.Name] = line
			h.Policies = append(h.Policies, *p)
		case strings.HasSuffix(l, ":"):
			e := Entry{Group: strings.TrimSuffix(l, ":")}
			for {
				m, ok, err := lr.next()
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				if !indented(m) {
					lr.unread()
					break
				}
				t := strings.TrimSpace(m)
				word, _, _ := strings.Cut(t, " ")
				if isDecision(word) {
					if e.Decision != "" {
						return nil, &ParseError{lr.n, fmt.Sprintf("sender group %s has a second decision %q", e.Group, word)}
					}
					if e.Decision, e.Comment, err = splitDecision(t); err != nil {
						return nil, &ParseError{lr.n, err.Error()}
					}
					continue
				}
				for _, member := range strings.Split(t, ",") {
					member = strings.TrimSpace(member)
					if err := CheckMember(member); err != nil {
						return nil, &ParseError{lr.n, err.Error()}
					}
					e.Members = append(e.Members, member)
				}
			}
			if e.Decision == "" {
				return nil, &ParseError{line, fmt.Sprintf("sender group %s has no $POLICY line", e.Group)}
			}
			h.Entries = append(h.Entries, e)
			entryLines = append(entryLines, line)
		default:
			host, rest, _ := strings.Cut(l, " ")
			e := Entry{Members: []string{host}}
			if err := CheckMember(host); err != nil {
				return nil, &ParseError{line, err.Error()}
			}
			if strings.TrimSpace(rest) == "" {
				d, ok, err := lr.next()
				if err != nil {
					return nil, err
				}
				if !ok || !indented(d) {
					return nil, &ParseError{line, fmt.Sprintf("host %s has no decision on the next line", host)}
				}
				rest = d
			}
			if e.Decision, e.Comment, err = splitDecision(rest); err != nil {
				return nil, &ParseError{lr.n, err.Error()}
			}
			if !isDecision(e.Decision) {
				return nil, &ParseError{lr.n, fmt.Sprintf("%q is neither a $POLICY nor an action", e.Decision)}
			}
			h.Entries = append(h.Entries, e)
			entryLines = append(entryLines, line)
		}
	}
	if len(h.Policies) == 0 && len(h.Entries) == 0 {
		return nil, &ParseError{1, "the file is empty"}
	}
	// Errors tied to one entry name its line; the rest the table.
	groupLine := map[string]int{}
	for i, e := range h.Entries {
		one := HAT{Default: h.Default, Policies: h.Policies, Entries: []Entry{e}}
		if err := one.Validate(); err != nil {
			return nil, &ParseError{entryLines[i], strings.TrimPrefix(err.Error(), "entry 1: ")}
		}
		if e.Group != "" {
			if l := groupLine[e.Group]; l != 0 {
				return nil, &ParseError{entryLines[i], fmt.Sprintf("sender group %s is already defined on line %d", e.Group, l)}
			}
			groupLine[e.Group] = entryLines[i]
		}
	}
	if err := h.Validate(); err != nil {
		return nil, &ParseError{0, err.Error()}
	}
	return h, nil
}

func parsePolicy(lr *lineReader, name string) (*Policy, error) {
	line := lr.n
	p := &Policy{Name: name}
	l, ok, err := lr.next()
	if err != nil {
		return nil, err
	}
	if !ok || !indented(l) {
		return nil, &ParseError{line, fmt.Sprintf("policy $%s has no action on the next line", name)}
	}
	t := strings.TrimSpace(l)
	action, rest, _ := strings.Cut(t, " ")
	p.Action = action
	rest = strings.TrimSpace(rest)
	switch rest {
	case "", "{}":
		return p, nil
	case "{":
	default:
		return nil, &ParseError{lr.n, fmt.Sprintf("unexpected %q after the action", rest)}
	}
	for {
		l, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &ParseError{line, fmt.Sprintf("the parameters of $%s are not closed with }", name)}
		}
		t := strings.TrimSpace(l)
		if t == "}" {
			return p, nil
		}
		key, val, ok := strings.Cut(t, "=")
		if !ok {
			return nil, &ParseError{lr.n, fmt.Sprintf("%q is not key = value", t)}
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if strings.HasPrefix(val, `"`) {
			u, err := strconv.Unquote(val)
			if err != nil {
				return nil, &ParseError{lr.n, fmt.Sprintf("%s: bad quoted value %s", key, val)}
			}
			val = u
		}
		canon, err := checkParam(key, val)
		if err != nil {
			return nil, &ParseError{lr.n, err.Error()}
		}
		p.Params = append(p.Params, Param{Key: key, Value: canon})
	}
}

// PrintRAT writes the recipient access table in its export form, one entry
// a line: `.example.com ACCEPT`, `ALL REJECT`, a custom reply as
// `REJECT 550 "text"`, and `BYPASS_LIMITS` when set.
func PrintRAT(w io.Writer, rat []RATEntry) error {
	bw := bufio.NewWriter(w)
	for _, e := range rat {
		bw.WriteString(e.Pattern + " " + e.Action)
		if e.Code != 0 {
			fmt.Fprintf(bw, " %d", e.Code)
			if e.Text != "" {
				fmt.Fprintf(bw, " %q", e.Text)
			}
		}
		if e.BypassLimits {
			bw.WriteString(" BYPASS_LIMITS")
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}

// ParseRAT reads the export form back; lines starting with # are comments.
func ParseRAT(r io.Reader) ([]RATEntry, error) {
	lr := newLineReader(r)
	var rat []RATEntry
	for {
		l, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		fields := strings.Fields(l)
		if len(fields) < 2 {
			return nil, &ParseError{lr.n, fmt.Sprintf("%q: expected a pattern and ACCEPT or REJECT", strings.TrimSpace(l))}
		}
		e := RATEntry{Pattern: fields[0], Action: fields[1]}
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), fields[0]))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, fields[1]))
		if strings.HasSuffix(rest, "BYPASS_LIMITS") {
			e.BypassLimits = true
			rest = strings.TrimSpace(strings.TrimSuffix(rest, "BYPASS_LIMITS"))
		}
		if rest != "" {
			codeStr, text, _ := strings.Cut(rest, " ")
			code, err := strconv.Atoi(codeStr)
			if err != nil || code == 0 {
				return nil, &ParseError{lr.n, fmt.Sprintf("%q is not a reply code", codeStr)}
			}
			e.Code = code
			if text = strings.TrimSpace(text); text != "" {
				u, err := strconv.Unquote(text)
				if err != nil {
					return nil, &ParseError{lr.n, "the reply text must be in double quotes"}
				}
				e.Text = u
			}
		}
		if err := ValidateRAT([]RATEntry{e}); err != nil {
			return nil, &ParseError{lr.n, strings.TrimPrefix(err.Error(), "recipient access entry 1: ")}
		}
		rat = append(rat, e)
	}
	if len(rat) == 0 {
		return nil, &ParseError{1, "the file holds no entries"}
	}
	if err := ValidateRAT(rat); err != nil {
		return nil, &ParseError{lr.n, err.Error()}
	}
	return rat, nil
}
