package dane

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esa/dnssec"
	"esa/dnssec/dnstest"
)

var bedClock = time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC)

type bed struct {
	s     *dnstest.Scenario
	v     *Verifier
	mu    sync.Mutex
	debug []string
}

// newBed serves the dnstest DANE scenario and a Verifier on it through the
// real validating resolver.
func newBed(t testing.TB) *bed {
	t.Helper()
	now := func() time.Time { return bedClock }
	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{Now: now})
	r, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: s.DNS.Addr}}, Anchors: s.H.Anchors(), Now: now, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	b := &bed{s: s}
	b.v = &Verifier{Resolver: r, Dial: d.DialContext, Port: s.Port, Now: now, HeloName: "esa.example.com", Timeout: 5 * time.Second,
		Debug: func(f string, a ...any) {
			b.mu.Lock()
			b.debug = append(b.debug, fmt.Sprintf(f, a...))
			b.mu.Unlock()
		}}
	return b
}

// run verifies domain and returns the report and the lines, with the
// bed's SMTP port shown as 25.
func (b *bed) run(domain string) (*Report, string) {
	var lines []string
	rep := b.v.Verify(context.Background(), domain, func(e Event) { lines = append(lines, e.Line) })
	out := strings.Join(lines, "\n") + "\n"
	return rep, strings.ReplaceAll(out, fmt.Sprintf(" on port %d.", b.s.Port), " on port 25.")
}

