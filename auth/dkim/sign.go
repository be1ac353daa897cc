package dkim

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HeaderSet chooses the header fields a DKIM profile signs (seed 004,
// step 10; ESA-CLI §2.4 question 9).
type HeaderSet int

const (
	// HeadersStandard signs StandardHeaders plus the profile's
	// ExtraHeaders; a standard field absent from the message is still
	// listed in h= so that adding it later breaks the signature (the
	// "null value" of seed 004, RFC 6376 §5.4.2).
	HeadersStandard HeaderSet = iota
	// HeadersAll signs every field present except Return-Path and the
	// trace and authentication fields added in transit (see signAllSkip).
	HeadersAll
)

// StandardHeaders is the appliance's "Standard" list (seed 004 step 10,
// SPEC §4).
var StandardHeaders = []string{
	"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID",
	"Content-Description", "Resent-Date", "Resent-From", "Resent-Sender",
	"Resent-To", "Resent-Cc", "Resent-Message-ID", "In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post",
	"List-Owner", "List-Archive",
}

// signAllSkip lists what "All" leaves out: the appliance excludes
// Return-Path ("Sign all existing, non-repeatable headers (except
// Return-Path header)"); trace and authentication fields are prepended by
// every hop and RFC 6376 §5.4.1 advises against signing them.
var signAllSkip = map[string]bool{
	"return-path": true, "received": true, "dkim-signature": true,
	"domainkey-signature": true, "authentication-results": true,
	"arc-seal": true, "arc-message-signature": true, "arc-authentication-results": true,
}

// BodyLength chooses how much of the body a DKIM profile signs (seed 004,
// step 11).
type BodyLength int

const (
	BodyWholeImplied BodyLength = iota // no l= tag
	BodyWholeAuto                      // l= set to the whole canonical body
	BodyFirstN                         // l= set to BodyLengthBytes (or less if the body is shorter)
)

// DefaultExpiration is the x= offset the appliance proposes (seed 004: "The
// default is 31536000 seconds").
const DefaultExpiration = 31536000 * time.Second

// SignProfile is one DKIM signing profile: everything the signer needs and
// nothing about who it applies to.
type SignProfile struct {
	Domain   string // d=
	Selector string // s=
	Key      crypto.Signer
	// HeaderCanon and BodyCanon are Simple or Relaxed; empty means the
	// appliance defaults, relaxed header and simple body (ESA-CLI §2.4).
	HeaderCanon     Canonicalization
	BodyCanon       Canonicalization
	Headers         HeaderSet
	ExtraHeaders    []string // signed in addition to StandardHeaders
	BodyLength      BodyLength
	BodyLengthBytes int64
	// Tags (seed 004 step 12). Identity is the i= value (e.g.
	// "@example.com"), written when not empty.
	Identity string
	TagQ     bool // q=dns/txt
	TagT     bool // t= signing time
	// Expiration, when positive, writes x= that far after the signing
	// time (DefaultExpiration is the appliance's proposal).
	Expiration time.Duration
	TagZ       bool // z= copied header fields
}

func (p *SignProfile) canons() (Canonicalization, Canonicalization) {
	hc, bc := p.HeaderCanon, p.BodyCanon
	if hc == "" {
		hc = Relaxed
	}
	if bc == "" {
		bc = Simple
	}
	return hc, bc
}

func (p *SignProfile) algorithm() (string, error) {
	switch k := p.Key.(type) {
	case *rsa.PrivateKey:
		// RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits".
		if k.N.BitLen() < 1024 {
			return "", fmt.Errorf("a %d-bit RSA key cannot sign DKIM (RFC 8301 requires 1024 bits or more)", k.N.BitLen())
		}
		return "rsa-sha256", nil
	case ed25519.PrivateKey:
		return "ed25519-sha256", nil
	}
	return "", fmt.Errorf("unsupported signing key %T", p.Key)
}

func (p *SignProfile) check() error {
	if p.Domain == "" || p.Selector == "" {
		return errors.New("profile needs a domain and a selector")
	}
	if _, err := p.algorithm(); err != nil {
		return err
	}
	hc, bc := p.canons()
	for _, c := range []Canonicalization{hc, bc} {
		if c != Simple && c != Relaxed {
			return fmt.Errorf("DKIM canonicalization must be simple or relaxed, not %q", c)
		}
	}
	if p.BodyLength == BodyFirstN && p.BodyLengthBytes < 0 {
		return errors.New("body length must not be negative")
	}
	return nil
}

// bodyKey identifies a body hash; profiles that agree on it share one pass.
type bodyKey struct {
	mode  bodyMode
	limit int64
}

type bodyHash struct {
	key   bodyKey
	canon bodyCanon
	h     hash.Hash
}

// bodyHashes feeds one body to several canonicalizer+hash pairs. A
// verifier reuses one across messages (reset), so the hashes and
// canonicalizers of the usual one or two body hashes are not allocated
// per message.
type bodyHashes struct {
	m    map[bodyKey]*bodyHash // only past a few entries; see add
	list []*bodyHash
	free []*bodyHash
	// eol, when set, is the crlfWriter's wspEOL for the canonicalizers
	// (bodyCanon.eol).
	eol *bool
}

func (b *bodyHashes) add(mode bodyMode, limit int64) *bodyHash {
	k := bodyKey{mode, limit}
	// A few distinct hashes are the rule (signatures mostly share one);
	// the map keeps a message with many l= values linear.
	if b.m != nil {
		if bh, ok := b.m[k]; ok {
			return bh
		}
	} else {
		for _, bh := range b.list {
			if bh.key == k {
				return bh
			}
		}
	}
	var bh *bodyHash
	if n := len(b.free); n > 0 {
		bh = b.free[n-1]
		b.free = b.free[:n-1]
		bh.h.Reset()
	} else {
		bh = &bodyHash{h: sha256.New()}
	}
	bh.key = k
	bh.canon = bodyCanon{mode: mode, h: bh.h, limit: limit, out: bh.canon.out[:0], eol: b.eol}
	b.list = append(b.list, bh)
	if b.m != nil {
		b.m[k] = bh
	} else if len(b.list) > 8 {
		b.m = make(map[bodyKey]*bodyHash, len(b.list))
		for _, x := range b.list {
			b.m[x.key] = x
		}
	}
	return bh
}

// reset makes every hash available again for the next message.
func (b *bodyHashes) reset() {
	if len(b.free)+len(b.list) <= 16 {
		b.free = append(b.free, b.list...)
	}
	clear(b.list)
	b.list = b.list[:0]
	b.m = nil
}

func (b *bodyHashes) Write(p []byte) (int, error) {
	for _, bh := range b.list {
		bh.canon.Write(p)
	}
	return len(p), nil
}

func (b *bodyHashes) close() {
	for _, bh := range b.list {
		bh.canon.Close()
	}
}

// readBody streams the rest of br through CRLF normalisation into w.
func readBody(br *bufio.Reader, w io.Writer) error {
	_, err := br.WriteTo(&crlfWriter{w: w})
	return err
}

// Sign reads the message once and returns one DKIM-Signature field per
// profile, each ending in CRLF, to be prepended to the message in the
// order returned. now is the signing time (t= and x=).
func Sign(r io.Reader, now time.Time, profiles ...*SignProfile) ([]string, error) {
	for _, p := range profiles {
		if err := p.check(); err != nil {
			return nil, err
		}
	}
	br := getReader(r)
	defer putReader(br)
	hb, fields, err := readPooledHeader(br)
	defer hb.release()
	if err != nil {
		return nil, err
	}
	var bodies bodyHashes
	hashes := make([]*bodyHash, len(profiles))
	for i, p := range profiles {
		_, bc := p.canons()
		mode := bodySimple
		if bc == Relaxed {
			mode = bodyRelaxed
		}
		limit := int64(-1)
		if p.BodyLength == BodyFirstN {
			limit = p.BodyLengthBytes
		}
		hashes[i] = bodies.add(mode, limit)
	}
	if err := readBody(br, &bodies); err != nil {
		return nil, err
	}
	bodies.close()
	out := make([]string, len(profiles))
	for i, p := range profiles {
		out[i], err = p.signature(fields, hashes[i], now)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// headerList returns the names for h=, in signing order.
func (p *SignProfile) headerList(fields []field) ([]string, error) {
	count := map[string]int{}
	for _, f := range fields {
		count[f.name]++
	}
	if count["from"] == 0 {
		// RFC 6376 §5.4: From is required in every signature; a message
		// without one cannot be signed meaningfully.
		return nil, errors.New("message has no From field")
	}
	var names []string
	if p.Headers == HeadersAll {
		for _, f := range fields {
			if !signAllSkip[f.name] {
				names = append(names, fieldName(f))
			}
		}
		return names, nil
	}
	seen := map[string]bool{}
	for _, list := range [][]string{StandardHeaders, p.ExtraHeaders} {
		for _, n := range list {
			n = strings.TrimSpace(n)
			lower := strings.ToLower(n)
			if n == "" || seen[lower] {
				continue
			}
			seen[lower] = true
			for range max(count[lower], 1) {
				names = append(names, n)
			}
		}
	}
	return names, nil
}

func fieldName(f field) string {
	i := strings.IndexByte(string(f.raw), ':')
	if i < 0 {
		return f.name
	}
	return strings.TrimRight(string(f.raw[:i]), " \t")
}

// hashHeaders writes the selected fields to h, each name taken from the
// bottom of the header upwards when it repeats (RFC 6376 §5.4.2); names
// with no instance left contribute nothing. With pick it returns the
// indexes of the fields used (for z=); the verifier does not need them.
func hashHeaders(h io.Writer, fields []field, names []string, c Canonicalization, buf []byte, pick bool) ([]int, []byte) {
	var picked []int
	buf = buf[:0]
	// The k-th mention of a name in h= signs its k-th instance from the
	// bottom. Short lists count earlier mentions directly (no allocation);
	// long, possibly hostile, ones use a map so the cost stays linear.
	var used map[string]int
	if len(names) > 64 {
		used = map[string]int{}
	}
	// The lengths of the names present: an oversigned h= lists many names
	// the message lacks, and most of them are ruled out by length alone.
	var lens uint64
	for i := range fields {
		lens |= 1 << min(len(fields[i].name), 63)
	}
	for k, n := range names {
		if lens&(1<<min(len(n), 63)) == 0 {
			if used != nil {
				used[lowerString(n)]++
			}
			continue
		}
		// Names are matched as written in h= (field names compare
		// case-insensitively, RFC 5322 §1.2.2). Most names of an
		// oversigned h= match no field at all; only a name that does
		// needs its earlier mentions counted.
		i := len(fields) - 1
		for i >= 0 && !nameIs(fields[i].name, n) {
			i--
		}
		skip := 0
		if used != nil {
			ln := lowerString(n)
			skip = used[ln]
			used[ln]++
		} else if i >= 0 {
			for _, m := range names[:k] {
				if len(m) == len(n) && strings.EqualFold(m, n) {
					skip++
				}
			}
		}
		for ; i >= 0; i-- {
			if !nameIs(fields[i].name, n) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if pick {
				picked = append(picked, i)
			}
			if c == Relaxed {
				// Canonical fields are gathered and hashed in one
				// write below.
				buf = canonHeaderRelaxed(buf, fields[i].raw)
			} else {
				h.Write(fields[i].raw)
			}
			break
		}
	}
	h.Write(buf)
	return picked, buf[:0]
}

// nameIs reports whether the lower-case field name lower is n in any case
// (ASCII only, as field names are, RFC 5322 §3.6.8).
func nameIs(lower, n string) bool {
	if len(lower) != len(n) {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// folder builds a folded header field, breaking lines before tokens that
// would pass 78 columns (RFC 5322 §2.1.1).
type folder struct {
	b   strings.Builder
	col int
}

func (f *folder) add(tok string, breakable bool) {
	if breakable && f.col+len(tok) > 78 && f.col > 1 {
		f.b.WriteString("\r\n\t")
		f.col = 1
	}
	f.b.WriteString(tok)
	f.col += len(tok)
}

func (p *SignProfile) signature(fields []field, body *bodyHash, now time.Time) (string, error) {
	alg, _ := p.algorithm()
	hc, bc := p.canons()
	names, err := p.headerList(fields)
	if err != nil {
		return "", err
	}
	f := &folder{}
	f.add("DKIM-Signature: v=1;", false)
	tag := func(s string) { f.add(" "+s+";", true) }
	tag("a=" + alg)
	tag("c=" + string(hc) + "/" + string(bc))
	tag("d=" + p.Domain)
	tag("s=" + p.Selector)
	if p.Identity != "" {
		tag("i=" + encodeIdentity(p.Identity))
	}
	if p.TagQ {
		tag("q=dns/txt")
	}
	if p.TagT || p.Expiration > 0 {
		// x= is meaningful only next to t= (RFC 6376 §3.5: x= MUST be
		// greater than t=), so an expiration writes both.
		tag("t=" + strconv.FormatInt(now.Unix(), 10))
	}
	if p.Expiration > 0 {
		tag("x=" + strconv.FormatInt(now.Add(p.Expiration).Unix(), 10))
	}
	switch p.BodyLength {
	case BodyWholeAuto:
		tag("l=" + strconv.FormatInt(body.canon.total, 10))
	case BodyFirstN:
		tag("l=" + strconv.FormatInt(min(p.BodyLengthBytes, body.canon.total), 10))
	}
	f.add(" h=", true)
	for i, n := range names {
		if i > 0 {
			n = ":" + n
		}
		f.add(n, true)
	}
	f.add(";", false)
	h := sha256.New()
	picked, buf := hashHeaders(h, fields, names, hc, nil, p.TagZ)
	if p.TagZ {
		f.add(" z=", true)
		// The signed fields in message order, unfolded, as they were when
		// signed (RFC 6376 §3.5 z=).
		slices.Sort(picked)
		for i, idx := range picked {
			pf := fields[idx]
			v := strings.TrimLeft(strings.ReplaceAll(pf.value(), "\r\n", ""), " \t")
			tok := fieldName(pf) + ":" + encodeQP(v)
			if i > 0 {
				tok = "|" + tok
			}
			f.add(tok, true)
		}
		f.add(";", false)
	}
	tag("bh=" + base64.StdEncoding.EncodeToString(body.h.Sum(nil)))
	f.add(" b=", true)
	prefix := f.b.String()
	if hc == Relaxed {
		buf = canonHeaderRelaxed(buf[:0], []byte(prefix+"\r\n"))
		h.Write(buf[:len(buf)-2])
	} else {
		h.Write([]byte(prefix))
	}
	sig, err := signDigest(p.Key, h.Sum(nil))
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	for len(b64) > 0 {
		n := min(len(b64), max(78-f.col, 1))
		if f.col >= 78 {
			f.b.WriteString("\r\n\t")
			f.col = 1
			n = min(len(b64), 76)
		}
		f.b.WriteString(b64[:n])
		f.col += n
		b64 = b64[n:]
	}
	f.b.WriteString("\r\n")
	return f.b.String(), nil
}

// encodeIdentity writes i= in dkim-quoted-printable (RFC 6376 §3.5): the
// local part may hold characters that are not VALCHAR.
func encodeIdentity(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c > 0x20 && c < 0x7f && c != ';' && c != '=' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// signDigest signs a SHA-256 digest: RSASSA-PKCS1-v1_5 for rsa-sha256
// (RFC 6376 §3.3.1); Ed25519 over the digest itself for ed25519-sha256
// (RFC 8463 §3: "the signature is computed over the hash").
func signDigest(key crypto.Signer, digest []byte) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return rsaSign(k, crypto.SHA256, digest)
	case ed25519.PrivateKey:
		return ed25519.Sign(k, digest), nil
	}
	return nil, fmt.Errorf("unsupported signing key %T", key)
}
