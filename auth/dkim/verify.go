package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// TXTResolver looks up TXT records. LookupTXT returns the record strings,
// one element per record with its character-strings already concatenated
// (as net.Resolver does). A name that does not exist, or has no TXT
// record, is reported with an error wrapping ErrNotFound or a *net.DNSError
// with IsNotFound set; any other error counts as temporary.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// ErrNotFound is wrapped by resolvers for NXDOMAIN and NODATA answers.
var ErrNotFound = errors.New("no such record")

// VerifyProfile holds the limits of a DKIM verification profile (seed 004,
// "Managing DKIM verification profiles").
type VerifyProfile struct {
	Name string
	// MinKeyBits and MaxKeyBits bound accepted RSA keys (seed: defaults
	// 1024 and 4096). Whatever MinKeyBits says, RSA keys below 1024 bits
	// fail (RFC 8301 §3.2: verifiers "MUST NOT consider signatures using
	// RSA keys of less than 1024 bits as valid"). Ed25519 keys have one
	// size and are not subject to these bounds.
	MinKeyBits int
	MaxKeyBits int
	// MaxSignatures is how many signatures are verified; later ones are
	// reported Neutral without a lookup (seed: default 5).
	MaxSignatures int
	// KeyQueryTimeout bounds each key lookup (seed: default 10 s); a
	// timeout is a temperror.
	KeyQueryTimeout time.Duration
	// ClockSkew is the tolerance applied to x= and t= (seed: default 60 s).
	ClockSkew time.Duration
	// HonorBodyLength makes l= limit the verified body, giving
	// "pass (partially verified [N bytes])" when more follows. When false
	// the whole body is verified whatever l= says, so appended content
	// fails the body hash.
	HonorBodyLength bool
	// TempFail and PermFail are the SMTP actions for temporary and
	// permanent failures (seed 004 steps 10 and 11), applied by the
	// caller through Action.
	TempFail SMTPAction
	PermFail SMTPAction
}

// DefaultVerifyProfile is the appliance's DEFAULT verification profile.
func DefaultVerifyProfile() VerifyProfile {
	return VerifyProfile{
		Name:            "DEFAULT",
		MinKeyBits:      1024,
		MaxKeyBits:      4096,
		MaxSignatures:   5,
		KeyQueryTimeout: 10 * time.Second,
		ClockSkew:       60 * time.Second,
		HonorBodyLength: true,
		TempFail:        SMTPAction{Code: 451, Text: "#4.7.5 Unable to verify signature - key server unavailable"},
		PermFail:        SMTPAction{Code: 550, Text: "#5.7.5 DKIM unauthenticated mail is prohibited"},
	}
}

// Verifier checks the DKIM signatures of messages.
type Verifier struct {
	Resolver TXTResolver
	Now      func() time.Time // the verifier's clock; time.Now when nil
	Profile  VerifyProfile

	cache keyCache
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// keyCache remembers parsed key records by their text, so a busy verifier
// does not decode the same public key for every message. It is keyed by the
// record text, so a changed record is parsed afresh; it never outlives what
// the resolver returns.
type keyCache struct {
	mu sync.Mutex
	m  map[string]keyCacheEntry
}

type keyCacheEntry struct {
	rec *KeyRecord
	err error
}

const keyCacheMax = 1024

func (c *keyCache) parse(txt string, parse func(string) (*KeyRecord, error)) (*KeyRecord, error) {
	c.mu.Lock()
	e, ok := c.m[txt]
	c.mu.Unlock()
	if ok {
		return e.rec, e.err
	}
	rec, err := parse(txt)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = map[string]keyCacheEntry{}
	}
	c.m[txt] = keyCacheEntry{rec, err}
	c.mu.Unlock()
	return rec, err
}

