package main

import (
	"crypto/tls"
	"crypto/x509"
	"sync"

	"esa/store"
)

// tlsMaterial serves certconfig's table to the listeners (a listener's
// STARTTLS certificate by name) and to the delivery engine (the CA pool of
// the verify modes and the outbound client certificate). Parsing a
// certificate costs about 0.2 ms, so the results are kept per committed
// snapshot and rebuilt only after a commit (pointer compare).
type tlsMaterial struct {
	st *store.Store

	mu     sync.Mutex
	snap   *store.Config
	byName map[string]*tls.Certificate
	errs   map[string]error
	roots  *x509.CertPool
	client *tls.Certificate
}

func newTLSMaterial(st *store.Store) *tlsMaterial { return &tlsMaterial{st: st} }

// current returns the state for the committed snapshot, rebuilding the
// CA pool and the client certificate when the snapshot changed.
func (m *tlsMaterial) current() *tlsMaterial {
	c := m.st.Snapshot()
	m.mu.Lock()
	defer m.mu.Unlock()
	if c != m.snap {
		m.snap = c
		m.byName, m.errs = map[string]*tls.Certificate{}, map[string]error{}
		m.roots = c.Certificates.RootPool(nil)
		m.client = nil
		if c.Certificates.Outbound != "" {
			if cert, err := c.Certificates.TLSCertificate(c.Certificates.Outbound); err == nil {
				m.client = &cert
			}
		}
	}
	return m
}

// Certificate is smtpd.Options.Certificate.
func (m *tlsMaterial) Certificate(name string) (*tls.Certificate, error) {
	m.current()
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.byName[name]; ok {
		return c, m.errs[name]
	}
	cert, err := m.snap.Certificates.TLSCertificate(name)
	var p *tls.Certificate
	if err == nil {
		p = &cert
	}
	m.byName[name], m.errs[name] = p, err
	return p, err
}

// Outbound is outbound.Config.TLSMaterial.
func (m *tlsMaterial) Outbound() (*x509.CertPool, *tls.Certificate) {
	m.current()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.roots, m.client
}
