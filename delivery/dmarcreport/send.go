package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"esa/auth/dmarc"
	"esa/delivery/queue"
	"esa/store"
)

// maxShownXML bounds the XML Report returns: a report is at most 10 MB
// gzipped, which is more than anyone reads on a terminal.
const maxShownXML = 64 << 20

// settings are what the committed configuration says about reports.
type settings struct {
	receiver, from, contact string
	copyTo                  []string
	errorReports            bool
	hostname                string
}

func (j *Job) settings() settings {
	c := j.o.Store.Snapshot()
	s := c.DMARC.Settings
	host := c.System.Hostname
	recv := s.Entity
	if recv == "" {
		recv = host
	}
	return settings{receiver: strings.ToLower(recv), from: s.Return(host), contact: s.Contact,
		copyTo: slices.Clone(s.CopyTo), errorReports: s.ErrorReports, hostname: host}
}

// closePeriod builds the report of one pending entry (the whole period, or
// up to cut when it is generated early), records it in the store in the
// same transaction that removes its data, and sends it. Called with work
// held.
func (j *Job) closePeriod(ctx context.Context, p store.DMARCPending, cut, now time.Time) (store.DMARCReport, bool) {
	pend, chunks, last, err := j.o.Store.DMARCChunks(p.End, p.Domain)
	if err != nil {
		j.o.Log.Warning("DMARC: aggregate report data for %s unreadable: %v", p.Domain, err)
		return store.DMARCReport{}, false
	}
	rep := &dmarc.Report{}
	for _, c := range chunks {
		var d pendingData
		if err := json.Unmarshal(c, &d); err != nil {
			j.o.Log.Warning("DMARC: a chunk of aggregate report data for %s is unreadable and left out: %v", p.Domain, err)
			continue
		}
		// The newest record seen sets policy_published and rua (RFC 7489
		// §7.2 lets one report cover the policies of its period).
		rep.Policy, rep.RUA, rep.Format = d.Policy, d.RUA, d.Format
		for _, row := range d.Rows {
			rep.Add(row)
		}
	}
	if len(rep.Rows) == 0 {
		// Nothing to report (an early report took it all): the entry
		// goes once its period is over.
		if _, err := j.o.Store.CloseDMARCPeriod(p.End, p.Domain, last, cut, nil, nil); err != nil {
			j.o.Log.Warning("DMARC: aggregate report data for %s not removed: %v", p.Domain, err)
		}
		return store.DMARCReport{}, false
	}
	st := j.settings()
	end := p.End
	if !cut.IsZero() {
		end = cut
	}
	rep.OrgName, rep.Email, rep.ExtraContactInfo = st.receiver, st.from, st.contact
	rep.Begin, rep.End = pend.Begin, end.Add(-time.Second)
	rep.ReportID = j.reportID(end, st.receiver)
	if rep.Policy.Domain == "" {
		rep.Policy.Domain = p.Domain
	}
	payload, err := rep.Build(st.receiver)
	if err != nil {
		j.o.Log.Warning("DMARC: aggregate report for %s not built: %v", p.Domain, err)
		return store.DMARCReport{}, false
	}
	entry := store.DMARCReport{Generated: now, Begin: rep.Begin, End: rep.End, Domain: p.Domain, ReportID: rep.ReportID,
		FileName: payload.FileName, Messages: messages(rep.Rows), Records: len(rep.Rows), XMLSize: payload.XMLSize,
		Size: len(payload.Gzip), Status: "pending"}
	for _, u := range rep.RUA {
		entry.RUA = append(entry.RUA, store.DMARCDestination{URI: u.URI, MaxSize: u.MaxSize})
	}
	entry, err = j.o.Store.CloseDMARCPeriod(p.End, p.Domain, last, cut, &entry, payload.Gzip)
	if err != nil {
		// The data stays pending: the next run tries again.
		j.o.Log.Warning("DMARC: aggregate report for %s not recorded: %v", p.Domain, err)
		return store.DMARCReport{}, false
	}
	j.o.Log.Info("DMARC: aggregate report %d for %s generated: %s for %s, %d bytes gzipped, file %s",
		entry.ID, entry.Domain, plural(entry.Records, "record"), plural(entry.Messages, "message"), entry.Size, entry.FileName)
	j.unsent[entry.ID] = time.Time{}
	return j.send(ctx, entry, payload.Gzip, now), true
}

