package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"esa/commands"
	"esa/delivery/counters"
	"esa/delivery/dmarcreport"
	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/delivery/smtpd"
	"esa/shell"
	"esa/shell/sshd"
	"esa/store"
	"esa/store/dmarcconf"
	"esa/store/logins"
	"esa/store/users"

	"golang.org/x/crypto/ssh"
)

// serveFlags are `esa serve`'s own options.
type serveFlags struct {
	ssh    string        // SSH listen address
	grace  time.Duration // SIGTERM: how long transactions in flight may take
	mxPort int           // lab: the port delivery connects to (25)
}

// The SSH server's settings, shown by sshconfig.
const (
	sshMaxAuthTries  = 6                // x/crypto/ssh's per-connection default we keep
	sshFailureLimit  = 5                // failed logins per source address ...
	sshFailureWindow = 15 * time.Minute // ... within this window before it is refused
	sshIdleTimeout   = 10 * time.Minute // a connection without a session is closed
)

// controlSocket is the daemon's local control socket in the data
// directory: a plain `esa --data DIR` attaches through it.
const controlSocket = "esa.sock"

func parseServe(args []string, stderr io.Writer) (serveFlags, error) {
	fs := flag.NewFlagSet("esa serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serveFlags
	fs.StringVar(&sf.ssh, "ssh", ":22", "address and port of the SSH server (ADDR:PORT)")
	fs.DurationVar(&sf.grace, "grace", 30*time.Second, "on SIGTERM, how long SMTP transactions in flight may take to finish")
	fs.IntVar(&sf.mxPort, "mx-port", 25, "lab: deliver to this port instead of 25 on every mail host")
	if err := fs.Parse(args); err != nil {
		return sf, err
	}
	if fs.NArg() > 0 {
		return sf, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if _, _, err := net.SplitHostPort(sf.ssh); err != nil {
		return sf, fmt.Errorf("--ssh %q: want ADDR:PORT, e.g. :22 or 127.0.0.1:2222", sf.ssh)
	}
	if sf.mxPort < 1 || sf.mxPort > 65535 {
		return sf, fmt.Errorf("--mx-port %d: want a port from 1 to 65535", sf.mxPort)
	}
	return sf, nil
}

// daemon is a running `esa serve`.
type daemon struct {
	a      *appliance
	logins *logins.Log
	// activity holds each open session's last command time (unix nanos),
	// for who's idle column.
	activity sync.Map
	q        *queue.Queue
	out      *outbound.Engine
	// engine is out for the listeners' goroutines, which start before
	// the engine exists (a filter's bounce() needs it).
	engine atomic.Pointer[outbound.Engine]
	forged *forgedCounts
	// counters keeps status's counters across restarts (counters.go).
	counters *statusCounters
	// reports is the DMARC aggregate report job; reportsDone closes when
	// its Run returns.
	reports     *dmarcreport.Job
	reportsDone chan struct{}
	// sweepDone closes when the quarantine retention sweep has stopped.
	sweepDone chan struct{}
	stopOut   context.CancelFunc
	smtp      *smtpd.Server
	ssh       *sshd.Server
	ctl       *sshd.Server
	sys       *appLogger
	start     time.Time
}

type appLogger = struct {
	Info, Warning, Critical func(string, ...any)
}

// serve runs the gateway until SIGTERM or SIGINT: it owns the data
// directory, runs the SMTP listeners of the committed configuration (and
// every later commit), the SSH server and the control socket.
func serve(f flags, sf serveFlags, stderr io.Writer) int {
	a, err := open(f, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "esa: %v\n", err)
		return 1
	}
	defer a.Close()
	d, err := startDaemon(a, sf, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "esa serve: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			if err := a.logs.Reopen(); err != nil {
				d.sys.Warning("Log files reopened with errors: %v", err)
			} else {
				d.sys.Info("Log files reopened (SIGHUP)")
			}
			continue
		}
		break
	}
	return d.stop(sf.grace)
}

