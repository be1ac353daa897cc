// Package sshd is the appliance's SSH server (golang.org/x/crypto/ssh): host
// keys kept in the data directory, password and public-key logins with
// per-address rate limiting, and one session per channel handed to a
// Handler with its own input, output, pty size, window changes, interrupts
// and exit status. It knows nothing of the shell: cmd/esa gives it a
// Handler that runs one.
//
// The same server answers on the daemon's local control socket, where the
// socket's file mode (0600) is the authentication and the session runs as
// the local administrator.
package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Session is one shell or command a user runs over a channel.
type Session struct {
	ID         uint64
	User       string
	RemoteAddr string // "local" on the control socket
	// Command is the exec request's command line; "" for an interactive
	// shell (or a piped one without a pty).
	Command string
	// PTY is set when the client asked for a terminal.
	PTY  bool
	Term string
	// In reads what the client types or pipes, Out writes to its screen.
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Width and Height are the terminal size; Resize delivers changes.
	Width, Height int
	Resize        <-chan [2]int
	// Interrupts receives a value for each "signal INT" the client sends
	// (a pty client's Ctrl-C arrives in In as 0x03 instead).
	Interrupts <-chan struct{}
}

// Handler runs one session and returns its exit status. ctx is cancelled
// when the client goes away or the server shuts down.
type Handler func(ctx context.Context, s *Session) int

// Auth decides logins. Password and PublicKey return the user's name as it
// will be shown (the login name), or an error.
type Auth interface {
	Password(user, password string) error
	PublicKey(user string, key ssh.PublicKey) error
}

// Logger receives Authentication log lines.
type Logger interface {
	Info(format string, a ...any)
	Warning(format string, a ...any)
}

// Options configure a Server.
type Options struct {
	HostKeys []ssh.Signer
	Auth     Auth // nil: no authentication (the control socket)
	// LocalUser is the user a session on an unauthenticated (control
	// socket) server runs as.
	LocalUser string
	Handler   Handler
	Log       Logger
	// Limiter, shared by the servers that should count failures together.
	Limiter *Limiter
	Banner  string
	// IdleTimeout closes a connection that has no open channel and sends
	// nothing for this long (0: 10 minutes).
	IdleTimeout time.Duration
	// SessionIDs, shared by servers, numbers sessions across them (the SSH
	// server and the control socket), so an ID names one session.
	SessionIDs *atomic.Uint64
}

// Server serves SSH connections.
type Server struct {
	o      Options
	conf   *ssh.ServerConfig
	nextID *atomic.Uint64

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc

	active sync.Map // id -> *Info
}

// Info describes a logged-in session for `who`.
type Info struct {
	ID         uint64
	User       string
	RemoteAddr string
	Since      time.Time
	PTY        bool
}

// New returns a server.
func New(o Options) *Server {
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.Limiter == nil {
		o.Limiter = NewLimiter(5, 15*time.Minute, time.Now)
	}
	s := &Server{o: o, conns: map[net.Conn]struct{}{}, nextID: o.SessionIDs}
	if s.nextID == nil {
		s.nextID = new(atomic.Uint64)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	conf := &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-esa",
		BannerCallback: func(ssh.ConnMetadata) string {
			return o.Banner
		},
		MaxAuthTries: 6,
	}
	if o.Auth == nil {
		conf.NoClientAuth = true
		conf.NoClientAuthCallback = func(ssh.ConnMetadata) (*ssh.Permissions, error) {
			return &ssh.Permissions{Extensions: map[string]string{"user": o.LocalUser}}, nil
		}
	} else {
		conf.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return s.check(c, "password", func() error { return o.Auth.Password(c.User(), string(pw)) })
		}
		conf.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			// Asked for each offered key before the signature is checked,
			// so a refusal here is a probe, not a failed login.
			if err := o.Auth.PublicKey(c.User(), key); err != nil {
				return nil, err
			}
			return &ssh.Permissions{Extensions: map[string]string{"user": c.User(), "method": "publickey"}}, nil
		}
	}
	for _, k := range o.HostKeys {
		conf.AddHostKey(k)
	}
	s.conf = conf
	return s
}

// errLimited is what a rate-limited source gets for every attempt.
var errLimited = errors.New("too many failed logins from this address")

func (s *Server) check(c ssh.ConnMetadata, method string, try func() error) (*ssh.Permissions, error) {
	src := hostOf(c.RemoteAddr())
	if !s.o.Limiter.Allow(src) {
		s.logf(true, "An authentication attempt by the user %s from %s was refused: too many failed attempts", sanitize(c.User()), src)
		return nil, errLimited
	}
	if err := try(); err != nil {
		s.o.Limiter.Fail(src)
		s.logf(true, "An authentication attempt by the user %s from %s failed", sanitize(c.User()), src)
		return nil, err
	}
	s.o.Limiter.Succeed(src)
	return &ssh.Permissions{Extensions: map[string]string{"user": c.User(), "method": method}}, nil
}

func (s *Server) logf(warn bool, format string, a ...any) {
	if s.o.Log == nil {
		return
	}
	if warn {
		s.o.Log.Warning(format, a...)
	} else {
		s.o.Log.Info(format, a...)
	}
}

