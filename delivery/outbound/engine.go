package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"esa/delivery/dane"
	"esa/delivery/queue"
	"esa/dnssec"
)

// Logger receives mail_logs lines (without time stamp and level, which the
// log subsystem adds). *logs.Logger satisfies it.
type Logger interface {
	Info(format string, a ...any)
	Warning(format string, a ...any)
	Debug(format string, a ...any)
}

// Outcome is what happened to the recipients of one delivery attempt.
type Outcome int

const (
	Delivered Outcome = iota // the remote server answered 250 to the end of DATA
	Deferred                 // a temporary failure: the recipients stay queued for a retry
	Bounced                  // a permanent failure or the bounce profile gave up
)

func (o Outcome) String() string { return [...]string{"delivered", "deferred", "bounced"}[o] }

// Event reports the outcome of one delivery attempt for some recipients of
// one message (Config.Notify; tests and counters synchronise on it).
type Event struct {
	MID     uint64
	Domain  string
	RIDs    []int
	Outcome Outcome
	// TLS: the message went over TLS; DANE: the server was authenticated
	// by DANE; Verified: its chain verified against the CA pool.
	TLS, DANE, Verified bool
	Reason              string // the reply or failure behind a Deferred or Bounced outcome
}

// Config holds the engine's dependencies and settings.
type Config struct {
	Queue *queue.Queue
	// Policy returns the destination controls of a recipient domain
	// (the matching destconfig entry or the default); nil means defaults.
	Policy func(domain string) Policy
	// Route returns the SMTP route of a domain, if any (smtproutes).
	Route func(domain string) (Route, bool)
	// Port is the MX port: 25, or the lab switch --mx-port.
	Port int
	// Resolver is the validating resolver (MX, A/AAAA, TLSA).
	Resolver dnssec.Lookuper
	// Dial connects to a mail host (default net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Roots is the CA pool of the verify modes (TLS settings 4-6).
	Roots *x509.CertPool
	// TLSMaterial, when set, is asked at each connection for the CA pool
	// and the client certificate instead of Roots and ClientCert, so a
	// certconfig commit applies to the next connection.
	TLSMaterial func() (roots *x509.CertPool, client *tls.Certificate)
	// ClientCert is presented when a server asks for one (certconfig).
	ClientCert *tls.Certificate
	// Log receives the mail_logs lines; nil discards them.
	Log Logger
	// HeloName is our EHLO name and the Reporting-MTA of bounces.
	HeloName string
	// Timeout bounds each SMTP step (default 60 s).
	Timeout time.Duration
	// Notify, when set, sees every attempt's outcome.
	Notify func(Event)
	// Sign returns the DomainKeys and DKIM signatures for relayed mail
	// whose signing identity (Sender:, else From:) is addr, from the
	// profiles whose users match it most specifically (sign.go); nil
	// signs nothing. on is false where the message's mail-flow policy
	// does not sign at all, so nothing is logged for it; on with no
	// signatures is logged as "cannot sign - no profile matches". The
	// gateway's own messages (ICID 0) reach it too, so the caller applies
	// "Sign System-Generated Messages"; a bounce or delay notice reaches
	// it only when its bounce profile signs them (the engine checks that).
	Sign func(env queue.Envelope, addr string) (sigs []Signing, on bool)
	// SignUseFrom, when set and true, makes From: the signing identity
	// even where Sender: is present (domainkeysconfig SETUP).
	SignUseFrom func() bool
}

// DomainStats are the per-destination counters behind hoststatus and
// tophosts.
type DomainStats struct {
	Domain         string
	Active         int // recipients queued for the domain
	Delivered      int // recipients delivered
	SoftBounced    int // temporary failures (recipient attempts)
	HardBounced    int // recipients bounced
	Connections    int // connections opened
	LastActivity   time.Time
	LastTLS        bool
	LastError      string
	ActiveConns    int
	NextAttempt    time.Time
	DeliveredBytes int64
	// Signed counts the messages the domain accepted with our DKIM or
	// DomainKeys signatures (status detail's DomainKeys Signed Msgs).
	Signed int
	// GenBounced counts the recipients of the bounce reports the
	// domain's hard bounces generated (status's Gen. Bounce Recipients):
	// one per report, to the sender; delay notices are not bounces.
	GenBounced int

	// HardBounced by cause, as hoststatus breaks it down: the domain or
	// its mail host does not exist (DNS), a 5xx reply (5XX), the bounce
	// profile gave up (Expired), a message filter's bounce()
	// (BounceFiltered: Filter), anything else such as bouncerecipients
	// (Other).
	DNSBounced, FiveXXBounced, ExpiredBounced, FilterBounced, OtherBounced int
}

