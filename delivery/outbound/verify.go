package outbound

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"esa/delivery/dane"
)

// tlsConfig is the client TLS configuration for a host, and the check
// that says whether the server was verified (for the log and counters).
func (e *Engine) tlsConfig(pol Policy, domain string, t target) (*tls.Config, func(tls.ConnectionState) error) {
	var cfg *tls.Config
	var check func(tls.ConnectionState) error
	refs := []string{domain, t.name}
	switch {
	case t.dane != nil:
		// RFC 7672 §3: DANE replaces WebPKI; the handshake fails on a
		// chain that matches no usable TLSA record.
		cfg = t.dane.TLSConfig(e.cfg.Now, nil)
		if t.dane.State == dane.StateDANE {
			check = func(tls.ConnectionState) error { return nil }
		} else {
			check = func(tls.ConnectionState) error { return errors.New("not authenticated") }
		}
	case pol.TLS == TLSRequiredVerify || pol.TLS == TLSRequiredVerifyHosted:
		strict := pol.TLS == TLSRequiredVerifyHosted
		check = func(cs tls.ConnectionState) error { return e.verifyPeer(cs, refs, strict) }
		cfg = &tls.Config{ServerName: t.name, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, VerifyConnection: check}
	default:
		// Settings 2-4: the certificate never stops the delivery; setting
		// 4 still checks it, for the log.
		cfg = &tls.Config{ServerName: t.name, InsecureSkipVerify: true}
		if pol.TLS == TLSPreferredVerify {
			check = func(cs tls.ConnectionState) error { return e.verifyPeer(cs, refs, false) }
		}
	}
	if _, client := e.tlsMaterial(); client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	return cfg, check
}

// tlsMaterial is the CA pool and client certificate in force now.
func (e *Engine) tlsMaterial() (*x509.CertPool, *tls.Certificate) {
	if e.cfg.TLSMaterial != nil {
		return e.cfg.TLSMaterial()
	}
	return e.cfg.Roots, e.cfg.ClientCert
}

// verifyPeer checks the presented chain against the CA pool at the
// engine's clock, then the server identity against refs (the recipient
// domain and the MX host name). With strict (setting 6) the presented
// identities are the subjectAltName dNSNames, and the subject CN only when
// there is no dNSName (RFC 6125 §6.4.4); otherwise any of them will do.
func (e *Engine) verifyPeer(cs tls.ConnectionState, refs []string, strict bool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate presented")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	roots, _ := e.tlsMaterial()
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		CurrentTime: e.cfg.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return err
	}
	if !IdentityMatches(leaf, refs, strict) {
		return fmt.Errorf("certificate names %s match none of %s", presented(leaf), strings.Join(refs, ", "))
	}
	return nil
}

func presented(c *x509.Certificate) string {
	ids := append([]string(nil), c.DNSNames...)
	if c.Subject.CommonName != "" {
		ids = append(ids, "CN="+c.Subject.CommonName)
	}
	return strings.Join(ids, ", ")
}

// IdentityMatches reports whether leaf presents one of the reference
// identities refs. strict: dNSName SANs first and alone; the CN only when
// there is no dNSName SAN (TLS setting 6).
func IdentityMatches(leaf *x509.Certificate, refs []string, strict bool) bool {
	ids := append([]string(nil), leaf.DNSNames...)
	if !strict || len(leaf.DNSNames) == 0 {
		if cn := leaf.Subject.CommonName; cn != "" {
			ids = append(ids, cn)
		}
	}
	for _, id := range ids {
		for _, ref := range refs {
			if idMatches(id, ref) {
				return true
			}
		}
	}
	return false
}

// idMatches compares a presented identifier with a reference identity: a
// wildcard is the whole left-most label and covers exactly one label
// (RFC 6125 §6.4.3).
func idMatches(id, ref string) bool {
	id = strings.ToLower(strings.TrimSuffix(id, "."))
	ref = strings.ToLower(strings.TrimSuffix(ref, "."))
	if id == "" || ref == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(id, "*."); ok {
		i := strings.IndexByte(ref, '.')
		return i > 0 && ref[i+1:] == rest && strings.Contains(rest, ".")
	}
	return id == ref
}
