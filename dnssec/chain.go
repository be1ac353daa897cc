package dnssec

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// zoneState is what the chain of trust says about one zone: Secure with
// its validated DNSKEYs, Insecure (proved unsigned or anchorless), or
// Bogus/Indeterminate with a reason.
type zoneState struct {
	zone    string
	sec     Security
	reason  string
	keys    []*dns.DNSKEY
	expires time.Time
	// err is the resolver failure that left the zone undecided
	// (Indeterminate): a lookup that needed the zone reports it as a
	// lookup failure, not as a verdict on the data.
	err *LookupError
}

// zoneCache keeps zone states (so a warm lookup does no crypto) and the
// names found not to be zone cuts, each until its records expire. Both
// maps are bounded: the names come from the network (every MX target a
// message names), so a flood of distinct zones must not grow memory
// without limit (issue 12 item 25).
type zoneCache struct {
	mu     sync.RWMutex
	max    int
	zones  map[string]*zoneState
	notCut map[string]time.Time
}

// DefaultMaxZones bounds the zone cache: each entry is a validated key set
// (a few hundred bytes to a few KB), so 10,000 zones stay within tens of
// MB, far more zones than a gateway's working set.
const DefaultMaxZones = 10000

func newZoneCache(max int) *zoneCache {
	return &zoneCache{max: max, zones: map[string]*zoneState{}, notCut: map[string]time.Time{}}
}

func (c *zoneCache) get(zone string, now time.Time) *zoneState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if z := c.zones[zone]; z != nil && now.Before(z.expires) {
		return z
	}
	return nil
}

func (c *zoneCache) put(z *zoneState, now time.Time) {
	if z.sec == Bogus || z.sec == Indeterminate {
		if lim := now.Add(bogusTTL); z.expires.After(lim) {
			z.expires = lim // RFC 4035 §4.7: remember failures only briefly
		}
	}
	if lim := now.Add(maxTTL); z.expires.After(lim) {
		z.expires = lim
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.zones[z.zone]
	if old != nil && now.Before(old.expires) && old.sec == Secure && z.sec != Secure {
		return // a failed refetch never hides a live validated key set
	}
	if old == nil && len(c.zones) >= c.max {
		evict(c.zones, c.max, now, func(z *zoneState) time.Time { return z.expires })
	}
	c.zones[z.zone] = z
}

func (c *zoneCache) isNotCut(name string, now time.Time) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	exp, ok := c.notCut[name]
	return ok && now.Before(exp)
}

func (c *zoneCache) setNotCut(name string, exp time.Time, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.notCut[name]; !ok && len(c.notCut) >= c.max {
		evict(c.notCut, c.max, now, func(t time.Time) time.Time { return t })
	}
	c.notCut[name] = exp
}

// len reports the entries held (tests).
func (c *zoneCache) len() (zones, notCut int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.zones), len(c.notCut)
}

// evict makes room in a full map: expired entries go first; if that is
// not enough, entries in map order (arbitrary) until a quarter of the room
// is free, so a full cache pays one sweep per max/4 insertions, not one
// per insertion. Losing a live entry costs a refetch, never correctness.
func evict[K comparable, V any](m map[K]V, max int, now time.Time, expires func(V) time.Time) {
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
	}
	target := max - max/4
	if target >= max {
		target = max - 1
	}
	for k := range m {
		if len(m) <= target {
			break
		}
		delete(m, k)
	}
}

// validation is the work of one lookup: its clock reading and its share of
// the KeyTrap work budget.
type validation struct {
	r      *Resolver
	ctx    context.Context
	now    time.Time
	budget *Budget
	failed *LookupError // see note
}

// result is the security of one piece of an answer.
type result struct {
	sec     Security
	reason  string
	expires time.Time // signature expiry / key set expiry, whichever first
}

// rank orders securities from best to worst so that a chain takes its least
// secure link (RFC 7672 §2.1.3).
func rank(s Security) int {
	switch s {
	case Secure:
		return 0
	case Insecure:
		return 1
	case Indeterminate:
		return 2
	}
	return 3
}

func (res *result) merge(o result) {
	if rank(o.sec) > rank(res.sec) {
		res.sec, res.reason = o.sec, o.reason
	}
	if !o.expires.IsZero() && (res.expires.IsZero() || o.expires.Before(res.expires)) {
		res.expires = o.expires
	}
}

// anchorFor returns the deepest trust point at or above name.
func (v *validation) anchorFor(name string) *TrustPoint {
	v.r.amu.Lock()
	defer v.r.amu.Unlock()
	var best *TrustPoint
	for _, tp := range v.r.state.Points {
		if dns.IsSubDomain(tp.Zone, name) && (best == nil || dns.CountLabel(tp.Zone) > dns.CountLabel(best.Zone)) {
			best = tp
		}
	}
	return best
}

