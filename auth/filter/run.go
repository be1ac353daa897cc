package filter

import (
	"net/netip"
	"strings"
)

// Field is one header field: its name and its value, unfolded but
// otherwise raw (encoded words are not decoded).
type Field struct{ Name, Value string }

// Message is what the filters see of a message: the verdicts computed on
// the way in, the envelope and the header.
type Message struct {
	// SPF holds the result per identity ("helo", "mailfrom", "pra"):
	// "Pass", "Fail", "SoftFail", "Neutral", "None", "TempError",
	// "PermError". An identity not checked is absent.
	SPF map[string]string
	// DKIM is "pass", "neutral", "temperror", "permerror", "hardfail" or
	// "none"; "" when not verified.
	DKIM string
	// DMARC is "pass", "fail", "none", "temperror" or "permerror"; "" when
	// not verified.
	DMARC       string
	SenderGroup string
	RemoteIP    string
	MailFrom    string // "" for the null sender <>
	Rcpts       []string
	Header      []Field
	Size        int64
}

// Dictionary is a content dictionary as the filters use it.
type Dictionary struct {
	Terms                  []string
	IgnoreCase, WholeWords bool

	names []*name // Terms in comparison form (Prepared), or nil
}

// Env is what Run looks up outside the message.
type Env struct {
	// Dictionary returns the named content dictionary; nil or a missing
	// name makes forged-email-detection false.
	Dictionary func(name string) (Dictionary, bool)
}

// Disposition is what happens to the message after the filters.
type Disposition int

const (
	Deliver Disposition = iota // go on through the pipeline (the default)
	Drop                       // discard silently
	Bounce                     // return to the sender
)

func (d Disposition) String() string {
	switch d {
	case Drop:
		return "drop"
	case Bounce:
		return "bounce"
	}
	return "deliver"
}

// Match is one forged email detection match: the From: display name was
// Score (1 to 100) similar to Term of Dictionary.
type Match struct {
	Dictionary, Term string
	Score            int
}

// Result is what the filters decided.
type Result struct {
	Disposition Disposition
	Quarantine  string   // the quarantine the message goes to, "" none
	Insert      []Field  // header fields to add, in order
	Strip       []string // header names whose fields are removed from the original header
	Forged      []Match  // forged-email-detection matches
	Log         []string // log-entry texts, expanded
	Matched     []string // filters at least one of whose actions ran
	Trace       []string // one line per filter, for trace
}

// Run applies filters, in order, to m; an inactive one ("name!") is
// passed over. Run never fails: a rule that cannot be evaluated (a
// dictionary gone) is false, and says so in the trace.
func Run(filters []*Filter, m *Message, env Env) Result {
	r := &runner{m: m, env: env}
	for _, f := range filters {
		if f.Inactive {
			r.res.Trace = append(r.res.Trace, f.Name+": inactive, not run")
			continue
		}
		if r.stopped != "" {
			r.res.Trace = append(r.res.Trace, f.Name+": not run ("+r.stopped+")")
			continue
		}
		r.f, r.notes, r.done, r.stopFilter = f, r.notes[:0], r.done[:0], false
		r.exec(f.body)
		if len(r.done) > 0 {
			r.res.Matched = append(r.res.Matched, f.Name)
		}
		line := f.Name + ": "
		if len(r.notes) > 0 {
			line += strings.Join(r.notes, "; ") + " "
		}
		if len(r.done) == 0 {
			line += "-> no action"
		} else {
			line += "-> " + strings.Join(r.done, ", ")
		}
		r.res.Trace = append(r.res.Trace, line)
	}
	if r.res.Disposition != Deliver && r.res.Quarantine != "" {
		r.res.Trace = append(r.res.Trace, "the message is "+map[Disposition]string{Drop: "dropped", Bounce: "bounced"}[r.res.Disposition]+
			", not kept in quarantine "+r.res.Quarantine)
		r.res.Quarantine = ""
	}
	return r.res
}

type runner struct {
	m   *Message
	env Env
	res Result

	f          *Filter
	notes      []string // conditions evaluated, with their values
	done       []string // actions run
	stopFilter bool     // a final action ended this filter
	stopped    string   // why later filters do not run, "" while they do
}

