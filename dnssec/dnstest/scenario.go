package dnstest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The ready-made DANE domains of a Scenario. Every zone is signed with
// deterministic Ed25519 keys under the NSEC3 opt-out TLD "test." unless
// said otherwise; every MX host's SMTP server (if any) listens on
// <its address>:Scenario.Port.
const (
	// DomainGood: secure MX 10 mx.dane-good.test -> secure A 127.0.0.2 ->
	// secure TLSA 3 1 1 matching the STARTTLS server there.
	DomainGood = "dane-good.test."
	// DomainTA: MX mx.dane-ta.test -> A 127.0.0.3 -> TLSA 2 0 1 of the
	// intermediate CA the server presents (leaf names mx.dane-ta.test).
	DomainTA = "dane-ta.test."
	// DomainBogusMX: the MX RRSIG is expired (bogus); the host behind it,
	// mx.bogus-mx.test A 127.0.0.4, is otherwise fine.
	DomainBogusMX = "bogus-mx.test."
	// DomainUnsigned: an unsigned zone with MX 10/20/30 mx1/mx2/mx3,
	// A 127.0.0.11/12/13, where nothing listens on Port.
	DomainUnsigned = "unsigned.test."
	// DomainTwoA: MX mx.two-a.test with two A records: 127.0.0.14 (port
	// closed) and 127.0.0.5 (server); secure TLSA 3 1 1 matching.
	DomainTwoA = "two-a.test."
	// DomainMismatch: MX -> A 127.0.0.6 (server) -> TLSA 3 1 1 matching
	// no certificate.
	DomainMismatch = "tlsa-mismatch.test."
	// DomainNoSTARTTLS: MX -> A 127.0.0.7, whose server does not offer
	// STARTTLS; TLSA 3 1 1 (of a certificate never presented).
	DomainNoSTARTTLS = "no-starttls.test."
	// DomainTLSAServFail: MX -> A 127.0.0.8 (server); the TLSA query
	// answers SERVFAIL (RFC 7672 §2.1.2: the host is unusable).
	DomainTLSAServFail = "tlsa-servfail.test."
	// DomainUnusable: MX -> A 127.0.0.9 (server); TLSA records with PKIX
	// usages 0 and 1 only: secure but unusable, so TLS is mandatory
	// without authentication (RFC 7672 §3.1.3).
	DomainUnusable = "tlsa-unusable.test."
	// DomainNoMX: no MX; the domain itself has A 127.0.0.10 (server) and
	// TLSA 3 1 1 at _25._tcp.no-mx.test (implicit MX, RFC 7672 §2.2.2).
	DomainNoMX = "no-mx.test."
	// DomainNullMX: "MX 0 ." (RFC 7505).
	DomainNullMX = "null-mx.test."
	// DomainInsecureHost: secure MX 10 mx.unsigned.test, whose A
	// 127.0.0.15 is insecure (unsigned zone); a STARTTLS server with a
	// self-signed certificate listens there. The TLSA query
	// _25._tcp.mx.unsigned.test answers SERVFAIL, as Microsoft-hosted
	// domains do: a client must not ask (RFC 7672 §2.2.2, DANE.md §0.2).
	DomainInsecureHost = "insecure-host.test."
	// DomainExpiredEE: MX -> A 127.0.0.16 -> TLSA 3 1 1 matching an
	// expired self-signed leaf: DANE-EE ignores expiry (RFC 7671 §5.1).
	DomainExpiredEE = "expired-ee.test."
	// DomainCNAME: MX 10 mx.cname-mx.test, a secure CNAME to
	// mx.dane-good.test (TLSA at the expanded name, RFC 7672 §2.2.3).
	DomainCNAME = "cname-mx.test."
	// DomainNX does not exist (signed NXDOMAIN from "test.").
	DomainNX = "nxdomain.test."
)

// ScenarioOptions configures NewScenario.
type ScenarioOptions struct {
	// Now is the clock for signatures and certificates (default
	// time.Now). Fix it for golden transcripts: with it every key,
	// signature, certificate and TLSA digest is reproducible.
	Now func() time.Time
}

// Scenario is a served DNS hierarchy holding the Domain* constants and the
// SMTP servers behind them. Its faults (bogus MX, TLSA SERVFAILs) are
// installed with Break, so H.Fix() removes them too.
type Scenario struct {
	H   *Hierarchy
	DNS *Front
	// Port is the SMTP port every server listens on, to inject in place
	// of 25.
	Port int
	// SMTP holds the servers by MX host name (fully qualified, e.g.
	// "mx.dane-good.test.").
	SMTP map[string]*SMTPServer
}

type scenarioHost struct {
	name, ip string
	tls      bool
}