func expect(t *testing.T, got, want string) {
	t.Helper()
	want = strings.TrimLeft(want, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestVerifyGood(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	rep, out := b.run(dnstest.DomainGood)
	expect(t, out, `
SECURE MX record(mx.dane-good.test) found for dane-good.test
SECURE A record (127.0.0.2) found for MX(mx.dane-good.test) in dane-good.test
Connecting to 127.0.0.2 on port 25.
Connected to 127.0.0.2 from interface 127.0.0.1.
SECURE TLSA record found for MX(mx.dane-good.test) in dane-good.test
Checking TLS connection.
TLS connection established: protocol TLSv1.3, cipher TLS_AES_128_GCM_SHA256.
Certificate verification successful
TLS connection succeeded dane-good.test.
DANE SUCCESS for dane-good.test
`)
	if !rep.Success || len(rep.Hosts) != 1 || rep.Hosts[0].State != StateDANE || !rep.Hosts[0].Verified {
		t.Errorf("report %+v", rep)
	}
	if sni := b.s.SMTP["mx.dane-good.test."].SNI(); len(sni) != 1 || sni[0] != "mx.dane-good.test" {
		t.Errorf("SNI %q, want the TLSA base domain", sni)
	}
	b.mu.Lock()
	dbg := strings.Join(b.debug, "\n")
	b.mu.Unlock()
	for _, want := range []string{"DANE dane-good.test: Connecting to 127.0.0.2", "matched TLSA 3 1 1 at depth 0 (SNI mx.dane-good.test)"} {
		if !strings.Contains(dbg, want) {
			t.Errorf("debug log lacks %q:\n%s", want, dbg)
		}
	}
}

func TestVerifyTAAndExpiredEE(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	for _, d := range []string{dnstest.DomainTA, dnstest.DomainExpiredEE, dnstest.DomainNoMX} {
		rep, out := b.run(d)
		if !rep.Success || !strings.Contains(out, "Certificate verification successful\n") {
			t.Errorf("%s:\n%s", d, out)
		}
	}
}

func TestVerifyBogusMX(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	rep, out := b.run(dnstest.DomainBogusMX)
	expect(t, out, `
BOGUS MX record found for bogus-mx.test
DANE FAILED for bogus-mx.test
`)
	if rep.Success || len(rep.Hosts) != 0 {
		t.Errorf("report %+v", rep)
	}
	if n := b.s.DNS.Queries("mx.bogus-mx.test.", dns.TypeA); n != 0 {
		t.Errorf("the host behind a bogus MX was looked up %d times", n)
	}
}

// TestVerifyUnsigned: insecure MX and addresses: no connection and no TLSA
// lookup (RFC 7672 §2.2.2), every MX walked (seed 000, cisco.com).
func TestVerifyUnsigned(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	_, out := b.run(dnstest.DomainUnsigned)
	expect(t, out, `
INSECURE MX record(mx1.unsigned.test) found for unsigned.test
INSECURE MX record(mx1.unsigned.test) found. The command will still proceed.
INSECURE A record (127.0.0.11) found for MX(mx1.unsigned.test) in unsigned.test
Trying next MX record in unsigned.test
INSECURE MX record(mx2.unsigned.test) found for unsigned.test
INSECURE MX record(mx2.unsigned.test) found. The command will still proceed.
INSECURE A record (127.0.0.12) found for MX(mx2.unsigned.test) in unsigned.test
Trying next MX record in unsigned.test
INSECURE MX record(mx3.unsigned.test) found for unsigned.test
INSECURE MX record(mx3.unsigned.test) found. The command will still proceed.
INSECURE A record (127.0.0.13) found for MX(mx3.unsigned.test) in unsigned.test
DANE FAILED for unsigned.test
`)
	for _, h := range []string{"mx1", "mx2", "mx3"} {
		if n := b.s.DNS.Queries(dnstest.TLSAName(h+".unsigned.test"), dns.TypeTLSA); n != 0 {
			t.Errorf("TLSA asked %d times for insecure host %s", n, h)
		}
	}
}

// TestVerifyInsecureHost: a secure MX whose host has insecure addresses
// gets no TLSA query, although that query would SERVFAIL (DANE.md §0.2).
func TestVerifyInsecureHost(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	rep, out := b.run(dnstest.DomainInsecureHost)
	expect(t, out, `
SECURE MX record(mx.unsigned.test) found for insecure-host.test
INSECURE A record (127.0.0.15) found for MX(mx.unsigned.test) in insecure-host.test
DANE FAILED for insecure-host.test
`)
	if n := b.s.DNS.Queries(dnstest.TLSAName("mx.unsigned.test"), dns.TypeTLSA); n != 0 {
		t.Errorf("TLSA asked %d times for a host with insecure addresses", n)
	}
	if rep.Hosts[0].State != StateNoDANE {
		t.Errorf("state %v, want no DANE (pre-DANE TLS)", rep.Hosts[0].State)
	}
}

// reorderTwoA puts the closed address first, so the walk shows the next-A
// step (the scenario lists the server's address first).
func reorderTwoA(h *dnstest.Hierarchy) {
	h.Remove("mx.two-a.test.", dns.TypeA)
	h.Add("mx.two-a.test. 300 IN A 127.0.0.14", "mx.two-a.test. 300 IN A 127.0.0.5")
}

func TestVerifyTwoA(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	reorderTwoA(b.s.H)
	rep, out := b.run(dnstest.DomainTwoA)
	expect(t, out, `
SECURE MX record(mx.two-a.test) found for two-a.test
SECURE A record (127.0.0.14) found for MX(mx.two-a.test) in two-a.test
Connecting to 127.0.0.14 on port 25.
Connection to 127.0.0.14 failed: connection refused.
Trying next A record (127.0.0.5) for MX(mx.two-a.test) in two-a.test
SECURE A record (127.0.0.5) found for MX(mx.two-a.test) in two-a.test
Connecting to 127.0.0.5 on port 25.
Connected to 127.0.0.5 from interface 127.0.0.1.
SECURE TLSA record found for MX(mx.two-a.test) in two-a.test
Checking TLS connection.
TLS connection established: protocol TLSv1.3, cipher TLS_AES_128_GCM_SHA256.
Certificate verification successful
TLS connection succeeded two-a.test.
DANE SUCCESS for two-a.test
`)
	if !rep.Success || len(rep.Hosts[0].Addrs) != 2 {
		t.Errorf("report %+v", rep.Hosts[0])
	}
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	for _, tc := range []struct {
		domain, want string
		state        State
	}{
		{dnstest.DomainMismatch, "Certificate verification failed: certificate matches no TLSA record.\nDANE FAILED", StateDANE},
		{dnstest.DomainNoSTARTTLS, "STARTTLS is not offered by 127.0.0.7 for MX(mx.no-starttls.test) in no-starttls.test\nDANE FAILED", StateDANE},
		{dnstest.DomainUnusable, "No usable TLSA record for MX(mx.tlsa-unusable.test) in tlsa-unusable.test: TLS is required without authentication.\n" +
			"Checking TLS connection.\nTLS connection established: protocol TLSv1.3, cipher TLS_AES_128_GCM_SHA256.\n" +
			"Certificate verification skipped: no usable TLSA record.\nTLS connection succeeded tlsa-unusable.test.\nDANE FAILED", StateEncrypt},
		{dnstest.DomainNullMX, "SECURE null MX record found for null-mx.test: the domain accepts no mail\nDANE FAILED", 0},
		{dnstest.DomainNX, "NXDOMAIN: the domain nxdomain.test does not exist\nDANE FAILED", 0},
	} {
		rep, out := b.run(tc.domain)
		if rep.Success || !strings.Contains(out, tc.want) {
			t.Errorf("%s:\n%s\nwant it to contain:\n%s", tc.domain, out, tc.want)
		}
		if len(rep.Hosts) > 0 && rep.Hosts[0].State != tc.state {
			t.Errorf("%s: state %v, want %v", tc.domain, rep.Hosts[0].State, tc.state)
		}
	}
	if len(b.s.SMTP["mx.no-starttls.test."].Messages()) != 0 {
		t.Error("mail sent in clear")
	}
}

// TestVerifyTLSAServFail: a failed TLSA lookup makes the host unusable and
// the walk goes on to the next MX; it is never "no TLSA" (RFC 7672
// §2.1.2).
func TestVerifyTLSAServFail(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("tlsa-servfail.test. 300 IN MX 20 mx.dane-good.test.")
	rep, out := b.run(dnstest.DomainTLSAServFail)
	expect(t, out, `
SECURE MX record(mx.tlsa-servfail.test) found for tlsa-servfail.test
SECURE A record (127.0.0.8) found for MX(mx.tlsa-servfail.test) in tlsa-servfail.test
Connecting to 127.0.0.8 on port 25.
Connected to 127.0.0.8 from interface 127.0.0.1.
TLSA lookup failed (SERVFAIL) for MX(mx.tlsa-servfail.test) in tlsa-servfail.test
Trying next MX record in tlsa-servfail.test
SECURE MX record(mx.dane-good.test) found for tlsa-servfail.test
SECURE A record (127.0.0.2) found for MX(mx.dane-good.test) in tlsa-servfail.test
Connecting to 127.0.0.2 on port 25.
Connected to 127.0.0.2 from interface 127.0.0.1.
SECURE TLSA record found for MX(mx.dane-good.test) in tlsa-servfail.test
Checking TLS connection.
TLS connection established: protocol TLSv1.3, cipher TLS_AES_128_GCM_SHA256.
Certificate verification successful
TLS connection succeeded tlsa-servfail.test.
DANE SUCCESS for tlsa-servfail.test
`)
	if rep.Hosts[0].State != StateUnusable || rep.Hosts[0].Verified {
		t.Errorf("first host %+v, want unusable", rep.Hosts[0])
	}
	if n := len(b.s.SMTP["mx.tlsa-servfail.test."].SNI()); n != 0 {
		t.Errorf("TLS attempted with the TLSA-SERVFAIL host (%d hellos)", n)
	}
}

// TestVerifyCNAME: a secure CNAME'd MX host: TLSA at the expanded name,
// which is also the SNI (RFC 7672 §2.2.3).
func TestVerifyCNAME(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	rep, _ := b.run(dnstest.DomainCNAME)
	h := rep.Hosts[0]
	if !rep.Success || h.BaseDomain != "mx.dane-good.test" || h.Names[1] != "mx.cname-mx.test" {
		t.Errorf("report %+v host %+v", rep, h)
	}
}

func TestLookupTLSABogus(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Break(dnstest.TLSAName("mx.dane-good.test"), dns.TypeTLSA, dnstest.ExpiredSig)
	d := LookupTLSA(context.Background(), b.v.Resolver, []string{"mx.dane-good.test"})
	if d.State != StateUnusable || d.Err != nil {
		t.Errorf("expired TLSA RRSIG: %+v", d)
	}
	_, out := b.run(dnstest.DomainGood)
	if !strings.Contains(out, "BOGUS TLSA record found for MX(mx.dane-good.test) in dane-good.test\nDANE FAILED") {
		t.Errorf("bogus TLSA:\n%s", out)
	}
}

func TestCheckTLS(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	ta := b.s.SMTP["mx.dane-ta.test."]
	run := func(domain, host string, ok bool, want string) {
		t.Helper()
		var lines []string
		got := b.v.CheckTLS(context.Background(), domain, host, b.s.Port, ta.Chain.Pool(), func(e Event) { lines = append(lines, e.Line) })
		out := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", fmt.Sprintf(" on port %d.", b.s.Port), " on port 25.")
		if got != ok || !strings.Contains(out, want) {
			t.Errorf("%s via %s: %v\n%s\nwant it to contain:\n%s", domain, host, got, out, want)
		}
	}
	run("mx.dane-ta.test", "mx.dane-ta.test", true, `Connecting to 127.0.0.3 on port 25.
Connected to 127.0.0.3 from interface 127.0.0.1.
Checking TLS connection.
TLS connection established: protocol TLSv1.3, cipher TLS_AES_128_GCM_SHA256.
Verifying peer certificate.
Verifying certificate common name mx.dane-ta.test.
TLS certificate match mx.dane-ta.test
TLS certificate verified.
TLS connection to 127.0.0.3 succeeded.
TLS successfully connected to mx.dane-ta.test.
`)
	run("other.test", "127.0.0.3", false, "TLS certificate does not match other.test.\nTLS failed to connect to other.test.\n")
	run("mx.dane-good.test", "mx.dane-good.test", false, "TLS certificate verification failed: certificate signed by unknown authority.\n")
	run("mx.no-starttls.test", "mx.no-starttls.test", false, "STARTTLS is not offered by 127.0.0.7.\n")
	run("nowhere.test", "nowhere.test", false, "No address found for nowhere.test.\nTLS failed to connect to nowhere.test.\n")
}

// TestCheckTLSMailHosts: tlsverify with a domain and no host connects to
// the domain's mail hosts as delivery would (issue 12 item 12): the MX
// hosts in preference order, never the domain's own A record; the domain
// itself when it has no MX; nothing for a null MX.
func TestCheckTLSMailHosts(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	ta := b.s.SMTP["mx.dane-ta.test."]
	// An address of the domain itself, which must not be used.
	b.s.H.Add("dane-ta.test. 300 IN A 127.0.0.2", "mixed.dane-ta.test. 300 IN MX 0 .",
		"mixed.dane-ta.test. 300 IN MX 10 mx.dane-ta.test.")
	run := func(domain string) (bool, string) {
		var lines []string
		ok := b.v.CheckTLS(context.Background(), domain, "", b.s.Port, ta.Chain.Pool(), func(e Event) { lines = append(lines, e.Line) })
		return ok, strings.ReplaceAll(strings.Join(lines, "\n")+"\n", fmt.Sprintf(" on port %d.", b.s.Port), " on port 25.")
	}
	ok, out := run("dane-ta.test")
	if !strings.HasPrefix(out, "Connecting to 127.0.0.3 on port 25.\n") || strings.Contains(out, "127.0.0.2") ||
		!strings.Contains(out, "TLS certificate does not match dane-ta.test.") || ok {
		t.Errorf("dane-ta.test (MX mx.dane-ta.test):\n%s", out)
	}
	want := "Connecting to 127.0.0.11 on port 25.\nConnection to 127.0.0.11 failed: connection refused.\n" +
		"Trying next MX record in unsigned.test\n" +
		"Connecting to 127.0.0.12 on port 25.\nConnection to 127.0.0.12 failed: connection refused.\n" +
		"Trying next MX record in unsigned.test\n" +
		"Connecting to 127.0.0.13 on port 25.\nConnection to 127.0.0.13 failed: connection refused.\n" +
		"TLS failed to connect to unsigned.test.\n"
	if _, out := run("unsigned.test"); out != want {
		t.Errorf("three MX hosts:\n%s\nwant:\n%s", out, want)
	}
	if _, out := run("no-mx.test"); !strings.HasPrefix(out, "Connecting to 127.0.0.10 on port 25.\n") {
		t.Errorf("no MX, the domain is its own host:\n%s", out)
	}
	for _, d := range []string{"null-mx.test", "mixed.dane-ta.test"} {
		if ok, out := run(d); ok || out != "Null MX record found for "+d+": the domain accepts no mail\nTLS failed to connect to "+d+".\n" {
			t.Errorf("%s:\n%s", d, out)
		}
	}
}

// TestPlan: the DNS-only walk for delivery decides each host without
// connecting.
func TestPlan(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	plan := func(d string) *Report { return b.v.Plan(context.Background(), d, nil) }
	rep := plan(dnstest.DomainGood)
	h := rep.Hosts[0]
	if rep.MX != MXFound || rep.MXSecurity != dnssec.Secure || h.State != StateDANE || h.BaseDomain != "mx.dane-good.test" ||
		len(h.TLSA) != 1 || len(h.Addrs) != 1 || h.Verified {
		t.Errorf("good: %+v %+v", rep, h)
	}
	if n := len(b.s.SMTP["mx.dane-good.test."].SNI()); n != 0 {
		t.Errorf("Plan connected (%d hellos)", n)
	}
	for _, tc := range []struct {
		domain string
		mx     MXOutcome
		state  State
	}{
		{dnstest.DomainTLSAServFail, MXFound, StateUnusable},
		{dnstest.DomainUnusable, MXFound, StateEncrypt},
		{dnstest.DomainInsecureHost, MXFound, StateNoDANE},
		{dnstest.DomainUnsigned, MXFound, StateNoDANE},
		{dnstest.DomainNoMX, MXImplicit, StateDANE},
		{dnstest.DomainNullMX, MXNull, 0},
		{dnstest.DomainNX, MXNXDomain, 0},
		{dnstest.DomainBogusMX, MXFailed, 0},
	} {
		rep := plan(tc.domain)
		if rep.MX != tc.mx || len(rep.Hosts) > 0 && rep.Hosts[0].State != tc.state {
			t.Errorf("%s: MX %v, hosts %+v; want %v %v", tc.domain, rep.MX, rep.Hosts, tc.mx, tc.state)
		}
	}
	if rep := plan(dnstest.DomainTwoA); len(rep.Hosts[0].Addrs) != 2 || rep.Hosts[0].State != StateDANE {
		t.Errorf("two A: %+v", rep.Hosts[0])
	}
	if n := b.s.DNS.Queries(dnstest.TLSAName("mx.unsigned.test"), dns.TypeTLSA); n != 0 {
		t.Errorf("Plan asked TLSA for a host with insecure addresses")
	}
	if rep := plan(dnstest.DomainUnsigned); len(rep.Hosts) != 3 {
		t.Errorf("unsigned: %d hosts", len(rep.Hosts))
	}
}

// TestVerifyInterrupted: a cancelled context (Ctrl-C) stops the walk at
// once: no event after the cancellation, no verdict, Interrupted set
// (issue 12 item 8).
func TestVerifyInterrupted(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	ctx, cancel := context.WithCancel(context.Background())
	var lines []string
	rep := b.v.Verify(ctx, dnstest.DomainUnsigned, func(e Event) {
		lines = append(lines, e.Line)
		if e.Step == StepAddress {
			cancel()
		}
	})
	want := "INSECURE MX record(mx1.unsigned.test) found for unsigned.test\n" +
		"INSECURE MX record(mx1.unsigned.test) found. The command will still proceed.\n" +
		"INSECURE A record (127.0.0.11) found for MX(mx1.unsigned.test) in unsigned.test"
	if got := strings.Join(lines, "\n"); rep.Success || !rep.Interrupted || len(rep.Hosts) != 1 || got != want {
		t.Errorf("interrupted walk: %d hosts, interrupted %v\n%s", len(rep.Hosts), rep.Interrupted, got)
	}
}

// TestVerifyInterruptedLookup: Ctrl-C while the MX query is in flight on a
// resolver that never answers ends the lookup at once (the resolver's
// timeout is an hour: the test would hang otherwise) with no line at all,
// neither a lookup failure nor BOGUS.
func TestVerifyInterruptedLookup(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Break(dnstest.DomainGood, dns.TypeMX, dnstest.Timeout)
	r, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: b.s.DNS.Addr}}, Anchors: b.s.H.Anchors(),
		Now: b.v.Now, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v := *b.v
	v.Resolver = r
	ctx, cancel := context.WithCancel(context.Background())
	asked := b.s.DNS.Asked(dnstest.DomainGood, dns.TypeMX)
	go func() {
		<-asked
		cancel()
	}()
	var lines []string
	rep := v.Verify(ctx, dnstest.DomainGood, func(e Event) { lines = append(lines, e.Line) })
	if !rep.Interrupted || rep.Success || len(lines) != 0 {
		t.Errorf("interrupted %v, lines %q", rep.Interrupted, lines)
	}
}

