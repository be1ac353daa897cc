package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esa/dnssec"
	"esa/dnssec/dnstest"
	"esa/shell"
	"esa/shell/shelltest"
	"esa/store"
)

// bedEnv is an Env whose DNS and network doors lead to the dnstest DANE
// scenario: the real validating resolver on the bed's signed hierarchy and
// trust anchor, and its SMTP servers on 127.0.0.x at the bed's port.
type bedEnv struct {
	*Env
	s *dnstest.Scenario
}

func newBedEnv(t *testing.T) *bedEnv {
	t.Helper()
	env := newEnv(t)
	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{Now: env.Now})
	r, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: s.DNS.Addr}}, Anchors: s.H.Anchors(),
		Now: env.Now, Timeout: 2 * time.Second, Log: env.Logs.Logger(store.LogTypeMail)})
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	env.Resolver = func() (dnssec.Lookuper, error) { return r, nil }
	env.Dial = d.DialContext
	env.SMTPPort = s.Port
	return &bedEnv{env, s}
}

// bedSession runs a shell session and shows the bed's SMTP port as 25, so
// transcripts do not depend on the port the kernel handed out.
func (b *bedEnv) session() func(in io.Reader, out io.Writer) {
	return func(in io.Reader, out io.Writer) {
		var buf bytes.Buffer
		session(b.Env)(in, &buf)
		io.WriteString(out, strings.ReplaceAll(buf.String(), fmt.Sprintf(" on port %d.", b.s.Port), " on port 25."))
	}
}

type daneTranscript struct {
	setup func(t *testing.T, b *bedEnv)
	check func(t *testing.T, b *bedEnv)
}

// noTLSAQuery asserts that the walk never asked for TLSA at host (RFC 7672
// §2.2.2: insecure addresses get no TLSA lookup).
func noTLSAQuery(hosts ...string) func(t *testing.T, b *bedEnv) {
	return func(t *testing.T, b *bedEnv) {
		for _, h := range hosts {
			if n := b.s.DNS.Queries(dnstest.TLSAName(h), dns.TypeTLSA); n != 0 {
				t.Errorf("TLSA asked %d times for %s", n, h)
			}
		}
	}
}