// fetch asks the resolvers for one RRset needed by the chain of trust.
func (v *validation) fetch(name string, qtype uint16) (*dns.Msg, error) {
	m, _, err := v.r.ex.query(v.ctx, name, qtype)
	return m, err
}

func indeterminate(zone, format string, err error) *zoneState {
	le, ok := err.(*LookupError)
	if !ok {
		// Waiting on another lookup's key fetch ended with our context.
		le = &LookupError{Name: zone, Qtype: dns.TypeDNSKEY, Kind: ErrTimeout, Err: err}
	}
	return &zoneState{zone: zone, sec: Indeterminate, reason: format + ": " + err.Error(), err: le}
}

// note remembers the first resolver failure behind a zone state this
// validation used, so that an Indeterminate answer caused by a resolver
// that did not answer (a DS or DNSKEY query timed out or failed) is
// reported as the lookup failure it is, never as a verdict on the data
// (issue 12 item 8; RFC 7672 §2.1.2 treats both as unusable, but only one
// is an attack).
func (v *validation) note(z *zoneState) *zoneState {
	if z != nil && z.err != nil && v.failed == nil {
		v.failed = z.err
	}
	return z
}

// zoneKeys returns the state of zone, an apex named by an RRSIG signer or
// found by the walk: validated from its anchor, or from its parent's DS
// (RFC 4035 §5). ds, when not nil, is an already fetched DS reply for zone.
func (v *validation) zoneKeys(zone string, ds *dns.Msg) *zoneState {
	if z := v.r.zones.get(zone, v.now); z != nil {
		return v.note(z)
	}
	val, err, _ := v.r.zflights.do(v.ctx, zone, func() (any, error) {
		if z := v.r.zones.get(zone, v.now); z != nil {
			return z, nil
		}
		z := v.buildZone(zone, ds)
		if ctxEnded(v.ctx) == nil { // a state cut short by our caller is not the zone's
			v.r.zones.put(z, v.now)
		}
		return z, nil
	})
	if err != nil {
		return v.note(indeterminate(zone, "waiting for keys of "+zone, err))
	}
	return v.note(val.(*zoneState))
}

func (v *validation) buildZone(zone string, ds *dns.Msg) *zoneState {
	tp := v.anchorFor(zone)
	if tp == nil {
		// RFC 7672 §2.1.1: no anchor above the name ("anchorless") is
		// handled as insecure.
		return &zoneState{zone: zone, sec: Insecure, expires: v.now.Add(maxTTL)}
	}
	if tp.Zone == zone {
		v.r.amu.Lock()
		anchors, err := tp.trusted()
		v.r.amu.Unlock()
		if err != nil {
			return &zoneState{zone: zone, sec: Bogus, reason: err.Error()}
		}
		if len(anchors) == 0 {
			// Every managed key was revoked or removed (RFC 5011 §2.1):
			// fail closed rather than fall back to insecure.
			return &zoneState{zone: zone, sec: Bogus, reason: "no trusted key left for zone " + trimDot(zone)}
		}
		return v.dnskeys(zone, anchors, tp)
	}
	if ds == nil {
		m, err := v.fetch(zone, dns.TypeDS)
		if err != nil {
			return indeterminate(zone, "no DS answer for zone "+trimDot(zone), err)
		}
		ds = m
	}
	dsSet, dsSigs := rrsetOf(ds.Answer, zone, dns.TypeDS)
	if len(dsSet) > 0 {
		if len(dsSigs) == 0 {
			return v.unsignedAt(zone, "missing signature on "+trimDot(zone)+"/DS", true)
		}
		parent, ok := signerOf(dsSigs, zone, true)
		if !ok {
			return &zoneState{zone: zone, sec: Bogus, reason: "DS for " + trimDot(zone) + " not signed by a parent zone"}
		}
		ps := v.zoneKeys(parent, nil)
		if ps.sec != Secure {
			return &zoneState{zone: zone, sec: ps.sec, reason: ps.reason, expires: ps.expires}
		}
		vd, err := v.verifyRRset(dsSet, dsSigs, ps)
		if err != nil {
			return &zoneState{zone: zone, sec: Bogus, reason: err.Error()}
		}
		exp := v.usableUntil(vd, dsSet)
		z := v.dnskeys(zone, dsSet, nil)
		if z.sec == Secure && exp.Before(z.expires) {
			z.expires = exp
		}
		return z
	}
	// No DS: the parent must prove its absence (RFC 4035 §5.2), else an
	// attacker could strip DS to make a signed zone look insecure.
	denial, sigs := denialOf(ds)
	if len(sigs) == 0 {
		return v.unsignedAt(zone, "missing denial proof for "+trimDot(zone)+"/DS", true)
	}
	parent, ok := signerOf(sigs, zone, true)
	if !ok {
		return &zoneState{zone: zone, sec: Bogus, reason: "DS denial for " + trimDot(zone) + " not signed by a parent zone"}
	}
	ps := v.zoneKeys(parent, nil)
	if ps.sec != Secure {
		return &zoneState{zone: zone, sec: ps.sec, reason: ps.reason, expires: ps.expires}
	}
	exp, err := v.verifyDenial(ds, ps)
	if err != nil {
		return &zoneState{zone: zone, sec: Bogus, reason: err.Error()}
	}
	if err := v.proveNoDS(zone, denial, ps); err != nil {
		if isInsecureProof(err) {
			return &zoneState{zone: zone, sec: Insecure, expires: exp}
		}
		return &zoneState{zone: zone, sec: Bogus, reason: denialReason(trimDot(zone)+"/DS", err)}
	}
	return &zoneState{zone: zone, sec: Insecure, expires: exp}
}