// reportID is the report_id: unique (random), and a valid msg-id, since
// the Subject quotes it as one (RFC 7489 §7.2.1.1).
func (j *Job) reportID(end time.Time, receiver string) string {
	b := make([]byte, 8)
	if _, err := io.ReadFull(j.o.Rand, b); err != nil {
		b = []byte(fmt.Sprint(j.o.Now().UnixNano()))
	}
	return fmt.Sprintf("%d.%s@%s", end.Unix(), hex(b), receiver)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func uris(rep store.DMARCReport) []dmarc.ReportURI {
	var out []dmarc.ReportURI
	for _, d := range rep.RUA {
		out = append(out, dmarc.ReportURI{URI: d.URI, MaxSize: d.MaxSize})
	}
	return out
}

func uriList(us []dmarc.ReportURI) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = "rua=" + uriText(u)
	}
	return strings.Join(s, ", ")
}

// uriText is the URI as the record gives it, with its size limit (RFC 7489
// §6.2: "!" size with the largest unit that divides it).
func uriText(u dmarc.ReportURI) string {
	if u.MaxSize == 0 {
		return u.URI
	}
	n, unit := u.MaxSize, ""
	for _, x := range []string{"k", "m", "g", "t"} {
		if n%1024 != 0 {
			break
		}
		n, unit = n/1024, x
	}
	return fmt.Sprintf("%s!%d%s", u.URI, n, unit)
}

func hostOf(mailbox string) string {
	return strings.ToLower(mailbox[strings.LastIndexByte(mailbox, '@')+1:])
}

// send delivers a recorded report: the external destination check, the
// size limits, then the report (or an error report) into the queue; the
// outcome goes into the store. Called with work held.
func (j *Job) send(ctx context.Context, rep store.DMARCReport, gz []byte, now time.Time) store.DMARCReport {
	st := j.settings()
	all := uris(rep)
	mailto, unusable := usableRUA(all)
	for _, u := range unusable {
		j.o.Log.Warning("DMARC: aggregate report for %s not sent to rua=%s: not a usable mail address", rep.Domain, u.URI)
	}
	if gz == nil {
		return j.finish(rep, "skipped: the report's data is gone", now, true)
	}
	if len(mailto) == 0 {
		j.o.Log.Warning("DMARC: aggregate report delivery for %s failed: no usable mailto URI in %s", rep.Domain, uriList(all))
		return j.finish(rep, "skipped: no usable mailto rua", now, true)
	}
	ev := j.evaluator()
	if ev == nil {
		return j.retryLater(rep, errors.New("no DMARC evaluator to check the rua destinations"), now)
	}
	dests, err := ev.ReportDestinations(ctx, rep.Domain, mailto)
	// The external record's own rua (§7.1 step 8) is DNS data too.
	dests, _ = usableRUA(dests)
	if err != nil {
		// RFC 7489 §7.1 step 4: a temporary DNS failure means try
		// later; after GiveUpAfter the destinations verified so far get
		// the report.
		if now.Sub(rep.Generated) < j.o.GiveUpAfter {
			rep.Tries++
			rep.NextTry = now.Add(j.o.RetryEvery)
			j.o.Log.Warning("DMARC: aggregate report %d for %s held: external destination check failed: %v; next try %s",
				rep.ID, rep.Domain, err, rep.NextTry.UTC().Format("15:04"))
			return j.finish(rep, fmt.Sprintf("pending: destination check failed (%v), next try %s", err, rep.NextTry.UTC().Format("Jan 2 15:04")), now, false)
		}
		j.o.Log.Warning("DMARC: external destination check for %s still failing after %s: %v", rep.Domain, j.o.GiveUpAfter, err)
	}
	// A URI whose host has no verified destination was not authorized
	// (§7.1): it is left out, and the log says so.
	var refused []string
	for _, u := range mailto {
		host := hostOf(u.Mailbox())
		if !slices.ContainsFunc(dests, func(d dmarc.ReportURI) bool { return hostOf(d.Mailbox()) == host }) {
			refused = append(refused, u.URI)
			j.o.Log.Warning("DMARC: aggregate report for %s not sent to rua=%s: %s._report._dmarc.%s does not authorize external reports (RFC 7489 section 7.1)",
				rep.Domain, u.URI, rep.Domain, host)
		}
	}
	payload := dmarc.Payload{FileName: rep.FileName, Gzip: gz, XMLSize: rep.XMLSize}
	plan := payload.PlanDelivery(dests, dmarc.MaxReportSize)
	var to []string
	for _, u := range plan.Send {
		to = appendAddr(to, u.Mailbox())
	}
	for _, u := range plan.TooLarge {
		if len(plan.Send) > 0 {
			j.o.Log.Warning("DMARC: aggregate report for %s not sent to rua=%s: %d bytes exceed its limit of %d", rep.Domain, u.URI, plan.Size, u.MaxSize)
		}
	}
	if len(plan.ErrorReport) > 0 {
		return j.errorReport(rep, plan, st, now)
	}
	copies := plan.Size <= dmarc.MaxReportSize && len(st.copyTo) > 0
	if copies {
		for _, a := range st.copyTo {
			to = appendAddr(to, a)
		}
	}
	if len(to) == 0 {
		why := "no rua destination is authorized"
		j.o.Log.Warning("DMARC: aggregate report delivery for %s failed: %s", rep.Domain, why)
		return j.finish(rep, "skipped: "+why+" ("+strings.Join(refused, ", ")+")", now, true)
	}
	subject := reportSubject(rep, st.receiver)
	mid, size, err := j.enqueue(rep, st, to, subject, func(mid uint64, date time.Time) []byte {
		return reportMail(rep, st, to, plan.Send, subject, mid, date, gz)
	})
	if err != nil {
		return j.retryLater(rep, err, now)
	}
	rep.To, rep.MID = to, mid
	dest := uriList(plan.Send)
	if len(plan.Send) == 0 {
		dest = "the copy addresses only"
	}
	j.o.Log.Info("DMARC: aggregate report %d for %s queued as MID %d (%s, %d bytes) to %s",
		rep.ID, rep.Domain, mid, plural(rep.Records, "record"), size, dest)
	status := fmt.Sprintf("queued MID %d", mid)
	if len(plan.Send) == 0 {
		status += ", to the copy addresses only: no rua destination is authorized"
	}
	return j.finish(rep, status, now, true)
}