func (r *runner) exec(ss []stmt) {
	for _, s := range ss {
		if r.stopFilter {
			return
		}
		switch s := s.(type) {
		case *ifStmt:
			v := r.eval(s.cond)
			if v {
				r.notes = append(r.notes, "("+s.condString+") is true")
				r.exec(s.then)
			} else {
				r.notes = append(r.notes, "("+s.condString+") is false")
				r.exec(s.els)
			}
		case *action:
			r.do(s)
		}
	}
}

func (r *runner) final(a *action, why string) {
	r.stopFilter = true
	r.stopped = a.String() + " in " + r.f.Name + " " + why
}

func (r *runner) do(a *action) {
	text := a.String()
	switch a.name {
	case "quarantine":
		if r.res.Quarantine == "" {
			r.res.Quarantine = a.args[0]
		} else if r.res.Quarantine != a.args[0] {
			text += " (already in quarantine " + r.res.Quarantine + ")"
		}
	case "drop":
		r.res.Disposition = Drop
		r.final(a, "is final")
	case "bounce":
		r.res.Disposition = Bounce
		r.final(a, "is final")
	case "deliver":
		r.final(a, "is final")
	case "skip-filters":
		r.final(a, "skips the remaining filters")
	case "insert-header":
		r.res.Insert = append(r.res.Insert, Field{a.args[0], r.expand(a.args[1])})
	case "strip-header":
		r.strip(a.args[0])
	case "fed":
		// The From: becomes the bare envelope sender; a null sender
		// (RFC 5321 §4.5.5) has no address to show, so From: stays.
		from := strings.TrimSuffix(strings.TrimPrefix(r.m.MailFrom, "<"), ">")
		if from == "" {
			text += " (null envelope sender: From: left alone)"
			break
		}
		r.strip("From")
		r.res.Insert = append(r.res.Insert, Field{"From", clean(from)})
	case "log-entry":
		r.res.Log = append(r.res.Log, r.expand(a.args[0]))
	default:
		// skip-spamcheck and the other skip-*check actions: there is no
		// such scanning engine to skip, so they are recorded and do
		// nothing else.
	}
	r.done = append(r.done, text)
}

// strip removes the named fields: from the original header (Strip) and
// those earlier actions inserted.
func (r *runner) strip(name string) {
	var kept []Field
	for _, f := range r.res.Insert {
		if !strings.EqualFold(f.Name, name) {
			kept = append(kept, f)
		}
	}
	r.res.Insert = kept
	for _, s := range r.res.Strip {
		if strings.EqualFold(s, name) {
			return
		}
	}
	r.res.Strip = append(r.res.Strip, name)
}

