package dnssec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// AnchorStore persists the RFC 5011 trust-anchor state between runs. Save
// must replace the stored bytes atomically (the appliance wires it to
// store.GetState/PutState).
type AnchorStore interface {
	Load() ([]byte, error) // nil, nil when nothing was saved yet
	Save([]byte) error
}

// RFC 5011 timers.
const (
	addHoldDown    = 30 * 24 * time.Hour // §2.4.1: at least 30 days
	removeHoldDown = 30 * 24 * time.Hour // §2.4.2
	minRefresh     = time.Hour           // §2.3
	maxRefresh     = 15 * 24 * time.Hour // §2.3
)

// revokeFlag is the REVOKE bit of the DNSKEY flags (RFC 5011 §7).
const revokeFlag = 0x0080

// KeyState is the RFC 5011 §4 state of one managed key.
type KeyState string

const (
	KeyAddPend KeyState = "AddPend" // seen, waiting out the add hold-down
	KeyValid   KeyState = "Valid"   // trusted
	KeyMissing KeyState = "Missing" // trusted but absent from the last DNSKEY set
	KeyRevoked KeyState = "Revoked" // revoked by its owner: never trusted again
)

// ManagedKey is one SEP key tracked at a trust point. Key is the DNSKEY in
// presentation form with the REVOKE bit cleared, so a key keeps its identity
// when it is revoked.
type ManagedKey struct {
	Key       string    `json:"key"`
	Tag       uint16    `json:"tag"`
	State     KeyState  `json:"state"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// HoldUntil: AddPend -> Valid after it; Missing/Revoked -> deleted
	// after it.
	HoldUntil time.Time `json:"hold_until,omitempty"`
}

// TrustPoint is the RFC 5011 state of one zone's anchors.
type TrustPoint struct {
	Zone string `json:"zone"`
	// Seed holds the configured anchors (DS or DNSKEY text). They are
	// trusted until the first successful refresh turns them into Keys.
	Seed        []string     `json:"seed"`
	Keys        []ManagedKey `json:"keys"`
	LastRefresh time.Time    `json:"last_refresh"`
	NextRefresh time.Time    `json:"next_refresh"`
}

// AnchorState is what AnchorStore holds, serialized as JSON.
type AnchorState struct {
	Points []*TrustPoint `json:"points"`
}

// newAnchorState groups configured anchors by zone into fresh trust points.
func newAnchorState(anchors []dns.RR) *AnchorState {
	st := &AnchorState{}
	for _, rr := range anchors {
		zone := dns.CanonicalName(rr.Header().Name)
		tp := st.point(zone)
		if tp == nil {
			tp = &TrustPoint{Zone: zone}
			st.Points = append(st.Points, tp)
		}
		tp.Seed = append(tp.Seed, rr.String())
	}
	return st
}

func (st *AnchorState) point(zone string) *TrustPoint {
	for _, tp := range st.Points {
		if tp.Zone == zone {
			return tp
		}
	}
	return nil
}

// mergeAnchorState adopts saved state for zones still configured and seeds
// the rest. A zone no longer configured is dropped: configuration decides
// which names have anchors at all.
func mergeAnchorState(saved []byte, anchors []dns.RR) (*AnchorState, error) {
	fresh := newAnchorState(anchors)
	if len(saved) == 0 {
		return fresh, nil
	}
	var old AnchorState
	if err := json.Unmarshal(saved, &old); err != nil {
		return nil, fmt.Errorf("rfc5011 state: %w", err)
	}
	for i, tp := range fresh.Points {
		// Saved keys count only while the configured anchors are the ones
		// they grew from: an administrator who replaces the anchor (a lab
		// root, a private trust point) starts a fresh trust point.
		if o := old.point(tp.Zone); o != nil && len(o.Keys) > 0 && sameSeed(o.Seed, tp.Seed) {
			if _, err := o.trusted(); err != nil {
				return nil, err
			}
			fresh.Points[i] = o
		}
	}
	return fresh, nil
}

func sameSeed(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	norm := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			rr, err := dns.NewRR(s)
			if err != nil || rr == nil {
				return nil
			}
			rr.Header().Ttl = 0
			out = append(out, strings.ToLower(rr.String()))
		}
		sort.Strings(out)
		return out
	}
	na, nb := norm(a), norm(b)
	if na == nil || nb == nil {
		return false
	}
	for i := range na {
		if na[i] != nb[i] {
			return false
		}
	}
	return true
}

func (st *AnchorState) marshal() ([]byte, error) {
	return json.MarshalIndent(st, "", " ")
}

// trusted returns the anchors to validate the zone's DNSKEY set with: the
// seed until the first refresh, afterwards the Valid and Missing keys
// (RFC 5011 §4: Missing keys are still trust anchors; AddPend and Revoked
// ones are not).
func (tp *TrustPoint) trusted() ([]dns.RR, error) {
	var out []dns.RR
	if len(tp.Keys) == 0 {
		for _, s := range tp.Seed {
			rr, err := dns.NewRR(s)
			if err != nil {
				return nil, fmt.Errorf("rfc5011 state: seed %q: %w", s, err)
			}
			out = append(out, rr)
		}
		return out, nil
	}
	for _, k := range tp.Keys {
		if k.State != KeyValid && k.State != KeyMissing {
			continue
		}
		rr, err := dns.NewRR(k.Key)
		if err != nil {
			return nil, fmt.Errorf("rfc5011 state: key %d: %w", k.Tag, err)
		}
		out = append(out, rr)
	}
	return out, nil
}

// keyID is a key's identity regardless of its REVOKE bit.
func keyID(k *dns.DNSKEY) string {
	c := *k
	c.Hdr = dns.RR_Header{Name: dns.CanonicalName(k.Hdr.Name), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 0}
	c.Flags &^= revokeFlag
	return c.String()
}

// Refresh applies one validated DNSKEY RRset of the trust point's zone to
// its key states (RFC 5011 §4). The caller must already have verified the
// RRset with a key from trusted(); sigs are the RRset's RRSIGs (needed for
// the revocation self-signature check), ttl its original TTL. It returns
// whether the state changed and must be saved. Time is explicit so the
// hold-downs are testable.
func (tp *TrustPoint) Refresh(rrset []dns.RR, sigs []*dns.RRSIG, ttl uint32, now time.Time) bool {
	before, _ := json.Marshal(tp)
	firstRefresh := len(tp.Keys) == 0
	var seedDS []*dns.DS
	var seedKeys = map[string]bool{}
	if firstRefresh {
		anchors, _ := tp.trusted()
		for _, a := range anchors {
			switch v := a.(type) {
			case *dns.DS:
				seedDS = append(seedDS, v)
			case *dns.DNSKEY:
				seedKeys[keyID(v)] = true
			}
		}
	}
	hold := addHoldDown
	if d := time.Duration(ttl) * time.Second; d > hold {
		hold = d // §2.4.1: max(30 days, original TTL)
	}
	seen := map[string]bool{}
	for _, rr := range rrset {
		k, ok := rr.(*dns.DNSKEY)
		if !ok || k.Flags&dns.SEP == 0 || k.Flags&dns.ZONE == 0 {
			continue // RFC 5011 manages SEP (KSK) keys only
		}
		id := keyID(k)
		seen[id] = true
		mk := tp.key(id)
		if k.Flags&revokeFlag != 0 {
			// §2.1: a revoked key counts only if it signs the DNSKEY
			// RRset itself; otherwise anyone could "revoke" it.
			if !revokedSelfSigned(k, rrset, sigs, now) {
				continue
			}
			if mk == nil {
				tp.Keys = append(tp.Keys, ManagedKey{Key: id, Tag: k.KeyTag(), FirstSeen: now})
				mk = &tp.Keys[len(tp.Keys)-1]
			}
			if mk.State != KeyRevoked {
				mk.State = KeyRevoked
				mk.HoldUntil = now.Add(removeHoldDown)
			}
			mk.LastSeen = now
			continue
		}
		if mk == nil {
			nk := ManagedKey{Key: id, Tag: k.KeyTag(), FirstSeen: now, LastSeen: now, State: KeyAddPend, HoldUntil: now.Add(hold)}
			if firstRefresh && (seedKeys[id] || matchesDS(k, seedDS)) {
				nk.State, nk.HoldUntil = KeyValid, time.Time{} // configured: trusted at once
			}
			tp.Keys = append(tp.Keys, nk)
			continue
		}
		mk.LastSeen = now
		switch mk.State {
		case KeyAddPend:
			if !now.Before(mk.HoldUntil) {
				mk.State, mk.HoldUntil = KeyValid, time.Time{}
			}
		case KeyMissing:
			mk.State, mk.HoldUntil = KeyValid, time.Time{} // §4.4: reappeared
		}
	}
	kept := tp.Keys[:0]
	for _, mk := range tp.Keys {
		if !seen[mk.Key] {
			switch mk.State {
			case KeyAddPend:
				continue // §4.2: vanished before the hold-down ended: forget it
			case KeyValid:
				mk.State, mk.HoldUntil = KeyMissing, now.Add(removeHoldDown)
			}
		}
		if (mk.State == KeyMissing || mk.State == KeyRevoked) && !now.Before(mk.HoldUntil) {
			continue // §4.4: removed after the remove hold-down
		}
		kept = append(kept, mk)
	}
	tp.Keys = kept
	sort.SliceStable(tp.Keys, func(i, j int) bool { return tp.Keys[i].Tag < tp.Keys[j].Tag })
	tp.LastRefresh = now
	tp.NextRefresh = now.Add(refreshInterval(ttl, sigs, now))
	after, _ := json.Marshal(tp)
	return string(before) != string(after)
}

func (tp *TrustPoint) key(id string) *ManagedKey {
	for i := range tp.Keys {
		if tp.Keys[i].Key == id {
			return &tp.Keys[i]
		}
	}
	return nil
}

// refreshInterval is RFC 5011 §2.3's active refresh:
// max(1 hour, min(15 days, TTL/2, signature validity/2)).
func refreshInterval(ttl uint32, sigs []*dns.RRSIG, now time.Time) time.Duration {
	d := maxRefresh
	if t := time.Duration(ttl) * time.Second / 2; t < d {
		d = t
	}
	for _, s := range sigs {
		if v := time.Unix(int64(s.Expiration), 0).Sub(now) / 2; v < d {
			d = v
		}
	}
	if d < minRefresh {
		d = minRefresh
	}
	return d
}

func matchesDS(k *dns.DNSKEY, dss []*dns.DS) bool {
	for _, ds := range dss {
		if ds.KeyTag != k.KeyTag() || ds.Algorithm != k.Algorithm {
			continue
		}
		if got := k.ToDS(ds.DigestType); got != nil && strings.EqualFold(got.Digest, ds.Digest) {
			return true
		}
	}
	return false
}

// revokedSelfSigned reports whether revoked key k signs the DNSKEY RRset with a
// currently valid signature (RFC 5011 §2.1).
func revokedSelfSigned(k *dns.DNSKEY, rrset []dns.RR, sigs []*dns.RRSIG, now time.Time) bool {
	for _, s := range sigs {
		if s.KeyTag == k.KeyTag() && s.Algorithm == k.Algorithm && s.ValidityPeriod(now) && s.Verify(k, rrset) == nil {
			return true
		}
	}
	return false
}

// FileAnchorStore keeps the RFC 5011 state in one file, replaced atomically
// (write to a temporary file, fsync, rename).
type FileAnchorStore struct{ Path string }

func (f FileAnchorStore) Load() ([]byte, error) {
	b, err := os.ReadFile(f.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	return b, err
}

func (f FileAnchorStore) Save(b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".anchors-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}