// daneTranscripts are the transcripts of daneverify, tlsverify and
// dnsconfig, by base name.
var daneTranscripts = map[string]daneTranscript{
	"daneverify_good":        {},
	"daneverify_interactive": {},
	"daneverify_bogus_mx": {check: func(t *testing.T, b *bedEnv) {
		if n := b.s.DNS.Queries("mx.bogus-mx.test.", dns.TypeA); n != 0 {
			t.Errorf("host behind a bogus MX looked up %d times", n)
		}
	}},
	"daneverify_unsigned": {check: noTLSAQuery("mx1.unsigned.test", "mx2.unsigned.test", "mx3.unsigned.test")},
	"daneverify_two_a": {setup: func(t *testing.T, b *bedEnv) {
		// The closed address first, so the walk shows the next-A step.
		b.s.H.Remove("mx.two-a.test.", dns.TypeA)
		b.s.H.Add("mx.two-a.test. 300 IN A 127.0.0.14", "mx.two-a.test. 300 IN A 127.0.0.5")
	}},
	"daneverify_mismatch":    {},
	"daneverify_no_starttls": {},
	"daneverify_nxdomain":    {},
	"daneverify_tlsa_servfail": {
		setup: func(t *testing.T, b *bedEnv) {
			b.s.H.Add("tlsa-servfail.test. 300 IN MX 20 mx.dane-good.test.")
		},
		check: func(t *testing.T, b *bedEnv) {
			if n := len(b.s.SMTP["mx.tlsa-servfail.test."].SNI()); n != 0 {
				t.Errorf("TLS attempted with the host whose TLSA lookup failed (%d hellos)", n)
			}
		},
	},
	"daneverify_insecure_host": {check: noTLSAQuery("mx.unsigned.test")},
	"daneverify_debuglog":      {},
	"daneverify_insecure_two_a": {
		setup: func(t *testing.T, b *bedEnv) {
			b.s.H.Add("two-insecure.unsigned.test. 300 IN MX 10 mx.two-insecure.unsigned.test.",
				"mx.two-insecure.unsigned.test. 300 IN A 127.0.0.21",
				"mx.two-insecure.unsigned.test. 300 IN A 127.0.0.22")
		},
		check: noTLSAQuery("mx.two-insecure.unsigned.test"),
	},
	"daneverify_unusable": {},
	// RFC 7505: a null MX beside a real one still refuses mail (issue 12
	// item 20); the real host is not even looked up.
	"daneverify_null_mx_mixed": {
		setup: func(t *testing.T, b *bedEnv) {
			b.s.H.Add("mixed.dane-good.test. 300 IN MX 0 .", "mixed.dane-good.test. 300 IN MX 10 mx.dane-good.test.")
		},
		check: func(t *testing.T, b *bedEnv) {
			if n := b.s.DNS.Queries("mx.dane-good.test.", dns.TypeA); n != 0 {
				t.Errorf("the real MX host was looked up %d times", n)
			}
		},
	},
	// A server presenting only its self-signed leaf (CA:TRUE, as openssl
	// req -x509 makes it), published as "2 0 0": DANE-TA never matches the
	// leaf (RFC 7671 §5.2.2; issue 12 item 19).
	"daneverify_ta_selfsigned": {setup: func(t *testing.T, b *bedEnv) {
		srv := b.extraServer(t, "127.0.0.17", dnstest.ChainOptions{Names: []string{"mx.ss-ta.dane-good.test"},
			SelfSigned: true, LeafCA: true, Now: clock})
		b.s.H.Add("ss-ta.dane-good.test. 300 IN MX 10 mx.ss-ta.dane-good.test.",
			"mx.ss-ta.dane-good.test. 300 IN A 127.0.0.17",
			dnstest.TLSAFor(dnstest.TLSAName("mx.ss-ta.dane-good.test"), 2, 0, 0, srv.Chain.Leaf.Cert).String())
	}},
	// tlsverify DOMAIN connects to the domain's MX host, not to the
	// domain's own A record (issue 12 item 12).
	"tlsverify_mx": {setup: func(t *testing.T, b *bedEnv) {
		srv := b.extraServer(t, "127.0.0.18", dnstest.ChainOptions{Names: []string{"mail.tlsmx.dane-ta.test", "tlsmx.dane-ta.test"}, Now: clock})
		b.RootCAs = srv.Chain.Pool()
		b.s.H.Add("tlsmx.dane-ta.test. 300 IN MX 10 mail.tlsmx.dane-ta.test.",
			"tlsmx.dane-ta.test. 300 IN A 127.0.0.2", // the domain's own address: not a mail host
			"mail.tlsmx.dane-ta.test. 300 IN A 127.0.0.18")
	}},
	// A resolver that fails the MX query is a lookup failure, not BOGUS
	// (issue 12 item 8).
	"daneverify_mx_servfail": {setup: func(t *testing.T, b *bedEnv) {
		b.s.H.Break(dnstest.DomainGood, dns.TypeMX, dnstest.ServFail)
	}},
	// The resolver answers the MX query but fails the DNSKEY query its
	// validation needs: still a lookup failure, not BOGUS (item 8).
	"daneverify_dnskey_servfail": {setup: func(t *testing.T, b *bedEnv) {
		b.s.H.Break(dnstest.DomainGood, dns.TypeDNSKEY, dnstest.ServFail)
	}},
	"tlsverify_ok":          {setup: taRoots},
	"tlsverify_interactive": {setup: taRoots},
	"tlsverify_fail":        {setup: taRoots},
}

// extraServer starts one more STARTTLS server on ip at the bed's SMTP port
// (every 127/8 address is local on Linux), presenting a chain made with o.
func (b *bedEnv) extraServer(t *testing.T, ip string, o dnstest.ChainOptions) *dnstest.SMTPServer {
	t.Helper()
	return dnstest.StartSMTP(t, dnstest.SMTPOptions{Addr: net.JoinHostPort(ip, fmt.Sprint(b.s.Port)),
		Hostname: o.Names[0], Chain: dnstest.NewChain(t, o)})
}

// taRoots trusts the private root of the DANE-TA host's chain, in place of
// the system pool.
func taRoots(t *testing.T, b *bedEnv) { b.RootCAs = b.s.SMTP["mx.dane-ta.test."].Chain.Pool() }

func TestDANETranscripts(t *testing.T) {
	t.Parallel()
	for name, tc := range daneTranscripts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBedEnv(t)
			if tc.setup != nil {
				tc.setup(t, b)
			}
			shelltest.Check(t, filepath.Join("..", "testdata", "transcripts", name+".txt"), b.session())
			if tc.check != nil {
				tc.check(t, b)
			}
		})
	}
}

// TestDANETranscriptsReplayed: every daneverify/tlsverify/dnsconfig
// transcript is replayed by TestDANETranscripts or TestDNSConfigTranscripts.
func TestDANETranscriptsReplayed(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "transcripts", "*.txt"))
	n := 0
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".txt")
		if !strings.HasPrefix(base, "dane") && !strings.HasPrefix(base, "tls") && !strings.HasPrefix(base, "dns") {
			continue
		}
		n++
		if _, ok := daneTranscripts[base]; !ok {
			if _, ok := dnsconfigTranscripts[base]; !ok {
				t.Errorf("%s is not replayed", f)
			}
		}
	}
	if n < len(daneTranscripts)+len(dnsconfigTranscripts) {
		t.Errorf("%d transcript files for %d tests", n, len(daneTranscripts)+len(dnsconfigTranscripts))
	}
}