// TestVerifyMXLookupFailure: a resolver that does not answer the MX query
// is a lookup failure on the screen, never BOGUS (issue 12 item 8), and
// the walk stops there (RFC 7672 §2.2.1).
func TestVerifyMXLookupFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    dnstest.Fault
		word string
	}{{dnstest.Timeout, "timeout"}, {dnstest.ServFail, "SERVFAIL"}} {
		b := newBed(t)
		b.s.H.Break(dnstest.DomainGood, dns.TypeMX, tc.f)
		rep, out := b.run(dnstest.DomainGood)
		want := "MX lookup failed (" + tc.word + ") for dane-good.test\nDANE FAILED for dane-good.test\n"
		if rep.MX != MXFailed || out != want {
			t.Errorf("%v:\n%s\nwant:\n%s", tc.f, out, want)
		}
	}
}

// BenchmarkVerifyGood: a whole DANE walk with STARTTLS and the handshake
// (DNS answers cached by the resolver after the first round).
func BenchmarkVerifyGood(b *testing.B) {
	bd := newBed(b)
	for b.Loop() {
		if rep := bd.v.Verify(context.Background(), dnstest.DomainGood, nil); !rep.Success {
			b.Fatal("DANE failed")
		}
	}
}

// BenchmarkPlan: the DNS-only decision delivery makes per message (cached).
func BenchmarkPlan(b *testing.B) {
	bd := newBed(b)
	for b.Loop() {
		if rep := bd.v.Plan(context.Background(), dnstest.DomainGood, nil); rep.Hosts[0].State != StateDANE {
			b.Fatal("no DANE")
		}
	}
}

