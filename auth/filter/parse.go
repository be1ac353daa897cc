package filter

import (
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// Parse reads a script of one or more filters. An error is an *Error
// saying at which line and column, what was expected and what was found.
func Parse(src string) ([]*Filter, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	fs, err := p.script()
	if err != nil {
		return nil, err
	}
	return fs, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// errAt is a parse error at t.
func errAt(t token, format string, a ...any) error {
	return &Error{t.line, t.col, fmt.Sprintf(format, a...)}
}

// expected reports what was expected where t was found.
func expected(t token, what string) error {
	return errAt(t, "expected %s, found %s", what, t.describe())
}

// peekAt returns the n-th token from the current one, comments skipped.
func (p *parser) peekAt(n int) token {
	for j := p.i; j < len(p.toks); j++ {
		if p.toks[j].kind == tComment {
			continue
		}
		if n == 0 {
			return p.toks[j]
		}
		n--
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) peek() token { return p.peekAt(0) }

// next consumes the next token, dropping comments before it.
func (p *parser) next() token {
	for p.toks[p.i].kind == tComment {
		p.i++
	}
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// comments consumes the comment tokens at the current position and returns
// those on lines of their own (the others are dropped).
func (p *parser) comments() []string {
	var out []string
	for p.toks[p.i].kind == tComment {
		if p.toks[p.i].ownLine {
			out = append(out, p.toks[p.i].text)
		}
		p.i++
	}
	return out
}

func isPunct(t token, s string) bool { return t.kind == tPunct && t.text == s }
func isWord(t token, s string) bool  { return t.kind == tWord && t.text == s }

func (p *parser) expectPunct(s, what string) (token, error) {
	t := p.next()
	if !isPunct(t, s) {
		return t, expected(t, what)
	}
	return t, nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > MaxDepth {
		return errAt(t, "nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) script() ([]*Filter, error) {
	var fs []*Filter
	for {
		lead := p.comments()
		t := p.peek()
		switch {
		case t.kind == tEOF:
			if len(fs) == 0 {
				return nil, errAt(t, "the script holds no filter")
			}
			return fs, nil
		case isPunct(t, "."):
			// The CLI's end-of-input line, kept in exported files.
			p.next()
			continue
		}
		f, err := p.filter()
		if err != nil {
			return nil, err
		}
		f.comments = lead
		fs = append(fs, f)
	}
}

// startsFilter reports whether the tokens ahead are "name:" or "name!".
func (p *parser) startsFilter() bool {
	n := p.peekAt(1)
	return p.peek().kind == tWord && (isPunct(n, ":") || isPunct(n, "!"))
}

// reserved are the words of the language, which cannot name a filter.
var reserved = []string{"if", "else", "and", "or", "not", "true", "false"}

func (p *parser) filter() (*Filter, error) {
	t := p.next()
	if t.kind != tWord {
		return nil, expected(t, "a filter name")
	}
	if len(t.text) > MaxNameBytes {
		return nil, errAt(t, "the filter name is longer than %d characters", MaxNameBytes)
	}
	for _, w := range reserved {
		if strings.EqualFold(t.text, w) {
			return nil, errAt(t, "%q is a reserved word and cannot name a filter", t.text)
		}
	}
	// "name!" instead of "name:" is an inactive filter, as the appliance
	// writes one in DETAIL and EXPORT and reads one in NEW and IMPORT.
	sep := p.next()
	if !isPunct(sep, ":") && !isPunct(sep, "!") {
		return nil, expected(sep, "':' after the filter name")
	}
	f := &Filter{Name: t.text, Inactive: sep.text == "!"}
	for {
		// Comments go into the body only when a statement of this filter
		// follows them; otherwise they lead the next filter.
		save := p.i
		cs := p.comments()
		n := p.peek()
		if n.kind == tEOF || isPunct(n, ".") || p.startsFilter() {
			p.i = save
			break
		}
		for _, c := range cs {
			f.body = append(f.body, &commentStmt{c})
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		f.body = append(f.body, s)
	}
	if len(f.body) == 0 {
		return nil, expected(p.peek(), "'if' or an action after \""+f.Name+":\"")
	}
	return f, nil
}

func (p *parser) stmt() (stmt, error) {
	t := p.peek()
	if isWord(t, "if") {
		return p.ifStmt()
	}
	if t.kind == tWord && isPunct(p.peekAt(1), "(") {
		a, err := p.action()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(";", "';' after "+a.name+"(...)"); err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, expected(t, "'if' or an action")
}

// block reads "{ statements }"; what is what the '{' was expected as.
func (p *parser) block(what string) ([]stmt, error) {
	if _, err := p.expectPunct("{", what); err != nil {
		return nil, err
	}
	ss := []stmt{}
	for {
		for _, c := range p.comments() {
			ss = append(ss, &commentStmt{c})
		}
		if isPunct(p.peek(), "}") {
			p.next()
			return ss, nil
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	}
}

func (p *parser) ifStmt() (*ifStmt, error) {
	kw := p.next() // "if"
	if err := p.enter(kw); err != nil {
		return nil, err
	}
	defer p.leave()
	// The appliance's own example writes "if true{...}": the condition
	// needs no parentheses of its own.
	c, err := p.cond()
	if err != nil {
		return nil, err
	}
	s := &ifStmt{cond: c, line: kw.line, col: kw.col, condString: condString(c)}
	if s.then, err = p.block("'{' or a condition operator (and, or)"); err != nil {
		return nil, err
	}
	if !isWord(p.peek(), "else") {
		return s, nil
	}
	p.next()
	if isWord(p.peek(), "if") {
		e, err := p.ifStmt()
		if err != nil {
			return nil, err
		}
		s.els, s.elseIf = []stmt{e}, true
		return s, nil
	}
	if s.els, err = p.block("'{' or 'if' after 'else'"); err != nil {
		return nil, err
	}
	return s, nil
}

func (p *parser) cond() (cond, error) {
	l, err := p.andCond()
	if err != nil {
		return nil, err
	}
	for isWord(p.peek(), "or") {
		p.next()
		r, err := p.andCond()
		if err != nil {
			return nil, err
		}
		l = orCond{l, r}
	}
	return l, nil
}

func (p *parser) andCond() (cond, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for isWord(p.peek(), "and") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andCond{l, r}
	}
	return l, nil
}

func (p *parser) unary() (cond, error) {
	t := p.peek()
	if isWord(t, "not") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notCond{x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (cond, error) {
	t := p.next()
	switch {
	case isPunct(t, "("):
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		c, err := p.cond()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")", "')' or a condition operator (and, or)"); err != nil {
			return nil, err
		}
		return c, nil
	case isWord(t, "true"):
		return constCond(true), nil
	case isWord(t, "false"):
		return constCond(false), nil
	case t.kind == tWord:
		return p.rule(t)
	}
	return nil, expected(t, "a condition")
}

// spfResults are the SPF results in their canonical spelling (RFC 7208
// §2.6, as the appliance writes them).
var spfResults = []string{"None", "Pass", "Neutral", "SoftFail", "Fail", "TempError", "PermError"}

var dkimResults = []string{"pass", "neutral", "temperror", "permerror", "hardfail", "none"}

var dmarcResults = []string{"pass", "fail", "none", "temperror", "permerror"}

var spfIdentities = []string{"helo", "mailfrom", "pra"}

// canonical returns the member of list equal to s without regard to case.
func canonical(list []string, s string) (string, bool) {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return v, true
		}
	}
	return "", false
}

func (p *parser) rule(t token) (cond, error) {
	r := &rule{name: t.text}
	switch t.text {
	case "spf-status":
		r.kind = rSPFStatus
		if isPunct(p.peek(), "(") {
			args, err := p.args(t.text, 1)
			if err != nil {
				return nil, err
			}
			id, ok := canonical(spfIdentities, args[0].text)
			if !ok {
				return nil, errAt(args[0], "spf-status checks the identity \"helo\", \"mailfrom\" or \"pra\", not %q", args[0].text)
			}
			r.arg, r.hasArg = id, true
		}
		return r, p.compareSet(r, spfResults)
	case "spf-passed":
		r.kind = rSPFPassed
		return r, p.noComparison(r)
	case "dkim-authentication":
		r.kind = rDKIM
		return r, p.compareSet(r, dkimResults)
	case "dmarc", "dmarc-status":
		r.kind = rDMARC
		return r, p.compareSet(r, dmarcResults)
	case "forged-email-detection":
		r.kind = rForged
		d, n, err := p.forgedArgs()
		if err != nil {
			return nil, err
		}
		r.arg, r.n = d, n
		return r, p.noComparison(r)
	case "sendergroup", "mail-from", "rcpt-to", "subject":
		r.kind = map[string]ruleKind{"sendergroup": rSenderGroup, "mail-from": rMailFrom, "rcpt-to": rRcptTo, "subject": rSubject}[t.text]
		return r, p.compareRegex(r)
	case "header":
		r.kind = rHeader
		args, err := p.args(t.text, 1)
		if err != nil {
			return nil, err
		}
		if err := checkHeaderName(args[0]); err != nil {
			return nil, err
		}
		r.arg = args[0].text
		if op := p.peek(); isPunct(op, "==") || isPunct(op, "!=") {
			return r, p.compareRegex(r)
		}
		return r, nil
	case "remote-ip":
		r.kind = rRemoteIP
		op, v, err := p.compareString(r.name)
		if err != nil {
			return nil, err
		}
		for _, s := range strings.Split(v.text, ",") {
			s = strings.TrimSpace(s)
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil || a.Zone() != "" {
					return nil, errAt(v, "%q is not an IP address or CIDR range", s)
				}
				pf = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			if pf.Addr().Is4In6() {
				pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
			}
			r.nets = append(r.nets, pf.Masked())
		}
		r.op, r.value = op, v.text
		return r, nil
	case "body-size":
		r.kind = rBodySize
		op := p.next()
		switch op.text {
		case "==", "!=", "<", "<=", ">", ">=":
		default:
			return nil, expected(op, "a comparison (== != < <= > >=) after body-size")
		}
		v := p.next()
		n, err := parseSize(v)
		if err != nil {
			return nil, err
		}
		r.op, r.value, r.size = op.text, v.text, n
		return r, nil
	}
	return nil, errAt(t, "unknown rule %q", clip(t.text))
}

// args reads "(" string {"," string} ")" with exactly n strings.
func (p *parser) args(name string, n int) ([]token, error) {
	if _, err := p.expectPunct("(", "'(' after "+name); err != nil {
		return nil, err
	}
	var out []token
	for {
		if len(out) == 0 && n == 0 && isPunct(p.peek(), ")") {
			p.next()
			return out, nil
		}
		a := p.next()
		if a.kind != tString {
			return nil, expected(a, "a quoted string argument of "+name)
		}
		out = append(out, a)
		sep := p.next()
		if isPunct(sep, ")") {
			break
		}
		if !isPunct(sep, ",") {
			return nil, expected(sep, "',' or ')'")
		}
	}
	if len(out) != n {
		return nil, errAt(out[0], "%s takes %s, not %d", name, plural(n, "argument"), len(out))
	}
	return out, nil
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return strconv.Itoa(n) + " " + s + "s"
}

// forgedArgs reads ("Dictionary", N) with N from 1 to 100.
func (p *parser) forgedArgs() (string, int, error) {
	if _, err := p.expectPunct("(", "'(' after forged-email-detection"); err != nil {
		return "", 0, err
	}
	d := p.next()
	if d.kind != tString || d.text == "" || len(d.text) > MaxNameBytes {
		return "", 0, expected(d, "the quoted name of a content dictionary")
	}
	if _, err := p.expectPunct(",", "',' and a threshold from 1 to 100"); err != nil {
		return "", 0, err
	}
	nt := p.next()
	n, err := strconv.Atoi(nt.text)
	if nt.kind != tWord || err != nil || n < 1 || n > 100 || nt.text[0] == '0' || nt.text[0] == '+' {
		return "", 0, expected(nt, "a threshold from 1 to 100")
	}
	if _, err := p.expectPunct(")", "')'"); err != nil {
		return "", 0, err
	}
	return d.text, n, nil
}

// noComparison refuses "== ..." after a rule that is true or false by itself.
func (p *parser) noComparison(r *rule) error {
	if t := p.peek(); t.kind == tPunct {
		switch t.text {
		case "==", "!=", "<", "<=", ">", ">=":
			return errAt(t, "%s is true or false by itself and takes no comparison", r.name)
		}
	}
	return nil
}

// compareString reads "== string" or "!= string".
func (p *parser) compareString(name string) (string, token, error) {
	op := p.next()
	if !isPunct(op, "==") && !isPunct(op, "!=") {
		return "", op, expected(op, "== or != after "+name)
	}
	v := p.next()
	if v.kind != tString {
		return "", v, expected(v, "a quoted string after "+op.text)
	}
	return op.text, v, nil
}

// compareSet reads == or != and a comma-separated set of results of list.
func (p *parser) compareSet(r *rule, list []string) error {
	op, v, err := p.compareString(r.name)
	if err != nil {
		return err
	}
	for _, s := range strings.Split(v.text, ",") {
		c, ok := canonical(list, strings.TrimSpace(s))
		if !ok {
			return errAt(v, "%q is not a result of %s (%s)", strings.TrimSpace(s), r.name, strings.Join(list, ", "))
		}
		r.set = appendOnce(r.set, c)
	}
	r.op, r.value = op, strings.Join(r.set, ", ")
	return nil
}

func (p *parser) compareRegex(r *rule) error {
	op, v, err := p.compareString(r.name)
	if err != nil {
		return err
	}
	expr := v.text
	if r.kind == rSenderGroup {
		// The whole group name (see the package comment).
		expr = `^(?:` + expr + `)$`
	}
	re, err := compileRegex(expr)
	if err != nil {
		return errAt(v, "%v", err)
	}
	r.op, r.value, r.re = op, v.text, re
	return nil
}

// compileRegex compiles a Go regular expression after checking that it
// does not expand to a huge program: RE2 refuses only past millions of
// instructions, and counted repetitions multiply (x{100}{100}).
func compileRegex(expr string) (*regexp.Regexp, error) {
	sre, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %v", err)
	}
	if regexCost(sre) > MaxRegexCost {
		return nil, fmt.Errorf("the regular expression is too large (more than %d instructions)", MaxRegexCost)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %v", err)
	}
	return re, nil
}

// regexCost estimates the compiled size of re, saturating above
// MaxRegexCost.
func regexCost(re *syntax.Regexp) int {
	cost := 1
	switch re.Op {
	case syntax.OpLiteral:
		cost = len(re.Rune)
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		if n == 0 {
			n = 1
		}
		cost = regexCost(re.Sub[0]) * n
	default:
		for _, s := range re.Sub {
			cost += regexCost(s)
			if cost > MaxRegexCost {
				break
			}
		}
	}
	if cost > MaxRegexCost {
		return MaxRegexCost + 1
	}
	return cost
}

// parseSize reads a byte count with an optional k, M or G suffix (powers
// of 1024, as the appliance's size fields).
func parseSize(t token) (int64, error) {
	s := t.text
	mult := int64(1)
	if t.kind == tWord && s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:len(s)-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:len(s)-1]
		case 'g', 'G':
			mult, s = 1<<30, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if t.kind != tWord || err != nil || n < 0 || n > (1<<40)/mult || s == "" || s[0] == '-' || s[0] == '+' {
		return 0, expected(t, "a size such as 1048576, 500k or 10M")
	}
	return n * mult, nil
}

// checkHeaderName refuses what cannot be a header field name (RFC 5322
// §3.6.8: printable US-ASCII except ':').
func checkHeaderName(t token) error {
	if t.text == "" || len(t.text) > 76 {
		return errAt(t, "a header name is 1 to 76 characters")
	}
	for i := 0; i < len(t.text); i++ {
		if c := t.text[i]; c < 33 || c > 126 || c == ':' {
			return errAt(t, "%q is not a header name (printable characters other than ':' and space)", t.text)
		}
	}
	return nil
}

// action reads name(args) and checks the arguments.
func (p *parser) action() (*action, error) {
	t := p.next()
	spec, ok := actions[t.text]
	if !ok {
		return nil, errAt(t, "unknown action %q", clip(t.text))
	}
	args, err := p.args(t.text, len(spec.args))
	if err != nil {
		return nil, err
	}
	a := &action{name: t.text}
	for i, at := range args {
		if err := spec.check(i, at); err != nil {
			return nil, err
		}
		a.args = append(a.args, at.text)
	}
	return a, nil
}

// actionSpec describes an action's arguments, for the messages.
type actionSpec struct {
	args []string // what each argument is
}

var actions = map[string]actionSpec{
	"quarantine":          {[]string{"quarantine"}},
	"drop":                {},
	"bounce":              {},
	"deliver":             {},
	"skip-filters":        {},
	"insert-header":       {[]string{"header", "value"}},
	"strip-header":        {[]string{"header"}},
	"fed":                 {[]string{"from", "empty"}},
	"log-entry":           {[]string{"text"}},
	"skip-spamcheck":      {},
	"skip-viruscheck":     {},
	"skip-ampcheck":       {},
	"skip-outbreakcheck":  {},
	"skip-marketingcheck": {},
}

func (s actionSpec) check(i int, t token) error {
	switch s.args[i] {
	case "quarantine":
		if t.text == "" || len(t.text) > MaxNameBytes {
			return errAt(t, "a quarantine name is 1 to %d characters", MaxNameBytes)
		}
	case "header":
		return checkHeaderName(t)
	case "from":
		if !strings.EqualFold(t.text, "from") {
			return errAt(t, "fed replaces only the \"from\" header, not %q", t.text)
		}
	case "empty":
		if t.text != "" {
			return errAt(t, "fed takes \"\" as its second argument (the envelope sender replaces From:)")
		}
	}
	return nil
}
