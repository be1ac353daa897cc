package dnssec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// defaultTimeout applies when Config.Timeout is zero; the appliance's trace
// shows 60 s per resolver ("QIP (...,60)"), far too long for a stub that
// falls over, so the default is the usual stub value.
const defaultTimeout = 5 * time.Second

// maxChain bounds CNAME/DNAME chains (RFC 1034 §3.6.2 loops, and work).
const maxChain = 12

// Resolver is the validating stub resolver. It is safe for concurrent use.
//
// How it validates (RFC 4035 §5): every RRset of a reply is checked with
// the keys of the zone named by its RRSIG signer; a zone's keys come from
// its parent's validated DS (found again through the DS RRSIG's signer) or,
// at a trust point, from the anchors, so the chain is walked up only along
// real zone cuts and each DS/DNSKEY is fetched once and cached. Unsigned
// data is judged by walking DS queries down from the anchor to the name:
// a proved unsigned delegation makes it Insecure, a signed zone makes it
// Bogus (stripping). Names under no anchor are Insecure.
type Resolver struct {
	ex    *exchanger
	now   func() time.Time
	log   dlog
	cache *answerCache
	zones *zoneCache

	flights  group // (name, type) lookups
	zflights group // zone key fetches

	amu    sync.Mutex // guards state
	state  *AnchorState
	astore AnchorStore

	observer Observer // may be nil
}

// New builds a resolver. Without Anchors the built-in IANA root anchors are
// used; without Now, time.Now.
func New(c Config) (*Resolver, error) {
	return NewWithState(c, nil)
}

// NewWithState is New with an RFC 5011 store: the anchors' key states are
// loaded from it, updated on every validated refresh of an anchored zone's
// DNSKEY set, and saved back. A nil store keeps the state in memory only.
func NewWithState(c Config, st AnchorStore) (*Resolver, error) {
	if len(c.Servers) == 0 {
		return nil, errors.New("dnssec: no resolvers configured")
	}
	servers := make([]Server, len(c.Servers))
	for i, s := range c.Servers {
		if s.Addr == "" {
			return nil, errors.New("dnssec: resolver with empty address")
		}
		if _, _, err := net.SplitHostPort(s.Addr); err != nil {
			s.Addr = net.JoinHostPort(s.Addr, "53") // a bare IP means the DNS port
		}
		servers[i] = s
	}
	anchors := c.Anchors
	if len(anchors) == 0 {
		anchors = BuiltinAnchors()
	}
	for _, a := range anchors {
		switch a.(type) {
		case *dns.DS, *dns.DNSKEY:
		default:
			return nil, fmt.Errorf("dnssec: anchor %s is neither DS nor DNSKEY", a.Header().Name)
		}
	}
	var saved []byte
	if st != nil {
		b, err := st.Load()
		if err != nil {
			return nil, fmt.Errorf("dnssec: loading anchor state: %w", err)
		}
		saved = b
	}
	state, err := mergeAnchorState(saved, anchors)
	if err != nil {
		return nil, fmt.Errorf("dnssec: %w", err)
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	log := newDlog(c.Log)
	x := c.Exchanger
	if x == nil {
		x = netExchanger{timeout: timeout}
	}
	maxZones, maxAnswers := c.MaxZones, c.MaxAnswers
	if maxZones <= 0 {
		maxZones = DefaultMaxZones
	}
	if maxAnswers <= 0 {
		maxAnswers = DefaultMaxAnswers
	}
	return &Resolver{
		ex:       newExchanger(servers, x, timeout, log, now),
		now:      now,
		log:      log,
		cache:    newAnswerCache(maxAnswers),
		zones:    newZoneCache(maxZones),
		state:    state,
		astore:   st,
		observer: c.Observer,
	}, nil
}

// QueriesSent is how many queries went on the wire so far (UDP and TCP
// attempts each count).
func (r *Resolver) QueriesSent() int64 { return r.ex.sent.Load() }

// Lookup resolves name/qtype and validates the result. An answer (any
// Security, any Kind) comes back with a nil error; a *LookupError means no
// resolver produced a usable reply. The returned *Answer may be shared with
// the cache and other callers: treat it, its Records and its Chain as
// read-only.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	name = canonical(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, &LookupError{Name: name, Qtype: qtype, Kind: ErrFormErr, Err: errors.New("invalid domain name")}
	}
	r.log.query(name, qtype)
	return r.lookup(ctx, name, qtype, 0)
}

