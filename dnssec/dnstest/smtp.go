package dnstest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPOptions configures StartSMTP.
type SMTPOptions struct {
	// Addr is the listen address (default "127.0.0.1:0"). Any 127.x.y.z
	// is local on Linux, so servers for different MX hosts can share one
	// port on distinct loopback addresses, and A records point at them.
	Addr string
	// Hostname is the EHLO greeting domain and, when Chain is nil, the
	// name of the generated certificate (default "mx.example.test").
	Hostname string
	// Chain is the certificate chain to present; nil generates a CA ->
	// intermediate -> leaf chain for Hostname.
	Chain *Chain
	// NoSTARTTLS leaves STARTTLS out of the EHLO response: the server
	// greets with 220 and accepts mail in clear text only.
	NoSTARTTLS bool
	// Now is the clock for a generated chain (default time.Now).
	Now time.Time
	// FailHandshake offers STARTTLS and answers it with 220, then fails
	// every TLS handshake: a failure after the 220 reply (seed 003).
	FailHandshake bool
}

// Message is one message the SMTP server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool // delivered after STARTTLS
}

// SMTPServer is a running go-smtp server on loopback.
type SMTPServer struct {
	Addr  string // host:port
	Host  string // the listen IP
	Port  int
	Chain *Chain // nil with NoSTARTTLS

	srv *smtp.Server
	mu  sync.Mutex
	msg []Message
	sni []string
}

// StartSMTP starts an SMTP server with STARTTLS (unless NoSTARTTLS); it is
// closed when the test ends.
func StartSMTP(t testing.TB, o SMTPOptions) *SMTPServer {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Hostname == "" {
		o.Hostname = "mx.example.test"
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		t.Fatalf("dnstest: smtp listen %s: %v", o.Addr, err)
	}
	return serveSMTP(t, ln, o)
}

var errHandshake = errors.New("dnstest: handshake refused (FailHandshake)")

// ServeSMTP is StartSMTP on a listener the caller made (ListenShared).
func ServeSMTP(t testing.TB, ln net.Listener, o SMTPOptions) *SMTPServer {
	t.Helper()
	return serveSMTP(t, ln, o)
}

func serveSMTP(t testing.TB, ln net.Listener, o SMTPOptions) *SMTPServer {
	t.Helper()
	if o.Hostname == "" {
		o.Hostname = "mx.example.test"
	}
	s := &SMTPServer{Addr: ln.Addr().String()}
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, c: c}, nil
	}))
	s.srv.Domain = o.Hostname
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.ErrorLog = discardLog{}
	if !o.NoSTARTTLS {
		if o.Chain == nil {
			now := o.Now
			if now.IsZero() {
				now = time.Now()
			}
			o.Chain = NewChain(t, ChainOptions{Names: []string{o.Hostname}, Now: now})
		}
		s.Chain = o.Chain
		s.srv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{o.Chain.TLS},
			GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
				s.mu.Lock()
				s.sni = append(s.sni, hello.ServerName)
				s.mu.Unlock()
				if o.FailHandshake {
					return nil, errHandshake
				}
				return nil, nil
			},
		}
	}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Messages returns the messages accepted so far.
func (s *SMTPServer) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msg...)
}

// SNI returns the server names clients sent in their TLS hellos (RFC 7672
// §8.1: a DANE client sends the TLSA base domain).
func (s *SMTPServer) SNI() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...)
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

type session struct {
	s    *SMTPServer
	c    *smtp.Conn
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.msg = append(ss.s.msg, Message{From: ss.from, To: ss.to, Data: b, TLS: isTLS})
	ss.s.mu.Unlock()
	return nil
}

// ClosedPort returns a port on ip ("127.0.0.1") where nothing listens: a
// connection is refused at once. It binds and releases an ephemeral port.
func ClosedPort(t testing.TB, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// StartAcceptClose listens on addr (default "127.0.0.1:0") and closes
// every connection as soon as it is accepted, before any greeting. It
// returns the listen address.
func StartAcceptClose(t testing.TB, addr string) string {
	t.Helper()
	ln := listen(t, addr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("dnstest: listen %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