// unsignedAt judges an unsigned reply about name: bogus when the zone
// holding name is proved signed (stripping, DANE.md §2.1), otherwise the
// enclosing zone's own verdict (insecure below an insecure cut). ds says
// the data is a DS RRset or its denial, which the parent zone holds.
func (v *validation) unsignedAt(name, why string, ds bool) *zoneState {
	holder := name
	if ds && name != "." {
		holder = parentName(name)
	}
	z := v.zoneFor(holder)
	if z.sec == Secure {
		return &zoneState{zone: name, sec: Bogus, reason: why, expires: z.expires}
	}
	return &zoneState{zone: name, sec: z.sec, reason: z.reason, expires: z.expires}
}

// dnskeys fetches zone's DNSKEY RRset and validates it against anchors (the
// parent's validated DS set, or trust anchors). tp, for a trust point, gets
// the validated set for its RFC 5011 bookkeeping.
func (v *validation) dnskeys(zone string, anchors []dns.RR, tp *TrustPoint) *zoneState {
	m, err := v.fetch(zone, dns.TypeDNSKEY)
	if err != nil {
		return indeterminate(zone, "no DNSKEY answer for zone "+trimDot(zone), err)
	}
	keys, sigs := rrsetOf(m.Answer, zone, dns.TypeDNSKEY)
	if len(keys) == 0 {
		return &zoneState{zone: zone, sec: Bogus, reason: "no DNSKEY for zone " + trimDot(zone)}
	}
	z := v.verifyKeys(zone, keys, sigs, anchors)
	if tp != nil && z.sec == Secure {
		v.r.rfc5011(tp, keys, sigs, v.now)
		v.r.amu.Lock()
		if tp.NextRefresh.After(v.now) && tp.NextRefresh.Before(z.expires) {
			z.expires = tp.NextRefresh // re-fetch the anchor keys on the RFC 5011 schedule
		}
		v.r.amu.Unlock()
	}
	return z
}

// rfc5011 feeds a validated DNSKEY set of a trust point to its state
// machine and saves the state when it changed.
func (r *Resolver) rfc5011(tp *TrustPoint, keys []dns.RR, sigs []*dns.RRSIG, now time.Time) {
	r.amu.Lock()
	defer r.amu.Unlock()
	if !tp.Refresh(keys, sigs, minTTL(keys), now) || r.astore == nil {
		return
	}
	b, err := r.state.marshal()
	if err == nil {
		err = r.astore.Save(b)
	}
	if err != nil {
		r.log.warn("DNSSEC trust anchor state for %s not saved: %v", trimDot(tp.Zone), err)
	}
}

// maxWalk caps the DS queries of one insecurity walk.
const maxWalk = 16

