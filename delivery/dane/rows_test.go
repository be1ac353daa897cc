package dane

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"esa/dnssec"
	"esa/dnssec/dnstest"
)

// The tests in this file each take one row of DANE.md §2.2 that the
// scenario domains do not cover, build it inside the scenario's signed
// zones, and check both the DNS-only Plan and, where a server can answer,
// the full Verify walk.

// eeOf is a DANE-EE 3 1 1 record at _25._tcp.<host> for the certificate
// the scenario server of mxHost presents.
func (b *bed) eeOf(mxHost, host string) string {
	return b.s.SMTP[mxHost].Chain.EE(dnstest.TLSAName(host), 1, 1).String()
}

func (b *bed) plan(domain string) *Report {
	return b.v.Plan(context.Background(), domain, nil)
}

// TestRowAAAAOnly: an MX host with only AAAA records (secure NODATA for A)
// is a normal DANE host: its TLSA is looked up and decides.
func TestRowAAAAOnly(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("v6.dane-good.test. 300 IN MX 10 mx6.dane-good.test.",
		"mx6.dane-good.test. 300 IN AAAA ::1",
		b.eeOf("mx.dane-good.test.", "mx6.dane-good.test"))
	rep := b.plan("v6.dane-good.test")
	h := rep.Hosts[0]
	if rep.MX != MXFound || h.State != StateDANE || len(h.Addrs) != 1 || h.Addrs[0].String() != "::1" ||
		h.BaseDomain != "mx6.dane-good.test" || len(h.TLSA) != 1 {
		t.Errorf("AAAA-only host: %+v", h)
	}
}

// TestRowOneFamilyBogus: one address family secure and the other bogus:
// proceed on the secure family only, treating the other as failed (DANE.md
// §2.2, maddy #292), in either order.
func TestRowOneFamilyBogus(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	// The AAAA is the v4-mapped form of the scenario server's address, so
	// the walk can connect through it.
	b.s.H.Add("fam.dane-good.test. 300 IN MX 10 badv4.dane-good.test.",
		"badv4.dane-good.test. 300 IN A 127.0.0.2",
		"badv4.dane-good.test. 300 IN AAAA ::ffff:127.0.0.2",
		b.eeOf("mx.dane-good.test.", "badv4.dane-good.test"),
		"fam6.dane-good.test. 300 IN MX 10 badv6.dane-good.test.",
		"badv6.dane-good.test. 300 IN A 127.0.0.2",
		"badv6.dane-good.test. 300 IN AAAA ::2",
		b.eeOf("mx.dane-good.test.", "badv6.dane-good.test"))
	b.s.H.Break("badv4.dane-good.test.", dns.TypeA, dnstest.ExpiredSig)
	b.s.H.Break("badv6.dane-good.test.", dns.TypeAAAA, dnstest.CorruptSig)

	for _, c := range []struct{ domain, addr string }{{"fam.dane-good.test", "127.0.0.2"}, {"fam6.dane-good.test", "127.0.0.2"}} {
		h := b.plan(c.domain).Hosts[0]
		if h.State != StateDANE || len(h.Addrs) != 1 || h.Addrs[0].String() != c.addr {
			t.Errorf("%s: plan %+v, want DANE on the secure family only", c.domain, h)
		}
	}
	rep, out := b.run("fam.dane-good.test")
	if !rep.Success || !strings.Contains(out, "BOGUS A record found for MX(badv4.dane-good.test) in fam.dane-good.test\n"+
		"SECURE AAAA record (127.0.0.2) found for MX(badv4.dane-good.test) in fam.dane-good.test\n") {
		t.Errorf("bogus A, secure AAAA:\n%s", out)
	}
}

// TestRowSecureCNAMESecureTarget: addresses through a secure CNAME to a
// secure target: TLSA at the expanded name first, then at the original
// name, which is then the SNI (RFC 7672 §2.2.3, §8.1).
func TestRowSecureCNAMESecureTarget(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("c1dom.cname-mx.test. 300 IN MX 10 c1.cname-mx.test.",
		"c1.cname-mx.test. 300 IN CNAME plain.dane-good.test.",
		"plain.dane-good.test. 300 IN A 127.0.0.2",
		b.eeOf("mx.dane-good.test.", "c1.cname-mx.test"))
	h := b.plan("c1dom.cname-mx.test").Hosts[0]
	if h.State != StateDANE || h.BaseDomain != "c1.cname-mx.test" {
		t.Errorf("plan %+v, want DANE with base domain c1.cname-mx.test", h)
	}
	if b.s.DNS.Queries(dnstest.TLSAName("plain.dane-good.test"), dns.TypeTLSA) != 1 {
		t.Error("TLSA not asked at the expanded name first")
	}
	rep, _ := b.run("c1dom.cname-mx.test")
	if !rep.Success || !slices.Contains(b.s.SMTP["mx.dane-good.test."].SNI(), "c1.cname-mx.test") {
		t.Errorf("success %v, SNI %q: want the TLSA base domain c1.cname-mx.test", rep.Success, b.s.SMTP["mx.dane-good.test."].SNI())
	}
}