// TestVerifyInsecureMXSecureHost: an insecure MX RRset pointing at a host
// with secure TLSA may be authenticated, but DANE never succeeds.
func TestVerifyInsecureMXSecureHost(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("other.unsigned.test. 300 IN MX 10 mx.dane-good.test.")
	rep, out := b.run("other.unsigned.test")
	if rep.Success || !rep.Hosts[0].Verified ||
		!strings.HasSuffix(out, "INSECURE MX records cannot make DANE succeed for other.unsigned.test\nDANE FAILED for other.unsigned.test\n") ||
		!strings.Contains(out, "INSECURE MX record(mx.dane-good.test) found. The command will still proceed.\n") {
		t.Errorf("report %+v\n%s", rep, out)
	}
}

// coldVerifier is a Verifier on b's bed with a fresh resolver: an empty
// cache, as on the first daneverify after start-up.
func (b *bed) coldVerifier(t testing.TB) *Verifier {
	t.Helper()
	now := func() time.Time { return bedClock }
	r, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: b.s.DNS.Addr}}, Anchors: b.s.H.Anchors(), Now: now, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := *b.v
	v.Resolver, v.Debug = r, nil
	return &v
}

// TestColdVerifyAsksEachQuestionOnce: a cold daneverify of a DANE-good
// domain (MX, A, TLSA, and the DS/DNSKEY chain down from the root) never
// sends the same (name, type) twice.
func TestColdVerifyAsksEachQuestionOnce(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.DNS.ResetQueries()
	if rep := b.coldVerifier(t).Verify(context.Background(), dnstest.DomainGood, nil); !rep.Success {
		t.Fatal("DANE failed")
	}
	if d := b.s.DNS.Duplicates(); len(d) != 0 {
		t.Errorf("questions asked twice: %v", d)
	}
	if b.s.DNS.Total() == 0 {
		t.Error("no queries counted: the bed's query log is not working")
	}
}

