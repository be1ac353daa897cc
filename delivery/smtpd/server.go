package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"esa/auth/dkim"
	"esa/auth/dmarc"
	"esa/auth/filter"
	"esa/auth/spf"
	"esa/delivery/queue"
	"esa/delivery/smtperr"
	"esa/store/dmarcconf"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
)

// Logger receives mail_logs lines (without the time stamp and level, which
// the log subsystem adds). *logs.Logger satisfies it.
type Logger interface {
	Info(format string, a ...any)
	Warning(format string, a ...any)
	Debug(format string, a ...any)
}

// HostLookup returns the verified reverse DNS name of ip: a PTR name whose
// forward lookup contains ip. ok is false when there is none.
type HostLookup func(ctx context.Context, ip netip.Addr) (host string, ok bool)

// Options are the server's dependencies and tunables.
type Options struct {
	Queue *queue.Queue
	Log   Logger
	// TLS is offered with STARTTLS where the policy allows it; nil offers
	// no STARTTLS at all.
	TLS *tls.Config
	// Certificate, when set, gives the STARTTLS certificate a listener
	// names (certconfig); it is asked at each handshake, so a commit that
	// changes the certificate applies to the next connection. It takes
	// precedence over TLS.
	Certificate func(name string) (*tls.Certificate, error)
	// LookupHost verifies the connecting host's name; nil logs every host
	// as "reverse dns host unknown verified no".
	LookupHost HostLookup
	Now        func() time.Time
	// SPF checks the identities of inbound mail where a policy enables
	// SPF/SIDF verification; nil checks nothing. One checker serves every
	// listener, so its record cache is shared.
	SPF *spf.Checker
	// DKIM looks up DKIM key records (RFC 6376 §3.6.2) where a policy
	// enables DKIM verification; nil verifies nothing.
	DKIM dkim.TXTResolver
	// DKIMProfile returns the named DKIM verification profile ("" is
	// DEFAULT); nil uses dkim.DefaultVerifyProfile for every name.
	DKIMProfile func(name string) dkim.VerifyProfile
	// DMARC returns the evaluator of the From: domain's policy where a
	// mail-flow policy enables DMARC verification (asked per message, as
	// the global settings choose the specification); nil verifies
	// nothing. DMARCProfile returns the named dmarcconfig profile (""
	// is DEFAULT; nil uses the factory DEFAULT), DMARCSettings the global
	// settings (bypass lists), and DMARCRecord files an evaluated message
	// for the aggregate reports of a policy that sends them.
	DMARC         func() *dmarc.Evaluator
	DMARCProfile  func(name string) dmarcconf.Profile
	DMARCSettings func() dmarcconf.Settings
	DMARCRecord   func(res dmarc.Result, row dmarc.Row)
	// Filters returns the active message filters in order and what they
	// look up (content dictionaries), as committed; nil runs none.
	// Forged counts forged email detection matches (forgedemailreport);
	// Bounce returns a committed message to its sender at once (a
	// filter's bounce()).
	Filters func() ([]*filter.Filter, filter.Env)
	Forged  func(matches []filter.Match)
	Bounce  func(mid uint64, reason string)
}

// Config is what the server runs: the host name it announces, the
// committed listeners and listenerconfig SETUP's global settings.
type Config struct {
	Hostname  string
	Listeners []mailflow.Listener
	// CommandTimeout bounds the wait for each command line (RFC 5321
	// §4.5.3.2 suggests 5 minutes); DataTimeout the whole DATA phase.
	// Zero takes those defaults.
	CommandTimeout time.Duration
	DataTimeout    time.Duration
	// MaxConnections bounds all connections of all listeners (memory);
	// zero is 5000.
	MaxConnections int
}

// Stats are the counters status shows.
type Stats struct {
	ConnectionsIn      int64 // accepted since start
	CurrentConnections int64
	Messages           int64 // queued since start
	Recipients         int64
	Rejected           int64 // recipients refused
	Dropped            int64 // messages a message filter's drop() discarded
	// Running lists the listeners accepting now, by name, with their
	// bound addresses (status shows what runs).
	Running []RunningListener
}