func startDaemon(a *appliance, sf serveFlags, stderr io.Writer) (*daemon, error) {
	st := a.store
	sysLog := a.logs.Logger(store.LogTypeSystem)
	d := &daemon{a: a, start: time.Now(), sys: &appLogger{Info: sysLog.Info, Warning: sysLog.Warning, Critical: sysLog.Critical}}
	if err := ensureAdmin(st, os.Getenv("ESA_ADMIN_PASSWORD"), stderr); err != nil {
		return nil, err
	}
	q, err := queue.Open(filepath.Join(st.Dir(), "queue"))
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	d.q = q
	for _, name := range q.SetAside() {
		sysLog.Critical("Queue file %s is damaged and was moved to queue/bad", name)
	}
	mailLog := a.logs.Logger(store.LogTypeMail)
	logRestoredPause(q, sysLog, mailLog)
	if err := ensureDemoCertificate(st); err != nil {
		return nil, fmt.Errorf("demo certificate: %w", err)
	}
	material := newTLSMaterial(st)
	d.forged = newForgedCounts(st, mailLog)
	filters := &filterSet{st: st}
	evaluators := dmarcEvaluators(st, dmarcResolver{dkimResolver{a.env.Resolver}})
	// The DMARC aggregate reports: rows from the listeners, a daily run
	// at dmarcconfig's report time, reports queued for the engine.
	d.reports = dmarcreport.New(dmarcreport.Options{Store: st, Queue: q, EvaluatorFor: evaluators, Log: mailLog})
	d.smtp = smtpd.New(smtpd.Options{
		Queue:       q,
		Log:         mailLog,
		Certificate: material.Certificate,
		SPF:         newSPFChecker(a.env.Resolver, st.Snapshot().System.Hostname), // issue 15: one checker, the shell's resolver
		DKIM:        dkimResolver{a.env.Resolver},                                 // issue 16
		DKIMProfile: dkimProfileFor(st),
		// issue 17: DMARC with the dmarcconfig profiles and settings.
		DMARC:         evaluators,
		DMARCRecord:   d.reports.Record,
		DMARCProfile:  dmarcProfileFor(st),
		DMARCSettings: func() dmarcconf.Settings { return st.Snapshot().DMARC.Settings },
		Filters:       filters.get,
		Forged:        d.forged.Add,
		Bounce: func(mid uint64, reason string) {
			eng := d.engine.Load()
			if eng == nil {
				mailLog.Warning("MID %d not bounced: the delivery engine is not running yet", mid)
				return
			}
			en, ok := q.Get(mid)
			if !ok {
				return
			}
			if _, err := eng.BounceFiltered(mid, en.Pending(), reason); err != nil {
				mailLog.Warning("MID %d not bounced: %v", mid, err)
			}
		},
	})
	applyListeners := func(c *store.Config) error {
		cmd, data := c.Listeners.Timeouts()
		return d.smtp.Apply(smtpd.Config{Hostname: c.System.Hostname, Listeners: c.Listeners.Listeners,
			CommandTimeout: cmd, DataTimeout: data, MaxConnections: c.Listeners.MaxConnections})
	}
	if err := applyListeners(st.Snapshot()); err != nil {
		// The SSH server still starts, so the administrator can fix it.
		sysLog.Critical("Listeners not started: %v", err)
		fmt.Fprintf(stderr, "esa serve: listeners not started: %v\n", err)
	}
	unsub := st.Subscribe(func(c store.Change) {
		if !c.Changed("listeners") && !c.Changed("system") {
			return
		}
		if err := applyListeners(c.Config); err != nil {
			sysLog.Critical("Listeners not applied: %v", err)
		} else {
			sysLog.Info("Listeners applied: %d running", len(c.Config.Listeners.Listeners))
		}
	})
	prevUnsub := a.unsubscribe
	a.unsubscribe = func() { unsub(); prevUnsub() }

	// The delivery engine empties the queue under destconfig, bounceconfig
	// and smtproutes, read from the committed snapshot at each decision.
	out, err := outbound.New(outbound.Config{
		Queue:       q,
		Policy:      enginePolicy(st),
		Route:       engineRoute(st),
		Port:        sf.mxPort,
		Resolver:    lookuper{a.env.Resolver},
		Dial:        (&net.Dialer{}).DialContext,
		TLSMaterial: material.Outbound,
		Sign:        signingFor(st),
		SignUseFrom: signUseFrom(st),
		Now:         time.Now,
		Log:         mailLog,
		HeloName:    st.Snapshot().System.Hostname,
		Notify:      d.reports.Delivery,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	// A redirectrecipients redirect outlives restarts; it is back before
	// the first delivery (and logged in mail_logs).
	out.RestoreRedirect()
	d.out = out
	d.engine.Store(out)
	// status's counters, kept across restarts, and the Status: line; a
	// damaged total is reported and status says so, mail still flows.
	d.counters = &statusCounters{st: st, q: q, smtp: d.smtp.Stats, engine: out.Stats,
		process: counters.ProcessID(a.env.PID, a.env.Started), mail: mailLog, warn: sysLog.Warning}
	if err := d.counters.start(time.Now()); err != nil {
		sysLog.Critical("Status counters not kept: %v", err)
	}
	octx, cancel := context.WithCancel(context.Background())
	d.stopOut = cancel
	go out.Run(octx)
	reportsDone, sweepDone := make(chan struct{}), make(chan struct{})
	d.reportsDone, d.sweepDone = reportsDone, sweepDone
	go func() { defer close(sweepDone); sweepQuarantines(octx, st, q, mailLog, time.Minute) }()
	go func() { defer close(reportsDone); d.reports.Run(octx) }()

	keys, err := sshd.LoadHostKeys(filepath.Join(st.Dir(), "ssh"))
	if err != nil {
		return nil, err
	}
	var pubs []ssh.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.PublicKey())
	}
	lg, err := logins.Open(st.Dir(), 1000)
	if err != nil {
		return nil, fmt.Errorf("login history: %w", err)
	}
	// Sessions a crash left open end now.
	lg.CloseOpen(time.Now())
	d.logins = lg
	a.env.Logins = commands.LoginHistory(lg)
	a.env.HostKeys = func() ([]ssh.PublicKey, error) { return pubs, nil }
	a.env.SSHServer = func() commands.SSHSettings {
		return commands.SSHSettings{Addr: sf.ssh, Password: true, PublicKey: true, MaxAuthTries: sshMaxAuthTries,
			FailureLimit: sshFailureLimit, FailureWindow: sshFailureWindow, IdleTimeout: sshIdleTimeout}
	}
	authLog := a.logs.Logger(store.LogTypeAuth)
	ids := new(atomic.Uint64)
	d.ssh = sshd.New(sshd.Options{HostKeys: keys, Auth: userAuth{st}, Handler: d.session, Log: authLog, SessionIDs: ids,
		Limiter: sshd.NewLimiter(sshFailureLimit, sshFailureWindow, time.Now), IdleTimeout: sshIdleTimeout})
	d.ctl = sshd.New(sshd.Options{HostKeys: keys, LocalUser: user, Handler: d.session, SessionIDs: ids})
	ln, err := net.Listen("tcp", sf.ssh)
	if err != nil {
		return nil, fmt.Errorf("SSH: %w", err)
	}
	go d.ssh.Serve(ln)
	sock := filepath.Join(st.Dir(), controlSocket)
	os.Remove(sock) // a stale socket of a process that is gone (we hold the store lock)
	// The socket is created 0600 (umask) so only the owner (or root) can
	// attach: the file mode is the authentication.
	old := syscall.Umask(0o177)
	uln, err := net.Listen("unix", sock)
	syscall.Umask(old)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	go d.ctl.Serve(uln)
	sysLog.Info("esa serve started (PID %d): SSH on %s, control socket %s", os.Getpid(), ln.Addr(), sock)
	fmt.Fprintf(stderr, "esa serve: SSH on %s, control socket %s\n", ln.Addr(), sock)
	return d, nil
}

