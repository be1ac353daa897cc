package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/dmarc"
	"esa/delivery/queue"
	"esa/store"
	"esa/store/dmarcconf"
)

// memDNS is an in-memory zone for the evaluator: names not listed are
// NXDOMAIN, names in fail SERVFAIL.
type memDNS struct {
	mu   sync.Mutex
	txt  map[string][]string
	fail map[string]bool
}

func (m *memDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if r, ok := m.txt[name]; ok {
		return r, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (m *memDNS) setFail(name string, f bool) {
	m.mu.Lock()
	m.fail[name] = f
	m.mu.Unlock()
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// logRec records mail_logs lines.
type logRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRec) add(level, f string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(f, a...))
	l.mu.Unlock()
}
func (l *logRec) Info(f string, a ...any)    { l.add("Info", f, a...) }
func (l *logRec) Warning(f string, a ...any) { l.add("Warning", f, a...) }
func (l *logRec) Debug(f string, a ...any)   { l.add("Debug", f, a...) }

func (l *logRec) has(t *testing.T, re string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	rx := regexp.MustCompile(re)
	for _, s := range l.lines {
		if rx.MatchString(s) {
			return
		}
	}
	t.Errorf("no log line matches %q in:\n%s", re, strings.Join(l.lines, "\n"))
}

// counter is a deterministic source of report IDs.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// tick is one wait the scheduler asked for.
type tick struct {
	d time.Duration
	c chan time.Time
}

type bed struct {
	dir   string
	clock *fakeClock
	st    *store.Store
	q     *queue.Queue
	dns   *memDNS
	ev    *dmarc.Evaluator
	log   *logRec
	waits chan tick
	job   *Job
}

// start is 10:00 UTC on the first day of traffic; with the factory report
// time 00:00 its period is Nov 30 00:00 to Dec 1 00:00.
var start = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func newBed(t testing.TB) *bed {
	t.Helper()
	b := &bed{dir: t.TempDir(), clock: &fakeClock{t: start}, log: &logRec{}, waits: make(chan tick)}
	b.dns = &memDNS{fail: map[string]bool{}, txt: map[string][]string{
		"_dmarc.example.com": {"v=DMARC1; p=reject; rua=mailto:dmarc@example.com,mailto:agg@thirdparty.example"},
		// RFC 7489 §7.1: thirdparty.example accepts example.com's reports.
		"example.com._report._dmarc.thirdparty.example": {"v=DMARC1"},
		// reports.example never agreed to take example.org's.
		"_dmarc.example.org":   {"v=DMARC1; p=none; rua=mailto:agg@reports.example"},
		"_dmarc.big.example":   {"v=DMARC1; p=quarantine; rua=mailto:dmarc@big.example!1k"},
		"_dmarc.quiet.example": {"v=DMARC1; p=none"},
	}}
	b.ev = dmarc.New(b.dns, dmarc.Options{})
	b.open(t)
	configure(t, b.st, func(s *dmarcconf.Settings) {
		s.Entity, s.Contact, s.ErrorReports = "esa.example.net", "https://esa.example.net/dmarc", true
	})
	return b
}

// open opens the store and queue of the bed's directory and a new job.
func (b *bed) open(t testing.TB) {
	t.Helper()
	st, err := store.Open(b.dir, store.Options{Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(filepath.Join(b.dir, "queue"))
	if err != nil {
		t.Fatal(err)
	}
	b.st, b.q = st, q
	t.Cleanup(func() { q.Close(); st.Close() })
	b.job = New(Options{Store: st, Queue: q, Evaluator: b.ev, Now: b.clock.Now, Log: b.log, Rand: &counter{},
		After: func(d time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			b.waits <- tick{d, c}
			return c
		}})
}

func configure(t testing.TB, st *store.Store, fn func(*dmarcconf.Settings)) {
	t.Helper()
	s := st.NewSession("test")
	if err := s.Update(func(c *store.Config) error { fn(&c.DMARC.Settings); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit("dmarc report settings", false); err != nil {
		t.Fatal(err)
	}
}

// message evaluates one message and records it as the listener does.
func (b *bed) message(t testing.TB, ip, envFrom, from string, spf dmarc.AuthResult, dkim ...dmarc.DKIMResult) {
	t.Helper()
	in := dmarc.Input{FromDomains: []string{from}, SPF: dmarc.SPFResult{Domain: envFrom, Scope: dmarc.ScopeMailFrom, Result: spf}, DKIM: dkim}
	res := b.ev.Evaluate(context.Background(), in)
	for _, r := range res.PerAuthor() {
		row, ok := dmarc.NewRow(netip.MustParseAddr(ip), "esa.example.net", envFrom, in, r)
		if ok {
			b.job.Record(r, row)
		}
	}
}

// traffic is a day of mail for three reporting domains and one that asks
// for no reports.
func (b *bed) traffic(t *testing.T) {
	for range 3 {
		b.message(t, "192.0.2.10", "example.com", "example.com", dmarc.ResultPass, dmarc.DKIMResult{Domain: "example.com", Selector: "s1", Result: dmarc.ResultPass})
	}
	b.message(t, "2001:db8::25", "bounce.esp.example", "example.com", dmarc.ResultPass, dmarc.DKIMResult{Domain: "esp.example", Selector: "k", Result: dmarc.ResultPass})
	b.message(t, "198.51.100.7", "example.org", "example.org", dmarc.ResultSoftFail)
	b.message(t, "203.0.113.5", "quiet.example", "quiet.example", dmarc.ResultPass)
	// big.example: enough distinct sources that the report outgrows the
	// 1k limit of its rua.
	for i := range 300 {
		b.message(t, fmt.Sprintf("10.%d.%d.%d", i/250, i%250, i%7), fmt.Sprintf("s%03d-%x.big.example", i, i*7919), "big.example", dmarc.ResultFail)
	}
}

// run starts the scheduler and returns its first wait.
func (b *bed) run(t *testing.T) (tick, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.job.Run(ctx) }()
	w := b.next(t)
	return w, func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	}
}

// next waits for the scheduler's next wait: it has finished what it does
// on waking.
func (b *bed) next(t *testing.T) tick {
	t.Helper()
	select {
	case w := <-b.waits:
		return w
	case <-time.After(20 * time.Second):
		t.Fatal("the scheduler did not come back to wait")
	}
	return tick{}
}

func (b *bed) reports(t *testing.T) map[string]store.DMARCReport {
	t.Helper()
	_, reps, err := b.job.List(0)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.DMARCReport{}
	for _, r := range reps {
		m[r.Domain] = r
	}
	return m
}

// queued reads a queued message: its envelope and its bytes.
func (b *bed) queued(t *testing.T, mid uint64) (queue.Envelope, []byte) {
	t.Helper()
	e, ok := b.q.Get(mid)
	if !ok {
		t.Fatalf("MID %d is not in the queue", mid)
	}
	m, err := b.q.Open(mid)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	body, err := io.ReadAll(m)
	if err != nil {
		t.Fatal(err)
	}
	return e.Envelope, body
}

// TestSchedulerSendsDailyReports: a day of traffic, the scheduler waking
// at the report time, one report per policy domain: example.com to its own
// and its authorized external rua, example.org's unauthorized rua left
// out, big.example's report too large for its rua (an error report
// instead), quiet.example (no rua) none.
func TestSchedulerSendsDailyReports(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.traffic(t)
	w, stop := b.run(t)
	defer stop()
	if w.d != time.Minute {
		t.Errorf("first wait %v, want the flush interval", w.d)
	}
	pend, reps, err := b.job.List(0)
	if err != nil || len(reps) != 0 || len(pend) != 3 {
		t.Fatalf("before the report time: pending %+v, reports %+v, %v", pend, reps, err)
	}
	// The scheduler wakes at the report time exactly, not a flush later.
	b.clock.Set(time.Date(2026, 11, 30, 23, 59, 30, 0, time.UTC))
	w.c <- b.clock.Now()
	w = b.next(t)
	if w.d != 30*time.Second {
		t.Errorf("wait before the report time %v, want 30s", w.d)
	}
	if len(b.reports(t)) != 0 {
		t.Fatal("reports sent before the period ended")
	}
	b.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	w.c <- b.clock.Now()
	w = b.next(t)

	got := b.reports(t)
	if len(got) != 3 {
		t.Fatalf("reports %+v", got)
	}
	com := got["example.com"]
	if com.Status != fmt.Sprintf("queued MID %d", com.MID) || com.Messages != 4 || com.Records != 2 || !com.Done {
		t.Errorf("example.com: %+v", com)
	}
	if strings.Join(com.To, ",") != "dmarc@example.com,agg@thirdparty.example" {
		t.Errorf("example.com went to %q", com.To)
	}
	org := got["example.org"]
	if org.MID != 0 || !strings.HasPrefix(org.Status, "skipped: no rua destination is authorized (mailto:agg@reports.example)") {
		t.Errorf("example.org: %+v", org)
	}
	big := got["big.example"]
	if !strings.HasPrefix(big.Status, fmt.Sprintf("error report queued MID %d: ", big.MID)) || big.Messages != 300 {
		t.Errorf("big.example: %+v", big)
	}
	if p, _, _ := b.job.List(0); len(p) != 0 {
		t.Errorf("still pending after the reports: %+v", p)
	}

	// The report message (RFC 7489 §7.2.1.1).
	env, msg := b.queued(t, com.MID)
	if env.From != "noreply-dmarc-support@esa.example.com" || env.ICID != 0 || !env.Relayed ||
		strings.Join(env.Recipients, ",") != "dmarc@example.com,agg@thirdparty.example" {
		t.Errorf("envelope %+v", env)
	}
	xmlDoc, name := checkReportMail(t, msg, com)
	begin, end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Unix()-1
	if want := regexp.MustCompile(fmt.Sprintf(`^esa\.example\.net!example\.com!%d!%d![A-Za-z0-9]+\.xml\.gz$`, begin, end)); !want.MatchString(name) {
		t.Errorf("file name %q is not RFC 7489 §7.2.1.1's", name)
	}
	validate(t, xmlDoc)
	fb, err := dmarc.ReadReport(msg)
	if err != nil {
		t.Fatalf("our report mail does not read back: %v", err)
	}
	if fb.OrgName != "esa.example.net" || fb.Email != "noreply-dmarc-support@esa.example.com" || fb.ExtraContactInfo != "https://esa.example.net/dmarc" ||
		fb.Begin.Unix() != begin || fb.End.Unix() != end || fb.Policy.Domain != "example.com" || fb.Policy.P != "reject" || len(fb.Records) != 2 ||
		fb.Records[0].Count != 3 || fb.Records[1].SourceIP != "2001:db8:0:0:0:0:0:25" || fb.Records[1].DKIM != "fail" {
		t.Errorf("report read back: %+v", fb)
	}

	// The error report (RFC 7489 §7.2.2) to big.example's rua.
	env, msg = b.queued(t, big.MID)
	if strings.Join(env.Recipients, ",") != "dmarc@big.example" {
		t.Errorf("error report to %q", env.Recipients)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	parts := mimeParts(t, m)
	if len(parts) != 2 || !strings.HasPrefix(parts[1].ctype, "text/plain") {
		t.Fatalf("error report parts %+v", parts)
	}
	for _, f := range []string{"Report-Date: Tue, 01 Dec 2026 00:00:00 +0000", "Report-Domain: big.example", "Report-ID: " + big.ReportID,
		"Report-Size: ", "Submitter: esa.example.net", "Submitting-URI: mailto:dmarc@big.example\r\n"} {
		if !strings.Contains(string(parts[1].body), f) {
			t.Errorf("error report lacks %q:\n%s", f, parts[1].body)
		}
	}

	b.log.has(t, `^Info: DMARC: aggregate report \d+ for example\.com generated: 2 records for 4 messages, \d+ bytes gzipped, file esa\.example\.net!example\.com!`)
	b.log.has(t, fmt.Sprintf(`^Info: DMARC: aggregate report \d+ for example\.com queued as MID %d \(2 records, \d+ bytes\) to rua=mailto:dmarc@example\.com, rua=mailto:agg@thirdparty\.example$`, com.MID))
	b.log.has(t, fmt.Sprintf(`^Info: MID %d ICID 0 RID 1 To: <agg@thirdparty\.example>$`, com.MID))
	b.log.has(t, `^Warning: DMARC: aggregate report for example\.org not sent to rua=mailto:agg@reports\.example: example\.org\._report\._dmarc\.reports\.example does not authorize`)
	b.log.has(t, `^Warning: DMARC: aggregate report delivery for example\.org failed: no rua destination is authorized$`)
	b.log.has(t, `^Warning: DMARC: aggregate report delivery for big\.example failed: \d+ bytes exceed the size limit of rua=mailto:dmarc@big\.example!1k$`)
	b.log.has(t, `^Info: DMARC: error report for big\.example generated for aggregate report \d+$`)
	b.log.has(t, fmt.Sprintf(`^Info: DMARC: error report for big\.example queued as MID %d`, big.MID))

	// Nothing left: the next wake is a flush.
	if w.d != time.Minute {
		t.Errorf("wait after the reports %v", w.d)
	}
}

type part struct {
	ctype, disp string
	body        []byte
}

func mimeParts(t *testing.T, m *mail.Message) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var out []part
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			if body, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body))); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, part{ctype: p.Header.Get("Content-Type"), disp: p.Header.Get("Content-Disposition"), body: body})
	}
	return out
}