// sanitize keeps a peer-chosen string from forging log lines.
func sanitize(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hostOf(a net.Addr) string {
	if a == nil {
		return "local"
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	if a.Network() == "unix" {
		return "local"
	}
	return a.String()
}

// Sessions lists the sessions open now, for `who`.
func (s *Server) Sessions() []Info {
	var out []Info
	s.active.Range(func(_, v any) bool { out = append(out, *v.(*Info)); return true })
	return out
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return net.ErrClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// Close stops accepting, ends every session and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, l := range s.listeners {
		l.Close()
	}
	s.cancel()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// idleConn closes the connection when nothing arrives for the idle timeout
// while no channel is open (a client that connects and never logs in).
type idleConn struct {
	net.Conn
	timeout time.Duration
	open    *atomic.Int32
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.open.Load() == 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	} else {
		c.Conn.SetReadDeadline(time.Time{})
	}
	return c.Conn.Read(p)
}

func (s *Server) serveConn(nc net.Conn) {
	var open atomic.Int32
	ic := &idleConn{Conn: nc, timeout: s.o.IdleTimeout, open: &open}
	// The handshake, authentication included, must finish in bounded time.
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	sc, chans, reqs, err := ssh.NewServerConn(ic, s.conf)
	if err != nil {
		return
	}
	nc.SetDeadline(time.Time{})
	defer sc.Close()
	user := sc.Permissions.Extensions["user"]
	remote := hostOf(sc.RemoteAddr())
	if s.o.Auth != nil {
		s.logf(false, "The user %s successfully logged on from %s using %s", sanitize(user), remote, sc.Permissions.Extensions["method"])
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		open.Add(1)
		go func() {
			defer open.Add(-1)
			s.session(user, remote, ch, creqs)
		}()
	}
}

type ptyReq struct {
	Term          string
	Width, Height uint32
	PxW, PxH      uint32
	Modes         string
}

// session waits for the pty/env/shell/exec requests of one channel and runs
// the handler once.
func (s *Server) session(user, remote string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	sess := &Session{ID: s.nextID.Add(1), User: user, RemoteAddr: remote, In: ch, Out: ch, Err: ch.Stderr()}
	resize := make(chan [2]int, 4)
	intr := make(chan struct{}, 4)
	sess.Resize, sess.Interrupts = resize, intr
	started := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	done := make(chan int, 1)
	start := func() {
		once.Do(func() {
			close(started)
			info := &Info{ID: sess.ID, User: user, RemoteAddr: remote, Since: time.Now(), PTY: sess.PTY}
			s.active.Store(sess.ID, info)
			go func() {
				defer s.active.Delete(sess.ID)
				done <- s.o.Handler(ctx, sess)
			}()
		})
	}
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				// The client closed the channel: end the session.
				cancel()
				select {
				case <-started:
					<-done
				default:
				}
				return
			}
			s.request(req, sess, resize, intr, started, start)
		case status := <-done:
			ch.CloseWrite()
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(status))
			ch.SendRequest("exit-status", false, b[:])
			return
		}
	}
}

func (s *Server) request(req *ssh.Request, sess *Session, resize chan [2]int, intr chan struct{}, started chan struct{}, start func()) {
	isStarted := func() bool {
		select {
		case <-started:
			return true
		default:
			return false
		}
	}
	ok := false
	switch req.Type {
	case "pty-req":
		var p ptyReq
		if err := ssh.Unmarshal(req.Payload, &p); err == nil && !isStarted() {
			sess.PTY, sess.Term = true, sanitize(p.Term)
			sess.Width, sess.Height = clampSize(p.Width, p.Height)
			ok = true
		}
	case "window-change":
		var p struct{ Width, Height, PxW, PxH uint32 }
		if err := ssh.Unmarshal(req.Payload, &p); err == nil {
			w, h := clampSize(p.Width, p.Height)
			select {
			case resize <- [2]int{w, h}:
			default: // a flood of resizes: the latest few are enough
			}
			ok = true
		}
	case "env":
		ok = true // accepted and ignored: nothing in the shell reads it
	case "signal":
		var p struct{ Signal string }
		if err := ssh.Unmarshal(req.Payload, &p); err == nil && p.Signal == "INT" {
			select {
			case intr <- struct{}{}:
			default:
			}
			ok = true
		}
	case "shell":
		if !isStarted() {
			ok = true
			start()
		}
	case "exec":
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err == nil && !isStarted() && len(p.Command) <= 64<<10 {
			sess.Command = p.Command
			ok = true
			start()
		}
	}
	if req.WantReply {
		req.Reply(ok, nil)
	}
}

// clampSize keeps a hostile window size from sizing buffers.
func clampSize(w, h uint32) (int, int) {
	if w == 0 || w > 1000 {
		w = 80
	}
	if h == 0 || h > 1000 {
		h = 24
	}
	return int(w), int(h)
}

// LoadHostKeys reads the Ed25519 and RSA host keys from dir, generating and
// saving (mode 0600) the ones that are missing, as the appliance does on
// first start.
func LoadHostKeys(dir string) ([]ssh.Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var out []ssh.Signer
	for _, kind := range []string{"ed25519", "rsa"} {
		path := filepath.Join(dir, "ssh_host_"+kind+"_key")
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			var key any
			if kind == "ed25519" {
				_, key, err = ed25519.GenerateKey(rand.Reader)
			} else {
				key, err = rsa.GenerateKey(rand.Reader, 3072)
			}
			if err != nil {
				return nil, err
			}
			blk, err := ssh.MarshalPrivateKey(key, "esa host key")
			if err != nil {
				return nil, err
			}
			data = pem.EncodeToMemory(blk)
			if err := writeKey(path, data); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: damaged host key (remove it to generate a new one)", path)
		}
		out = append(out, signer)
	}
	return out, nil
}

func writeKey(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
