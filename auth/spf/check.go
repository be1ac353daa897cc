package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RFC 7208 §4.6.4 processing limits.
const (
	maxLookups     = 10 // DNS-querying terms per check
	maxVoidLookups = 2  // lookups answering NXDOMAIN or NODATA
	maxMXNames     = 10 // MX names per mx mechanism (more is permerror)
	maxPTRNames    = 10 // PTR names considered (the rest are ignored)
)

// Checker evaluates SPF and Sender ID policies. Its fields are its
// dependencies; the zero value of each optional field has a sensible meaning.
// A Checker is safe for concurrent use.
type Checker struct {
	// Resolver answers every DNS question. Required.
	Resolver Resolver
	// Receiver is the checking host's name: the %{r} macro (RFC 7208 §7.3)
	// and the receiver= of Received-SPF:.
	Receiver string
	// Now gives the %{t} macro its time; time.Now when nil.
	Now func() time.Time
	// Timeout bounds one identity check (all its DNS queries); on expiry
	// the result is TempError. Zero: only the caller's context bounds it.
	Timeout time.Duration
	// DefaultExplanation is the macro-string used for a Fail whose record
	// has no usable exp= (RFC 7208 §6.2). Empty: no explanation.
	DefaultExplanation string
	// Sequential turns off the speculative concurrent lookups of one
	// record's include, a, mx and exists targets, which otherwise start
	// when an answer keeps the evaluation waiting (prefetch.go). RFC 7208
	// §4.6.4 counts terms and leaves the order of queries to the
	// implementation; results are still taken in term order and counted
	// within the limits.
	Sequential bool

	records recordCache
	// prefetchAfter overrides prefetchDelay when non-zero (negative: at
	// once); the tests use it to run the suites with every speculative
	// lookup started.
	prefetchAfter time.Duration
}

// Verdict is the outcome of checking one identity.
type Verdict struct {
	Identity Identity
	Result   Result
	// Sender is the mailbox checked (x-sender=): the MAIL FROM address,
	// postmaster@HELO for HELO and an empty reverse-path, or the PRA.
	Sender string
	// Domain is the domain whose policy was evaluated.
	Domain string
	// Explanation is the expanded exp= text (or the default explanation)
	// of a Fail (RFC 7208 §6.2), for the "The domain X explains:" reply.
	Explanation string
	// why says in a few words why (see Reason); kept unformatted because
	// most verdicts are never explained to anyone.
	why outcome
	// Conformance is the level the identity was checked at.
	Conformance Conformance
	// Downgraded is set when a PRA Pass was reported as None because
	// Resent-* headers were present (SIDF compatible option).
	Downgraded bool
	// ClientIP, Receiver and EnvelopeFrom are the context of the check,
	// for Received-SPF: (client-ip=, receiver=, envelope-from=).
	ClientIP     netip.Addr
	Receiver     string
	EnvelopeFrom string
}

// Identity names the identity a verdict is about (RFC 7208 §2.3, §2.4;
// RFC 4406 §2).
type Identity uint8

// The identities, as Received-SPF: names them.
const (
	HELO Identity = iota
	MailFrom
	PRA
)

// Reason says in a few words why the result is what it is: the matching
// term, the missing record, the syntax or DNS error. For logs and trace.
func (v Verdict) Reason() string { return v.why.why() }

func (i Identity) String() string {
	switch i {
	case HELO:
		return "helo"
	case MailFrom:
		return "mailfrom"
	case PRA:
		return "pra"
	}
	return fmt.Sprintf("Identity(%d)", uint8(i))
}

// CheckHost is RFC 7208 check_host(ip, domain, sender) with helo as the
// %{h} value. It is the building block of the identity checks below and of
// the conformance test runner.
func (c *Checker) CheckHost(ctx context.Context, ip netip.Addr, domain, sender, helo string) Verdict {
	return c.run(ctx, ip, domain, sender, helo, "", SPFOnly)
}

// CheckHELO checks the HELO identity: check_host(ip, helo,
// "postmaster@"+helo) (RFC 7208 §2.3).
func (c *Checker) CheckHELO(ctx context.Context, ip netip.Addr, helo string) Verdict {
	v := c.run(ctx, ip, helo, "postmaster@"+helo, helo, "", SPFOnly)
	v.Identity = HELO
	return v
}