// usableRUA splits uris into the mailto URIs whose address can go into an
// envelope and a header as it is, and the others. The URIs come from DNS:
// Mailbox percent-decodes them, so "mailto:a%0d%0aBcc:..." would otherwise
// put a line break into To: or an SMTP command. Only a dot-atom local part
// (RFC 5322 §3.2.3) at a domain of letters, digits, '-' and '_' passes.
func usableRUA(uris []dmarc.ReportURI) (ok, bad []dmarc.ReportURI) {
	for _, u := range uris {
		box := u.Mailbox()
		if box == "" {
			continue // not mailto: reports go by mail only (§7.2.1.1)
		}
		if plainAddress(box) {
			ok = append(ok, u)
		} else {
			bad = append(bad, u)
		}
	}
	return ok, bad
}

func plainAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || len(a) > 254 || at > 64 {
		return false
	}
	local, domain := a[:at], a[at+1:]
	for _, part := range strings.Split(local, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(isAlnum(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
				return false
			}
		}
	}
	if domain == "" || len(domain) > 253 {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(isAlnum(c) || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func appendAddr(list []string, a string) []string {
	if a == "" || slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, a) }) {
		return list
	}
	return append(list, a)
}

// errorReport sends the RFC 7489 §7.2.2 error report to every mailto rua
// when the report is too large for all of them, if error reports are on.
func (j *Job) errorReport(rep store.DMARCReport, plan dmarc.Plan, st settings, now time.Time) store.DMARCReport {
	why := fmt.Sprintf("%d bytes exceed the size limit of %s", plan.Size, uriList(plan.TooLarge))
	if plan.Size > dmarc.MaxReportSize {
		why = fmt.Sprintf("%d bytes exceed the 10 MB limit", plan.Size)
	}
	j.o.Log.Warning("DMARC: aggregate report delivery for %s failed: %s", rep.Domain, why)
	if !st.errorReports {
		return j.finish(rep, "skipped: "+why+" (error reports are off)", now, true)
	}
	j.o.Log.Info("DMARC: error report for %s generated for aggregate report %d", rep.Domain, rep.ID)
	var to []string
	for _, u := range plan.ErrorReport {
		to = appendAddr(to, u.Mailbox())
	}
	r := &dmarc.Report{ReportID: rep.ReportID, Policy: dmarc.PublishedPolicy{Domain: rep.Domain}}
	fields := r.ErrorReportText(st.receiver, plan.Size, plan.ErrorReport, now)
	subject := fmt.Sprintf("Error Report Domain: %s Submitter: %s Report-ID: <%s>", rep.Domain, st.receiver, rep.ReportID)
	mid, size, err := j.enqueue(rep, st, to, subject, func(mid uint64, date time.Time) []byte {
		return errorMail(rep, st, to, subject, why, fields, mid, date)
	})
	if err != nil {
		j.o.Log.Warning("DMARC: error report delivery for %s failed: %v", rep.Domain, err)
		return j.retryLater(rep, err, now)
	}
	rep.To, rep.MID = to, mid
	j.o.Log.Info("DMARC: error report for %s queued as MID %d (%d bytes) to %s", rep.Domain, mid, size, uriList(plan.ErrorReport))
	return j.finish(rep, fmt.Sprintf("error report queued MID %d: %s", mid, why), now, true)
}