// header returns the first value of the named field of the original
// message, "" when absent.
func (r *runner) header(name string) string {
	for _, f := range r.m.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// expand replaces the action variables with values of the original
// message. Unknown $words stay as they are.
func (r *runner) expand(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	vars := []struct{ name, value string }{
		{"$Subject", r.header("Subject")},
		{"$EnvelopeFrom", r.m.MailFrom},
		{"$RemoteIP", r.m.RemoteIP},
		{"$FilterName", r.f.Name},
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '$' {
			matched := false
			for _, v := range vars {
				if len(s)-i >= len(v.name) && strings.EqualFold(s[i:i+len(v.name)], v.name) {
					b.WriteString(clean(v.value))
					i += len(v.name)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// clean keeps a value on one header line: CR and LF cannot come from an
// unfolded field or an envelope address, but a header we write must never
// split whatever the caller handed us.
func clean(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

func (r *runner) eval(c cond) bool {
	switch c := c.(type) {
	case orCond:
		return r.eval(c.l) || r.eval(c.r)
	case andCond:
		return r.eval(c.l) && r.eval(c.r)
	case notCond:
		return !r.eval(c.x)
	case constCond:
		return bool(c)
	case *rule:
		return r.rule(c)
	}
	return false
}

// spfStatus applies an spf-status rule: to the identity it names, or,
// without one, to every identity checked, true when one of the verdicts
// matches (AsyncOS 10.0 user guide, "SPF-Status Rule": "the rule is
// triggered if one of the verdicts in the message matches the rule"). No
// identity checked at all counts as None.
func (r *runner) spfStatus(c *rule) bool {
	if c.hasArg {
		return inSet(c, r.m.SPF[c.arg])
	}
	any := false
	for _, id := range spfIdentities {
		if v := r.m.SPF[id]; v != "" {
			any = true
			if inSet(c, v) {
				return true
			}
		}
	}
	return !any && inSet(c, "")
}

// spfBest returns the result spf-passed checks: the most specific identity
// checked (PRA, MAIL FROM, HELO; see the package comment).
func (r *runner) spfBest() string {
	for _, id := range []string{"pra", "mailfrom", "helo"} {
		if v := r.m.SPF[id]; v != "" {
			return v
		}
	}
	return ""
}

// inSet applies == or != of a set rule to result v; "" counts as none.
func inSet(c *rule, v string) bool {
	if v == "" {
		v = "none"
	}
	in := false
	for _, s := range c.set {
		if strings.EqualFold(s, v) {
			in = true
			break
		}
	}
	return in == (c.op == "==")
}

func (r *runner) rule(c *rule) bool {
	switch c.kind {
	case rSPFStatus:
		return r.spfStatus(c)
	case rSPFPassed:
		return strings.EqualFold(r.spfBest(), "Pass")
	case rDKIM:
		return inSet(c, r.m.DKIM)
	case rDMARC:
		return inSet(c, r.m.DMARC)
	case rForged:
		return r.forged(c)
	case rSenderGroup:
		return c.re.MatchString(r.m.SenderGroup) == (c.op == "==")
	case rMailFrom:
		return c.re.MatchString(r.m.MailFrom) == (c.op == "==")
	case rRcptTo:
		any := false
		for _, rc := range r.m.Rcpts {
			if c.re.MatchString(rc) {
				any = true
				break
			}
		}
		return any == (c.op == "==")
	case rSubject:
		return r.anyField("Subject", c)
	case rHeader:
		if c.op == "" {
			for _, f := range r.m.Header {
				if strings.EqualFold(f.Name, c.arg) {
					return true
				}
			}
			return false
		}
		return r.anyField(c.arg, c)
	case rRemoteIP:
		in := false
		if a, err := netip.ParseAddr(r.m.RemoteIP); err == nil {
			a = a.Unmap().WithZone("")
			for _, n := range c.nets {
				if n.Contains(a) {
					in = true
					break
				}
			}
		}
		return in == (c.op == "==")
	case rBodySize:
		s := r.m.Size
		switch c.op {
		case "==":
			return s == c.size
		case "!=":
			return s != c.size
		case "<":
			return s < c.size
		case "<=":
			return s <= c.size
		case ">":
			return s > c.size
		case ">=":
			return s >= c.size
		}
	}
	return false
}

// anyField: == is true when some field of that name matches, != when none
// does (an absent field matches nothing).
func (r *runner) anyField(name string, c *rule) bool {
	any := false
	for _, f := range r.m.Header {
		if strings.EqualFold(f.Name, name) && c.re.MatchString(f.Value) {
			any = true
			break
		}
	}
	return any == (c.op == "==")
}

func (r *runner) forged(c *rule) bool {
	if r.env.Dictionary == nil {
		r.notes = append(r.notes, "dictionary "+c.arg+" not available")
		return false
	}
	d, ok := r.env.Dictionary(c.arg)
	if !ok {
		r.notes = append(r.notes, "dictionary "+c.arg+" not found")
		return false
	}
	name := DisplayName(r.header("From"))
	if name == "" {
		return false
	}
	term, score := d.bestMatch(name, c.n)
	if term == "" {
		return false
	}
	m := Match{Dictionary: c.arg, Term: term, Score: score}
	for _, x := range r.res.Forged {
		if x == m {
			return true
		}
	}
	r.res.Forged = append(r.res.Forged, m)
	return true
}