// TestRowSecureCNAMEInsecureTarget: a secure CNAME to a host in an
// unsigned zone: TLSA at the original name only (RFC 7672 §2.2.2); the
// expanded name (whose TLSA query SERVFAILs) is never asked. An insecure
// first link gets no TLSA lookup at all.
func TestRowSecureCNAMEInsecureTarget(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("c2dom.cname-mx.test. 300 IN MX 10 c2.cname-mx.test.",
		"c2.cname-mx.test. 300 IN CNAME mx.unsigned.test.",
		b.eeOf("mx.unsigned.test.", "c2.cname-mx.test"),
		"c3dom.cname-mx.test. 300 IN MX 10 c3.unsigned.test.",
		"c3.unsigned.test. 300 IN CNAME mx.dane-good.test.")
	h := b.plan("c2dom.cname-mx.test").Hosts[0]
	if h.State != StateDANE || h.BaseDomain != "c2.cname-mx.test" {
		t.Errorf("plan %+v, want DANE at the original name", h)
	}
	rep, out := b.run("c2dom.cname-mx.test")
	if !rep.Success {
		t.Errorf("secure CNAME to an insecure host with TLSA at the CNAME:\n%s", out)
	}
	if n := b.s.DNS.Queries(dnstest.TLSAName("mx.unsigned.test"), dns.TypeTLSA); n != 0 {
		t.Errorf("TLSA asked %d times at the insecure expanded name", n)
	}
	h = b.plan("c3dom.cname-mx.test").Hosts[0]
	if h.State != StateNoDANE {
		t.Errorf("insecure first CNAME: %+v, want no DANE", h)
	}
	if n := b.s.DNS.Queries(dnstest.TLSAName("c3.unsigned.test"), dns.TypeTLSA) +
		b.s.DNS.Queries(dnstest.TLSAName("mx.dane-good.test"), dns.TypeTLSA); n != 0 {
		t.Errorf("TLSA asked %d times behind an insecure CNAME", n)
	}
}

// TestRowBogusCNAMEAtTLSAName: a CNAME at the TLSA name whose signature is
// bad makes the host unusable (RFC 7672 §2.1.2), while the same CNAME
// validly signed leads to the records at its target.
func TestRowBogusCNAMEAtTLSAName(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("tc.dane-good.test. 300 IN MX 10 tc1.dane-good.test.",
		"tc1.dane-good.test. 300 IN A 127.0.0.2",
		"_25._tcp.tc1.dane-good.test. 300 IN CNAME _25._tcp.mx.dane-good.test.",
		"tcbad.dane-good.test. 300 IN MX 10 tc2.dane-good.test.",
		"tc2.dane-good.test. 300 IN A 127.0.0.2",
		"_25._tcp.tc2.dane-good.test. 300 IN CNAME _25._tcp.mx.dane-good.test.")
	b.s.H.Break("_25._tcp.tc2.dane-good.test.", dns.TypeCNAME, dnstest.ExpiredSig)
	if h := b.plan("tc.dane-good.test").Hosts[0]; h.State != StateDANE {
		t.Errorf("secure CNAME at the TLSA name: %+v", h)
	}
	rep, out := b.run("tcbad.dane-good.test")
	if rep.Success || rep.Hosts[0].State != StateUnusable || !strings.Contains(out, "BOGUS TLSA record found for MX(tc2.dane-good.test)") {
		t.Errorf("bogus CNAME at the TLSA name: %+v\n%s", rep.Hosts[0], out)
	}
}

// TestRowTLSADenialAtEveryCandidate: a secure NXDOMAIN or a secure NODATA
// at every TLSA candidate means no DANE (pre-DANE TLS), not a failure, and
// every candidate is asked.
func TestRowTLSADenialAtEveryCandidate(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("nx.cname-mx.test. 300 IN MX 10 c4.cname-mx.test.",
		"c4.cname-mx.test. 300 IN CNAME nd4.dane-good.test.",
		"nd4.dane-good.test. 300 IN A 127.0.0.2",
		"nodata.cname-mx.test. 300 IN MX 10 c5.cname-mx.test.",
		"c5.cname-mx.test. 300 IN CNAME nd5.dane-good.test.",
		"nd5.dane-good.test. 300 IN A 127.0.0.2",
		`_25._tcp.c5.cname-mx.test. 300 IN TXT "not a TLSA"`,
		`_25._tcp.nd5.dane-good.test. 300 IN TXT "not a TLSA"`)
	r := b.v.Resolver
	for _, c := range []struct {
		domain, host, target string
		kind                 dnssec.Kind
	}{
		{"nx.cname-mx.test", "c4.cname-mx.test", "nd4.dane-good.test", dnssec.NXDomain},
		{"nodata.cname-mx.test", "c5.cname-mx.test", "nd5.dane-good.test", dnssec.NoData},
	} {
		for _, n := range []string{c.host, c.target} {
			a, err := r.Lookup(context.Background(), dnstest.TLSAName(n), dns.TypeTLSA)
			if err != nil || a.Security != dnssec.Secure || a.Kind != c.kind {
				t.Fatalf("bed: TLSA at %s: %+v %v, want secure kind %d", n, a, err, c.kind)
			}
		}
		rep, out := b.run(c.domain)
		h := rep.Hosts[0]
		if rep.Success || h.State != StateNoDANE || !strings.Contains(out, "No TLSA record found for MX("+c.host+")") {
			t.Errorf("%s: %+v\n%s", c.domain, h, out)
		}
		for _, n := range []string{c.host, c.target} {
			if b.s.DNS.Queries(dnstest.TLSAName(n), dns.TypeTLSA) == 0 {
				t.Errorf("%s: candidate %s never asked", c.domain, n)
			}
		}
	}
}