// RunningListener is one listener accepting connections.
type RunningListener struct {
	Name, Addr string
}

// Server runs the listeners.
type Server struct {
	opt Options

	mu       sync.Mutex
	running  map[string]*listener // by listener name
	hostname string
	closing  bool
	conns    sync.WaitGroup
	live     map[*peerConn]struct{}
	stats    struct{ in, cur, msgs, rcpts, rejected, dropped atomic.Int64 }
	perIP    map[string]int // key listener|ip
	maxConns int
	// verifiers are the DKIM verifiers by profile (dkim.go), so the
	// parsed-key cache of each outlives a message.
	verifiers sync.Map
}

// New returns a server that runs nothing until Apply.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{opt: o, running: map[string]*listener{}, live: map[*peerConn]struct{}{}, perIP: map[string]int{}}
}

// Stats returns the counters and the running listeners, sorted by name.
func (s *Server) Stats() Stats {
	st := Stats{
		ConnectionsIn:      s.stats.in.Load(),
		CurrentConnections: s.stats.cur.Load(),
		Messages:           s.stats.msgs.Load(),
		Recipients:         s.stats.rcpts.Load(),
		Rejected:           s.stats.rejected.Load(),
		Dropped:            s.stats.dropped.Load(),
	}
	for name, a := range s.Addrs() {
		st.Running = append(st.Running, RunningListener{Name: name, Addr: a.String()})
	}
	sort.Slice(st.Running, func(i, j int) bool { return st.Running[i].Name < st.Running[j].Name })
	return st
}

// Addrs returns the bound address of each running listener, by name (with
// port 0 in the configuration a test learns the real port here).
func (s *Server) Addrs() map[string]net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]net.Addr{}
	for n, l := range s.running {
		out[n] = l.ln.Addr()
	}
	return out
}

// Apply makes the running listeners match cfg. It opens every new socket
// first, so a listener that cannot bind leaves everything as it was and
// returns the error.
func (s *Server) Apply(cfg Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errors.New("the listeners are shutting down")
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 5 * time.Minute
	}
	if cfg.DataTimeout == 0 {
		cfg.DataTimeout = 10 * time.Minute
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 5000
	}
	s.hostname = cfg.Hostname
	s.maxConns = cfg.MaxConnections
	type plan struct {
		conf  mailflow.Listener
		reuse *listener
		ln    net.Listener
	}
	var plans []plan
	for _, lc := range cfg.Listeners {
		p := plan{conf: lc}
		for name, old := range s.running {
			if old.sameBind(name, lc) {
				p.reuse = old
			}
		}
		if p.reuse == nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(lc.Address, fmt.Sprint(lc.Port)))
			if err != nil {
				for _, q := range plans {
					if q.ln != nil {
						q.ln.Close()
					}
				}
				return fmt.Errorf("listener %s: %w", lc.Name, err)
			}
			p.ln = ln
		}
		plans = append(plans, p)
	}
	timeouts := [2]time.Duration{cfg.CommandTimeout, cfg.DataTimeout}
	next := map[string]*listener{}
	kept := map[*listener]bool{}
	for _, p := range plans {
		if p.reuse != nil {
			kept[p.reuse] = true
			g := p.reuse.gen.Load()
			if !reflect.DeepEqual(g.conf, p.conf) || s.hostname != g.hostname || g.timeouts != timeouts {
				p.reuse.setConf(p.conf, s.hostname, timeouts)
			}
			next[p.conf.Name] = p.reuse
			continue
		}
		l := &listener{srv: s, ln: p.ln}
		l.setConf(p.conf, s.hostname, timeouts)
		go l.acceptLoop()
		next[p.conf.Name] = l
	}
	for _, old := range s.running {
		if !kept[old] {
			old.stop()
		}
	}
	s.running = next
	return nil
}

