package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/dnssec/dnstest"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// The fixed RFC 7489 Appendix C schema (../shared/testdata/dmarc/README.md:
// the verbatim one does not compile with xmllint).
const dmarcSchema = "../../../shared/testdata/dmarc/rfc7489-appendixC-fixed.szepeviktor.xsd"

// authMail is one message a mail host received.
type authMail struct {
	from  string
	rcpts []string
	data  string
}

// subject is the message's Subject: field ("" when it has none).
func (m authMail) subject() string {
	msg, err := mail.ReadMessage(strings.NewReader(m.data))
	if err != nil {
		return ""
	}
	return msg.Header.Get("Subject")
}

// authSink is the loopback mail host every MX of the test zone points to:
// it keeps what it receives with its envelope and signals each arrival.
type authSink struct {
	mu      sync.Mutex
	msgs    []authMail
	arrived chan struct{}
}

func newAuthSink() *authSink { return &authSink{arrived: make(chan struct{}, 1)} }

func (s *authSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &authSinkSession{s: s}, nil
}

type authSinkSession struct {
	s     *authSink
	from  string
	rcpts []string
}

func (x *authSinkSession) Reset()        { x.from, x.rcpts = "", nil }
func (x *authSinkSession) Logout() error { return nil }
func (x *authSinkSession) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *authSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.rcpts = append(x.rcpts, to)
	return nil
}
func (x *authSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, authMail{from: x.from, rcpts: append([]string(nil), x.rcpts...), data: string(b)})
	x.s.mu.Unlock()
	select {
	case x.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

// find returns the received messages pred accepts.
func (s *authSink) find(pred func(authMail) bool) []authMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []authMail
	for _, m := range s.msgs {
		if pred(m) {
			out = append(out, m)
		}
	}
	return out
}

// await waits for the first message pred accepts, woken by each arrival.
func (s *authSink) await(t *testing.T, dir, what string, pred func(authMail) bool) authMail {
	t.Helper()
	return s.awaitN(t, dir, what, 1, pred)[0]
}

// awaitN waits until n messages pred accepts have arrived.
func (s *authSink) awaitN(t *testing.T, dir, what string, n int, pred func(authMail) bool) []authMail {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		if ms := s.find(pred); len(ms) >= n {
			return ms
		}
		select {
		case <-s.arrived:
		case <-timeout:
			logs, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("the mail host never received %s; mail_logs:\n%s", what, logs)
		}
	}
}

func bySubject(subject string) func(authMail) bool {
	return func(m authMail) bool { return m.subject() == subject }
}

// authListener is the listenerconfig NEW answers for a public listener of
// dest.test whose default policy verifies DMARC with the profile numbered
// profile (in dmarcconfig's list) and sends aggregate reports; spf are the
// SPF/SIDF answers ("" leaves SPF off).
func authListener(name string, port int, profile string, spf ...string) []string {
	lines := []string{"new", "2", name, "127.0.0.1", strconv.Itoa(port), "dest.test", "y"}
	// The 14 default-policy questions, DKIM/DomainKeys signing and DKIM
	// verification: Enter (DMARC starts a DKIM check of its own).
	lines = append(lines, make([]string, 16)...)
	lines = append(lines, spf...)
	return append(lines, "y", profile, "y")
}

// The filters added with NEW after the seed's three are imported:
// forged email detection (seed 004 "偽造電子メールの検出") and one that
// shows filters see the DMARC verdict.
const authFilters = `forged-ceo:
if (forged-email-detection("Execs", 80)) {
fed("from", "");
}
dmarc-failed:
if (dmarc == "fail") {
insert-header("X-DMARC-Failed", "yes");
}
.`

// authMessage is a message from the header From: from with subject.
func authMessage(from, subject string, extra ...string) string {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\nTo: b@dest.test\r\nSubject: " + subject + "\r\n")
	b.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + subject + "@client.test>\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\nmail authentication end to end: " + subject + "\r\n")
	return b.String()
}

