package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"esa/delivery/dane"
	"esa/delivery/queue"
	"esa/delivery/smtpclient"
	"esa/dnssec"
)

// session is one open delivery connection (DCID).
type session struct {
	dcid      uint64
	conn      net.Conn
	c         *smtpclient.Conn
	ext       smtpclient.Extensions
	tls       bool
	dane      bool
	verified  bool
	ip        netip.Addr
	host      string
	sent      int
	broken    bool
	domain    string
	perIPSlot bool
	rerouted  bool          // opened for redirectrecipients' route
	rec       chan struct{} // closed when the last delivery's record is written (record.go)
	async     bool          // the last job was handed to that record
	bw        *bufio.Writer // body writer, reset onto conn for each message
	buf       []byte        // copy buffer
}

// failure is why no connection could carry a message.
type failure struct {
	dcid   uint64 // the connection that failed, 0 when none was opened
	status string // the remote's enhanced status code (RFC 3463), for the DSN
	perm   bool
	enh    string // enhanced status code
	reason string // the appliance's reason text ("Bad destination host")
	code   string // SMTP code or "000"
	text   string // response text or our detail
}

func (f *failure) Error() string { return f.reason + ": " + f.text }

// target is one host to try, with the TLS rules that apply to it.
type target struct {
	name  string
	addrs []netip.Addr
	port  int
	dane  *dane.Host // DANE applies: TLS mandatory, and authentication when State is StateDANE
	skip  string     // why DANE forbids using this host (held, never clear)
}

func (e *Engine) logf(format string, a ...any) { e.cfg.Log.Info(format, a...) }

// deliverJob delivers the pending recipients of job.mid at job.domain,
// on s when it can still carry a message, and returns the session to keep.
func (e *Engine) deliverJob(ds *dest, s *session, j job) *session {
	en, ok := e.cfg.Queue.Get(j.mid)
	if !ok {
		return s
	}
	var rids []int
	for _, rid := range en.Pending() {
		if domainOf(en.Envelope.Recipients[rid]) == j.domain {
			rids = append(rids, rid)
		}
	}
	if len(rids) == 0 {
		return s
	}
	slices.Sort(rids)
	pol := e.cfg.Policy(j.domain).normalised()
	now := e.cfg.Now()

	// Recipient rate limit per window (destconfig): what exceeds it waits
	// for the next window without counting as an attempt.
	if pol.RecipientLimit > 0 {
		e.mu.Lock()
		if now.Sub(ds.windowStart) >= pol.RecipientWindow {
			ds.windowStart, ds.windowSent = now, 0
		}
		room := pol.RecipientLimit - ds.windowSent
		if room <= 0 {
			ds.blockedUntil = ds.windowStart.Add(pol.RecipientWindow)
			e.mu.Unlock()
			e.kick()
			e.notify(Event{MID: j.mid, Domain: j.domain, RIDs: rids, Outcome: Deferred,
				Reason: fmt.Sprintf("recipient limit %d per %v reached; not an attempt", pol.RecipientLimit, pol.RecipientWindow)})
			return s
		}
		if len(rids) > room {
			rids = rids[:room]
		}
		ds.windowSent += len(rids)
		e.mu.Unlock()
	}

	route, routed, redirected := e.routeFor(j)
	if routed && route.DevNull {
		// smtproutes /dev/null: accepted and dropped, as delivered.
		e.logf("Delivery start DCID 0 MID %d to RID %s", j.mid, ridList(rids))
		e.logf("Message done DCID 0 MID %d to RID %s", j.mid, ridList(rids))
		e.markDelivered(en.Envelope, j.domain, rids, nil, "/dev/null")
		return s
	}

	// A redirected message never rides a connection opened for the
	// domain's own route, nor the other way round.
	if s != nil && (s.broken || s.sent >= pol.MessagesPerConn || s.rerouted != redirected) {
		e.closeSession(s)
		s = nil
	}
	if s == nil {
		var f *failure
		s, f = e.connect(pol, j.domain, en.Envelope.Relayed, route, routed)
		if f != nil {
			e.fail(en, j.domain, each(rids, f), f.dcid, pol)
			return nil
		}
		s.rerouted = redirected
	}
	e.transaction(s, en, j, rids, pol)
	return s
}