// lookupKey fetches and parses the key record for a selector and domain
// (RFC 6376 §3.6.2.1). It returns a *sigError for every failure.
func (v *Verifier) lookupKey(ctx context.Context, selector, domain string, parse func(string) (*KeyRecord, error)) (*KeyRecord, error) {
	if v.Resolver == nil {
		return nil, &sigError{TempError, "no resolver configured"}
	}
	name := selector + "._domainkey." + domain
	if !keyNameChars(name) || len(name) > 253 {
		return nil, permErr("invalid key name %s", name)
	}
	if t := v.Profile.KeyQueryTimeout; t > 0 {
		lc := newLookupCtx(ctx, t)
		defer lc.cancel(context.Canceled)
		ctx = lc
	}
	txts, err := v.Resolver.LookupTXT(ctx, name)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.Is(err, ErrNotFound) || errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, permErr("no key for signature")
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &sigError{TempError, "key query timed out"}
		}
		return nil, &sigError{TempError, "key unavailable: " + err.Error()}
	}
	if len(txts) == 0 {
		return nil, permErr("no key for signature")
	}
	// RFC 6376 §3.6.2.2: with several records the verifier may pick; we
	// take the first one that parses and report the first error otherwise.
	var firstErr error
	for _, txt := range txts {
		rec, err := v.cache.parse(txt, parse)
		if err == nil {
			return rec, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if errors.Is(firstErr, errRevoked) {
		return nil, permErr("key revoked")
	}
	return nil, permErr("key syntax error: %v", firstErr)
}

// keyNameChars reports whether name is free of the characters that cannot
// appear in a DNS query name built from s= and d= (white space, the
// backslash, parentheses and quotes); a byte loop, as strings.ContainsAny
// builds its character set on every call.
func keyNameChars(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case ' ', '\t', '\r', '\n', '\\', '(', ')', '"':
			return false
		}
	}
	return true
}

// pending is one signature on its way through verification.
type pending struct {
	sig    *signature
	res    Result
	done   bool // res is final
	body   *bodyHash
	key    *KeyRecord
	keyErr error
	wg     sync.WaitGroup
}

func (p *pending) fail(err error) {
	var se *sigError
	if errors.As(err, &se) {
		p.res.Status, p.res.Reason = se.status, se.reason
	} else {
		p.res.Status, p.res.Reason = PermError, err.Error()
	}
	p.done = true
}

// verifyState is the scratch space of one Verify call: the signatures and
// their progress, the body hashes, the header hash and a buffer for
// canonical header fields. Verifiers recycle it through verifyStates, so a
// message costs the allocations of its results and little else; nothing
// Verify returns points into it (results refer to the signature field's
// value, which parseSignatureInto copies out of the header).
type verifyState struct {
	ps     []pending
	sigs   []signature
	bodies bodyHashes
	cw     crlfWriter
	hh     hash.Hash
	buf    []byte
	sum    [sha256.Size]byte // a body hash, then the header hash
}

var verifyStates = sync.Pool{New: func() any { return &verifyState{hh: sha256.New()} }}

func getVerifyState(n int) *verifyState {
	st := verifyStates.Get().(*verifyState)
	if cap(st.ps) < n {
		st.ps = make([]pending, n)
		st.sigs = make([]signature, n)
	}
	st.ps, st.sigs = st.ps[:n], st.sigs[:n]
	// The body canonicalizers learn from the CRLF writer in front of them
	// whether any line ends in white space (bodyCanon.eol).
	st.bodies.eol = &st.cw.wspEOL
	return st
}

func putVerifyState(st *verifyState) {
	if cap(st.ps) > 16 || cap(st.buf) > 64<<10 {
		return // a hostile message's worth; let it go
	}
	for i := range st.ps {
		st.ps[i].sig, st.ps[i].body, st.ps[i].key, st.ps[i].keyErr = nil, nil, nil, nil
		st.ps[i].res = Result{}
	}
	st.bodies.reset()
	st.cw = crlfWriter{}
	verifyStates.Put(st)
}