// Shutdown stops accepting, lets the transactions in flight finish until
// ctx is done, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, l := range s.running {
		l.stop()
	}
	s.running = map[string]*listener{}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.live {
			c.Conn.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// generation is one configuration of a listener: the go-smtp servers it
// hands connections to, one per mail-flow policy (SIZE, STARTTLS and the
// banner differ per policy).
type generation struct {
	conf     mailflow.Listener
	hostname string
	timeouts [2]time.Duration // command, DATA
	mu       sync.Mutex
	servers  map[string]*policyServer
	closed   bool
}

type policyServer struct {
	srv *smtp.Server
	in  *chanListener
}

type listener struct {
	srv *Server
	ln  net.Listener
	gen atomic.Pointer[generation]
}

func (l *listener) conf() mailflow.Listener { return l.gen.Load().conf }

// sameBind reports whether lc can keep this listener's socket: the same
// address and port (port 0, "any free port", only for the same listener).
func (l *listener) sameBind(name string, lc mailflow.Listener) bool {
	if l.conf().Address != lc.Address {
		return false
	}
	if lc.Port == 0 {
		return name == lc.Name && l.conf().Port == 0
	}
	return l.ln.Addr().(*net.TCPAddr).Port == lc.Port
}

func (l *listener) setConf(c mailflow.Listener, hostname string, timeouts [2]time.Duration) {
	old := l.gen.Swap(&generation{conf: c, hostname: hostname, timeouts: timeouts, servers: map[string]*policyServer{}})
	if old != nil {
		old.retire()
	}
}

// retire closes the generation's hand-off listeners: its go-smtp servers
// stop taking connections, and the connections they already serve go on.
func (g *generation) retire() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, ps := range g.servers {
		ps.in.Close()
	}
}

func (l *listener) stop() {
	l.ln.Close()
	if g := l.gen.Load(); g != nil {
		g.retire()
	}
}

func (l *listener) acceptLoop() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return // closed
		}
		go l.handle(c)
	}
}

// server returns the go-smtp server of the generation for a policy,
// creating it on first use.
func (g *generation) server(s *Server, d mailflow.Decision) (*policyServer, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, false
	}
	if ps := g.servers[d.Policy]; ps != nil {
		return ps, true
	}
	be := &backend{s: s, gen: g}
	srv := smtp.NewServer(be)
	srv.Domain = g.hostname
	if d.Limits.BannerHost != "" {
		srv.Domain = d.Limits.BannerHost
	}
	srv.MaxMessageBytes = d.Limits.MaxMessageSize
	srv.MaxRecipients = 0 // enforced per policy in Rcpt with the appliance's reply
	srv.MaxLineLength = maxLineLength
	srv.ReadTimeout = g.timeouts[0]
	srv.WriteTimeout = g.timeouts[0]
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = discardLog{}
	switch {
	case d.Limits.TLS == "off":
	case s.opt.Certificate != nil:
		name := g.conf.Certificate
		srv.TLSConfig = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.opt.Certificate(name)
		}}
	case s.opt.TLS != nil:
		srv.TLSConfig = s.opt.TLS
	}
	in := newChanListener(g.conf.Address)
	go srv.Serve(in)
	ps := &policyServer{srv: srv, in: in}
	g.servers[d.Policy] = ps
	return ps, true
}

// maxLineLength bounds a command line and a line of DATA. RFC 5322 §2.1.1
// allows 998 characters in a message line, but real senders write longer
// ones, and Postfix accepts 2048 before splitting; a line past this limit
// is refused rather than held in memory.
const maxLineLength = 10240

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