func ridList(rids []int) string {
	parts := make([]string, len(rids))
	for i, r := range rids {
		parts[i] = strconv.Itoa(r)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// targets lists the hosts for domain in order with their DANE rules, or
// the failure that stops delivery.
func (e *Engine) targets(pol Policy, domain string, relayed bool, route Route, routed bool) ([]target, *failure) {
	// DANE only for relayed (outbound) mail and only when TLS is on at all:
	// destconfig asks for DANE only then (SPEC.md §2, seed 003).
	applyDANE := pol.DANE != DANENo && pol.TLS != TLSNo && relayed
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.Timeout)
	defer cancel()
	if routed && !route.UseDNS {
		hosts := slices.Clone(route.Hosts)
		slices.SortStableFunc(hosts, func(a, b RouteHost) int { return a.Priority - b.Priority })
		var plan *dane.Report
		if applyDANE {
			plan = e.verifier.Plan(ctx, domain, nil)
		}
		var out []target
		for _, rh := range hosts {
			t := target{name: strings.TrimSuffix(rh.Host, "."), port: rh.Port}
			if t.port == 0 {
				t.port = e.cfg.Port
			}
			if ip, err := netip.ParseAddr(strings.Trim(t.name, "[]")); err == nil {
				t.addrs = []netip.Addr{ip}
			} else {
				t.addrs = e.lookupAddrs(ctx, t.name)
			}
			// SPEC.md §2: DANE is skipped for a routed domain unless the
			// route's host is the domain's own MX; then its DANE state
			// from the MX walk applies.
			if plan != nil && plan.MX == dane.MXFound {
				for _, h := range plan.Hosts {
					if strings.EqualFold(h.Name, t.name) {
						e.daneRules(pol, plan, h, &t)
					}
				}
			}
			out = append(out, t)
		}
		return out, nil
	}
	rep := e.verifier.Plan(ctx, domain, nil)
	switch rep.MX {
	case dane.MXNXDomain:
		return nil, &failure{perm: true, enh: "5.1.2", reason: "Bad destination host", code: "000",
			text: fmt.Sprintf("DNS Hard Error looking up %s (MX):  NXDomain", domain)}
	case dane.MXNull:
		// RFC 7505 §4.1: 556 5.1.10 for a domain that accepts no mail.
		return nil, &failure{perm: true, enh: "5.1.10", reason: "Bad destination host", code: "556",
			text: fmt.Sprintf("5.1.10 Domain %s does not accept mail (null MX)", domain)}
	case dane.MXFailed:
		return nil, &failure{enh: "4.4.3", reason: "DNS temporary failure", code: "000",
			text: fmt.Sprintf("DNS Soft Error looking up %s (MX)", domain)}
	}
	if rep.Interrupted {
		return nil, &failure{enh: "4.4.0", reason: "Delivery interrupted", code: "000", text: "shutting down"}
	}
	var out []target
	for _, h := range rep.Hosts {
		t := target{name: h.Name, addrs: h.Addrs, port: e.cfg.Port}
		if applyDANE {
			e.daneRules(pol, rep, h, &t)
		}
		out = append(out, t)
	}
	return out, nil
}

// daneRules sets t's DANE rules from the walk (SPEC.md §2, DANE.md §2.2):
// usable TLSA → authenticated TLS; secure but unusable TLSA → encrypted
// (opportunistic only); no secure TLSA → the TLS setting (opportunistic)
// or held (mandatory); bogus → the host is unusable.
func (e *Engine) daneRules(pol Policy, rep *dane.Report, h *dane.Host, t *target) {
	mxSecure := rep.MXSecurity == dnssec.Secure
	switch h.State {
	case dane.StateDANE:
		if pol.DANE == DANEMandatory && !mxSecure {
			t.skip = "DANE mandatory: the MX record is not secure"
			return
		}
		t.dane = h
	case dane.StateEncrypt:
		if pol.DANE == DANEMandatory {
			t.skip = "DANE mandatory: no usable TLSA record"
			return
		}
		t.dane = h
	case dane.StateNoDANE:
		if pol.DANE == DANEMandatory {
			t.skip = "DANE mandatory: " + orDefault(h.Reason, "no secure TLSA record")
		}
	default:
		if len(h.Addrs) > 0 || h.Reason != "no address records" {
			t.skip = "DANE: " + orDefault(h.Reason, "bogus DNS records")
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// lookupAddrs resolves an smtproutes host name; bogus answers are dropped
// by the validating resolver's verdict.
func (e *Engine) lookupAddrs(ctx context.Context, name string) []netip.Addr {
	var out []netip.Addr
	for _, qt := range []uint16{1, 28} { // A, AAAA
		ans, err := e.cfg.Resolver.Lookup(ctx, strings.TrimSuffix(name, ".")+".", qt)
		if err != nil || ans.Security == dnssec.Bogus || ans.Security == dnssec.Indeterminate {
			continue
		}
		for _, rr := range ans.Records {
			switch fields := strings.Fields(rr.String()); {
			case len(fields) >= 5:
				if ip, err := netip.ParseAddr(fields[len(fields)-1]); err == nil {
					out = append(out, ip)
				}
			}
		}
	}
	return out
}

// connect opens a session to the first host and address that works under
// the destination's TLS and DANE rules.
func (e *Engine) connect(pol Policy, domain string, relayed bool, route Route, routed bool) (*session, *failure) {
	ts, f := e.targets(pol, domain, relayed, route, routed)
	if f != nil {
		return nil, f
	}
	last := &failure{enh: "4.4.1", reason: "Unable to connect to the host", code: "000", text: "no usable mail host"}
	if len(ts) == 0 {
		return nil, last
	}
	for _, t := range ts {
		if t.skip != "" {
			// Held: never clear, never "preferred" (SPEC.md §2).
			e.logf("Connection Error: DCID 0 domain: %s IP: %s port: %d details: %s interface: %s reason: DANE failure",
				domain, firstAddr(t.addrs), t.port, t.skip, "0.0.0.0")
			last = &failure{enh: "4.7.5", reason: "DANE verification failed", code: "000", text: t.skip}
			continue
		}
		for _, ip := range pol.IPSort.sortAddrs(t.addrs) {
			s, f := e.open(pol, domain, t, ip)
			if f == nil {
				return s, nil
			}
			last = f
		}
	}
	return nil, last
}

func firstAddr(a []netip.Addr) string {
	if len(a) == 0 {
		return "0.0.0.0"
	}
	return a[0].String()
}

// acquireIP waits for a free connection slot at ip (concurrency per MX IP).
func (e *Engine) acquireIP(pol Policy, ip string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.ipUse[ip] >= pol.Concurrency {
		if e.ctx.Err() != nil {
			return false
		}
		e.ipFree.Wait()
	}
	e.ipUse[ip]++
	return true
}

func (e *Engine) releaseIP(ip string) {
	e.mu.Lock()
	e.ipUse[ip]--
	e.ipFree.Broadcast()
	e.mu.Unlock()
}

// open connects to ip and runs greeting, EHLO and the TLS step.
func (e *Engine) open(pol Policy, domain string, t target, ip netip.Addr) (*session, *failure) {
	if pol.PerIP && !e.acquireIP(pol, ip.String()) {
		return nil, &failure{enh: "4.4.0", reason: "Delivery interrupted", code: "000", text: "shutting down"}
	}
	release := func() {
		if pol.PerIP {
			e.releaseIP(ip.String())
		}
	}
	dcid, _ := e.cfg.Queue.IDs().Next(queue.DCID)
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(t.port))
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.Timeout)
	conn, err := e.cfg.Dial(ctx, "tcp", addr)
	cancel()
	netErr := func(details string) *failure {
		local := "0.0.0.0"
		if conn != nil {
			local = localIP(conn)
		}
		e.logf("Connection Error: DCID %d domain: %s IP: %s port: %d details: %s interface: %s reason: network error",
			dcid, domain, ip, t.port, details, local)
		return &failure{enh: "4.4.1", reason: "Unable to connect to the host", code: "000", text: details}
	}
	if err != nil {
		release()
		return nil, netErr(err.Error())
	}
	e.logf("New SMTP DCID %d interface %s address %s port %d", dcid, localIP(conn), ip, t.port)
	e.mu.Lock()
	st := e.statLocked(domain)
	st.Connections++
	st.ActiveConns++
	e.mu.Unlock()
	s := &session{dcid: dcid, conn: conn, c: smtpclient.New(conn), ip: ip, host: t.name, domain: domain, perIPSlot: pol.PerIP}
	closeWith := func(f *failure) (*session, *failure) {
		f.dcid = dcid
		e.closeSessionQuiet(s, pol)
		return nil, f
	}
	_ = conn.SetDeadline(time.Now().Add(e.cfg.Timeout))
	greet, err := s.c.ReadReply(0)
	if err != nil {
		return closeWith(netErr(err.Error()))
	}
	if greet.Code != 220 {
		return closeWith(replyFailure(greet, true))
	}
	s.ext, err = s.hello(e.cfg.HeloName)
	if err != nil {
		return closeWith(netErr(err.Error()))
	}
	if f := e.startTLS(s, pol, domain, t); f != nil {
		return closeWith(f)
	}
	return s, nil
}

func localIP(c net.Conn) string {
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return c.LocalAddr().String()
}

// hello says EHLO, then HELO when EHLO is refused (RFC 5321 §3.2).
func (s *session) hello(name string) (smtpclient.Extensions, error) {
	rep, err := s.c.Cmd(0, "EHLO %s", name)
	if err != nil {
		return nil, err
	}
	if rep.Code == 250 {
		return smtpclient.ParseEHLO(rep), nil
	}
	rep, err = s.c.Cmd(0, "HELO %s", name)
	if err != nil {
		return nil, err
	}
	if rep.Code != 250 {
		return nil, fmt.Errorf("HELO refused: %s", rep)
	}
	return smtpclient.Extensions{}, nil
}

// startTLS applies the TLS setting (seed 003) or the DANE rules to s.
func (e *Engine) startTLS(s *session, pol Policy, domain string, t target) *failure {
	need := t.dane != nil || pol.TLS.required()
	want := need || pol.TLS == TLSPreferred || pol.TLS == TLSPreferredVerify
	if !want {
		return nil
	}
	required := func(detail string) *failure {
		e.logf("DCID %d IP %s TLS was required but could not be successfully negotiated", s.dcid, s.ip)
		return &failure{enh: "4.7.0", reason: "TLS was required but could not be successfully negotiated", code: "000", text: detail}
	}
	if !s.ext.Has("STARTTLS") {
		if need {
			return required("STARTTLS not offered")
		}
		return nil // Preferred: no TLS offered, clear text
	}
	err := s.c.StartTLS(s.ext)
	var ce *smtpclient.CodeError
	switch {
	case errors.As(err, &ce):
		// Before the 220: Preferred continues in clear on this connection
		// (seed 003 setting 2); anything stronger gives up.
		e.logf("DCID %d TLS failed: STARTTLS unexpected response", s.dcid)
		if need {
			return required(ce.Reply.String())
		}
		return nil
	case errors.Is(err, smtpclient.ErrInjected):
		// Bytes after the 220 came in clear before the handshake: an
		// injection (RFC 3207 §5); after the 220 there is no way back.
		e.logf("DCID %d TLS failed: data injected after STARTTLS", s.dcid)
		return &failure{enh: "4.7.0", reason: "TLS negotiation failed", code: "000", text: "data injected after STARTTLS"}
	case err != nil:
		return required(err.Error())
	}
	// After the 220 there is no way back to clear text on this connection
	// (seed 003): a failed handshake fails the connection.
	cfg, check := e.tlsConfig(pol, domain, t)
	tc := tls.Client(s.conn, cfg)
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.Timeout)
	err = tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		e.logf("DCID %d TLS failed: %s", s.dcid, tlsReason(err))
		return &failure{enh: "4.7.0", reason: "TLS negotiation failed", code: "000", text: tlsReason(err)}
	}
	cs := tc.ConnectionState()
	s.conn, s.c, s.tls = tc, smtpclient.New(tc), true
	s.dane = t.dane != nil && t.dane.State == dane.StateDANE
	s.verified = check != nil && check(cs) == nil
	if s.dane {
		// ESA-CLI §11.3: "for DOMAIN" marks a DANE-authenticated delivery.
		e.logf("DCID %d TLS success protocol %s cipher %s for %s", s.dcid, dane.ProtocolName(cs.Version), dane.CipherName(cs.CipherSuite), domain)
	} else {
		e.logf("DCID %d TLS success protocol %s cipher %s", s.dcid, dane.ProtocolName(cs.Version), dane.CipherName(cs.CipherSuite))
	}
	s.ext, err = s.hello(e.cfg.HeloName)
	if err != nil {
		return &failure{enh: "4.4.2", reason: "Connection dropped", code: "000", text: err.Error()}
	}
	return nil
}