// BenchmarkVerifyCold: a whole daneverify (DNSSEC chain from the root, MX,
// A, TLSA, SMTP, STARTTLS, certificate match) with an empty cache each time;
// reports the DNS queries sent per run.
func BenchmarkVerifyCold(b *testing.B) {
	bd := newBed(b)
	var queries int
	for b.Loop() {
		v := bd.coldVerifier(b)
		bd.s.DNS.ResetQueries()
		if rep := v.Verify(context.Background(), dnstest.DomainGood, nil); !rep.Success {
			b.Fatal("DANE failed")
		}
		queries = bd.s.DNS.Total()
		if d := bd.s.DNS.Duplicates(); len(d) != 0 {
			b.Fatalf("questions asked twice: %v", d)
		}
	}
	b.ReportMetric(float64(queries), "queries/op")
}

// TestCheckTLSInterrupted: Ctrl-C during tlsverify stops it with no line
// after the interrupt and no verdict.
func TestCheckTLSInterrupted(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	ctx, cancel := context.WithCancel(context.Background())
	var lines []string
	ok := b.v.CheckTLS(ctx, "unsigned.test", "", b.s.Port, nil, func(e Event) {
		lines = append(lines, e.Line)
		cancel() // at the first line: "Connecting to 127.0.0.11 ..."
	})
	if ok || len(lines) != 1 || !strings.HasPrefix(lines[0], "Connecting to 127.0.0.11 ") {
		t.Errorf("ok %v, lines %q", ok, lines)
	}
}