// retryLater keeps a report that could not be queued for the next try.
func (j *Job) retryLater(rep store.DMARCReport, err error, now time.Time) store.DMARCReport {
	j.o.Log.Warning("DMARC: aggregate report delivery for %s failed: %v", rep.Domain, err)
	if now.Sub(rep.Generated) >= j.o.GiveUpAfter {
		return j.finish(rep, fmt.Sprintf("failed: %v", err), now, true)
	}
	rep.Tries++
	rep.NextTry = now.Add(j.o.RetryEvery)
	return j.finish(rep, fmt.Sprintf("pending: %v, next try %s", err, rep.NextTry.UTC().Format("Jan 2 15:04")), now, false)
}

// finish stores the report's new status.
func (j *Job) finish(rep store.DMARCReport, status string, now time.Time, done bool) store.DMARCReport {
	rep.Status, rep.Done = status, done
	if done {
		rep.NextTry = time.Time{}
		delete(j.unsent, rep.ID)
	} else {
		j.unsent[rep.ID] = rep.NextTry
	}
	if err := j.o.Store.UpdateDMARCReport(rep); err != nil {
		j.o.Log.Warning("DMARC: status of aggregate report %d not saved: %v", rep.ID, err)
	}
	return rep
}

// enqueue writes a message the gateway generates into the queue, as the
// delivery engine queues a DSN: a new MID from ICID 0, relayed (so the
// signing profiles apply, if SETUP signs system-generated mail: RFC 7489
// §7.2.1.1 wants reports to pass DMARC themselves).
func (j *Job) enqueue(rep store.DMARCReport, st settings, to []string, subject string, body func(mid uint64, date time.Time) []byte) (uint64, int, error) {
	q := j.o.Queue
	mid, err := q.IDs().Next(queue.MID)
	if err != nil {
		return 0, 0, err
	}
	now := j.o.Now()
	msg := body(mid, now)
	w, err := q.NewMessage()
	if err != nil {
		return 0, 0, err
	}
	if _, err := w.Write(msg); err != nil {
		w.Abort()
		return 0, 0, err
	}
	err = w.Commit(queue.Envelope{MID: mid, ICID: 0, Received: now, RemoteIP: "127.0.0.1", HELO: st.hostname,
		Relayed: true, From: st.from, Recipients: to, MessageID: messageID(rep, mid, st.hostname), Subject: subject})
	if err != nil {
		return 0, 0, err
	}
	j.mu.Lock()
	j.queued[mid] = &queuedReport{id: rep.ID}
	j.mu.Unlock()
	// ESA-CLI §11.4: a message the gateway generates is a new MID from
	// ICID 0.
	j.o.Log.Info("Start MID %d ICID 0", mid)
	j.o.Log.Info("MID %d ICID 0 From: <%s>", mid, st.from)
	for i, a := range to {
		j.o.Log.Info("MID %d ICID 0 RID %d To: <%s>", mid, i, a)
	}
	j.o.Log.Info("MID %d Message-ID '%s'", mid, messageID(rep, mid, st.hostname))
	j.o.Log.Info("MID %d Subject '%s'", mid, subject)
	j.o.Log.Info("MID %d ready %d bytes from <%s>", mid, len(msg), st.from)
	return mid, len(msg), nil
}