// TestDaneverifyDebugLog: the connection and TLS steps reach the mail log
// at Debug level, beside the resolver's DNS steps.
func TestDaneverifyDebugLog(t *testing.T) {
	t.Parallel()
	b := newBedEnv(t)
	if err := b.Session.Update(func(c *store.Config) error {
		for i := range c.Logs.Subscriptions {
			if c.Logs.Subscriptions[i].Name == "mail_logs" {
				c.Logs.Subscriptions[i].Level = store.LevelDebug
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Session.Commit("debug", false); err != nil {
		t.Fatal(err)
	}
	out := script(b.Env, "daneverify dane-good.test\n")
	if !strings.Contains(out, "DANE SUCCESS for dane-good.test\nDANE verification completed.\n") {
		t.Fatalf("screen:\n%s", out)
	}
	files, err := b.Logs.Files("mail_logs")
	if err != nil || len(files) == 0 {
		t.Fatalf("mail_logs files: %v %v", files, err)
	}
	data, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Debug: DANE dane-good.test: Connecting to 127.0.0.2", "Debug: DANE dane-good.test: Certificate verification successful"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("mail log lacks %q:\n%s", want, data)
		}
	}
}

// syncBuf is a writer the test reads while the command runs.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDaneverifyStreams: each line is on the screen when its step ends,
// not at the end of the command: when the walk dials the MX host, the MX
// and A lines and "Connecting to" are already printed.
func TestDaneverifyStreams(t *testing.T) {
	t.Parallel()
	b := newBedEnv(t)
	var out syncBuf
	var atDial string
	dial := b.Dial
	b.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		atDial = out.String()
		return dial(ctx, network, addr)
	}
	io := shell.NewIO(context.Background(), shell.NewPlainEditor(strings.NewReader(""), &out), &out)
	if err := daneverifyCommand(b.Env).Run(io, []string{"dane-good.test"}); err != nil {
		t.Fatal(err)
	}
	want := "SECURE MX record(mx.dane-good.test) found for dane-good.test\n" +
		"SECURE A record (127.0.0.2) found for MX(mx.dane-good.test) in dane-good.test\n" +
		fmt.Sprintf("Connecting to 127.0.0.2 on port %d.\n", b.s.Port)
	if atDial != want {
		t.Errorf("screen when dialling:\n%q\nwant:\n%q", atDial, want)
	}
	if !strings.HasSuffix(out.String(), "DANE SUCCESS for dane-good.test\nDANE verification completed.\n") {
		t.Errorf("screen:\n%s", out.String())
	}
}

// TestDaneverifyInterrupt: Ctrl-C while the MX query waits on a resolver
// that never answers cancels it at once (the resolver's timeout is an
// hour: the test would hang otherwise), prints that the verification was
// interrupted and no verdict, and the shell goes on (issue 12 item 8).
func TestDaneverifyInterrupt(t *testing.T) {
	t.Parallel()
	b := newBedEnv(t)
	b.s.H.Break(dnstest.DomainGood, dns.TypeMX, dnstest.Timeout)
	r, err := dnssec.New(dnssec.Config{Servers: []dnssec.Server{{Addr: b.s.DNS.Addr}}, Anchors: b.s.H.Anchors(),
		Now: b.Now, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b.Resolver = func() (dnssec.Lookuper, error) { return r, nil }
	sigs := make(chan os.Signal, 1)
	asked := b.s.DNS.Asked(dnstest.DomainGood, dns.TypeMX)
	go func() {
		<-asked
		sigs <- os.Interrupt
	}()
	var out bytes.Buffer
	in := strings.NewReader("daneverify dane-good.test\nversion\n")
	shell.Run(context.Background(), shell.Config{
		Editor:     shell.NewPlainEditor(in, &out),
		Out:        &out,
		Prompt:     Prompt(b.Env),
		Commands:   Table(b.Env),
		OnExit:     OnExit(b.Env),
		Interrupts: sigs,
	})
	got := out.String()
	want := "esa.example.com> daneverify dane-good.test\nDANE verification interrupted.\n\nesa.example.com> version\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("screen:\n%s\nwant it to start with:\n%s", got, want)
	}
	for _, verdict := range []string{"BOGUS", "DANE FAILED", "DANE SUCCESS", "completed", "lookup failed"} {
		if strings.Contains(got, verdict) {
			t.Errorf("an interrupted walk printed %q:\n%s", verdict, got)
		}
	}
}