// checkReportMail checks the header and MIME structure of a report
// message and returns the XML and the attachment's file name.
func checkReportMail(t *testing.T, msg []byte, rep store.DMARCReport) ([]byte, string) {
	t.Helper()
	for _, line := range strings.SplitAfter(string(msg), "\r\n") {
		if len(line) > 1000 {
			t.Fatalf("a line of %d characters (RFC 5322 §2.1.1 allows 998)", len(line))
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	wantSubject := fmt.Sprintf("Report Domain: %s Submitter: esa.example.net Report-ID: <%s>", rep.Domain, rep.ReportID)
	if got := h.Get("Subject"); got != wantSubject {
		t.Errorf("Subject %q, want %q", got, wantSubject)
	}
	if !regexp.MustCompile(`^Subject: Report Domain: \S+\r\n Submitter: \S+\r\n Report-ID: <\S+>\r\n`).MatchString(string(msg[strings.Index(string(msg), "Subject:"):])) {
		t.Errorf("Subject not folded at its spaces:\n%s", msg[:400])
	}
	if h.Get("From") != "<noreply-dmarc-support@esa.example.com>" || h.Get("Auto-Submitted") != "auto-generated" || h.Get("MIME-Version") != "1.0" {
		t.Errorf("header %v", h)
	}
	to, err := h.AddressList("To")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range to {
		got = append(got, a.Address)
	}
	if strings.Join(got, ",") != strings.Join(rep.To, ",") {
		t.Errorf("To: %q, want the rua addresses %q", got, rep.To)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if !strings.HasPrefix(h.Get("Message-ID"), "<dmarc.") {
		t.Errorf("Message-ID %q", h.Get("Message-ID"))
	}
	parts := mimeParts(t, m)
	if len(parts) != 2 || !strings.HasPrefix(parts[0].ctype, "text/plain") {
		t.Fatalf("parts %+v", parts)
	}
	mt, params, err := mime.ParseMediaType(parts[1].ctype)
	if err != nil || mt != "application/gzip" {
		t.Fatalf("attachment type %q (RFC 7489 §7.2.1.1 wants application/gzip)", parts[1].ctype)
	}
	_, dparams, err := mime.ParseMediaType(parts[1].disp)
	if err != nil || dparams["filename"] != rep.FileName || params["name"] != rep.FileName {
		t.Errorf("attachment named %q / %q, want %q", dparams["filename"], params["name"], rep.FileName)
	}
	zr, err := gzip.NewReader(bytes.NewReader(parts[1].body))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != strings.TrimSuffix(rep.FileName, ".gz") {
		t.Errorf("gzip header name %q", zr.Name)
	}
	if len(doc) != rep.XMLSize || len(parts[1].body) != rep.Size {
		t.Errorf("sizes %d/%d, recorded %d/%d", len(doc), len(parts[1].body), rep.XMLSize, rep.Size)
	}
	return doc, dparams["filename"]
}

// validate runs xmllint with the fixed RFC 7489 Appendix C schema.
func validate(t *testing.T, doc []byte) {
	t.Helper()
	xsd := filepath.Join("..", "..", "..", "shared", "testdata", "dmarc", "rfc7489-appendixC-fixed.szepeviktor.xsd")
	if _, err := os.Stat(xsd); err != nil {
		t.Skipf("schema not found at %s: skipping validation", xsd)
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (make deps installs libxml2-utils): skipping schema validation")
	}
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Errorf("xmllint rejects the report: %v\n%s\n%s", err, out, doc)
	}
}

// TestCopiesAndOptions: the copy addresses get every report as blind
// copies (even one no rua may take), and with error reports off a report
// too large for its rua is skipped.
func TestCopiesAndOptions(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	configure(t, b.st, func(s *dmarcconf.Settings) {
		s.CopyTo, s.ErrorReports, s.ReturnAddress = []string{"dmarc-copies@esa.example.net"}, false, "dmarc@esa.example.net"
	})
	b.traffic(t)
	reps, err := b.job.GenerateNow(context.Background(), "")
	if err != nil || len(reps) != 3 {
		t.Fatalf("GenerateNow: %+v %v", reps, err)
	}
	got := b.reports(t)
	com := got["example.com"]
	env, msg := b.queued(t, com.MID)
	if strings.Join(env.Recipients, ",") != "dmarc@example.com,agg@thirdparty.example,dmarc-copies@esa.example.net" || env.From != "dmarc@esa.example.net" {
		t.Errorf("envelope %+v", env)
	}
	m, _ := mail.ReadMessage(bytes.NewReader(msg))
	if strings.Contains(m.Header.Get("To"), "copies") || m.Header.Get("From") != "<dmarc@esa.example.net>" {
		t.Errorf("header To %q From %q", m.Header.Get("To"), m.Header.Get("From"))
	}
	org := got["example.org"]
	if org.Status != fmt.Sprintf("queued MID %d, to the copy addresses only: no rua destination is authorized", org.MID) {
		t.Errorf("example.org: %+v", org)
	}
	if env, _ := b.queued(t, org.MID); strings.Join(env.Recipients, ",") != "dmarc-copies@esa.example.net" {
		t.Errorf("example.org report to %q", env.Recipients)
	}
	big := got["big.example"]
	if big.MID != 0 || !regexp.MustCompile(`^skipped: \d+ bytes exceed the size limit of rua=mailto:dmarc@big\.example!1k \(error reports are off\)$`).MatchString(big.Status) {
		t.Errorf("big.example: %+v", big)
	}
	// The report is kept for dmarcreports show.
	if _, doc, err := b.job.Report(big.ID); err != nil || !bytes.Contains(doc, []byte("<domain>big.example</domain>")) {
		t.Errorf("stored XML: %v\n%.200s", err, doc)
	}
}

// TestGenerateNowCutsThePeriod: a report generated before the period ends
// covers up to now; later traffic goes into a report that starts there.
func TestGenerateNowCutsThePeriod(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.message(t, "192.0.2.10", "example.com", "example.com", dmarc.ResultPass)
	reps, err := b.job.GenerateNow(context.Background(), "EXAMPLE.COM.")
	if err != nil || len(reps) != 1 || !reps[0].End.Equal(start.Add(-time.Second)) || !reps[0].Begin.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("early report %+v %v", reps, err)
	}
	if reps, _ := b.job.GenerateNow(context.Background(), "example.com"); len(reps) != 0 {
		t.Errorf("a second report with no new data: %+v", reps)
	}
	b.clock.Set(start.Add(2 * time.Hour))
	b.message(t, "192.0.2.11", "example.com", "example.com", dmarc.ResultPass)
	w, stop := b.run(t)
	defer stop()
	b.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	w.c <- b.clock.Now()
	b.next(t)
	_, all, _ := b.job.List(0)
	if len(all) != 2 || !all[0].Begin.Equal(start) || all[0].Messages != 1 || !all[0].End.Equal(time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("reports %+v", all)
	}
}

// TestDataSurvivesRestart: rows flushed before a crash (no Close) are in
// the report the restarted gateway sends; a report held back by a DNS
// failure is sent by the next process once DNS answers.
func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.message(t, "192.0.2.10", "example.com", "example.com", dmarc.ResultPass)
	b.message(t, "192.0.2.10", "example.com", "example.com", dmarc.ResultPass)
	if err := b.job.Flush(); err != nil {
		t.Fatal(err)
	}
	// The crash: the process ends without Close.
	b.q.Close()
	b.st.Close()
	b.open(t)
	b.dns.setFail("example.com._report._dmarc.thirdparty.example", true)
	b.clock.Set(time.Date(2026, 12, 1, 0, 0, 5, 0, time.UTC))
	w, stop := b.run(t)
	rep := b.reports(t)["example.com"]
	if rep.Messages != 2 || rep.Done || rep.MID != 0 || !strings.HasPrefix(rep.Status, "pending: destination check failed") {
		t.Fatalf("report with DNS failing: %+v", rep)
	}
	if w.d != time.Minute {
		t.Errorf("wait %v", w.d)
	}
	b.log.has(t, `^Warning: DMARC: aggregate report \d+ for example\.com held: external destination check failed: .*; next try 00:30$`)
	stop()

	// Restart again: the report is still due at its retry time.
	b.q.Close()
	b.st.Close()
	b.open(t)
	b.dns.setFail("example.com._report._dmarc.thirdparty.example", false)
	b.clock.Set(time.Date(2026, 12, 1, 0, 29, 30, 0, time.UTC))
	w, stop = b.run(t)
	defer stop()
	if w.d != 35*time.Second {
		t.Errorf("wait until the retry %v, want 35s", w.d)
	}
	if r := b.reports(t)["example.com"]; r.Done {
		t.Fatalf("retried before its time: %+v", r)
	}
	b.clock.Set(time.Date(2026, 12, 1, 0, 30, 5, 0, time.UTC))
	w.c <- b.clock.Now()
	b.next(t)
	rep = b.reports(t)["example.com"]
	if !rep.Done || rep.Status != fmt.Sprintf("queued MID %d", rep.MID) || rep.Tries != 1 {
		t.Errorf("after the retry: %+v", rep)
	}
	if _, ok := b.q.Get(rep.MID); !ok {
		t.Errorf("MID %d not queued", rep.MID)
	}
}

