package commands

import (
	"context"
	"crypto/x509"
	"net"
	"time"

	"esa/delivery/queue"
	"esa/delivery/smtpd"
	"esa/dnssec"
	"esa/store"
	"esa/store/logs"

	"golang.org/x/crypto/ssh"
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

	// Role is the session user's role (users.Administrator for the local
	// console); commands that change the configuration refuse the roles
	// that may only look. SessionID and RemoteAddr identify the session
	// (who, the CLI audit log); RemoteAddr is "" on the local console.
	Role       string
	SessionID  uint64
	RemoteAddr string

	// The daemon's parts, nil in a shell that owns the store itself (no
	// `esa serve` running): commands that need them say so.
	Queue     *queue.Queue
	Listeners func() smtpd.Stats // inbound counters
	Sessions  func() []SessionInfo
	Logins    LoginLog
	// Delivery is the daemon's delivery engine (hoststatus, tophosts,
	// delivernow, bouncerecipients, redirectrecipients).
	Delivery DeliveryEngine
	// DMARCReports is the daemon's aggregate report job (dmarcreports)
	// and Forged its forged email detection counters (forgedemailreport).
	DMARCReports DMARCReporter
	Forged       func() []ForgedCount
	// Trace runs a simulated message through the daemon's listeners
	// (trace).
	Trace func(smtpd.TraceInput) smtpd.TraceReport

	// HostKeys returns the SSH server's public host keys and SSHServer its
	// settings, for sshconfig; nil where no SSH server runs. Functions,
	// because commands never open files outside the store.
	HostKeys  func() ([]ssh.PublicKey, error)
	SSHServer func() SSHSettings
}

// SSHSettings describes the running SSH server, for sshconfig.
type SSHSettings struct {
	Addr          string        // listening address, e.g. ":22"
	Password      bool          // password logins accepted
	PublicKey     bool          // public-key logins accepted
	MaxAuthTries  int           // authentication attempts per connection
	FailureLimit  int           // failed logins per source address ...
	FailureWindow time.Duration // ... within this window before it is refused
	IdleTimeout   time.Duration // a connection idle this long is closed
}

// SessionInfo is one logged-in session, for who.
type SessionInfo struct {
	ID         uint64
	User       string
	RemoteAddr string // "" for the local console
	Since      time.Time
	Idle       time.Duration
}

// LoginLog records logins and logouts for last.
type LoginLog interface {
	Record(l Login) error
	Recent(n int) ([]Login, error)
}

// Login is one entry of the login history.
type Login struct {
	User       string
	RemoteAddr string
	In, Out    time.Time // Out is zero while the session is open
}
