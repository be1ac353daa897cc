package smtpd

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"time"

	"esa/auth/dkim"
	"esa/auth/filter"
	"esa/auth/spf"
	"esa/delivery/queue"
	"esa/delivery/smtperr"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
)

// maxHeaderCapture bounds the header bytes kept in memory for the log lines
// (Message-ID, Subject) and later verdicts; the body streams to disk.
const maxHeaderCapture = 256 << 10

type backend struct {
	s   *Server
	gen *generation
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	var tlsState *tls.ConnectionState
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		tlsState = &st
		nc = tc.NetConn()
	}
	pc, ok := nc.(*peerConn)
	if !ok {
		return nil, smtperr.LocalError.SMTP()
	}
	// go-smtp echoes the HELO argument in its reply: a name with control
	// characters is refused before it can be echoed or logged.
	for _, r := range c.Hostname() {
		if r < 0x21 || r == 0x7f {
			return nil, smtperr.New(501, smtperr.Enhanced{5, 5, 2}, "Invalid HELO/EHLO argument").SMTP()
		}
	}
	ss := &session{s: b.s, gen: b.gen, pc: pc, helo: c.Hostname(), tls: tlsState}
	if tlsState != nil && !pc.tlsLogged {
		pc.tlsLogged = true
		b.s.opt.Log.Info("ICID %d TLS success protocol %s cipher %s", pc.icid, tlsVersion(tlsState.Version), tls.CipherSuiteName(tlsState.CipherSuite))
	}
	// go-smtp calls NewSession at HELO/EHLO: the HELO identity is checked
	// here, and a refusal is the reply to the greeting.
	if err := ss.checkHELO(); err != nil {
		return nil, err
	}
	return ss, nil
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

type session struct {
	s    *Server
	gen  *generation
	pc   *peerConn
	helo string
	tls  *tls.ConnectionState

	msgs  int // messages accepted on this connection
	mid   uint64
	from  string
	rcpts []string
	spf   []spf.Verdict // the SPF verdicts of the current transaction
	// trace, in a trace (trace.go), stands where the queue would be.
	trace *traceWriter
}

// msgWriter is where DATA goes: a queue file, or a trace's memory.
type msgWriter interface {
	io.Writer
	Size() int64
	Abort()
	Commit(queue.Envelope) error
}

// newMessage opens the message's queue file, or the trace's stand-in.
func (ss *session) newMessage() (msgWriter, error) {
	if ss.trace != nil {
		return ss.trace, nil
	}
	return ss.s.opt.Queue.NewMessage()
}

// nextMID is the next message ID; a trace's message is MID 1.
func (ss *session) nextMID() (uint64, error) {
	if ss.trace != nil {
		return 1, nil
	}
	return ss.s.opt.Queue.IDs().Next(queue.MID)
}

func (ss *session) limits() mailflow.Limits { return ss.pc.decision.Limits }

func (ss *session) Reset() {
	ss.mid, ss.from, ss.rcpts, ss.spf = 0, "", nil, nil
}

func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	lim := ss.limits()
	if lim.TLS == "required" && ss.tls == nil {
		ss.s.opt.Log.Info("ICID %d TLS was required but remote host did not initiate it", ss.pc.icid)
		return smtperr.TLSRequired.SMTP()
	}
	if ss.msgs >= lim.MaxMsgsPerConn {
		return smtperr.TooManyMessages.SMTP()
	}
	if opts != nil && opts.Size > 0 && opts.Size > lim.MaxMessageSize {
		ss.s.opt.Log.Info("ICID %d Receiving Failed: Message size exceeds limit", ss.pc.icid)
		return smtperr.MessageTooBig.SMTP()
	}
	if err := checkAddress(from, true); err != nil {
		return err
	}
	mid, err := ss.nextMID()
	if err != nil {
		return smtperr.LocalError.SMTP()
	}
	ss.mid, ss.from, ss.rcpts = mid, from, nil
	ss.s.opt.Log.Info("Start MID %d ICID %d", mid, ss.pc.icid)
	ss.s.opt.Log.Info("MID %d ICID %d From: <%s>", mid, ss.pc.icid, from)
	if err := ss.checkMailFrom(); err != nil {
		ss.mid, ss.from = 0, ""
		return err
	}
	return nil
}

