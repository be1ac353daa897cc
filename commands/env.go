package commands

import (
	"context"
	"crypto/x509"
	"net"
	"time"

	"esa/dnssec"
	"esa/store"
	"esa/store/logs"
)

// Env is everything a command may touch. cmd/esa builds one per shell
// session; tests build one over a store in a temporary directory with a fixed
// clock. Commands reach the world only through these fields (STYLE.md §2).
type Env struct {
	Store   *store.Store
	Session *store.Session
	Logs    *logs.Manager
	Now     func() time.Time
	Started time.Time
	Version string
	// User and PID name the session in the CLI audit log (Audit).
	User string
	PID  int
	// DNS and network doors for dnsconfig / daneverify / tlsverify:
	Resolver func() (dnssec.Lookuper, error) // validating resolver built from the committed DNS table (+ lab flags)
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	SMTPPort int            // 25, tests inject another
	RootCAs  *x509.CertPool // nil = system pool (tlsverify)
}