// Verify reads a message and returns one result per DKIM-Signature field,
// top to bottom, or a single None result when there is none. The error is
// only for a message that cannot be read. The body is read only when a
// signature needs it, so r may be left unread past the header.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]Result, error) {
	br := getReader(r)
	defer putReader(br)
	hb, fields, err := readPooledHeader(br)
	defer hb.release()
	if err != nil {
		return nil, err
	}
	now := v.now()
	n := 0
	for _, f := range fields {
		if f.name == "dkim-signature" {
			n++
		}
	}
	if n == 0 {
		// Unsigned: the body is not needed, so it is not read.
		return []Result{{Status: None, Reason: "no signature"}}, nil
	}
	st := getVerifyState(n)
	defer putVerifyState(st)
	sigs := st.ps
	limit := v.Profile.MaxSignatures
	if limit <= 0 {
		limit = 5
	}
	i := 0
	for _, f := range fields {
		if f.name != "dkim-signature" {
			continue
		}
		p, s := &sigs[i], &st.sigs[i]
		err := parseSignatureInto(s, f)
		p.sig, p.done = s, false
		p.res = Result{Domain: s.domain, Selector: s.selector, Identity: s.identity, Algorithm: s.algorithm}
		i++
		if i > limit {
			p.res.Status = Neutral
			p.res.Reason = fmt.Sprintf("not verified: more than %d signatures", limit)
			p.done = true
			continue
		}
		if err != nil {
			p.fail(err)
			continue
		}
		if err := v.checkTimes(s, now); err != nil {
			p.fail(err)
			continue
		}
		mode := bodySimple
		if s.bodyCanon == Relaxed {
			mode = bodyRelaxed
		}
		bl := int64(-1)
		if v.Profile.HonorBodyLength {
			bl = s.bodyLength
		}
		p.body = st.bodies.add(mode, bl)
	}
	// Key lookups run while the body is read; with one signature the
	// lookup simply happens first.
	live := 0
	for i := range sigs {
		if !sigs[i].done {
			live++
		}
	}
	for i := range sigs {
		p := &sigs[i]
		if p.done {
			continue
		}
		if live == 1 {
			p.key, p.keyErr = v.lookupKey(ctx, p.sig.selector, p.sig.domain, ParseKeyRecord)
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.key, p.keyErr = v.lookupKey(ctx, p.sig.selector, p.sig.domain, ParseKeyRecord)
		}()
	}
	var readErr error
	if len(st.bodies.list) > 0 { // otherwise no signature needs the body
		st.cw = crlfWriter{w: &st.bodies}
		_, readErr = br.WriteTo(&st.cw)
		st.bodies.close()
	}
	for i := range sigs {
		sigs[i].wg.Wait()
	}
	if readErr != nil {
		return nil, readErr
	}
	results := make([]Result, len(sigs))
	for i := range sigs {
		p := &sigs[i]
		if !p.done {
			v.finish(p, fields, st)
		}
		results[i] = p.res
	}
	return results, nil
}

// checkTimes applies x= and t= with the profile's clock skew (RFC 6376
// §3.5: "Implementations MAY consider the signature invalid if the verifier
// is aware of clock skew"; seed 004 gives the skew tolerance).
func (v *Verifier) checkTimes(s *signature, now time.Time) error {
	skew := int64(v.Profile.ClockSkew / time.Second)
	unix := now.Unix()
	if s.expiration >= 0 && unix > s.expiration+skew {
		return permErr("signature expired")
	}
	if s.timestamp >= 0 && s.timestamp > unix+skew {
		return permErr("signature timestamp in the future")
	}
	return nil
}