func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16, depth int) (*Answer, error) {
	k := cacheKey{name, qtype}
	if a, _, ok := r.cache.get(k, r.now()); ok {
		return a, nil
	}
	if depth > 0 {
		// A CNAME target asked from inside another lookup does not join
		// a flight: two lookups chasing each other's names round a CNAME
		// loop would otherwise wait on each other forever.
		return r.resolveAndCache(ctx, k, depth)
	}
	v, err, shared := r.flights.do(ctx, k, func() (any, error) {
		// A flight that finished just before we joined may have filled
		// the cache.
		if a, _, ok := r.cache.get(k, r.now()); ok {
			return a, nil
		}
		return r.resolveAndCache(ctx, k, depth)
	})
	if err != nil && shared && ctx.Err() == nil && isContextErr(err) {
		// The caller we waited for gave up (its context ended); ours
		// has not, so do the work ourselves.
		return r.resolveAndCache(ctx, k, depth)
	}
	if err != nil {
		return nil, err
	}
	return v.(*Answer), nil
}

// ctxEnded is ctx.Err(), also true once the deadline has passed: a socket
// read deadline set from it can fire a moment before the context's own
// timer does.
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (r *Resolver) resolveAndCache(ctx context.Context, k cacheKey, depth int) (*Answer, error) {
	a, exp, err := r.resolve(ctx, k.name, k.qtype, depth)
	if err != nil {
		return nil, err
	}
	if err := ctxEnded(ctx); err != nil {
		// An answer cut short by the caller's deadline says nothing
		// about the zone: report it, do not cache it.
		return nil, &LookupError{Name: k.name, Qtype: k.qtype, Kind: ErrTimeout, Err: err}
	}
	r.log.response(a, exp)
	r.cache.put(k, a, r.now(), exp)
	return a, nil
}

// canonical lower-cases and fully qualifies a name without allocating when
// it already is (the warm-cache path).
func canonical(name string) string {
	if name == "" || name[len(name)-1] != '.' {
		return dns.CanonicalName(name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			return dns.CanonicalName(name)
		}
	}
	return name
}

// resolve asks a resolver and validates its reply.
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16, depth int) (*Answer, time.Time, error) {
	m, server, err := r.ex.query(ctx, name, qtype)
	if err != nil {
		return nil, time.Time{}, err
	}
	v := &validation{r: r, ctx: ctx, now: r.now(), budget: newBudget()}
	a, exp, err := v.reply(name, qtype, m, depth)
	if r.observer != nil {
		r.observer.Validated(name, qtype, v.budget)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if a.Security == Indeterminate && v.failed != nil {
		// A resolver did not answer a query the chain of trust needed:
		// a lookup failure (timeout, SERVFAIL), not a verdict (see note).
		return nil, time.Time{}, &LookupError{Name: name, Qtype: qtype, Kind: v.failed.Kind, Err: v.failed}
	}
	if v.budget.Exhausted() {
		// KeyTrap-style work (CVE-2023-50387/50868): an error, never an
		// answer.
		return nil, time.Time{}, &LookupError{Name: name, Qtype: qtype, Kind: ErrBudget, Err: ErrWorkBudget}
	}
	if a.Security == Bogus || a.Security == Indeterminate {
		r.log.dnssecError(name, qtype, server, a.Reason)
	}
	return a, exp, nil
}

// Flush empties the answer and key caches (the appliance's dnsflush). The
// RFC 5011 anchor state is kept: it is configuration-grade state, not a
// cache.
func (r *Resolver) Flush() {
	r.cache.mu.Lock()
	r.cache.m = make(map[cacheKey]cacheEntry)
	r.cache.mu.Unlock()
	r.zones.mu.Lock()
	r.zones.zones = map[string]*zoneState{}
	r.zones.notCut = map[string]time.Time{}
	r.zones.mu.Unlock()
}

// TrustPoints returns a copy of the RFC 5011 state of every trust anchor,
// for display.
func (r *Resolver) TrustPoints() []TrustPoint {
	r.amu.Lock()
	defer r.amu.Unlock()
	out := make([]TrustPoint, len(r.state.Points))
	for i, tp := range r.state.Points {
		out[i] = *tp
		out[i].Seed = append([]string(nil), tp.Seed...)
		out[i].Keys = append([]ManagedKey(nil), tp.Keys...)
	}
	return out
}
