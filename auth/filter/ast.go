package filter

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Filter is one named message filter, parsed.
type Filter struct {
	Name string
	// Inactive is set for a filter written "name!" rather than "name:";
	// Run passes such a filter over.
	Inactive bool
	comments []string // comment lines before the name, text after '#'
	body     []stmt
}

// stmt is a statement of a filter body: an if, an action or a comment line.
type stmt interface {
	write(b *strings.Builder, indent int)
}

type ifStmt struct {
	cond       cond
	then, els  []stmt
	elseIf     bool // els is one ifStmt written "else if"
	line, col  int
	condString string // cond.String(), for Trace
}

type action struct {
	name string
	args []string
}

type commentStmt struct{ text string }

// cond is a condition. prec orders or (1) < and (2) < not (3) < atoms (4)
// for printing the fewest parentheses.
type cond interface {
	prec() int
	write(b *strings.Builder)
}

type orCond struct{ l, r cond }
type andCond struct{ l, r cond }
type notCond struct{ x cond }
type constCond bool

type ruleKind int

const (
	rSPFStatus ruleKind = iota
	rSPFPassed
	rDKIM
	rDMARC
	rForged
	rSenderGroup
	rRemoteIP
	rMailFrom
	rRcptTo
	rSubject
	rHeader
	rBodySize
)

// rule is one rule of a condition. Which fields matter depends on kind.
type rule struct {
	kind   ruleKind
	name   string // as written: dmarc or dmarc-status
	arg    string // spf identity, header name or dictionary
	hasArg bool   // spf-status("pra") rather than spf-status
	n      int    // forged-email-detection threshold
	op     string // "" for a boolean rule
	value  string // the right-hand side in canonical form
	set    []string
	re     *regexp.Regexp
	nets   []netip.Prefix
	size   int64
}

func (orCond) prec() int    { return 1 }
func (andCond) prec() int   { return 2 }
func (notCond) prec() int   { return 3 }
func (constCond) prec() int { return 4 }
func (*rule) prec() int     { return 4 }

func writeSub(b *strings.Builder, c cond, min int) {
	if c.prec() < min {
		b.WriteByte('(')
		c.write(b)
		b.WriteByte(')')
		return
	}
	c.write(b)
}

func (c orCond) write(b *strings.Builder) {
	writeSub(b, c.l, 1)
	b.WriteString(" or ")
	writeSub(b, c.r, 1)
}

func (c andCond) write(b *strings.Builder) {
	writeSub(b, c.l, 2)
	b.WriteString(" and ")
	writeSub(b, c.r, 2)
}

func (c notCond) write(b *strings.Builder) {
	b.WriteString("not ")
	writeSub(b, c.x, 3)
}

func (c constCond) write(b *strings.Builder) {
	if c {
		b.WriteString("true")
	} else {
		b.WriteString("false")
	}
}

func (r *rule) write(b *strings.Builder) {
	b.WriteString(r.name)
	switch r.kind {
	case rForged:
		b.WriteByte('(')
		b.WriteString(quote(r.arg))
		b.WriteString(", ")
		b.WriteString(strconv.Itoa(r.n))
		b.WriteByte(')')
	case rHeader:
		b.WriteByte('(')
		b.WriteString(quote(r.arg))
		b.WriteByte(')')
	case rSPFStatus:
		if r.hasArg {
			b.WriteByte('(')
			b.WriteString(quote(r.arg))
			b.WriteByte(')')
		}
	}
	if r.op == "" {
		return
	}
	b.WriteByte(' ')
	b.WriteString(r.op)
	b.WriteByte(' ')
	if r.kind == rBodySize {
		b.WriteString(r.value)
		return
	}
	b.WriteString(quote(r.value))
}