// NewScenario builds and serves the DANE scenario. All servers share one
// port on distinct 127.0.0.x addresses (every 127/8 address is local on
// Linux).
func NewScenario(t testing.TB, o ScenarioOptions) *Scenario {
	t.Helper()
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now()
	ed := KeyConfig{Algorithm: dns.ED25519}
	h := New(t, Options{Now: o.Now, Deterministic: true, Root: ZoneConfig{Keys: ed}})
	h.AddZone("test.", ZoneConfig{Keys: ed, Denial: Denial{NSEC3: true, OptOut: true}})
	for _, d := range []string{DomainGood, DomainTA, DomainBogusMX, DomainTwoA, DomainMismatch,
		DomainNoSTARTTLS, DomainTLSAServFail, DomainUnusable, DomainNoMX, DomainNullMX,
		DomainInsecureHost, DomainExpiredEE, DomainCNAME} {
		h.AddZone(d, ZoneConfig{Keys: ed})
	}
	h.AddZone(DomainUnsigned, ZoneConfig{Unsigned: true})

	hosts := []scenarioHost{
		{"mx." + DomainGood, "127.0.0.2", true},
		{"mx." + DomainTA, "127.0.0.3", true},
		{"mx." + DomainBogusMX, "127.0.0.4", true},
		{"mx." + DomainTwoA, "127.0.0.5", true},
		{"mx." + DomainMismatch, "127.0.0.6", true},
		{"mx." + DomainNoSTARTTLS, "127.0.0.7", false},
		{"mx." + DomainTLSAServFail, "127.0.0.8", true},
		{"mx." + DomainUnusable, "127.0.0.9", true},
		{DomainNoMX, "127.0.0.10", true},
		{"mx." + DomainUnsigned, "127.0.0.15", true},
		{"mx." + DomainExpiredEE, "127.0.0.16", true},
	}
	s := &Scenario{H: h, SMTP: map[string]*SMTPServer{}}
	lns := listenShared(t, hosts)
	s.Port = lns[0].Addr().(*net.TCPAddr).Port
	chains := map[string]*Chain{}
	for i, hst := range hosts {
		co := ChainOptions{Names: []string{hst.name}, Now: now}
		switch hst.name {
		case "mx." + DomainUnsigned:
			co.SelfSigned = true
		case "mx." + DomainExpiredEE:
			co.SelfSigned, co.Expired = true, true
		}
		chain := NewChain(t, co)
		chains[hst.name] = chain
		o := SMTPOptions{Hostname: trimDot(hst.name), Chain: chain, NoSTARTTLS: !hst.tls}
		s.SMTP[hst.name] = serveSMTP(t, lns[i], o)
		switch hst.name {
		case DomainNoMX:
		case "mx." + DomainUnsigned:
			h.Add(DomainInsecureHost + " 300 IN MX 10 " + hst.name)
		default:
			d := hst.name[len("mx."):]
			h.Add(d + " 300 IN MX 10 " + hst.name)
		}
		h.Add(hst.name + " 300 IN A " + hst.ip)
	}
	tlsa := func(rrs ...*dns.TLSA) {
		for _, r := range rrs {
			h.Add(r.String())
		}
	}
	for _, n := range []string{"mx." + DomainGood, "mx." + DomainBogusMX, "mx." + DomainTwoA,
		"mx." + DomainNoSTARTTLS, "mx." + DomainTLSAServFail, DomainNoMX, "mx." + DomainExpiredEE} {
		tlsa(chains[n].EE(TLSAName(n), 1, 1))
	}
	ta := "mx." + DomainTA
	tlsa(chains[ta].TAIntermediate(TLSAName(ta), 0, 1))
	tlsa(NonMatchingTLSA(TLSAName("mx."+DomainMismatch), 3, 1, 1))
	un := "mx." + DomainUnusable
	tlsa(chains[un].PKIX(TLSAName(un), 0, 0, 1), chains[un].PKIX(TLSAName(un), 1, 1, 1))
	h.Add("mx." + DomainTwoA + " 300 IN A 127.0.0.14")
	h.Add(DomainNullMX + " 300 IN MX 0 .")
	for i, n := range []string{"mx1", "mx2", "mx3"} {
		host := n + "." + DomainUnsigned
		h.Add(DomainUnsigned+" 300 IN MX "+strconv.Itoa(10*(i+1))+" "+host,
			host+" 300 IN A 127.0.0.1"+strconv.Itoa(i+1))
	}
	h.Add(DomainCNAME+" 300 IN MX 10 mx."+DomainCNAME,
		"mx."+DomainCNAME+" 300 IN CNAME mx."+DomainGood)
	h.Break(DomainBogusMX, dns.TypeMX, ExpiredSig)
	h.Break(TLSAName("mx."+DomainUnsigned), dns.TypeTLSA, ServFail)
	h.Break(TLSAName("mx."+DomainTLSAServFail), dns.TypeTLSA, ServFail)
	s.DNS = h.Serve(t)
	return s
}

// ListenShared listens on every address in ips ("127.0.0.x") with one
// common port, so that mail hosts on distinct loopback addresses can all be
// reached on the one MX port a client is configured with. The listeners
// are closed when the test ends.
func ListenShared(t testing.TB, ips []string) []net.Listener {
	t.Helper()
	hosts := make([]scenarioHost, len(ips))
	for i, ip := range ips {
		hosts[i] = scenarioHost{ip: ip}
	}
	lns := listenShared(t, hosts)
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
	})
	return lns
}

// listenShared listens on every host's address with one common port,
// retrying with a new port when one address has it taken.
func listenShared(t testing.TB, hosts []scenarioHost) []net.Listener {
	t.Helper()
	var lastErr error
	for range 20 {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0].ip, "0"))
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		lns := []net.Listener{first}
		for _, h := range hosts[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(h.ip, port))
			if err != nil {
				lastErr = err
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(hosts) {
			return lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatalf("dnstest: no common SMTP port: %v", lastErr)
	return nil
}

func trimDot(s string) string {
	if len(s) > 1 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}