// TestRowMXPreferenceKept: hosts are walked in MX preference order; a
// worse MX with TLSA never goes before a better one without, whatever the
// order of the records in the answer (RFC 7672 §2.2.1).
func TestRowMXPreferenceKept(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("pref.dane-good.test. 300 IN MX 20 mx.dane-good.test.",
		"pref.dane-good.test. 300 IN MX 10 mx.unsigned.test.",
		"pref.dane-good.test. 300 IN MX 30 mx.dane-ta.test.")
	rep := b.plan("pref.dane-good.test")
	var got []string
	for _, h := range rep.Hosts {
		got = append(got, h.Name)
	}
	if want := []string{"mx.unsigned.test", "mx.dane-good.test", "mx.dane-ta.test"}; !slices.Equal(got, want) {
		t.Errorf("plan order %v, want %v", got, want)
	}
	_, out := b.run("pref.dane-good.test")
	if i, j := strings.Index(out, "MX(mx.unsigned.test)"), strings.Index(out, "MX(mx.dane-good.test)"); i < 0 || j < 0 || i > j {
		t.Errorf("walk order:\n%s", out)
	}
}

// TestRowTANamesNextHopOnlyForSecureMX: DANE-TA reference identities are
// the TLSA base domain and the MX host, plus the next-hop domain only when
// the MX RRset is secure (RFC 7672 §3.2.2).
func TestRowTANamesNextHopOnlyForSecureMX(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("ins.unsigned.test. 300 IN MX 10 mx.dane-ta.test.")
	sec := b.plan(dnstest.DomainTA).Hosts[0]
	if !slices.Contains(sec.Names, "dane-ta.test") || !slices.Contains(sec.Names, "mx.dane-ta.test") {
		t.Errorf("secure MX: names %q", sec.Names)
	}
	ins := b.plan("ins.unsigned.test").Hosts[0]
	if ins.State != StateDANE || slices.Contains(ins.Names, "ins.unsigned.test") || !slices.Contains(ins.Names, "mx.dane-ta.test") {
		t.Errorf("insecure MX: state %v names %q, want the MX host and not the next hop", ins.State, ins.Names)
	}
}

// TestRowNullMXBesideRealMX: a null MX published beside real MX records
// (against RFC 7505 §3) still says the domain accepts no mail, as Postfix
// treats it: no host is tried, not even looked up.
func TestRowNullMXBesideRealMX(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("mixed.dane-good.test. 300 IN MX 0 .",
		"mixed.dane-good.test. 300 IN MX 10 mx.dane-good.test.",
		"mixed2.dane-good.test. 300 IN MX 10 mx.dane-good.test.",
		"mixed2.dane-good.test. 300 IN MX 20 .")
	for _, d := range []string{"mixed.dane-good.test", "mixed2.dane-good.test"} {
		if rep := b.plan(d); rep.MX != MXNull || len(rep.Hosts) != 0 {
			t.Errorf("%s: outcome %v, %d hosts; want MXNull and none", d, rep.MX, len(rep.Hosts))
		}
		want := "SECURE null MX record found for " + d + ": the domain accepts no mail\nDANE FAILED for " + d + "\n"
		if rep, out := b.run(d); rep.Success || out != want {
			t.Errorf("walk:\n%s\nwant:\n%s", out, want)
		}
	}
	if n := b.s.DNS.Queries("mx.dane-good.test.", dns.TypeA); n != 0 {
		t.Errorf("the real MX host of a null-MX domain was looked up %d times", n)
	}
}

// TestRowTANamesExpandedNextHop: when the MX lookup follows a secure CNAME,
// the expanded next-hop domain is a DANE-TA reference identity too (RFC
// 7672 §3.2.2), beside the original one.
func TestRowTANamesExpandedNextHop(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.s.H.Add("alias.dane-good.test. 300 IN CNAME dane-ta.test.")
	rep := b.plan("alias.dane-good.test")
	if len(rep.Hosts) == 0 {
		t.Fatalf("no hosts: %+v", rep)
	}
	names := rep.Hosts[0].Names
	for _, want := range []string{"alias.dane-good.test", "dane-ta.test", "mx.dane-ta.test"} {
		if !slices.Contains(names, want) {
			t.Errorf("names %q lack %q", names, want)
		}
	}
}