// quote writes s as a string literal the lexer reads back as s: a
// backslash is doubled only where the lexer would otherwise take it for an
// escape, so regular expressions stay readable ("example\.com").
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			if i+1 == len(s) || strings.IndexByte(`\"'`, s[i+1]) >= 0 {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func condString(c cond) string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

const indentUnit = "    "

func (s *ifStmt) write(b *strings.Builder, indent int) {
	pad := strings.Repeat(indentUnit, indent)
	b.WriteString(pad)
	s.writeFrom(b, indent)
}

// writeFrom writes the if from its keyword on, the padding already written
// (after "} else " for an else-if).
func (s *ifStmt) writeFrom(b *strings.Builder, indent int) {
	pad := strings.Repeat(indentUnit, indent)
	b.WriteString("if (")
	s.cond.write(b)
	b.WriteString(") {\n")
	writeStmts(b, s.then, indent+1)
	b.WriteString(pad)
	b.WriteString("}")
	switch {
	case s.elseIf:
		b.WriteString(" else ")
		s.els[0].(*ifStmt).writeFrom(b, indent)
		return
	case s.els != nil:
		b.WriteString(" else {\n")
		writeStmts(b, s.els, indent+1)
		b.WriteString(pad)
		b.WriteString("}")
	}
	b.WriteString("\n")
}

func (a *action) write(b *strings.Builder, indent int) {
	b.WriteString(strings.Repeat(indentUnit, indent))
	b.WriteString(a.String())
	b.WriteString(";\n")
}

// String is the action as written, without the semicolon: drop(),
// quarantine("Policy").
func (a *action) String() string {
	var b strings.Builder
	b.WriteString(a.name)
	b.WriteByte('(')
	for i, s := range a.args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(s))
	}
	b.WriteByte(')')
	return b.String()
}

func (c *commentStmt) write(b *strings.Builder, indent int) {
	b.WriteString(strings.Repeat(indentUnit, indent))
	b.WriteString("#")
	b.WriteString(c.text)
	b.WriteString("\n")
}

func writeStmts(b *strings.Builder, ss []stmt, indent int) {
	for _, s := range ss {
		s.write(b, indent)
	}
}

// String is the filter in canonical form: its comment lines, "name:" (or
// "name!" when inactive) on a line of its own, then the body indented by four spaces a level, one
// statement a line, conditions with the fewest parentheses. Parse reads it
// back to the same filter.
func (f *Filter) String() string {
	var b strings.Builder
	for _, c := range f.comments {
		b.WriteString("#")
		b.WriteString(c)
		b.WriteString("\n")
	}
	b.WriteString(f.Name)
	if f.Inactive {
		b.WriteString("!\n")
	} else {
		b.WriteString(":\n")
	}
	writeStmts(&b, f.body, 0)
	return b.String()
}

// Quarantines returns the quarantines the filter's quarantine actions
// name, each once, in order of appearance.
func (f *Filter) Quarantines() []string {
	var out []string
	walkActions(f.body, func(a *action) {
		if a.name == "quarantine" {
			out = appendOnce(out, a.args[0])
		}
	})
	return out
}

// Dictionaries returns the content dictionaries the filter's
// forged-email-detection rules name, each once, in order of appearance.
func (f *Filter) Dictionaries() []string {
	var out []string
	var walkCond func(c cond)
	walkCond = func(c cond) {
		switch c := c.(type) {
		case orCond:
			walkCond(c.l)
			walkCond(c.r)
		case andCond:
			walkCond(c.l)
			walkCond(c.r)
		case notCond:
			walkCond(c.x)
		case *rule:
			if c.kind == rForged {
				out = appendOnce(out, c.arg)
			}
		}
	}
	var walk func(ss []stmt)
	walk = func(ss []stmt) {
		for _, s := range ss {
			if s, ok := s.(*ifStmt); ok {
				walkCond(s.cond)
				walk(s.then)
				walk(s.els)
			}
		}
	}
	walk(f.body)
	return out
}

func walkActions(ss []stmt, fn func(*action)) {
	for _, s := range ss {
		switch s := s.(type) {
		case *action:
			fn(s)
		case *ifStmt:
			walkActions(s.then, fn)
			walkActions(s.els, fn)
		}
	}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