// zoneFor finds the zone enclosing name and its state by walking down from
// the trust anchor, asking for DS at each label (RFC 4035 §5.2; RFC 4033
// §5). It is needed only for unsigned data, to tell an insecure delegation
// (Insecure) from stripped signatures (Bogus).
func (v *validation) zoneFor(name string) *zoneState {
	tp := v.anchorFor(name)
	if tp == nil {
		return &zoneState{zone: name, sec: Insecure, expires: v.now.Add(maxTTL)}
	}
	cur := v.zoneKeys(tp.Zone, nil)
	labels := dns.SplitDomainName(name)
	asked := 0
	for n := dns.CountLabel(tp.Zone) + 1; n <= len(labels) && cur.sec == Secure; n++ {
		c := dns.Fqdn(joinLabels(labels[len(labels)-n:]))
		if z := v.r.zones.get(c, v.now); z != nil {
			cur = v.note(z)
			continue
		}
		if v.r.zones.isNotCut(c, v.now) {
			continue
		}
		if asked++; asked > maxWalk {
			// A long name (a hostile MX target, say) must not buy a
			// query per label.
			return &zoneState{zone: c, sec: Indeterminate, reason: "too many labels to walk below " + trimDot(cur.zone)}
		}
		m, err := v.fetch(c, dns.TypeDS)
		if err != nil {
			return v.note(indeterminate(c, "no DS answer for "+trimDot(c), err))
		}
		if set, _ := rrsetOf(m.Answer, c, dns.TypeDS); len(set) > 0 {
			cur = v.zoneKeys(c, m) // a signed delegation: validate it
			continue
		}
		denial, sigs := denialOf(m)
		if len(sigs) == 0 {
			return &zoneState{zone: c, sec: Bogus, reason: "missing denial proof for " + trimDot(c) + "/DS", expires: cur.expires}
		}
		signer, ok := signerOf(sigs, c, false)
		if !ok || signer != cur.zone {
			// The reply comes from a zone we did not pass through: either
			// c is the apex of a child whose DS query the resolver sent
			// to the child, or an attacker's doing. Only a validated
			// chain through signerOf settles it.
			z := v.zoneKeys(c, m)
			cur = z
			continue
		}
		exp, err := v.verifyDenial(m, cur)
		if err != nil {
			return &zoneState{zone: c, sec: Bogus, reason: err.Error()}
		}
		if m.Rcode == dns.RcodeNameError {
			if err := v.proveNXDomain(c, denial, cur); err != nil {
				return &zoneState{zone: c, sec: Bogus, reason: denialReason(trimDot(c)+"/DS", err)}
			}
			return cur // nothing exists below c: cur holds the name
		}
		if err := v.proveNoDS(c, denial, cur); err == nil {
			z := &zoneState{zone: c, sec: Insecure, expires: exp}
			v.r.zones.put(z, v.now)
			return z
		} else if isInsecureProof(err) {
			return &zoneState{zone: c, sec: Insecure, expires: exp}
		}
		if err := v.proveNoData(c, dns.TypeDS, denial, cur); err != nil {
			return &zoneState{zone: c, sec: Bogus, reason: denialReason(trimDot(c)+"/DS", err)}
		}
		v.r.zones.setNotCut(c, exp, v.now) // c lives inside cur: no cut here
	}
	return cur
}

func joinLabels(l []string) string {
	s := ""
	for i, x := range l {
		if i > 0 {
			s += "."
		}
		s += x
	}
	return s
}

func parentName(name string) string {
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// rrsetOf picks the RRset (owner, type) and the RRSIGs covering it from a
// section. Owners are compared case-insensitively (RFC 4343).
func rrsetOf(sec []dns.RR, owner string, t uint16) ([]dns.RR, []*dns.RRSIG) {
	var set []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range sec {
		h := rr.Header()
		if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, owner) {
			continue
		}
		if s, ok := rr.(*dns.RRSIG); ok {
			if s.TypeCovered == t {
				sigs = append(sigs, s)
			}
			continue
		}
		if h.Rrtype == t {
			set = append(set, rr)
		}
	}
	return set, sigs
}

// denialOf returns the authority section's NSEC/NSEC3/SOA records and all
// its RRSIGs.
func denialOf(m *dns.Msg) ([]dns.RR, []*dns.RRSIG) {
	var recs []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range m.Ns {
		switch x := rr.(type) {
		case *dns.RRSIG:
			sigs = append(sigs, x)
		case *dns.NSEC, *dns.NSEC3, *dns.SOA:
			recs = append(recs, rr)
		}
	}
	return recs, sigs
}

// signerOf returns the signer name of sigs when it is the same for all of
// them and is an ancestor of owner (strictly, for DS and its denial, which
// live in the parent: RFC 4035 §5.2). The label test replaces miekg/dns's
// string-suffix signer check (DANE.md §1.8).
func signerOf(sigs []*dns.RRSIG, owner string, strict bool) (string, bool) {
	if len(sigs) == 0 {
		return "", false
	}
	s := dns.CanonicalName(sigs[0].SignerName)
	for _, x := range sigs[1:] {
		if dns.CanonicalName(x.SignerName) != s {
			return "", false
		}
	}
	o := dns.CanonicalName(owner)
	if !dns.IsSubDomain(s, o) || (strict && s == o) {
		return "", false
	}
	return s, true
}

func minTTL(rrs []dns.RR) uint32 {
	t := uint32(math.MaxUint32)
	for _, rr := range rrs {
		if x := rr.Header().Ttl; x < t {
			t = x
		}
	}
	return t
}