func tlsReason(err error) string {
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return "certificate verification failed: " + ce.Err.Error()
	}
	msg := err.Error()
	if i := strings.Index(msg, "tls: "); i >= 0 {
		return msg[i:]
	}
	return msg
}

func (e *Engine) closeSessionQuiet(s *session, pol Policy) {
	_ = s.conn.Close()
	e.endSession(s, pol)
}

func (e *Engine) endSession(s *session, pol Policy) {
	e.logf("DCID %d close", s.dcid)
	e.mu.Lock()
	e.statLocked(s.domain).ActiveConns--
	e.mu.Unlock()
	if pol.PerIP {
		e.releaseIP(s.ip.String())
	}
}

// closeSession ends a session politely (QUIT, RFC 5321 §4.1.1.10).
func (e *Engine) closeSession(s *session) {
	s.awaitRecord()
	if !s.broken {
		_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = s.c.Cmd(0, "QUIT")
	}
	_ = s.conn.Close()
	e.endSession(s, Policy{PerIP: s.perIP()})
}

func (s *session) perIP() bool { return s.perIPSlot }

// transaction sends one message to rids over s (RFC 5321 §3.3) and
// applies each recipient's outcome.
func (e *Engine) transaction(s *session, en queue.Entry, j job, rids []int, pol Policy) {
	env, domain := en.Envelope, j.domain
	s.sent++
	_ = s.conn.SetDeadline(time.Now().Add(e.cfg.Timeout))
	var rejected []ridFail
	pending := rids
	dropped := func(err error) {
		s.broken = true
		e.logf("Connection Error: DCID %d domain: %s IP: %s port: %d details: %s interface: %s reason: network error",
			s.dcid, domain, s.ip, e.cfg.Port, err, localIP(s.conn))
		e.fail(en, domain, append(rejected, each(pending, &failure{enh: "4.4.2", reason: "Connection dropped", code: "000", text: err.Error()})...), s.dcid, pol)
	}
	e.logf("Delivery start DCID %d MID %d to RID %s", s.dcid, env.MID, ridList(rids))
	// Which host each recipient goes to, as message tracking reads it.
	for _, rid := range rids {
		e.logf("MID %d RID %d To: <%s> Rcpt Host %s", env.MID, rid, env.Recipients[rid], s.host)
	}
	// Signing is the last step before the transaction (sign.go).
	sigs := e.signatures(env)
	mail := "MAIL FROM:<" + env.From + ">"
	if s.ext.Has("SIZE") {
		mail += " SIZE=" + strconv.FormatInt(env.Size+int64(len(env.Prepend)+len(sigs)), 10)
	}
	// RFC 2920: with PIPELINING, MAIL, every RCPT and DATA go out in one
	// write and their replies are read in order; without it each command
	// waits for its reply.
	pipe := s.ext.Has("PIPELINING")
	cmds := make([]string, 0, len(rids)+2)
	cmds = append(cmds, mail)
	for _, rid := range rids {
		cmds = append(cmds, "RCPT TO:<"+env.Recipients[rid]+">")
	}
	cmds = append(cmds, "DATA")
	reps := make([]smtpclient.Reply, len(cmds))
	if s.bw == nil {
		s.bw = bufio.NewWriterSize(s.conn, 16<<10)
		s.buf = make([]byte, 16<<10)
	}
	bw := s.bw
	bw.Reset(s.conn)
	if pipe {
		for _, c := range cmds {
			bw.WriteString(c + "\r\n")
		}
		if err := bw.Flush(); err != nil {
			dropped(err)
			return
		}
	}
	accepted := make([]int, 0, len(rids))
	for i, c := range cmds {
		if !pipe {
			// Without pipelining, stop at a refused MAIL or when no RCPT
			// was accepted: DATA would only be refused.
			if (i == 1 && reps[0].Code/100 != 2) || (i == len(cmds)-1 && len(accepted) == 0) {
				break
			}
			bw.WriteString(c + "\r\n")
			if err := bw.Flush(); err != nil {
				dropped(err)
				return
			}
		}
		rep, err := s.c.ReadReply(0)
		if err != nil {
			if i > 0 {
				pending = append(accepted, rids[i-1:]...)
			}
			dropped(err)
			return
		}
		reps[i] = rep
		if i > 0 && i <= len(rids) {
			if rep.Code/100 == 2 {
				accepted = append(accepted, rids[i-1])
			} else {
				rejected = append(rejected, ridFail{rids[i-1], replyFailure(rep, false)})
			}
		}
	}
	pending = accepted
	dataRep := reps[len(cmds)-1]
	// A pipelined DATA that got 354 although nothing can be delivered
	// must still be ended (RFC 2920 §3.1): send the lone ".".
	endEmpty := func() {
		if pipe && dataRep.Code == 354 {
			if _, err := io.WriteString(s.conn, ".\r\n"); err != nil {
				s.broken = true
				return
			}
			if _, err := s.c.ReadReply(0); err != nil {
				s.broken = true
			}
		}
	}
	if reps[0].Code/100 != 2 {
		endEmpty()
		e.fail(en, domain, each(rids, replyFailure(reps[0], false)), s.dcid, pol)
		e.rset(s)
		return
	}
	if len(accepted) == 0 {
		endEmpty()
		e.fail(en, domain, rejected, s.dcid, pol)
		e.rset(s)
		return
	}
	if dataRep.Code != 354 {
		e.fail(en, domain, append(rejected, each(accepted, replyFailure(dataRep, false))...), s.dcid, pol)
		e.rset(s)
		return
	}
	if err := e.sendBody(s, env.MID, sigs); err != nil {
		dropped(err)
		return
	}
	rep, err := s.c.ReadReply(0)
	if err != nil {
		// The 250 was not seen: the recipients stay queued and are tried
		// again (at-least-once, see the package comment).
		dropped(err)
		return
	}
	if rep.Code/100 != 2 {
		e.fail(en, domain, append(rejected, each(accepted, replyFailure(rep, false))...), s.dcid, pol)
		return
	}
	if len(rejected) > 0 {
		e.fail(en, domain, rejected, s.dcid, pol)
	}
	e.logf("Message done DCID %d MID %d to RID %s", s.dcid, env.MID, ridList(accepted))
	e.logf("MID %d RID %s Response '%s'", env.MID, ridList(accepted), strings.Join(rep.Lines, " "))
	if sigs != "" {
		// Counted before the delivery is recorded, whose event a
		// reader of Stats may wait for.
		e.mu.Lock()
		e.statLocked(domain).Signed++
		e.mu.Unlock()
	}
	e.recordDelivered(s, j, env, accepted)
}

func (e *Engine) rset(s *session) {
	if rep, err := s.c.Cmd(0, "RSET"); err != nil || rep.Code/100 != 2 {
		s.broken = true
	}
}

// sendBody writes the message with dot-stuffing and CRLF line ends
// (RFC 5321 §4.5.2) and the final ".".
func (e *Engine) sendBody(s *session, mid uint64, sigs string) error {
	m, err := e.cfg.Queue.Open(mid)
	if err != nil {
		return err
	}
	defer m.Close()
	// One writer and copy buffer per connection, not per message.
	if s.bw == nil {
		s.bw = bufio.NewWriterSize(s.conn, 16<<10)
		s.buf = make([]byte, 16<<10)
	}
	s.bw.Reset(s.conn)
	dw := textproto.NewWriter(s.bw).DotWriter()
	if _, err := io.WriteString(dw, sigs); err != nil {
		return err
	}
	if _, err := io.CopyBuffer(dw, struct{ io.Reader }{m}, s.buf); err != nil {
		return err
	}
	// The previous message's record must be on disk before the peer can
	// accept this one (record.go).
	s.awaitRecord()
	if err := dw.Close(); err != nil {
		return err
	}
	return s.bw.Flush()
}