// CheckMailFrom checks the MAIL FROM identity under RFC 7208: an empty
// reverse-path is checked as postmaster@HELO (§2.4), and a local part-less
// address as postmaster@domain (§4.3).
func (c *Checker) CheckMailFrom(ctx context.Context, ip netip.Addr, mailFrom, helo string) Verdict {
	sender, domain := mailFromIdentity(mailFrom, helo)
	v := c.run(ctx, ip, domain, sender, helo, "", SPFOnly)
	v.Identity = MailFrom
	return v
}

func mailFromIdentity(mailFrom, helo string) (sender, domain string) {
	if mailFrom == "" {
		return "postmaster@" + helo, helo
	}
	local, domain := splitSender(mailFrom)
	if !strings.Contains(mailFrom, "@") {
		// A reverse-path without "@" is read as a domain with no local
		// part (RFC 7208 §4.3: the local part becomes "postmaster"), as
		// pyspf does; the domain checks of §4.3 then apply to it.
		return "postmaster@" + mailFrom, mailFrom
	}
	if !strings.HasPrefix(mailFrom, "@") {
		return mailFrom, domain
	}
	return local + "@" + domain, domain
}

// run performs one identity check. scope is "" for RFC 7208 record
// selection, "mfrom" or "pra" for Sender ID (RFC 4406 §4.4).
func (c *Checker) run(ctx context.Context, ip netip.Addr, domain, sender, helo, scope string, level Conformance) Verdict {
	if ctx == nil {
		ctx = context.Background()
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	// RFC 7208 §5.6 note: an IPv4-mapped IPv6 client is an IPv4 client.
	ip = ip.Unmap()
	local, sdom := splitSender(sender)
	if strings.HasPrefix(sender, "@") || !strings.Contains(sender, "@") {
		sender = local + "@" + sdom
	}
	// The check state (a couple of kilobytes with the memo's inline
	// buffers) is recycled once nobody holds it: the evaluation and any
	// speculative lookups still running (see release).
	ch := checkPool.Get().(*check)
	ch.refs.Store(1)
	ch.c, ch.ctx, ch.ip, ch.scope, ch.level = c, ctx, ip, scope, level
	ch.env = macroEnv{sender: sender, local: local, senderDomain: sdom, ip: ip,
		helo: helo, receiver: c.Receiver, clock: c}
	ch.env.chk = ch
	ch.memo.init(c.Resolver)
	o := ch.checkHost(domain, true, true)
	ch.finish()
	ch.release()
	v := Verdict{Result: o.res, Sender: sender, Domain: strings.TrimSuffix(domain, "."),
		Explanation: o.exp, why: o, Conformance: level,
		ClientIP: ip, Receiver: c.Receiver, EnvelopeFrom: sender}
	if o.res == TempError && ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		v.why = outcome{reason: "SPF check timed out"}
	}
	return v
}

var checkPool = sync.Pool{New: func() any { return new(check) }}

// release drops one hold on the check; the last one recycles it. Only what
// the next check reads needs resetting: memo.init forgets the answers and
// the counters restart.
func (ch *check) release() {
	if ch.refs.Add(-1) != 0 {
		return
	}
	ch.c, ch.ctx, ch.ptrName, ch.env = nil, nil, nil, macroEnv{}
	ch.finished, ch.pctx, ch.pcancel = false, nil, nil
	ch.lookups, ch.voids = 0, 0
	checkPool.Put(ch)
}

// now is the %{t} clock, read only when an explanation uses it.
func (c *Checker) now() int64 {
	if c.Now != nil {
		return c.Now().Unix()
	}
	return time.Now().Unix()
}

// check is the state of one identity check: the counters of RFC 7208
// §4.6.4 span every record visited through include and redirect.
type check struct {
	refs atomic.Int32 // the evaluation, armed timers, running lookups
	// mu guards finished and the speculative lookups' context.
	mu       sync.Mutex
	finished bool
	pctx     context.Context
	pcancel  context.CancelFunc

	c       *Checker
	ctx     context.Context
	ip      netip.Addr
	memo    memo
	lookups int
	voids   int
	scope   string
	level   Conformance
	env     macroEnv
	ptrName map[string]string
}

type outcome struct {
	res    Result
	exp    string
	reason string
	// A match is described lazily: only the outermost one is shown.
	mech   *Mechanism
	err    error
	domain string
}

func (o outcome) why() string {
	switch {
	case o.mech != nil:
		return o.domain + " matched " + o.mech.String()
	case o.err != nil:
		return o.domain + ": " + o.err.Error()
	}
	return o.reason
}

func permErr(format string, a ...any) outcome {
	return outcome{res: PermError, reason: fmt.Sprintf(format, a...)}
}

func tempErr(format string, a ...any) outcome {
	return outcome{res: TempError, reason: fmt.Sprintf(format, a...)}
}