// TestMailAuthEndToEnd: issue 17 on the real daemon, configured only
// through the shell, with a signed loopback DNS hierarchy (--resolver,
// --trust-anchor) and a loopback mail host behind every MX (--mx-port):
//
//   - DMARC on three listeners whose policies name dmarcconfig profiles:
//     p=reject refused with the profile's reply, p=quarantine held, a
//     temporary DNS failure refused by the profile that says so, p=reject
//     quarantined or accepted by profiles that say so, an SPF-aligned
//     message passing with Authentication-Results: dmarc=pass, and the
//     bypass header and address of dmarcconfig SETUP skipping it;
//   - quarantineconfig lists the held messages and RELEASE sends one on;
//   - the seed's three example filters, imported from a file, quarantine
//     PRA+MAIL FROM Fail and stamp an SPF TempError's subject;
//   - forged email detection with a dictionaryconfig dictionary replaces
//     From: and forgedemailreport counts it;
//   - dmarcreports generate mails each policy domain's aggregate report,
//     gzipped under its RFC 7489 §7.2.1.1 name, to its rua at the loopback
//     MX; the XML validates against the fixed RFC 7489 schema;
//   - trace shows the DMARC verdict and the filter that matched.
func TestMailAuthEndToEnd(t *testing.T) {
	t.Parallel()
	sk := newAuthSink()
	sinkPort := serveSink(t, sk)

	ed := dnstest.KeyConfig{Algorithm: dns.ED25519}
	h := dnstest.New(t, dnstest.Options{Deterministic: true, Root: dnstest.ZoneConfig{Keys: ed}})
	h.AddZone("test.", dnstest.ZoneConfig{Keys: ed, Denial: dnstest.Denial{NSEC3: true}})
	h.Add(
		// Every mail host is the sink.
		`dest.test. 300 IN MX 10 mx.dest.test.`,
		`reject.test. 300 IN MX 10 mx.dest.test.`,
		`quar.test. 300 IN MX 10 mx.dest.test.`,
		`mx.dest.test. 300 IN A 127.0.0.1`,
		// p=reject: 127.0.0.1 may not send as reject.test, but may as
		// mail.reject.test (relaxed SPF alignment, RFC 7489 §3.1.2).
		`reject.test. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`_dmarc.reject.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@reject.test"`,
		`mail.reject.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`quar.test. 300 IN TXT "v=spf1 -all"`,
		`_dmarc.quar.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@quar.test"`,
		// No DMARC records: the filters' domains.
		`pass.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`fail.test. 300 IN TXT "v=spf1 -all"`,
		`sidf.test. 300 IN TXT "spf2.0/pra -all"`,
		`tempfail.test. 300 IN A 192.0.2.9`,
		`dmarctemp.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
	)
	// SPF TempError (RFC 7208 §4.4) and a DMARC policy that cannot be
	// fetched (RFC 7489 §6.6.3: temporary failure).
	h.Break("tempfail.test.", dns.TypeTXT, dnstest.ServFail)
	h.Break("_dmarc.dmarctemp.test.", dns.TypeTXT, dnstest.ServFail)
	front := h.Serve(t)

	dir := t.TempDir()
	anchor := filepath.Join(dir, "anchor")
	if err := os.WriteFile(anchor, []byte(h.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "configuration")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join("..", "..", "testdata", "filters", "seed_examples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "seed_filters.txt"), seed, 0o600); err != nil {
		t.Fatal(err)
	}

	inbound, quarPort, laxPort := freePort(t), freePort(t), freePort(t)
	lines := []string{
		"dmarcconfig", "profiles",
		// STRICT: the factory reject reply for p=reject, quarantine for
		// p=quarantine, temporary failures refused with the factory 451.
		"new", "STRICT", "3", "", "", "2", "1", "2", "", "", "1",
		// QREJ: p=reject quarantined.
		"new", "QREJ", "2", "1", "2", "1", "1", "1",
		// LAX: no action.
		"new", "LAX", "1", "1", "1", "1",
		"print", "",
		// SETUP: no report settings; the bypass address and header.
		"setup", "n", "y", "list@reject.test", "y", "add", "X-Mailing-List", "", "", "",
		"",
		"dictionaryconfig", "new", "Execs", "n", "Olivia Smith", "Liam Jones", "", "",
		"filters", "import", "seed_filters.txt", "new",
	}
	lines = append(lines, strings.Split(authFilters, "\n")...)
	lines = append(lines, "list", "", "listenerconfig")
	// Inbound verifies SPF/SIDF (SIDF compatible, no HELO test, every
	// result accepted: the filters act on them).
	lines = append(lines, authListener("Inbound", inbound, "2", "y", "y", "", "n", "n", "n", "n", "")...)
	// The other two leave SPF off: DMARC checks MAIL FROM itself.
	lines = append(lines, authListener("QuarReject", quarPort, "3", "")...)
	lines = append(lines, authListener("Lax", laxPort, "4", "")...)
	lines = append(lines, "", "commit", "mail authentication end to end", "")
	out, errs, code := pipe(t, dir, strings.Join(lines, "\n")+"\n")
	for _, want := range []string{
		"Changes committed:",
		"Temporary Failure: Reject (451 #4.7.1 Unable to perform DMARC verification)",
		"DMARC Verification Profile: QREJ\nMessage Action When The Policy Is Reject: Quarantine (Policy)",
		"DMARC Verification Profile: LAX\nMessage Action When The Policy Is Reject: No Action",
		"3 filters imported from seed_filters.txt",
		"2 filters added.",
		"  5   Y      Y   dmarc-failed",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("configuring (exit %d): no %q in:\n%s\n%s", code, want, out, errs)
		}
	}
	if code != 0 || strings.Contains(out, "Please answer") || strings.Contains(out, "Value must") || strings.Contains(out, "Unknown option") {
		t.Fatalf("the script went out of step with the questions (exit %d):\n%s\n%s", code, out, errs)
	}

	startServeArgs(t, dir, []string{"--resolver", front.Addr, "--trust-anchor", anchor}, "--mx-port", strconv.Itoa(sinkPort))
	send := func(port int, mailFrom, msg string) error {
		return submit("127.0.0.1:"+strconv.Itoa(port), mailFrom, "b@dest.test", msg)
	}
	accepted := func(t *testing.T, port int, mailFrom, from, subject string, extra ...string) {
		t.Helper()
		if err := send(port, mailFrom, authMessage(from, subject, extra...)); err != nil {
			t.Errorf("%s: %v", subject, err)
		}
	}
	refused := func(t *testing.T, port int, mailFrom, from, subject string, code int, text string) {
		t.Helper()
		err := send(port, mailFrom, authMessage(from, subject))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != code || se.Message != text {
			t.Errorf("%s: got %v, want %d %s", subject, err, code, text)
		}
	}

	t.Run("DMARC on the listeners", func(t *testing.T) {
		// A held message first: the delivered ones after it show the
		// engine passed it by.
		accepted(t, inbound, "a@quar.test", "a@quar.test", "dmarc-quarantine")
		refused(t, inbound, "a@reject.test", "a@reject.test", "dmarc-reject", 550, "#5.7.1 DMARC unauthenticated mail is prohibited")
		refused(t, inbound, "a@pass.test", "x@dmarctemp.test", "dmarc-temperror", 451, "#4.7.1 Unable to perform DMARC verification")
		accepted(t, inbound, "bounce@mail.reject.test", "news@reject.test", "dmarc-pass")
		accepted(t, inbound, "a@reject.test", "a@reject.test", "bypass-header", "X-Mailing-List: <e2e.reject.test>")
		accepted(t, inbound, "list@reject.test", "a@reject.test", "bypass-address")
		accepted(t, quarPort, "a@reject.test", "a@reject.test", "profile-quarantine")
		accepted(t, laxPort, "a@reject.test", "a@reject.test", "profile-none")

		ar := regexp.MustCompile(`(?m)^Authentication-Results: esa\.example\.com;.*\bdmarc=pass\b.*header\.from=reject\.test`)
		if m := sk.await(t, dir, "dmarc-pass", bySubject("dmarc-pass")); !ar.MatchString(m.data) {
			t.Errorf("the passing message lacks Authentication-Results: ... dmarc=pass:\n%s", m.data)
		}
		for _, s := range []string{"bypass-header", "bypass-address"} {
			if m := sk.await(t, dir, s, bySubject(s)); strings.Contains(m.data, "dmarc=") || strings.Contains(m.data, "X-DMARC-Failed") {
				t.Errorf("%s was verified:\n%s", s, m.data)
			}
		}
		m := sk.await(t, dir, "profile-none", bySubject("profile-none"))
		if !regexp.MustCompile(`(?m)^Authentication-Results: esa\.example\.com;.*\bdmarc=fail\b`).MatchString(m.data) ||
			!strings.Contains(m.data, "\r\nX-DMARC-Failed: yes\r\n") {
			t.Errorf("the LAX profile's message lacks dmarc=fail or the dmarc-failed filter's field:\n%s", m.data)
		}
		for _, s := range []string{"dmarc-quarantine", "profile-quarantine", "dmarc-reject", "dmarc-temperror"} {
			if len(sk.find(bySubject(s))) != 0 {
				t.Errorf("%s reached the mail host", s)
			}
		}
		logs, _, _ := pipe(t, dir, "grep -e \"DMARC\" mail_logs\n")
		for _, re := range []string{
			`MID \d+ DMARC: Message rejected by DMARC policy \(p=reject\)`,
			`MID \d+ DMARC: Message quarantined by DMARC policy \(p=quarantine\) in Policy`,
			`MID \d+ DMARC: Message quarantined by DMARC policy \(p=reject\) in Policy`,
			`MID \d+ DMARC: No action taken by DMARC verification profile LAX \(p=reject\)`,
			`MID \d+ ICID \d+ Receiving Failed: DMARC temporary failure`,
			`MID \d+ DMARC: Verification passed`,
			`MID \d+ DMARC: Verification skipped \(.*X-Mailing-List.*\)`,
			`MID \d+ DMARC: Verification skipped \(.*list@reject\.test.*\)`,
		} {
			if !regexp.MustCompile(re).MatchString(logs) {
				t.Errorf("mail_logs lacks %s:\n%s", re, logs)
			}
		}
	})

	t.Run("seed filters and forged email detection", func(t *testing.T) {
		accepted(t, inbound, "a@fail.test", "x@sidf.test", "filter-spf-fail")
		accepted(t, inbound, "a@tempfail.test", "x@pass.test", "filter-spf-temperror")
		accepted(t, inbound, "a@pass.test", `"Olivia Smith" <ceo@evil.test>`, "forged")

		stamped := sk.await(t, dir, "the stamped message", bySubject("[POTENTIAL PHISHING] filter-spf-temperror"))
		if strings.Contains(stamped.data, "\r\nSubject: filter-spf-temperror\r\n") {
			t.Errorf("the original Subject: was not stripped:\n%s", stamped.data)
		}
		forged := sk.await(t, dir, "forged", bySubject("forged"))
		if !strings.Contains(forged.data, "\r\nFrom: a@pass.test\r\n") || strings.Contains(forged.data, "Olivia Smith") {
			t.Errorf("From: was not replaced by the envelope sender:\n%s", forged.data)
		}
		if len(sk.find(bySubject("filter-spf-fail"))) != 0 {
			t.Error("PRA and MAIL FROM Fail reached the mail host")
		}
		out, _, _ := pipe(t, dir, "forgedemailreport\n")
		if !regexp.MustCompile(`\nExecs\s+Olivia Smith\s+1\n`).MatchString(out) || !regexp.MustCompile(`\nTotal\s+1\n`).MatchString(out) {
			t.Errorf("forgedemailreport:\n%s", out)
		}
		logs, _, _ := pipe(t, dir, "grep -e \"message filter|Forged\" mail_logs\n")
		for _, re := range []string{
			`MID \d+ matched message filter 'quarantine-spf-failed-mail'`,
			`MID \d+ quarantined to 'Policy' by message filter`,
			`MID \d+ matched message filter 'stamp-mail-with-spf-verification-error'`,
			`MID \d+ Forged Email Detection: From: matches 'Olivia Smith' in dictionary 'Execs'`,
		} {
			if !regexp.MustCompile(re).MatchString(logs) {
				t.Errorf("mail_logs lacks %s:\n%s", re, logs)
			}
		}
	})

	t.Run("quarantine release", func(t *testing.T) {
		held := quarantined(t, dir)
		want := map[string]string{
			"a@quar.test":   "DMARC policy quarantine",
			"a@reject.test": "DMARC policy reject",
			"a@fail.test":   "message filter quarantine-spf-failed-mail",
		}
		if len(held) != len(want) {
			t.Fatalf("quarantine Policy holds %v, want senders %v", held, want)
		}
		mid := ""
		for id, h := range held {
			if want[h.sender] != h.reason {
				t.Errorf("MID %s from %s held for %q, want %q", id, h.sender, h.reason, want[h.sender])
			}
			if h.sender == "a@quar.test" {
				mid = id
			}
		}
		out, _, _ := pipe(t, dir, "quarantineconfig\nmessages\n1\nrelease\n"+mid+"\ny\n\n\n")
		if !strings.Contains(out, "1 message released.") || !strings.Contains(out, `Quarantine "Policy" holds 2 messages.`) {
			t.Fatalf("release:\n%s", out)
		}
		m := sk.await(t, dir, "the released message", bySubject("dmarc-quarantine"))
		if strings.Join(m.rcpts, ",") != "b@dest.test" {
			t.Errorf("released to %v", m.rcpts)
		}
		for _, s := range []string{"profile-quarantine", "filter-spf-fail"} {
			if len(sk.find(bySubject(s))) != 0 {
				t.Errorf("%s left the quarantine", s)
			}
		}
		logs, _, _ := pipe(t, dir, "grep -e \"MID "+mid+" \" mail_logs\n")
		if !strings.Contains(logs, "MID "+mid+" released from quarantine Policy") || !strings.Contains(logs, "Message finished MID "+mid+" done") {
			t.Errorf("mail_logs of MID %s:\n%s", mid, logs)
		}
	})

	t.Run("aggregate reports", func(t *testing.T) {
		out, _, _ := pipe(t, dir, "dmarcreports generate\n")
		reps := regexp.MustCompile(`Report \d+ for (\S+) \(\d+ records?, (\d+) messages?\): queued MID \d+\n`).FindAllStringSubmatch(out, -1)
		// A run across midnight UTC has two reporting periods, so a
		// domain may have two reports: what matters is their sum.
		reports, messages := map[string]int{}, map[string]int{}
		for _, r := range reps {
			n, _ := strconv.Atoi(r[2])
			reports[r[1]]++
			messages[r[1]] += n
		}
		// reject.test: refused, passed, quarantined and let through by
		// a profile; the bypassed messages are not evaluated.
		if len(reports) != 2 || messages["reject.test"] != 4 || messages["quar.test"] != 1 {
			t.Fatalf("dmarcreports generate: want reports of 4 messages for reject.test and 1 for quar.test:\n%s", out)
		}
		for _, c := range []struct {
			domain, p string
			disp      []string
		}{
			{"reject.test", "reject", []string{"none", "quarantine", "reject"}},
			{"quar.test", "quarantine", []string{"quarantine"}},
		} {
			mails := sk.awaitN(t, dir, "the reports for "+c.domain, reports[c.domain], func(m authMail) bool {
				return strings.Join(m.rcpts, ",") == "dmarc@"+c.domain
			})
			disp, n := map[string]bool{}, 0
			for _, m := range mails {
				if m.from != "noreply-dmarc-support@esa.example.com" {
					t.Errorf("%s: report sent from %q", c.domain, m.from)
				}
				name, gz := reportAttachment(t, m.data)
				fn := regexp.MustCompile(`^esa\.example\.com!` + regexp.QuoteMeta(c.domain) + `!(\d+)!(\d+)(![0-9A-Za-z]+)?\.xml\.gz$`).FindStringSubmatch(name)
				if fn == nil {
					t.Errorf("%s: attachment named %q, not as RFC 7489 §7.2.1.1 says", c.domain, name)
					continue
				}
				zr, err := gzip.NewReader(bytes.NewReader(gz))
				if err != nil {
					t.Fatalf("%s: %v", c.domain, err)
				}
				doc, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("%s: gunzip: %v", c.domain, err)
				}
				var fb struct {
					Begin   string `xml:"report_metadata>date_range>begin"`
					End     string `xml:"report_metadata>date_range>end"`
					Domain  string `xml:"policy_published>domain"`
					P       string `xml:"policy_published>p"`
					Records []struct {
						Count       int    `xml:"row>count"`
						Disposition string `xml:"row>policy_evaluated>disposition"`
					} `xml:"record"`
				}
				if err := xml.Unmarshal(doc, &fb); err != nil {
					t.Fatalf("%s: %v\n%s", c.domain, err, doc)
				}
				if fb.Domain != c.domain || fb.P != c.p || fb.Begin != fn[1] || fb.End != fn[2] {
					t.Errorf("%s: report for %s p=%s from %s to %s in file %s:\n%s", c.domain, fb.Domain, fb.P, fb.Begin, fb.End, name, doc)
				}
				for _, r := range fb.Records {
					disp[r.Disposition] = true
					n += r.Count
				}
				t.Run("schema "+c.domain, func(t *testing.T) {
					needTools(t, "xmllint")
					if _, err := os.Stat(dmarcSchema); err != nil {
						t.Skipf("the DMARC conformance material is not here (%v): skipping the schema check", err)
					}
					f := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".gz"))
					if err := os.WriteFile(f, doc, 0o600); err != nil {
						t.Fatal(err)
					}
					if out, err := exec.Command("xmllint", "--noout", "--schema", dmarcSchema, f).CombinedOutput(); err != nil {
						t.Errorf("xmllint: %v\n%s\n%s", err, out, doc)
					}
				})
			}
			var missing []string
			for _, d := range c.disp {
				if !disp[d] {
					missing = append(missing, d)
				}
			}
			if n != messages[c.domain] || len(missing) != 0 || len(disp) != len(c.disp) {
				t.Errorf("%s: the reports count %d messages with dispositions %v, want %d with %v", c.domain, n, disp, messages[c.domain], c.disp)
			}
		}
		// The engine's outcomes reach the report list.
		out = waitScreen(t, dir, "dmarcreports\n", `(?s)delivered to (reject|quar)\.test.*delivered to (reject|quar)\.test`)
		for _, d := range []string{"reject.test", "quar.test"} {
			re := `(?m)^\s+\d+\s+\w{3} [ \d]\d \d\d:\d\d\s+` + regexp.QuoteMeta(d) + `\s+.*queued MID \d+, delivered to ` + regexp.QuoteMeta(d) + `\n\s+rua: mailto:dmarc@` + regexp.QuoteMeta(d) + `\n`
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("dmarcreports does not list the report for %s as delivered:\n%s", d, out)
			}
		}
	})

	t.Run("trace", func(t *testing.T) {
		script := "trace\n127.0.0.1\nclient.test\n1\n\na@quar.test\nb@dest.test\nn\n" +
			"From: a@quar.test\nTo: b@dest.test\nSubject: traced\n\nthrough trace\n.\nn\n"
		out, errs, code := pipe(t, dir, script)
		for _, re := range []string{
			`Listener:\s+Inbound\n`,
			`DMARC:\s+on\n`,
			`Info: MID \d+ DMARC: Message quarantined by DMARC policy \(p=quarantine\) in Policy\n`,
			`Info: MID \d+ matched message filter 'dmarc-failed'\n`,
			`\n  dmarc:\s+fail\n`,
			`Message accepted and held in quarantine Policy \(DMARC policy quarantine\)\.`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("trace (exit %d) lacks %s:\n%s\n%s", code, re, out, errs)
			}
		}
		// A trace changes nothing: the quarantine still holds two.
		if held := quarantined(t, dir); len(held) != 2 {
			t.Errorf("after trace the quarantine holds %v", held)
		}
	})
}