// TestPeriod: the day ends at the report time.
func TestPeriod(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		t          string
		rt         string
		begin, end string
	}{
		{"2026-11-30T10:00:00Z", "00:00", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"2026-11-30T00:00:00Z", "00:00", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"2026-11-30T05:59:59Z", "06:00", "2026-11-29T06:00:00Z", "2026-11-30T06:00:00Z"},
		{"2026-11-30T06:00:00Z", "06:00", "2026-11-30T06:00:00Z", "2026-12-01T06:00:00Z"},
		{"2026-12-31T23:59:00Z", "23:59", "2026-12-31T23:59:00Z", "2027-01-01T23:59:00Z"},
		{"2026-11-30T10:00:00+09:00", "bogus", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, c.t)
		b, e := Period(at, ParseReportTime(c.rt))
		if b.Format(time.RFC3339) != c.begin || e.Format(time.RFC3339) != c.end {
			t.Errorf("Period(%s, %s) = %s, %s; want %s, %s", c.t, c.rt, b.Format(time.RFC3339), e.Format(time.RFC3339), c.begin, c.end)
		}
	}
}

// BenchmarkRecord files rows from parallel sessions, as the listeners do
// (a third of them new rows, the rest counts of existing ones).
func BenchmarkRecord(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	dns := &memDNS{fail: map[string]bool{}, txt: map[string][]string{"_dmarc.example.com": {"v=DMARC1; p=reject; rua=mailto:d@example.com"}}}
	ev := dmarc.New(dns, dmarc.Options{})
	j := New(Options{Store: st, Evaluator: ev})
	in := dmarc.Input{FromDomains: []string{"example.com"}, SPF: dmarc.SPFResult{Domain: "example.com", Scope: dmarc.ScopeMailFrom, Result: dmarc.ResultPass}}
	res := ev.Evaluate(context.Background(), in)
	rows := make([]dmarc.Row, 3000)
	for i := range rows {
		rows[i], _ = dmarc.NewRow(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), "", "example.com", in, res)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			j.Record(res, rows[i%len(rows)])
			i++
		}
	})
}