// validDomain reports whether d is a usable multi-label domain name (RFC
// 7208 §4.3: labels of 1 to 63 octets, no empty label but the final root,
// more than one label; RFC 1035 total length).
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return false
	}
	labels, start := 1, 0
	for i := 0; i < len(d); i++ {
		if d[i] == '.' {
			if i == start || i-start > 63 {
				return false
			}
			labels++
			start = i + 1
		}
	}
	return labels > 1 && start < len(d) && len(d)-start <= 63
}

// isLiteral reports an address literal ("[192.0.2.1]", "192.0.2.1") given
// as HELO name or MAIL FROM domain: not a domain name, so no policy
// (RFC 7208 §4.3, §2.3).
func isLiteral(d string) bool {
	if strings.HasPrefix(d, "[") {
		return true
	}
	if strings.IndexFunc(d, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }) >= 0 && !strings.Contains(d, ":") {
		return false // the usual case: a name; skip the parser's error
	}
	_, err := netip.ParseAddr(d)
	return err == nil
}

// checkHost evaluates the policy of domain. top is true for the initial
// domain of the identity (whose malformed or non-existent name gives None,
// RFC 7208 §4.3, or Fail under SIDF strict, RFC 4406 §4.3); wantExp is false
// inside include, whose explanations are never used (RFC 7208 §6.2).
func (ch *check) checkHost(domain string, top, wantExp bool) outcome {
	if !validDomain(domain) || top && isLiteral(domain) {
		if top && ch.level == SIDFStrict && ch.scope != "" {
			return outcome{res: Fail, reason: "malformed identity domain " + domain}
		}
		return outcome{res: None, reason: "malformed domain " + domain}
	}
	domain = strings.TrimSuffix(domain, ".")
	txts, err := ch.memo.txt(ch.ctx, domain)
	switch classify(len(txts), err) {
	case dnsTemp:
		return tempErr("DNS error looking up %s: %v", domain, err)
	case dnsNX:
		if top && ch.level == SIDFStrict && ch.scope != "" {
			return outcome{res: Fail, reason: "domain " + domain + " does not exist"}
		}
		return outcome{res: None, reason: "domain " + domain + " does not exist"}
	}
	txt, o, ok := ch.selectRecord(domain, txts)
	if !ok {
		return o
	}
	rec, err := ch.c.parse(txt)
	if err != nil {
		// Formatted only if asked for (Verdict.Reason of the outermost
		// outcome): inside include it is often thrown away.
		return outcome{res: PermError, err: err, domain: domain}
	}
	return ch.evaluate(domain, rec, wantExp)
}

// selectRecord picks the one record that applies (RFC 7208 §4.5; RFC 4406
// §4.4 for Sender ID scopes).
func (ch *check) selectRecord(domain string, txts []string) (string, outcome, bool) {
	var v1, v2 []string
	for _, t := range txts {
		switch recordVersion(t) {
		case "v=spf1":
			v1 = append(v1, t)
		case "spf2.0":
			if ch.scope != "" && hasScope(t, ch.scope) {
				v2 = append(v2, t)
			}
		}
	}
	if ch.scope != "" {
		// RFC 4406 §4.4: a v=spf1 record counts as "spf2.0/mfrom,pra"
		// (SIDF strict); SIDF compatible reads it as "spf2.0/mfrom" only,
		// so a PRA is never judged by a record written for SPF. Records of
		// version 2.0 covering the scope take precedence over v=spf1.
		v1ok := ch.level == SIDFStrict || ch.scope == "mfrom"
		switch {
		case len(v2) > 0:
			v1 = v2
		case !v1ok:
			v1 = nil
		}
	}
	switch len(v1) {
	case 0:
		return "", outcome{res: None, reason: "no SPF record for " + domain}, false
	case 1:
		return v1[0], outcome{}, true
	}
	return "", permErr("%s has more than one SPF record", domain), false
}

// hasScope reports whether an spf2.0 record's scope list includes scope.
func hasScope(txt, scope string) bool {
	f := txt[len("spf2.0/"):]
	if i := strings.IndexByte(f, ' '); i >= 0 {
		f = f[:i]
	}
	for _, s := range strings.Split(f, ",") {
		if strings.EqualFold(s, scope) {
			return true
		}
	}
	return false
}

// countLookup accounts for one DNS-querying term (RFC 7208 §4.6.4).
func (ch *check) countLookup() bool {
	ch.lookups++
	return ch.lookups <= maxLookups
}

