package dane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// CheckTLS is tlsverify's walk (ESA-CLI §10.3): no DNSSEC. It resolves host
// (an IP address or a name, through the same resolver with the security
// status ignored), connects to each address on port in turn, says EHLO and
// STARTTLS, and verifies the certificate with WebPKI rules: the chain up to
// roots (nil: the system pool) at the Verifier's clock, and domain against
// the leaf's names with the RFC 6125 rules Match uses. It reports whether
// one address passed.
func (v *Verifier) CheckTLS(ctx context.Context, domain, host string, port int, roots *x509.CertPool, sink func(Event)) bool {
	w := &walk{v: v, ctx: ctx, sink: sink, domain: trimDot(domain)}
	host = trimDot(host)
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			ans, err := v.Resolver.Lookup(ctx, dns.Fqdn(host), qt)
			if err != nil {
				v.debug("TLS %s: %s lookup of %s failed: %v", w.domain, dns.TypeToString[qt], host, err)
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
	}
	tv := &Verifier{Resolver: v.Resolver, Dial: v.Dial, Port: port, Now: v.Now, HeloName: v.HeloName, Timeout: v.Timeout, Debug: v.Debug}
	w.v = tv
	for _, ip := range addrs {
		if w.tlsOnly(ip, roots) {
			w.emit(StepResult, false, "TLS successfully connected to %s.", w.domain)
			return true
		}
	}
	w.emit(StepResult, true, "TLS failed to connect to %s.", w.domain)
	return false
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