// stop shuts the daemon down: no new SSH or SMTP connections, the SMTP
// transactions in flight get grace to finish, then everything closes.
func (d *daemon) stop(grace time.Duration) int {
	d.sys.Info("esa serve stopping")
	d.ssh.Close()
	d.ctl.Close()
	os.Remove(filepath.Join(d.a.store.Dir(), controlSocket))
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	code := 0
	if err := d.smtp.Shutdown(ctx); err != nil {
		d.sys.Warning("SMTP connections cut after %s: %v", grace, err)
	}
	// Delivery finishes the messages on the wire, then stops.
	d.stopOut()
	d.out.Close()
	d.counters.stop()
	<-d.sweepDone
	<-d.reportsDone
	if err := d.reports.Close(); err != nil {
		d.sys.Warning("DMARC report data not saved: %v", err)
	}
	d.q.Close()
	d.logins.Close()
	d.sys.Info("esa serve stopped")
	return code
}

// sessions lists the open sessions of both servers, for who.
func (d *daemon) sessions() []commands.SessionInfo {
	var out []commands.SessionInfo
	for _, srv := range []*sshd.Server{d.ctl, d.ssh} {
		for _, s := range srv.Sessions() {
			remote := s.RemoteAddr
			if remote == "local" {
				remote = ""
			}
			idle := time.Duration(0)
			if v, ok := d.activity.Load(s.ID); ok {
				idle = time.Since(time.Unix(0, v.(*atomic.Int64).Load())).Truncate(time.Second)
			}
			out = append(out, commands.SessionInfo{ID: s.ID, User: s.User, RemoteAddr: remote, Since: s.Since, Idle: idle})
		}
	}
	return out
}