// void accounts for one void lookup; false once the limit is passed.
func (ch *check) void() bool {
	ch.voids++
	return ch.voids <= maxVoidLookups
}

func qualResult(q byte) Result {
	switch q {
	case '-':
		return Fail
	case '~':
		return SoftFail
	case '?':
		return Neutral
	}
	return Pass
}

// target expands a mechanism's domain-spec (or takes the current domain)
// and applies the 253-octet left truncation of RFC 7208 §7.3.
func (ch *check) target(ms *macroString, domain string) string {
	if ms == nil {
		return domain
	}
	env := ch.env
	env.domain = domain
	return truncateDomain(ms.expand(&env))
}

func truncateDomain(d string) string {
	d = strings.TrimSuffix(d, ".")
	for len(d) > 253 {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return d
}

func (ch *check) evaluate(domain string, rec *Record, wantExp bool) outcome {
	if !ch.c.Sequential {
		if t := ch.armPrefetch(domain, rec); t != nil {
			defer ch.disarm(t)
		}
	}
	for i := range rec.Mechanisms {
		m := &rec.Mechanisms[i]
		matched, o, stop := ch.mechanism(domain, m)
		if stop {
			return o
		}
		if matched {
			res := qualResult(m.Qualifier)
			out := outcome{res: res, mech: m, domain: domain}
			if res == Fail && wantExp {
				out.exp = ch.explanation(domain, rec)
			}
			return out
		}
	}
	// RFC 7208 §6.1: redirect applies only when no mechanism matched and
	// the record has no "all" mechanism.
	if rec.redirect != nil && !rec.hasAll {
		if !ch.countLookup() {
			return permErr("more than %d DNS lookups", maxLookups)
		}
		t := ch.target(rec.redirect, domain)
		if !validDomain(t) {
			return permErr("redirect to malformed domain %q", t)
		}
		o := ch.checkHost(t, false, wantExp)
		if o.res == None {
			// §6.1: a redirect target without a record is a permerror.
			return permErr("redirect target %s has no SPF record", t)
		}
		return o
	}
	return outcome{res: Neutral, reason: domain + ": no mechanism matched"}
}

// mechanism evaluates one term. stop means the check ends with o.
func (ch *check) mechanism(domain string, m *Mechanism) (matched bool, o outcome, stop bool) {
	switch m.Kind {
	case All:
		return true, o, false
	case IP4:
		return ch.ip.Is4() && m.Net.Contains(ch.ip), o, false
	case IP6:
		return ch.ip.Is6() && m.Net.Contains(ch.ip), o, false
	}
	if !ch.countLookup() {
		return false, permErr("more than %d DNS lookups", maxLookups), true
	}
	t := ch.target(m.macro, domain)
	switch m.Kind {
	case Include:
		if !validDomain(t) {
			return false, permErr("include of malformed domain %q", t), true
		}
		in := ch.checkHost(t, false, false)
		// RFC 7208 §5.2 table.
		switch in.res {
		case Pass:
			return true, o, false
		case Fail, SoftFail, Neutral:
			return false, o, false
		case TempError:
			return false, in, true
		case None:
			return false, permErr("included domain %s has no SPF record", t), true
		default:
			return false, in, true
		}
	case A:
		return ch.matchHost(t, m)
	case MX:
		if !validDomain(t) {
			return false, o, false
		}
		hosts, err := ch.memo.mx(ch.ctx, t)
		switch classify(len(hosts), err) {
		case dnsTemp:
			return false, tempErr("DNS error looking up MX %s: %v", t, err), true
		case dnsVoid, dnsNX:
			if !ch.void() {
				return false, permErr("more than %d void lookups", maxVoidLookups), true
			}
			return false, o, false
		}
		if len(hosts) > maxMXNames {
			// RFC 7208 §4.6.4: more than 10 MX names is a permerror.
			return false, permErr("%s has more than %d MX records", t, maxMXNames), true
		}
		for _, h := range hosts {
			ok, o2, stop := ch.matchHost(h, m)
			if ok || stop {
				return ok, o2, stop
			}
		}
		return false, o, false
	case PTR:
		for _, n := range ch.validatedNames() {
			if domainWithin(n, t) {
				return true, o, false
			}
		}
		return false, o, false
	case Exists:
		if !validDomain(t) {
			return false, o, false
		}
		// RFC 7208 §5.7: always an A query, whatever the client's family.
		addrs, err := ch.memo.addrs(ch.ctx, t, false)
		switch classify(len(addrs), err) {
		case dnsTemp:
			return false, tempErr("DNS error looking up %s: %v", t, err), true
		case dnsVoid, dnsNX:
			if !ch.void() {
				return false, permErr("more than %d void lookups", maxVoidLookups), true
			}
			return false, o, false
		}
		return true, o, false
	}
	return false, o, false
}

// matchHost looks up the addresses of host in the client's family and
// compares them under the mechanism's prefix lengths (RFC 7208 §5.3, §5.4).
func (ch *check) matchHost(host string, m *Mechanism) (bool, outcome, bool) {
	if !validDomain(host) {
		return false, outcome{}, false
	}
	v6 := ch.ip.Is6()
	addrs, err := ch.memo.addrs(ch.ctx, strings.TrimSuffix(host, "."), v6)
	switch classify(len(addrs), err) {
	case dnsTemp:
		return false, tempErr("DNS error looking up %s: %v", host, err), true
	case dnsVoid, dnsNX:
		if !ch.void() {
			return false, permErr("more than %d void lookups", maxVoidLookups), true
		}
		return false, outcome{}, false
	}
	bits := m.Prefix4
	if v6 {
		bits = m.Prefix6
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is6() != v6 {
			continue
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(ch.ip) {
			return true, outcome{}, false
		}
	}
	return false, outcome{}, false
}

// validatedNames returns the client's validated host names (RFC 7208 §5.5):
// the PTR names (at most 10) whose forward lookup gives the client address
// back. DNS errors simply leave names out.
func (ch *check) validatedNames() []string {
	names, err := ch.memo.ptr(ch.ctx, ch.ip)
	if err != nil {
		return nil
	}
	if len(names) > maxPTRNames {
		names = names[:maxPTRNames]
	}
	var out []string
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		if !validDomain(n) {
			continue
		}
		addrs, err := ch.memo.addrs(ch.ctx, n, ch.ip.Is6())
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ch.ip {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// validatedName is %{p} (RFC 7208 §7.3): a validated name equal to the
// domain, else one within it, else any, else "unknown".
func (ch *check) validatedName(domain string) string {
	if v, ok := ch.ptrName[domain]; ok {
		return v
	}
	names := ch.validatedNames()
	best := "unknown"
	for _, n := range names {
		if strings.EqualFold(n, domain) {
			best = n
			break
		}
	}
	if best == "unknown" {
		for _, n := range names {
			if domainWithin(n, domain) {
				best = n
				break
			}
		}
	}
	if best == "unknown" && len(names) > 0 {
		best = names[0]
	}
	if ch.ptrName == nil {
		ch.ptrName = map[string]string{}
	}
	ch.ptrName[domain] = best
	return best
}

// domainWithin reports whether name is d or a subdomain of d.
func domainWithin(name, d string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	return name == d || strings.HasSuffix(name, "."+d)
}

// explanation computes the text for a Fail (RFC 7208 §6.2): the TXT record
// named by exp=, expanded with the explanation macros; any problem (DNS
// error, no record, several records, bad syntax) falls back to the default
// explanation.
func (ch *check) explanation(domain string, rec *Record) string {
	env := ch.env
	env.domain = domain
	if rec.exp != nil {
		t := truncateDomain(rec.exp.expand(&env))
		if validDomain(t) {
			txts, err := ch.memo.txt(ch.ctx, t)
			if err == nil && len(txts) == 1 {
				if ms, err := ch.c.explainMacro(txts[0]); err == nil {
					return ms.expand(&env)
				}
			}
		}
	}
	if ch.c.DefaultExplanation == "" {
		return ""
	}
	ms, err := ch.c.explainMacro(ch.c.DefaultExplanation)
	if err != nil {
		return ch.c.DefaultExplanation
	}
	return ms.expand(&env)
}

func (ms *macroString) uses(l byte) bool {
	for _, it := range ms.items {
		if it.letter == l {
			return true
		}
	}
	return false
}

// String renders the mechanism as it would appear in a record.
func (m *Mechanism) String() string {
	var b strings.Builder
	if m.Qualifier != '+' {
		b.WriteByte(m.Qualifier)
	}
	b.WriteString(m.Kind.String())
	switch m.Kind {
	case IP4, IP6:
		b.WriteString(":" + m.Net.String())
	default:
		if m.Domain != "" {
			b.WriteString(":" + m.Domain)
		}
		if m.Prefix4 != 32 {
			fmt.Fprintf(&b, "/%d", m.Prefix4)
		}
		if m.Prefix6 != 128 {
			fmt.Fprintf(&b, "//%d", m.Prefix6)
		}
	}
	return b.String()
}
