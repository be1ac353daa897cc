package dane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"esa/dnssec"
)

// CheckTLS is tlsverify's walk (ESA-CLI §10.3): no DNSSEC. With host ""
// it connects to the domain's mail hosts as delivery would: the MX hosts in
// preference order (the domain itself when it has no MX; none for a null
// MX, RFC 7505, or a domain that does not exist); otherwise to host (an IP
// address or a name). Names are resolved through the same resolver with
// the security status ignored. Each address is tried on port in turn: EHLO,
// STARTTLS, and the certificate verified with WebPKI rules: the chain up to
// roots (nil: the system pool) at the Verifier's clock, and domain against
// the leaf's names with the RFC 6125 rules Match uses. It reports whether
// one address passed; an interrupted walk (ctx ended) emits nothing more
// and reports false.
func (v *Verifier) CheckTLS(ctx context.Context, domain, host string, port int, roots *x509.CertPool, sink func(Event)) bool {
	tv := &Verifier{Resolver: v.Resolver, Dial: v.Dial, Port: port, Now: v.Now, HeloName: v.HeloName, Timeout: v.Timeout, Debug: v.Debug}
	w := &walk{v: tv, ctx: ctx, sink: sink, domain: trimDot(domain)}
	var hosts []string
	if host == "" {
		hosts = w.mailHosts()
	} else {
		hosts = []string{trimDot(host)}
	}
	for i, h := range hosts {
		if ctx.Err() != nil {
			return false
		}
		if i > 0 {
			w.emit(StepNext, false, "Trying next MX record in %s", w.domain)
		}
		for _, ip := range w.plainAddrs(h) {
			if w.tlsOnly(ip, roots) {
				w.emit(StepResult, false, "TLS successfully connected to %s.", w.domain)
				return true
			}
		}
	}
	w.emit(StepResult, true, "TLS failed to connect to %s.", w.domain)
	return false
}

// mailHosts lists the domain's MX hosts in preference order for
// tlsverify, whatever their DNSSEC status (RFC 5321 §5.1): the domain
// itself without MX records, none for a null MX (RFC 7505, alone or not,
// as for DANE) or a failed lookup.
func (w *walk) mailHosts() []string {
	ans, err := w.v.Resolver.Lookup(w.ctx, dns.Fqdn(w.domain), dns.TypeMX)
	switch {
	case err != nil:
		w.emit(StepMX, true, "MX lookup failed (%s) for %s", errorWord(err), w.domain)
		return nil
	case ans.Kind == dnssec.NXDomain:
		w.emit(StepMX, true, "NXDOMAIN: the domain %s does not exist", w.domain)
		return nil
	case ans.Kind == dnssec.NoData:
		return []string{w.domain}
	}
	var mxs []*dns.MX
	for _, rr := range ans.Records {
		if mx, ok := rr.(*dns.MX); ok {
			if trimDot(mx.Mx) == "." {
				w.emit(StepMX, true, "Null MX record found for %s: the domain accepts no mail", w.domain)
				return nil
			}
			mxs = append(mxs, mx)
		}
	}
	slices.SortStableFunc(mxs, func(a, b *dns.MX) int { return int(a.Preference) - int(b.Preference) })
	hosts := make([]string, len(mxs))
	for i, mx := range mxs {
		hosts[i] = trimDot(mx.Mx)
	}
	return hosts
}

// plainAddrs resolves host (or takes it as an IP address) for tlsverify:
// A then AAAA, security ignored.
func (w *walk) plainAddrs(host string) []netip.Addr {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}
	}
	var addrs []netip.Addr
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, err := w.v.Resolver.Lookup(w.ctx, dns.Fqdn(host), qt)
		if err != nil {
			w.v.debug("TLS %s: %s lookup of %s failed: %v", w.domain, dns.TypeToString[qt], host, err)
			continue
		}
		for _, rr := range ans.Records {
			if a := rrAddr(rr); a.IsValid() {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		w.emit(StepAddress, true, "No address found for %s.", host)
	}
	return addrs
}

func (w *walk) tlsOnly(ip netip.Addr, roots *x509.CertPool) bool {
	conn, ok := w.connect(ip)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.v.timeout())
	defer cancel()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	if err := startTLS(conn, w.v.HeloName); err != nil {
		conn.Close()
		if err == errNoSTARTTLS {
			w.emit(StepTLS, true, "STARTTLS is not offered by %s.", ip)
		} else {
			w.v.debug("TLS %s: SMTP with %s failed: %v", w.domain, ip, err)
			w.emit(StepTLS, true, "SMTP conversation with %s failed.", ip)
		}
		return false
	}
	w.emit(StepTLS, false, "Checking TLS connection.")
	var state *tls.ConnectionState
	tc := tls.Client(conn, &tls.Config{
		ServerName:         w.domain,
		InsecureSkipVerify: true, // verified below, with the injected clock and our messages
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			state = &cs
			return nil
		},
	})
	if err := tc.HandshakeContext(ctx); err != nil || state == nil {
		conn.Close()
		w.v.debug("TLS %s: handshake with %s failed: %v", w.domain, ip, err)
		w.emit(StepTLS, true, "TLS handshake with %s failed.", ip)
		return false
	}
	defer quit(tc)
	w.emit(StepTLS, false, "TLS connection established: protocol %s, cipher %s.", ProtocolName(state.Version), CipherName(state.CipherSuite))
	w.emit(StepCert, false, "Verifying peer certificate.")
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: w.v.Now()}); err != nil {
		w.emit(StepCert, true, "TLS certificate verification failed: %s.", x509Reason(err))
		return false
	}
	cn := leaf.Subject.CommonName
	if cn == "" && len(leaf.DNSNames) > 0 {
		cn = leaf.DNSNames[0]
	}
	w.emit(StepCert, false, "Verifying certificate common name %s.", cn)
	if _, ok := nameMatches(leaf, []string{w.domain}); !ok {
		w.emit(StepCert, true, "TLS certificate does not match %s.", w.domain)
		return false
	}
	w.emit(StepCert, false, "TLS certificate match %s", cn)
	w.emit(StepCert, false, "TLS certificate verified.")
	w.emit(StepTLS, false, "TLS connection to %s succeeded.", ip)
	return true
}

// x509Reason is a chain verification error in one short line, without
// Go's "x509: " prefix and its hints about candidate authorities.
func x509Reason(err error) string {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return "certificate signed by unknown authority"
	}
	return strings.TrimPrefix(err.Error(), "x509: ")
}