// heldMessage is a row of quarantineconfig MESSAGES.
type heldMessage struct{ sender, reason string }

// quarantined lists the Policy quarantine's messages by MID, read from
// quarantineconfig MESSAGES.
func quarantined(t *testing.T, dir string) map[string]heldMessage {
	t.Helper()
	out, errs, code := pipe(t, dir, "quarantineconfig\nmessages\n1\n\n\n")
	if code != 0 {
		t.Fatalf("quarantineconfig: exit %d\n%s\n%s", code, out, errs)
	}
	rows := regexp.MustCompile(`(?m)^(\d+)\s+\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} UTC\s+\d+\s+(\S+)\s+.*\n\s+(.+)$`).FindAllStringSubmatch(out, -1)
	held := map[string]heldMessage{}
	for _, r := range rows {
		held[r[1]] = heldMessage{r[2], r[3]}
	}
	return held
}

// reportAttachment returns the file name and content of the gzip
// attachment of a report message (RFC 7489 §7.2.1.1).
func reportAttachment(t *testing.T, data string) (string, []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("report Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct != "application/gzip" {
			continue
		}
		_, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if err != nil || dp["filename"] == "" {
			t.Fatalf("the gzip part has no file name: %q", p.Header.Get("Content-Disposition"))
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Fatalf("the gzip part is %q encoded", p.Header.Get("Content-Transfer-Encoding"))
		}
		gz, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
		if err != nil {
			t.Fatal(err)
		}
		return dp["filename"], gz
	}
	t.Fatalf("no application/gzip attachment in the report:\n%s", data)
	return "", nil
}