// handle takes one accepted connection through the host access table and
// hands it to the policy's SMTP server.
func (l *listener) handle(c net.Conn) {
	s := l.srv
	g := l.gen.Load()
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	ip := ap.Addr().Unmap()
	icid, err := s.opt.Queue.IDs().Next(queue.ICID)
	if err != nil {
		c.Write([]byte(smtperr.ServiceUnavailable.Wire()))
		c.Close()
		return
	}
	host, verified := "", false
	if s.opt.LookupHost != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		host, verified = s.opt.LookupHost(ctx, ip)
		cancel()
	}
	hostLog, verLog := "unknown", "no"
	if verified {
		hostLog, verLog = host, "yes"
	} else {
		host = ""
	}
	s.opt.Log.Info("New SMTP ICID %d interface %s (%s) address %s reverse dns host %s verified %s",
		icid, g.conf.Interface, g.conf.Address, ip, hostLog, verLog)

	d := g.conf.HAT.Match(mailflow.Peer{IP: ip, Host: host})
	sg := d.Group
	if sg == "" {
		sg = "None"
	}
	s.opt.Log.Info("ICID %d %s SG %s match %s SBRS None", icid, d.Action, sg, d.Match)

	switch d.Action {
	case mailflow.ActTCPRefuse:
		c.Close()
		s.opt.Log.Info("ICID %d close", icid)
		return
	case mailflow.ActReject:
		code := d.Limits.RejectCode
		text := d.Limits.RejectText
		if text == "" {
			text = "Access denied"
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(smtperr.New(code, smtperr.Enhanced{code / 100, 7, 1}, text).Wire()))
		c.Close()
		s.opt.Log.Info("ICID %d close", icid)
		return
	}

	key := g.conf.Name + "|" + ip.String()
	s.mu.Lock()
	over := s.perIP[key] >= d.Limits.MaxConcurrency || len(s.live) >= s.maxConns
	if !over {
		s.perIP[key]++
	}
	s.mu.Unlock()
	if over {
		s.opt.Log.Info("ICID %d Receiving Failed: Connection limit exceeded", icid)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(smtperr.TooManyConnections.Wire()))
		c.Close()
		s.opt.Log.Info("ICID %d close", icid)
		return
	}
	pc := &peerConn{Conn: c, icid: icid, ip: ip, host: host, decision: d, ipKey: key, srv: s}
	ps, ok := g.server(s, d)
	if !ok {
		// The generation was retired between Load and here: hand the
		// connection to the current one.
		s.mu.Lock()
		s.perIP[key]--
		s.mu.Unlock()
		ps, ok = l.gen.Load().server(s, d)
		if !ok {
			c.Close()
			return
		}
		s.mu.Lock()
		s.perIP[key]++
		s.mu.Unlock()
	}
	s.mu.Lock()
	if s.closing {
		s.perIP[key]--
		s.mu.Unlock()
		c.Write([]byte(smtperr.ServiceUnavailable.Wire()))
		c.Close()
		return
	}
	s.live[pc] = struct{}{}
	s.conns.Add(1)
	s.mu.Unlock()
	s.stats.in.Add(1)
	s.stats.cur.Add(1)
	if !ps.in.deliver(pc) {
		pc.Close()
	}
}

// peerConn is an accepted connection with the HAT's decision attached.
type peerConn struct {
	net.Conn
	icid     uint64
	ip       netip.Addr
	host     string
	decision mailflow.Decision
	ipKey    string
	srv      *Server
	once     sync.Once
	// tlsLogged: the TLS line is written once per connection, though
	// go-smtp starts a new session at the EHLO after STARTTLS.
	tlsLogged bool
	// spfHELO is the HELO identity's SPF verdict (spf.go).
	spfHELO *heloVerdict
	// endSession is set with a reply that ends the SMTP session (an SPF
	// REJECT): go-smtp writes the whole reply before it reads the next
	// command, so the next read reports the end of the connection and
	// go-smtp closes it.
	endSession atomic.Bool
}

// Read ends the stream once endSession is set.
func (pc *peerConn) Read(p []byte) (int, error) {
	if pc.endSession.Load() {
		return 0, io.EOF
	}
	return pc.Conn.Read(p)
}

func (pc *peerConn) Close() error {
	err := pc.Conn.Close()
	pc.once.Do(func() {
		s := pc.srv
		s.mu.Lock()
		s.perIP[pc.ipKey]--
		if s.perIP[pc.ipKey] <= 0 {
			delete(s.perIP, pc.ipKey)
		}
		delete(s.live, pc)
		s.mu.Unlock()
		s.stats.cur.Add(-1)
		s.opt.Log.Info("ICID %d close", pc.icid)
		s.conns.Done()
	})
	return err
}

// chanListener is a net.Listener fed by handle: it lets go-smtp's Serve
// take connections the HAT already admitted.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr string) *chanListener {
	return &chanListener{addr: &net.TCPAddr{IP: net.ParseIP(addr)}, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
