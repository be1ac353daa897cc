package dmarcreport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esa/auth/dmarc"
	"esa/delivery/outbound"
	"esa/dnssec"
	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// txtOver adapts the validating resolver to DMARC's TXT lookups, as
// cmd/esa does: no record is dmarc.ErrNotFound, a bogus answer an error.
type txtOver struct{ r dnssec.Lookuper }

func (x txtOver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a, err := x.r.Lookup(ctx, dns.Fqdn(name), dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	if a.Security == dnssec.Bogus || a.Security == dnssec.Indeterminate {
		return nil, fmt.Errorf("%s TXT: DNSSEC %s", name, a.Security)
	}
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s TXT: %w", name, dmarc.ErrNotFound)
	}
	return out, nil
}

// TestReportDeliveredToLoopbackMX: the whole way on loopback. Policy
// records, the external destination authorization and the MX come from a
// DNS hierarchy served by miekg/dns; the delivery engine takes the report
// from the queue to the rua domains' MX, a go-smtp server, which receives
// it gzipped under its RFC 7489 file name, readable and schema-valid.
func TestReportDeliveredToLoopbackMX(t *testing.T) {
	t.Parallel()
	srv := dnstest.StartSMTP(t, dnstest.SMTPOptions{Addr: "127.0.0.1:0", Hostname: "mx.example.test", NoSTARTTLS: true})
	h := dnstest.New(t, dnstest.Options{Deterministic: true, Root: dnstest.ZoneConfig{Keys: dnstest.KeyConfig{Algorithm: dns.ED25519}}})
	h.AddZone("test.", dnstest.ZoneConfig{Unsigned: true})
	h.Add(
		`_dmarc.example.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test,mailto:agg@reports.test,mailto:x@gone.test"`,
		`example.test._report._dmarc.reports.test. 300 IN TXT "v=DMARC1"`,
		// gone.test agreed to take the reports but takes no mail (a
		// null MX, RFC 7505): the report bounces there.
		`example.test._report._dmarc.gone.test. 300 IN TXT "v=DMARC1"`,
		"gone.test. 300 IN MX 0 .",
		"example.test. 300 IN MX 10 mx.example.test.",
		"reports.test. 300 IN MX 10 mx.example.test.",
		"mx.example.test. 300 IN A 127.0.0.1",
	)
	front := h.Serve(t)
	res, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: front.Addr}}, Anchors: h.Anchors(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := newBed(t)
	b.ev = dmarc.New(txtOver{res}, dmarc.Options{})
	b.job.o.Evaluator = b.ev

	events := make(chan outbound.Event, 16)
	eng, err := outbound.New(outbound.Config{Queue: b.q, Port: srv.Port, Resolver: res, HeloName: "esa.example.net",
		Policy: func(string) outbound.Policy { return outbound.Policy{TLS: outbound.TLSNo} },
		Notify: func(ev outbound.Event) { b.job.Delivery(ev); events <- ev }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("engine: %v", err)
		}
	}()

	w, stop := b.run(t)
	defer stop()
	for i := range 5 {
		b.message(t, fmt.Sprintf("192.0.2.%d", 10+i%2), "example.test", "example.test", dmarc.ResultPass)
	}
	b.message(t, "203.0.113.9", "spoof.example", "example.test", dmarc.ResultFail)
	b.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	reps, err := b.job.GenerateNow(context.Background(), "")
	if err != nil || len(reps) != 1 || reps[0].MID == 0 {
		t.Fatalf("reports %+v, %v", reps, err)
	}
	rep := reps[0]
	outcomes := map[string]outbound.Outcome{}
	for len(outcomes) < 3 {
		select {
		case ev := <-events:
			// The bounce's DSN to the return address (MID 2, unroutable
			// here) has events of its own.
			if ev.MID == rep.MID && ev.Outcome != outbound.Deferred {
				outcomes[ev.Domain] = ev.Outcome
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no final outcome for every rua domain: %v", outcomes)
		}
	}
	if outcomes["example.test"] != outbound.Delivered || outcomes["reports.test"] != outbound.Delivered || outcomes["gone.test"] != outbound.Bounced {
		t.Errorf("outcomes %v", outcomes)
	}
	// The job's next wake records the outcomes it was told.
	w.c <- b.clock.Now()
	b.next(t)
	st := b.reports(t)["example.test"].Status
	for _, want := range []string{fmt.Sprintf("queued MID %d", rep.MID), ", delivered to example.test", ", delivered to reports.test", ", bounced at gone.test ("} {
		if !strings.Contains(st, want) {
			t.Errorf("status %q lacks %q", st, want)
		}
	}
	b.log.has(t, fmt.Sprintf(`^Info: DMARC: aggregate report %d for example\.test delivered to reports\.test \(MID %d\)$`, rep.ID, rep.MID))
	b.log.has(t, fmt.Sprintf(`^Warning: DMARC: aggregate report delivery for example\.test failed: MID %d to gone\.test bounced: `, rep.MID))
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the MX received %d messages", len(msgs))
	}
	for _, m := range msgs {
		if m.From != "noreply-dmarc-support@esa.example.com" {
			t.Errorf("MAIL FROM %q", m.From)
		}
		fb, err := dmarc.ReadReport(m.Data)
		if err != nil {
			t.Fatalf("the delivered report does not read: %v", err)
		}
		n := 0
		for _, r := range fb.Records {
			n += r.Count
		}
		if fb.Policy.Domain != "example.test" || fb.Policy.P != "quarantine" || len(fb.Records) != 3 || n != 6 || fb.ReportID != rep.ReportID {
			t.Errorf("delivered report %+v", fb)
		}
	}
	xmlDoc, _ := checkReportMail(t, msgs[0].Data, rep)
	validate(t, xmlDoc)
}

// TestThirdPartyReaderReadsReport hands a report we send to an aggregate
// report reader of another project when one is installed. opendmarc 1.4
// (Debian) has none: opendmarc-import reads its own history files and
// opendmarc-reports writes reports from its database; parsedmarc is one.
func TestThirdPartyReaderReadsReport(t *testing.T) {
	t.Parallel()
	reader, err := exec.LookPath("parsedmarc")
	if err != nil {
		t.Skip("no aggregate report reader installed (parsedmarc is not a Debian package; opendmarc's tools read no aggregate XML): skipping")
	}
	b := newBed(t)
	b.message(t, "192.0.2.10", "example.com", "example.com", dmarc.ResultPass)
	reps, err := b.job.GenerateNow(context.Background(), "example.com")
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %+v %v", reps, err)
	}
	_, body, err := b.st.DMARCReport(reps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), reps[0].FileName)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(reader, "--offline", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), reps[0].ReportID) {
		t.Errorf("%s does not read our report: %v\n%s", reader, err, out)
	}
}
