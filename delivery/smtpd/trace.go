package smtpd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"esa/delivery/queue"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
)

// trace (ESA-CLI §10.8) runs a message through a listener's policies,
// the authentication checks and the message filters exactly as a
// connection would, without a connection and without queueing: the same
// session code, with the log lines collected for the report instead of
// written to mail_logs, nothing counted, reported or bounced, and the
// message kept in memory where the queue would have stored it.

// TraceInput is the simulated connection and message.
type TraceInput struct {
	Listener mailflow.Listener
	Hostname string // the gateway's host name
	IP       netip.Addr
	Host     string // the source's verified host name, "" for none
	HELO     string
	From     string
	Rcpts    []string
	Message  []byte // CRLF line ends, without the final "."
}

// TraceReport is what happened.
type TraceReport struct {
	Decision mailflow.Decision
	// Lines are the log lines the processing wrote, in order.
	Lines []string
	// Replies are the SMTP replies of the steps, as a client saw them
	// ("HELO: 250 ...", "RCPT TO:<x>: 550 ...").
	Replies []string
	// Accepted: the message was acknowledged with 250; Queued: it would be
	// in the queue (not dropped), with Envelope as it would be stored and
	// Result the message as it would be delivered.
	Accepted, Queued bool
	Envelope         queue.Envelope
	Result           []byte
}

// traceLog collects log lines.
type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) add(level, format string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, a...))
	l.mu.Unlock()
}
func (l *traceLog) Info(f string, a ...any)    { l.add("Info", f, a...) }
func (l *traceLog) Warning(f string, a ...any) { l.add("Warning", f, a...) }
func (l *traceLog) Debug(f string, a ...any)   { l.add("Debug", f, a...) }

// traceWriter stands where the queue file would be.
type traceWriter struct {
	buf       bytes.Buffer
	env       *queue.Envelope
	committed bool
}

func (w *traceWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *traceWriter) Size() int64                 { return int64(w.buf.Len()) }
func (w *traceWriter) Abort()                      {}
func (w *traceWriter) Commit(env queue.Envelope) error {
	env.Size = w.Size()
	w.env, w.committed = &env, true
	return nil
}

// Trace runs in through the server's checks (its resolvers, profiles and
// committed filters) and reports every step.
func (s *Server) Trace(in TraceInput) TraceReport {
	log := &traceLog{}
	o := s.opt
	o.Log, o.Queue = log, nil
	// A trace changes nothing: no report rows, no counts, no bounces.
	o.DMARCRecord, o.Forged, o.Bounce = nil, nil, nil
	ts := New(o)
	gen := &generation{conf: in.Listener, hostname: in.Hostname, timeouts: [2]time.Duration{time.Minute, time.Minute}}
	rep := TraceReport{Decision: in.Listener.HAT.Match(mailflow.Peer{IP: in.IP, Host: in.Host})}
	d := rep.Decision
	sg := d.Group
	if sg == "" {
		sg = "None"
	}
	log.Info("ICID 1 %s SG %s match %s SBRS None", d.Action, sg, d.Match)
	reply := func(step string, err error) bool {
		if err == nil {
			rep.Replies = append(rep.Replies, step+": 250 OK")
			return true
		}
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			rep.Replies = append(rep.Replies, fmt.Sprintf("%s: %d %s", step, se.Code, se.Message))
		} else {
			rep.Replies = append(rep.Replies, step+": "+err.Error())
		}
		return false
	}
	finish := func() TraceReport { rep.Lines = log.lines; return rep }
	switch d.Action {
	case mailflow.ActTCPRefuse:
		rep.Replies = append(rep.Replies, "connect: connection refused (TCPREFUSE)")
		return finish()
	case mailflow.ActReject:
		rep.Replies = append(rep.Replies, fmt.Sprintf("connect: %d %s", d.Limits.RejectCode, d.Limits.RejectText))
		return finish()
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	pc := &peerConn{Conn: c1, icid: 1, ip: in.IP, host: in.Host, decision: d, srv: ts}
	tw := &traceWriter{}
	ss := &session{s: ts, gen: gen, pc: pc, helo: in.HELO, trace: tw}
	if !reply("HELO "+in.HELO, ss.checkHELO()) {
		return finish()
	}
	if !reply("MAIL FROM:<"+in.From+">", ss.Mail(in.From, &smtp.MailOptions{})) {
		return finish()
	}
	for _, r := range in.Rcpts {
		reply("RCPT TO:<"+r+">", ss.Rcpt(r, &smtp.RcptOptions{}))
	}
	if len(ss.rcpts) == 0 {
		return finish()
	}
	rep.Accepted = reply("DATA", ss.Data(bytes.NewReader(in.Message)))
	if tw.committed {
		rep.Queued, rep.Envelope = true, *tw.env
		var body io.Reader = &tw.buf
		if len(tw.env.Strip) > 0 {
			body = queue.StripHeader(body, tw.env.Strip)
		}
		res, _ := io.ReadAll(io.MultiReader(bytes.NewReader([]byte(tw.env.Prepend)), body))
		rep.Result = res
	}
	return finish()
}
