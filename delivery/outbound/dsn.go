package outbound

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"esa/delivery/queue"
)

// maxReturnedHeader bounds the original header returned in a report.
const maxReturnedHeader = 64 << 10

// injectDSN queues a delivery status notification for rids of env to its
// sender: a multipart/report with a message/delivery-status part (RFC 3464,
// RFC 6522) and the original header (text/rfc822-headers), from the null
// sender so it can never bounce back (RFC 5321 §4.5.5). delay marks a
// delay notice (Action: delayed, Will-Retry-Until).
func (e *Engine) injectDSN(env queue.Envelope, rfs []ridFail, pol Policy, delay bool, until time.Time) {
	e.injectDSNHeader(env, rfs, pol, delay, until, e.originalHeader(env.MID))
}

// injectDSNHeader is injectDSN with the original header read beforehand:
// a bounce of a message's last recipients removes its files before the
// report is built. It reports whether the notification was queued.
func (e *Engine) injectDSNHeader(env queue.Envelope, rfs []ridFail, pol Policy, delay bool, until time.Time, header []byte) bool {
	to := env.From
	if delay && pol.Bounce.DelayRecipient != "" {
		to = pol.Bounce.DelayRecipient
	}
	mid, err := e.cfg.Queue.IDs().Next(queue.MID)
	if err != nil {
		e.cfg.Log.Warning("MID %d: no MID for the bounce: %v", env.MID, err)
		return false
	}
	now := e.cfg.Now()
	body := buildDSN(e.cfg.HeloName, pol.Bounce.BounceFrom, to, env, rfs, delay, until, now, mid, header)
	w, err := e.cfg.Queue.NewMessage()
	if err == nil {
		_, err = w.Write(body)
	}
	subject := "Delivery Status Notification (Failure)"
	if delay {
		subject = "Delivery Status Notification (Delay)"
	}
	if err == nil {
		err = w.Commit(queue.Envelope{MID: mid, ICID: 0, Received: now, Listener: "", RemoteIP: "127.0.0.1",
			HELO: e.cfg.HeloName, Relayed: true, From: "", Recipients: []string{to},
			// The bounce profile's "Do you want bounce and delay messages
			// to be signed?" travels with the notification (sign.go).
			Sign:      pol.Bounce.Sign,
			MessageID: fmt.Sprintf("<dsn.%d.%d@%s>", env.MID, mid, e.cfg.HeloName), Subject: subject})
	} else if w != nil {
		w.Abort()
	}
	if err != nil {
		e.cfg.Log.Warning("MID %d: queueing the bounce failed: %v", env.MID, err)
		return false
	}
	// ESA-CLI §11.4: a generated bounce is itself a new MID from ICID 0.
	e.logf("Start MID %d ICID 0", mid)
	e.logf("MID %d ICID 0 From: <>", mid)
	e.logf("MID %d ICID 0 RID 0 To: <%s>", mid, to)
	e.logf("MID %d Subject '%s'", mid, subject)
	e.logf("MID %d ready %d bytes from <>", mid, len(body))
	return true
}

// originalHeader reads the header of the queued message (what the gateway
// prepended and the client's header), bounded.
func (e *Engine) originalHeader(mid uint64) []byte {
	m, err := e.cfg.Queue.Open(mid)
	if err != nil {
		return nil
	}
	defer m.Close()
	r := bufio.NewReader(io.LimitReader(m, maxReturnedHeader))
	var out bytes.Buffer
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		out.Write(bytes.TrimRight(line, "\r\n"))
		out.WriteString("\r\n")
		if err != nil {
			break
		}
	}
	return out.Bytes()
}

func buildDSN(mta, from, to string, env queue.Envelope, rfs []ridFail, delay bool, until, now time.Time, mid uint64, header []byte) []byte {
	if from == "" {
		from = "MAILER-DAEMON@" + mta
	}
	boundary := fmt.Sprintf("%d.%d/%s", env.MID, mid, mta)
	date := now.Format(time.RFC1123Z)
	var b strings.Builder
	action, subject := "failed", "Delivery Status Notification (Failure)"
	if delay {
		action, subject = "delayed", "Delivery Status Notification (Delay)"
	}
	fmt.Fprintf(&b, "From: Mail Delivery System <%s>\r\n", from)
	fmt.Fprintf(&b, "To: <%s>\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", date)
	fmt.Fprintf(&b, "Message-ID: <dsn.%d.%d@%s>\r\n", env.MID, mid, mta)
	b.WriteString("Auto-Submitted: auto-replied\r\n") // RFC 3834 §5
	b.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a MIME-encapsulated message.\r\n\r\n")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	if delay {
		fmt.Fprintf(&b, "The message you sent could not be delivered yet to the recipients below.\r\n"+
			"Delivery will be retried until %s; you need not resend it.\r\n\r\n", until.Format(time.RFC1123Z))
	} else {
		b.WriteString("The message you sent could not be delivered to the recipients below.\r\n\r\n")
	}
	for _, rf := range rfs {
		fmt.Fprintf(&b, "<%s>: %s (%s %s)\r\n", env.Recipients[rf.rid], rf.f.reason, rf.f.code, oneLine(rf.f.text))
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	// RFC 3464 §2.2: per-message fields.
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", mta)
	fmt.Fprintf(&b, "X-ESA-Queue-ID: %d\r\n", env.MID)
	if !env.Received.IsZero() {
		fmt.Fprintf(&b, "Arrival-Date: %s\r\n", env.Received.Format(time.RFC1123Z))
	}
	// RFC 3464 §2.3: per-recipient fields.
	for _, rf := range rfs {
		f := rf.f
		status := orDefault(f.status, f.enh)
		if delay && !strings.HasPrefix(status, "4.") {
			status = "4.0.0"
		}
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\n", env.Recipients[rf.rid])
		fmt.Fprintf(&b, "Action: %s\r\n", action)
		fmt.Fprintf(&b, "Status: %s\r\n", status)
		if f.code != "000" && f.code != "" {
			fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s %s\r\n", f.code, oneLine(f.text))
		} else {
			fmt.Fprintf(&b, "Diagnostic-Code: X-ESA; %s\r\n", oneLine(f.reason+": "+f.text))
		}
		fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", date)
		if delay {
			fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", until.Format(time.RFC1123Z))
		}
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	b.Write(header)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return []byte(b.String())
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
}