func (v *Verifier) finish(p *pending, fields []field, st *verifyState) {
	s := p.sig
	if p.keyErr != nil {
		p.fail(p.keyErr)
		return
	}
	key := p.key
	p.res.KeyBits = key.Bits()
	if key.Testing() {
		// Seed 004: with t=y the appliance skips DKIM verification and
		// its actions entirely, so nothing else about the key matters.
		p.res.Status, p.res.Reason, p.res.Testing = Neutral, "key in testing mode (t=y)", true
		p.done = true
		return
	}
	if err := v.checkKey(s, key); err != nil {
		p.fail(err)
		return
	}
	c := &p.body.canon
	if s.bodyLength >= 0 && v.Profile.HonorBodyLength && c.total < s.bodyLength {
		p.res.Status, p.res.Reason = HardFail, "body shorter than l= tag"
		p.done = true
		return
	}
	if !bytes.Equal(p.body.h.Sum(st.sum[:0]), s.bodyHash) {
		p.res.Status, p.res.Reason = HardFail, "body hash did not verify"
		p.done = true
		return
	}
	var h hash.Hash
	if s.hash == crypto.SHA1 {
		h = sha1.New()
	} else {
		h = st.hh
		h.Reset()
	}
	_, buf := hashHeaders(h, fields, s.headers, s.headerCanon, st.buf, false)
	// RFC 6376 §3.7: the signature field itself goes last, b= emptied,
	// without its trailing CRLF. Both steps share buf, sized for both
	// once: the canonical form is written after the stripped one, which it
	// is read from.
	buf = slices.Grow(buf[:0], 2*len(s.f.raw)+3)
	st.buf = buf
	stripped := withoutB(buf, s.f.raw)
	stripped = bytes.TrimSuffix(stripped, crlf)
	if s.headerCanon == Relaxed {
		canon := canonHeaderRelaxed(stripped[len(stripped):], stripped)
		h.Write(canon[:len(canon)-2])
	} else {
		h.Write(stripped)
	}
	digest := h.Sum(st.sum[:0])
	var err error
	switch pk := key.Key.(type) {
	case *rsa.PublicKey:
		err = rsaVerify(pk, s.hash, digest, s.sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(pk, digest, s.sig) {
			err = errors.New("bad signature")
		}
	}
	if err != nil {
		p.res.Status, p.res.Reason = HardFail, "signature did not verify"
		p.done = true
		return
	}
	p.res.Status, p.res.Reason = Pass, "signature verified"
	if s.bodyLength >= 0 && v.Profile.HonorBodyLength && c.total > s.bodyLength {
		p.res.Partial, p.res.BodyLength = true, s.bodyLength
	}
	p.done = true
}

// checkKey applies the key record's constraints (RFC 6376 §3.6.1, §6.1.2)
// and the profile's key-size limits.
func (v *Verifier) checkKey(s *signature, key *KeyRecord) error {
	if key.KeyType != s.keyType {
		return permErr("inappropriate key algorithm: k=%s for a=%s", key.KeyType, s.algorithm)
	}
	if key.Hashes != nil {
		want := "sha256"
		if s.hash == crypto.SHA1 {
			want = "sha1"
		}
		ok := false
		for _, h := range key.Hashes {
			ok = ok || strings.ToLower(h) == want
		}
		if !ok {
			return permErr("inappropriate hash algorithm: key allows h=%s", strings.Join(key.Hashes, ":"))
		}
	}
	if key.Strict() {
		at := strings.LastIndexByte(s.identity, '@')
		if !strings.EqualFold(s.identity[at+1:], s.domain) {
			return permErr("domain mismatch: key has t=s and i= is a subdomain of d=")
		}
	}
	if pk, ok := key.Key.(*rsa.PublicKey); ok {
		bits := pk.N.BitLen()
		minBits := max(v.Profile.MinKeyBits, 1024)
		if bits < minBits {
			return permErr("key too small: %d bits, minimum %d", bits, minBits)
		}
		if v.Profile.MaxKeyBits > 0 && bits > v.Profile.MaxKeyBits {
			return permErr("key too large: %d bits, maximum %d", bits, v.Profile.MaxKeyBits)
		}
	}
	return nil
}