func messageID(rep store.DMARCReport, mid uint64, host string) string {
	return fmt.Sprintf("<dmarc.%d.%d@%s>", rep.ID, mid, host)
}

// reportSubject is the RFC 7489 §7.2.1.1 Subject.
func reportSubject(rep store.DMARCReport, receiver string) string {
	r := dmarc.Report{ReportID: rep.ReportID, Policy: dmarc.PublishedPolicy{Domain: rep.Domain}}
	return r.Subject(receiver)
}

// header writes the fields common to the report and the error report. The
// Subject is folded at its spaces before 78 characters (RFC 5322 §2.2.3;
// the §7.2.1.1 ABNF has FWS there).
func header(b *strings.Builder, st settings, to []string, subject, msgID string, date time.Time, boundary string) {
	fmt.Fprintf(b, "From: <%s>\r\n", st.from)
	fmt.Fprintf(b, "To: %s\r\n", angleList(to))
	b.WriteString(foldSubject("Subject: " + subject))
	fmt.Fprintf(b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(b, "Message-ID: %s\r\n", msgID)
	b.WriteString("Auto-Submitted: auto-generated\r\n") // RFC 3834 §5
	b.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a multi-part message in MIME format.\r\n\r\n")
}

func angleList(to []string) string {
	s := make([]string, len(to))
	for i, a := range to {
		s[i] = "<" + a + ">"
	}
	return strings.Join(s, ",\r\n ")
}

// foldSubject folds a Subject longer than 78 characters before its
// "Submitter:" and "Report-ID:" parts, as RFC 7489 §7.2.1.1's example
// does (its ABNF has FWS there).
func foldSubject(field string) string {
	if len(field) > 78 {
		field = strings.Replace(field, " Submitter: ", "\r\n Submitter: ", 1)
		field = strings.Replace(field, " Report-ID: ", "\r\n Report-ID: ", 1)
	}
	return field + "\r\n"
}

// reportMail is the report message: a short text part and the gzipped
// XML as application/gzip under its RFC 7489 §7.2.1.1 file name. Only the
// rua addresses are in To:; the copy addresses get it as blind copies.
func reportMail(rep store.DMARCReport, st settings, to []string, rua []dmarc.ReportURI, subject string, mid uint64, date time.Time, gz []byte) []byte {
	boundary := fmt.Sprintf("dmarc-%d.%d/%s", rep.ID, mid, st.hostname)
	shown := to
	if len(rua) > 0 {
		shown = nil
		for _, u := range rua {
			shown = appendAddr(shown, u.Mailbox())
		}
	}
	var b strings.Builder
	header(&b, st, shown, subject, messageID(rep, mid, st.hostname), date, boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is a DMARC aggregate report (RFC 7489) from %s for %s.\r\n", st.receiver, rep.Domain)
	fmt.Fprintf(&b, "Report-ID: <%s>\r\n", rep.ReportID)
	fmt.Fprintf(&b, "Period: %s to %s\r\n", rep.Begin.UTC().Format(time.RFC1123Z), rep.End.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
	fmt.Fprintf(&b, "Content-Type: application/gzip; name=\"%s\"\r\n", rep.FileName)
	fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\n", rep.FileName)
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	writeBase64(&b, gz)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return []byte(b.String())
}

// errorMail is the RFC 7489 §7.2.2 error report: a text/plain part of
// DSN-style fields (ErrorReportText) and one in words.
func errorMail(rep store.DMARCReport, st settings, to []string, subject, why, fields string, mid uint64, date time.Time) []byte {
	boundary := fmt.Sprintf("dmarc-error-%d.%d/%s", rep.ID, mid, st.hostname)
	var b strings.Builder
	header(&b, st, to, subject, messageID(rep, mid, st.hostname), date, boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	fmt.Fprintf(&b, "The DMARC aggregate report from %s for %s could not be sent:\r\n%s.\r\n", st.receiver, rep.Domain, why)
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	b.WriteString(fields)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return []byte(b.String())
}

// writeBase64 writes lines of 76 characters (RFC 2045 §6.8), the size
// dmarc.Payload.EncodedSize compares with the limits.
func writeBase64(b *strings.Builder, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc)
		b.WriteString("\r\n")
	}
}

// gunzip reads a stored report, at most limit bytes of XML.
func gunzip(gz []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("the report's XML is larger than %d bytes", limit)
	}
	return out, nil
}