type destKey struct {
	domain  string
	relayed bool // DANE applies to relayed mail only, so such mail never shares a connection with other mail
}

type job struct {
	mid    uint64
	domain string
}

type dest struct {
	key          destKey
	jobs         []job
	workers      int
	windowStart  time.Time
	windowSent   int
	blockedUntil time.Time
}

// Engine is the delivery engine. New, then Run; Close stops it.
type Engine struct {
	cfg      Config
	verifier *dane.Verifier

	mu       sync.Mutex
	dests    map[destKey]*dest
	inflight map[job]bool
	stats    map[string]*DomainStats
	ipUse    map[string]int
	ipFree   *sync.Cond
	wake     chan struct{}
	stripes  [64]sync.Mutex // serialise state writes per MID
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
	running  bool
	redirect *redirect // redirectrecipients' override route (admin.go)
	// redirectMu orders the redirect's record writes with its changes
	// (admin.go), outside mu: an fsync must not stall delivery.
	redirectMu sync.Mutex
}

// New returns an engine over cfg.Queue.
func New(cfg Config) (*Engine, error) {
	if cfg.Queue == nil || cfg.Resolver == nil {
		return nil, errors.New("outbound: a queue and a resolver are required")
	}
	if cfg.Policy == nil {
		cfg.Policy = func(string) Policy { return Policy{} }
	}
	if cfg.Route == nil {
		cfg.Route = func(string) (Route, bool) { return Route{}, false }
	}
	if cfg.Port == 0 {
		cfg.Port = 25
	}
	if cfg.Dial == nil {
		d := &net.Dialer{}
		cfg.Dial = d.DialContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = discard{}
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	e := &Engine{
		cfg:      cfg,
		dests:    map[destKey]*dest{},
		inflight: map[job]bool{},
		stats:    map[string]*DomainStats{},
		ipUse:    map[string]int{},
		wake:     make(chan struct{}, 1),
	}
	e.ipFree = sync.NewCond(&e.mu)
	e.verifier = &dane.Verifier{Resolver: cfg.Resolver, Dial: cfg.Dial, Port: cfg.Port, Now: cfg.Now,
		HeloName: cfg.HeloName, Timeout: cfg.Timeout}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

type discard struct{}

func (discard) Info(string, ...any)    {}
func (discard) Warning(string, ...any) {}
func (discard) Debug(string, ...any)   {}

// Run delivers until ctx ends or Close is called; it waits for the
// connections in progress to finish their current message.
func (e *Engine) Run(ctx context.Context) error {
	sub := e.cfg.Queue.Subscribe(4096)
	stop := context.AfterFunc(ctx, e.cancel)
	defer stop()
	e.mu.Lock()
	e.running = true
	e.mu.Unlock()
	defer e.wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := e.scan()
		wait := 30 * time.Second // a safety rescan: Subscribe drops notices when full
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(e.cfg.Now()), time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-e.ctx.Done():
			return nil
		case <-sub:
			// Coalesce a burst of commits into one scan.
			for drained := false; !drained; {
				select {
				case <-sub:
				default:
					drained = true
				}
			}
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// Close stops Run and waits for the workers.
func (e *Engine) Close() error {
	e.cancel()
	e.mu.Lock()
	e.ipFree.Broadcast()
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

func (e *Engine) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// DeliverNow makes the queued recipients of domain (every domain for "" or
// "all") due at once, whatever their back-off (delivernow). Messages a
// quarantine holds are left alone: they wait for their release.
func (e *Engine) DeliverNow(domain string) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	all := domain == "" || strings.EqualFold(domain, "all")
	e.cfg.Queue.ClearNext(func(en *queue.Entry) bool {
		if en.Held() {
			return false
		}
		if all {
			return true
		}
		for _, rid := range en.Pending() {
			if domainOf(en.Envelope.Recipients[rid]) == domain {
				return true
			}
		}
		return false
	})
	e.mu.Lock()
	for k, d := range e.dests {
		if all || k.domain == domain {
			d.blockedUntil = time.Time{}
		}
	}
	e.mu.Unlock()
	e.kick()
}

// Stats returns the per-domain counters, sorted by domain.
func (e *Engine) Stats() []DomainStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]DomainStats, 0, len(e.stats))
	for _, s := range e.stats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// HostStatus returns the counters of one domain (hoststatus).
func (e *Engine) HostStatus(domain string) (DomainStats, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stats[strings.ToLower(strings.TrimSuffix(domain, "."))]
	if !ok {
		return DomainStats{}, false
	}
	return *s, true
}

func (e *Engine) statLocked(domain string) *DomainStats {
	s := e.stats[domain]
	if s == nil {
		s = &DomainStats{Domain: domain}
		e.stats[domain] = s
	}
	return s
}

// scan hands every due (message, domain) pair to its destination's queue
// and starts workers up to the concurrency limit. It returns the earliest
// time something else becomes due.
func (e *Engine) scan() time.Time {
	if e.ctx.Err() != nil {
		return time.Time{}
	}
	now := e.cfg.Now()
	entries := e.cfg.Queue.List()
	paused := e.cfg.Queue.Paused()
	var next time.Time
	soon := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	active := map[string]int{}
	nexts := map[string]time.Time{}
	for i := range entries {
		en := &entries[i]
		if en.Held() {
			// Quarantined: delivered only once released.
			continue
		}
		seen := map[string]bool{}
		for _, rid := range en.Pending() {
			d := domainOf(en.Envelope.Recipients[rid])
			active[d]++
			if seen[d] {
				continue
			}
			seen[d] = true
			j := job{mid: en.Envelope.MID, domain: d}
			if paused || e.inflight[j] {
				continue
			}
			if !en.State.Next.IsZero() && en.State.Next.After(now) {
				soon(en.State.Next)
				if n := nexts[d]; n.IsZero() || en.State.Next.Before(n) {
					nexts[d] = en.State.Next
				}
				continue
			}
			k := destKey{d, en.Envelope.Relayed}
			ds := e.dests[k]
			if ds == nil {
				ds = &dest{key: k}
				e.dests[k] = ds
			}
			if ds.blockedUntil.After(now) {
				soon(ds.blockedUntil)
				continue
			}
			e.inflight[j] = true
			ds.jobs = append(ds.jobs, j)
		}
	}
	for d, s := range e.stats {
		s.Active = active[d]
		s.NextAttempt = nexts[d]
	}
	for d, n := range active {
		s := e.statLocked(d)
		s.Active = n
		s.NextAttempt = nexts[d]
	}
	for _, ds := range e.dests {
		if len(ds.jobs) == 0 {
			continue
		}
		pol := e.cfg.Policy(ds.key.domain).normalised()
		for ds.workers < pol.Concurrency && ds.workers < len(ds.jobs) {
			ds.workers++
			e.wg.Add(1)
			go e.worker(ds)
		}
	}
	return next
}

// worker delivers its destination's jobs, reusing one connection for up to
// MessagesPerConn messages.
func (e *Engine) worker(ds *dest) {
	defer e.wg.Done()
	var s *session
	defer func() {
		if s != nil {
			e.closeSession(s)
		}
	}()
	for {
		paused := e.cfg.Queue.Paused()
		e.mu.Lock()
		if len(ds.jobs) == 0 || e.ctx.Err() != nil || paused {
			if s.recording() {
				// Leave only once the last delivery is recorded, so that
				// a new worker for this destination never adds a second
				// unrecorded 250 to the concurrency limit (record.go).
				e.mu.Unlock()
				s.awaitRecord()
				continue
			}
			// Jobs left behind at Close or by workqueue pause stay in the
			// queue for the next scan.
			for _, j := range ds.jobs {
				delete(e.inflight, j)
			}
			ds.jobs = nil
			ds.workers--
			e.mu.Unlock()
			return
		}
		j := ds.jobs[0]
		ds.jobs = ds.jobs[1:]
		e.mu.Unlock()
		s = e.deliverJob(ds, s, j)
		if !s.handedOff() {
			e.jobDone(j)
		}
	}
}