// session runs one shell session (SSH or the control socket) inside the
// daemon: its own store session, audit identity, interrupts and terminal.
func (d *daemon) session(ctx context.Context, s *sshd.Session) int {
	st := d.a.store
	role := users.Administrator
	remote := s.RemoteAddr
	if remote == "local" {
		remote = ""
	} else if u, ok := users.Find(st.Snapshot().Users.Users, s.User); ok {
		role = u.Role
	} else {
		fmt.Fprintf(s.Err, "esa: user %s no longer exists\n", s.User)
		return 1
	}
	// The login history: in now, out when the session ends.
	in := time.Now()
	if err := d.logins.Record(logins.Login{User: s.User, RemoteAddr: remote, In: in}); err != nil {
		d.sys.Warning("Login of %s not recorded: %v", s.User, err)
	}
	defer func() {
		if err := d.logins.Record(logins.Login{User: s.User, RemoteAddr: remote, In: in, Out: time.Now()}); err != nil {
			d.sys.Warning("Logout of %s not recorded: %v", s.User, err)
		}
	}()
	last := new(atomic.Int64)
	last.Store(in.UnixNano())
	d.activity.Store(s.ID, last)
	defer d.activity.Delete(s.ID)

	env := *d.a.env
	env.Session = st.NewSession(s.User)
	env.User, env.Role, env.SessionID, env.RemoteAddr = s.User, role, s.ID, remote
	env.Queue = d.q
	env.Delivery = d.out
	env.Forged = d.forged.List
	env.DMARCReports = d.reports
	env.Trace = d.smtp.Trace
	env.Listeners = d.smtp.Stats
	env.Sessions = d.sessions

	intr := make(chan os.Signal, 1)
	go func() {
		for {
			select {
			case <-s.Interrupts:
				select {
				case intr <- os.Interrupt:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	sin := io.NopCloser(s.In)
	var ed shell.Editor
	var out io.Writer = s.Out
	switch {
	case s.PTY && s.Command == "":
		out = &crlfWriter{w: s.Out}
		rt := newRemoteSize(ctx, s)
		// Each user keeps a command history of its own (0600 files).
		if err := os.MkdirAll(filepath.Join(st.Dir(), "history"), 0o700); err != nil {
			fmt.Fprintf(s.Err, "esa: %v\n", err)
			return 1
		}
		var err error
		ed, err = shell.NewRemoteTerminalEditor(sin, out, shell.RemoteTerminal{
			Width: rt.width, Resized: rt.onResize, Interrupts: intr,
		}, filepath.Join(st.Dir(), "history", s.User))
		if err != nil {
			fmt.Fprintf(s.Err, "esa: %v\n", err)
			return 1
		}
	default:
		ed = shell.NewPlainEditor(s.In, s.Out)
	}
	defer ed.Close()
	cfg := sessionShellConfig(&env, ed, out, intr)
	cfg.Command = s.Command
	audit := cfg.Audit
	cfg.Audit = func(prompt, line string) {
		last.Store(time.Now().UnixNano())
		audit(prompt, line)
	}
	outcome, err := shell.RunOutcome(ctx, cfg)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(s.Err, "esa: %v\n", err)
		return 1
	}
	if s.PTY && s.Command == "" {
		return 0 // a person saw every message
	}
	return outcome.ExitCode()
}

// remoteSize tracks an SSH terminal's width.
type remoteSize struct {
	mu sync.Mutex
	w  int
	fn []func()
}

func newRemoteSize(ctx context.Context, s *sshd.Session) *remoteSize {
	r := &remoteSize{w: s.Width}
	go func() {
		for {
			select {
			case sz := <-s.Resize:
				r.mu.Lock()
				r.w = sz[0]
				fns := append([]func(){}, r.fn...)
				r.mu.Unlock()
				for _, f := range fns {
					f()
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

func (r *remoteSize) width() int { r.mu.Lock(); defer r.mu.Unlock(); return r.w }

func (r *remoteSize) onResize(f func()) { r.mu.Lock(); r.fn = append(r.fn, f); r.mu.Unlock() }

// crlfWriter turns "\n" into "\r\n" for a remote raw terminal (a local
// terminal's line discipline does this; over SSH with a pty nobody does).
type crlfWriter struct {
	w      io.Writer
	prevCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+8)
	for _, b := range p {
		if b == '\n' && !c.prevCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		c.prevCR = b == '\r'
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// userAuth checks logins against the users table.
type userAuth struct{ st *store.Store }

// dummyHash is checked for unknown users so that a login attempt costs the
// same whether the name exists or not.
var dummyHash = func() string {
	h, _ := users.HashPassword("not a password of anyone 1")
	return h
}()

func (u userAuth) Password(name, pw string) error {
	x, ok := users.Find(u.st.Snapshot().Users.Users, name)
	if !ok || x.PasswordHash == "" {
		users.CheckPasswordHash(dummyHash, pw)
		return errors.New("authentication failed")
	}
	if !users.CheckPasswordHash(x.PasswordHash, pw) {
		return errors.New("authentication failed")
	}
	return nil
}

func (u userAuth) PublicKey(name string, key ssh.PublicKey) error {
	x, ok := users.Find(u.st.Snapshot().Users.Users, name)
	if !ok || !x.AuthorizesKey(key) {
		return errors.New("key not authorized")
	}
	return nil
}

// ensureAdmin creates the admin account on first start, with the password
// from ESA_ADMIN_PASSWORD or a generated one printed once on stderr.
func ensureAdmin(st *store.Store, password string, stderr io.Writer) error {
	if len(st.Snapshot().Users.Users) > 0 {
		return nil
	}
	generated := password == ""
	if generated {
		password = users.GeneratePassword()
	} else if err := users.CheckPassword("admin", password); err != nil {
		return fmt.Errorf("ESA_ADMIN_PASSWORD: %v", err)
	}
	h, err := users.HashPassword(password)
	if err != nil {
		return err
	}
	s := st.NewSession("system")
	if err := s.Update(func(c *store.Config) error {
		c.Users.Users = []users.User{{Name: "admin", FullName: "Administrator", Role: users.Administrator, PasswordHash: h}}
		// The login records need a subscription: the appliance's factory
		// "authentication" log, unless one of that type exists.
		for _, l := range c.Logs.Subscriptions {
			if l.Type == store.LogTypeAuth {
				return nil
			}
		}
		for _, l := range c.Logs.Subscriptions {
			if strings.EqualFold(l.Name, "authentication") {
				return nil // the name is taken: leave it to the administrator
			}
		}
		auth := store.DefaultLog("authentication", store.LogTypeAuth, "authentication.log")
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, auth)
		return nil
	}); err != nil {
		return err
	}
	if _, err := s.Commit("first start: admin account and authentication log created", false); err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(stderr, "esa serve: created user admin with password %s (shown once; change it with `password`)\n", password)
	}
	return nil
}

// ensureDemoCertificate adds certconfig's demo certificate on the first
// start (once: an administrator who deletes it does not get it back), in
// a system session as the admin account is made.
func ensureDemoCertificate(st *store.Store) error {
	if st.Snapshot().Certificates.DemoMade {
		return nil
	}
	s := st.NewSession("system")
	if err := s.Update(func(c *store.Config) error {
		_, err := c.Certificates.AddDemo(c.System.Hostname, time.Now())
		return err
	}); err != nil {
		return err
	}
	_, err := s.Commit("first start: demo certificate created", false)
	return err
}

// sessionShellConfig is the shell of one session over env.
func sessionShellConfig(env *commands.Env, ed shell.Editor, out io.Writer, intr <-chan os.Signal) shell.Config {
	return shell.Config{
		Editor:     ed,
		Out:        out,
		Prompt:     commands.Prompt(env),
		Commands:   commands.Table(env),
		OnExit:     commands.OnExit(env),
		Interrupts: intr,
		Audit:      commands.Audit(env),
		Pending:    env.Session.Pending,
		Notices:    commands.Notices(env),
	}
}