// TestDMARCbisReport: under the DMARCbis rules (tree walk) the report the
// job builds from its stored rows is in the DMARCbis aggregate format and
// validates against that schema (draft 30 of the aggregate reporting
// document).
func TestDMARCbisReport(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.ev = dmarc.New(b.dns, dmarc.Options{Mode: dmarc.DMARCbis})
	b.job.o.Evaluator = b.ev
	b.message(t, "192.0.2.10", "example.com", "example.com", dmarc.ResultPass)
	if err := b.job.Flush(); err != nil {
		t.Fatal(err)
	}
	reps, err := b.job.GenerateNow(context.Background(), "")
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %+v %v", reps, err)
	}
	_, doc, err := b.job.Report(reps[0].ID)
	if err != nil || !bytes.Contains(doc, []byte(`<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">`)) ||
		!bytes.Contains(doc, []byte("<discovery_method>treewalk</discovery_method>")) {
		t.Fatalf("not a DMARCbis report: %v\n%s", err, doc)
	}
	xsd := filepath.Join("..", "..", "..", "shared", "testdata", "dmarc", "rfc9990-draft30", "dmarc-xml-0.2.xsd")
	if _, err := os.Stat(xsd); err != nil {
		t.Skipf("schema not found at %s: skipping validation", xsd)
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (make deps installs libxml2-utils): skipping schema validation")
	}
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Errorf("xmllint rejects the DMARCbis report: %v\n%s\n%s", err, out, doc)
	}
}

// BenchmarkDailyReport builds and queues one policy domain's report from
// a day of 10,000 distinct rows stored in 60 flushes: what the scheduler
// does per domain at the report time.
func BenchmarkDailyReport(b *testing.B) {
	bd := newBed(b)
	in := dmarc.Input{FromDomains: []string{"example.com"}, SPF: dmarc.SPFResult{Domain: "example.com", Scope: dmarc.ScopeMailFrom, Result: dmarc.ResultPass}}
	res := bd.ev.Evaluate(context.Background(), in)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range 10000 {
			row, _ := dmarc.NewRow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "", "example.com", in, res)
			bd.job.Record(res, row)
			if i%167 == 0 {
				if err := bd.job.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := bd.job.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		reps, err := bd.job.GenerateNow(context.Background(), "example.com")
		if err != nil || len(reps) != 1 || reps[0].Records != 10000 || reps[0].MID == 0 {
			b.Fatalf("%+v %v", reps, err)
		}
	}
}