// checkAddress refuses addresses the queue and the log must not carry:
// control characters, angle brackets, over-long forms (RFC 5321 §4.5.3.1.3).
func checkAddress(a string, allowEmpty bool) error {
	if a == "" {
		if allowEmpty {
			return nil
		}
		return smtperr.InvalidAddress.SMTP()
	}
	if len(a) > 254 || strings.ContainsAny(a, "<> \t") {
		return smtperr.InvalidAddress.SMTP()
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return smtperr.InvalidAddress.SMTP()
		}
	}
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if ss.mid == 0 {
		return smtperr.BadSequence.SMTP()
	}
	if err := checkAddress(to, false); err != nil {
		return err
	}
	if !strings.Contains(to, "@") && ss.gen.conf.DefaultDomain != "" {
		to += "@" + ss.gen.conf.DefaultDomain
	}
	if len(ss.rcpts) >= ss.limits().MaxRcptsPerMsg {
		ss.s.stats.rejected.Add(1)
		return smtperr.TooManyRecipients.SMTP()
	}
	if ss.pc.decision.Action != mailflow.ActRelay {
		// A public listener takes only the domains its RAT accepts; a relay
		// policy sends anywhere.
		e, ok := mailflow.MatchRAT(ss.gen.conf.RAT, to)
		if !ok || e.Action != mailflow.ActAccept {
			ss.s.stats.rejected.Add(1)
			ss.s.opt.Log.Info("MID %d ICID %d To: <%s> Rejected by Receiving Control", ss.mid, ss.pc.icid, to)
			r := smtperr.RelayDenied
			if ok && e.Code != 0 {
				r = smtperr.New(e.Code, smtperr.Enhanced{e.Code / 100, 7, 1}, e.Text)
				if e.Text == "" {
					r.Text = smtperr.RelayDenied.Text
				}
			}
			return r.SMTP()
		}
	}
	ss.s.opt.Log.Info("MID %d ICID %d RID %d To: <%s>", ss.mid, ss.pc.icid, len(ss.rcpts), to)
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

// errBareLF is what scanner returns when the message breaks the line rules
// (a bare LF, a bare CR or a NUL).
var errBareLF = errors.New("bare LF, bare CR or NUL")

// scanner watches the DATA stream as it goes to disk: it refuses bare LF
// and NUL (a bare LF is how SMTP smuggling hides a second message from the
// next hop, and RFC 5321 §2.3.8 forbids both) and keeps the header section
// up to maxHeaderCapture bytes.
type scanner struct {
	w        io.Writer
	prevCR   bool
	header   bytes.Buffer
	inHeader bool
	tail     [3]byte // last bytes seen, for the end-of-header search
	err      error
}

func (sc *scanner) Write(p []byte) (int, error) {
	if sc.err != nil {
		return 0, sc.err
	}
	for i, c := range p {
		// A CR must be followed by LF and a LF preceded by CR: a bare CR
		// hides the end of DATA from go-smtp's reader ("\r\r\n.\r\n" is
		// taken as data) while another MTA would end the message there.
		if c == 0 || (c == '\n' && !sc.prevCR) || (sc.prevCR && c != '\n') {
			sc.err = errBareLF
			return i, sc.err
		}
		sc.prevCR = c == '\r'
	}
	if sc.inHeader {
		end := len(p)
		joined := append(sc.tail[:0:0], sc.tail[:]...)
		joined = append(joined, p...)
		if i := bytes.Index(joined, []byte("\r\n\r\n")); i >= 0 {
			end = i + 4 - 3
			if end < 0 {
				end = 0
			}
			sc.inHeader = false
		}
		room := maxHeaderCapture - sc.header.Len()
		if end > room {
			end = room
		}
		if end > 0 {
			sc.header.Write(p[:end])
		}
		if len(p) >= 3 {
			copy(sc.tail[:], p[len(p)-3:])
		} else {
			copy(sc.tail[:], append(sc.tail[len(p):], p...))
		}
	}
	return sc.w.Write(p)
}

func (ss *session) Data(r io.Reader) error {
	if ss.mid == 0 || len(ss.rcpts) == 0 {
		return smtperr.BadSequence.SMTP()
	}
	ss.pc.SetReadDeadline(time.Now().Add(ss.gen.timeouts[1]))
	w, err := ss.newMessage()
	if err != nil {
		return smtperr.ServiceUnavailable.SMTP()
	}
	sc := &scanner{w: w, inHeader: true}
	dv, silent := ss.dkimStart(), false
	if dv == nil {
		// DMARC needs the DKIM results even where the policy does not
		// verify DKIM for their own sake (seed 004 DMARC step 2): a
		// silent run, without the DKIM stage's header, log or actions.
		dv = ss.dmarcDKIMStart()
		silent = dv != nil
	}
	if dv != nil {
		sc.w = io.MultiWriter(w, dv)
	}
	lim := ss.limits().MaxMessageSize
	_, err = io.Copy(sc, io.LimitReader(r, lim+1))
	if err == nil && w.Size() > lim {
		err = smtp.ErrDataTooLarge
	}
	if err == nil && sc.prevCR {
		// A message (a BDAT one) that ends in a CR without its LF.
		err = errBareLF
	}
	if err != nil {
		if dv != nil {
			dv.abort()
		}
		w.Abort()
		ss.mid = 0
		switch {
		case errors.Is(err, errBareLF):
			ss.s.opt.Log.Info("ICID %d Receiving Failed: bare LF, bare CR or NUL in message", ss.pc.icid)
			return smtperr.BareLineFeed.SMTP()
		case errors.Is(err, smtp.ErrDataTooLarge) || isTooLarge(err):
			ss.s.opt.Log.Info("ICID %d Receiving Failed: Message size exceeds limit", ss.pc.icid)
			return smtperr.MessageTooBig.SMTP()
		case errors.Is(err, smtp.ErrTooLongLine):
			ss.s.opt.Log.Info("ICID %d Receiving Failed: line longer than %d characters", ss.pc.icid, maxLineLength)
			return smtperr.New(552, smtperr.Enhanced{5, 3, 4}, fmt.Sprintf("Message line longer than %d characters", maxLineLength)).SMTP()
		case isTimeout(err):
			ss.s.opt.Log.Info("ICID %d Receiving Failed: timeout during DATA", ss.pc.icid)
			// 421 closes the connection (RFC 5321 §3.8).
			ss.pc.endSession.Store(true)
			return smtperr.TimeoutClosing.SMTP()
		}
		ss.s.opt.Log.Info("ICID %d Receiving Failed: %v", ss.pc.icid, err)
		return smtperr.LocalError.SMTP()
	}
	// The PRA needs the header: checked now that the message is on disk,
	// before the 250 (RFC 4406 §4.2: a receiver may reject after DATA).
	if err := ss.checkPRA(sc.header.Bytes()); err != nil {
		if dv != nil {
			dv.abort()
		}
		w.Abort()
		ss.mid = 0
		return err
	}
	now := ss.s.opt.Now()
	env := queue.Envelope{
		MID: ss.mid, ICID: ss.pc.icid, Received: now,
		Listener: ss.gen.conf.Name, RemoteIP: ss.pc.ip.String(), RemoteHost: ss.pc.host,
		HELO: ss.helo, SenderGroup: ss.pc.decision.Group, Policy: ss.pc.decision.Policy,
		Relayed: ss.pc.decision.Action == mailflow.ActRelay,
		From:    ss.from, Recipients: ss.rcpts,
		Prepend:  spfHeaders(ss.spf) + ss.received(now),
		Verdicts: spfVerdicts(ss.spf, nil),
	}
	var dkimRes []dkim.Result
	if silent {
		dkimRes = dv.finish()
	} else if dv != nil {
		if r := ss.dkimDone(dv, &env.Prepend, &env.Verdicts); r != nil {
			w.Abort()
			ss.mid = 0
			return r
		}
		dkimRes = dv.res
	}
	if dm := ss.dmarcCheck(sc.header.Bytes(), dkimRes); dm.verdict != "" {
		if dm.reject != nil {
			w.Abort()
			ss.mid = 0
			return dm.reject
		}
		env.Prepend = "Authentication-Results: " + ss.gen.hostname + "; " + dm.header + "\r\n" + env.Prepend
		if env.Verdicts == nil {
			env.Verdicts = map[string]string{}
		}
		env.Verdicts["dmarc"] = dm.verdict
		env.Quarantine, env.QuarantineReason = dm.quarantine, dm.reason
	}
	env.Sign = ss.limits().DKIMSigning
	env.Size = w.Size()
	disp := ss.applyFilters(ss.runFilters(sc.header.Bytes(), &env), &env)
	if disp == filter.Drop {
		// The administrator's filter discards it: acknowledged, not kept.
		w.Abort()
		ss.s.stats.dropped.Add(1)
		ss.s.opt.Log.Info("MID %d dropped by message filter", ss.mid)
		ss.mid = 0
		return nil
	}
	if hdr, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(sc.header.Bytes()), strings.NewReader("\r\n"))); err == nil {
		env.MessageID = hdr.Header.Get("Message-Id")
		env.Subject = hdr.Header.Get("Subject")
	}
	if err := w.Commit(env); err != nil {
		ss.s.opt.Log.Warning("MID %d could not be queued: %v", ss.mid, err)
		ss.mid = 0
		return smtperr.LocalError.SMTP()
	}
	log := ss.s.opt.Log
	if env.MessageID != "" {
		log.Info("MID %d Message-ID %s", ss.mid, pyQuote(env.MessageID))
	}
	if env.Subject != "" {
		log.Info("MID %d Subject %s", ss.mid, pyQuote(env.Subject))
	}
	log.Info("MID %d ready %d bytes from <%s>", ss.mid, w.Size(), ss.from)
	log.Info("MID %d matched all recipients for per-recipient policy DEFAULT in the inbound table", ss.mid)
	switch {
	case disp == filter.Bounce:
		ss.filterBounce(ss.mid)
	case env.Quarantine != "":
		log.Info("MID %d held in quarantine %s", ss.mid, pyQuote(env.Quarantine))
	default:
		log.Info("MID %d queued for delivery", ss.mid)
	}
	ss.s.stats.msgs.Add(1)
	ss.s.stats.rcpts.Add(int64(len(ss.rcpts)))
	ss.msgs++
	ss.mid = 0
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTooLarge(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == 552
}

// received builds the Received: header (RFC 5321 §4.4) the gateway adds.
func (ss *session) received(now time.Time) string {
	proto := "ESMTP"
	if ss.tls != nil {
		proto = "ESMTPS"
	}
	from := ss.helo
	rdns := ss.pc.host
	if rdns == "" {
		rdns = "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from %s (%s [%s])\r\n  by %s with %s; %s\r\n",
		from, rdns, ss.pc.ip, ss.gen.hostname, proto, now.Format(time.RFC1123Z))
	return b.String()
}

// pyQuote quotes a logged value the way newer AsyncOS does (Python repr):
// single quotes, or double quotes when the value holds a single quote;
// control characters escaped so a header cannot forge a log line.
func pyQuote(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}
