package dkim

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// signature is a parsed DKIM-Signature field (RFC 6376 §3.5).
type signature struct {
	f           field
	tags        tagList
	algorithm   string // a= as written, lower case
	keyType     string // "rsa" or "ed25519"
	hash        crypto.Hash
	headerCanon Canonicalization
	bodyCanon   Canonicalization
	domain      string
	selector    string
	identity    string // i=, decoded; defaults to "@" + d=
	headers     []string
	bodyLength  int64 // -1 when no l=
	timestamp   int64 // -1 when no t=
	expiration  int64 // -1 when no x=
	bodyHash    []byte
	sig         []byte
	// b64 holds the decoded b= and bh= of the usual key sizes (256 bytes
	// for RSA-2048 plus 32 for SHA-256), so decoding them allocates
	// nothing beyond the signature itself.
	b64 [320]byte
	// tagArr and hdrs back tags and headers for signatures of ordinary
	// size (the appliance's standard set oversigns 28 names).
	tagArr [16]tag
	hdrs   [32]string
}

// sigError is a signature that cannot be verified, with the result it
// earns.
type sigError struct {
	status Status
	reason string
}

func (e *sigError) Error() string { return e.reason }

func permErr(format string, a ...any) error {
	return &sigError{PermError, fmt.Sprintf(format, a...)}
}

// parseSignature checks a DKIM-Signature field as RFC 6376 §6.1.1
// requires: every required tag present, values well formed, i= inside d=,
// x= not before t=. Failures are permerror. Partially parsed results are
// returned so the caller can still report d= and s=.
func parseSignature(f field) (*signature, error) {
	s := new(signature)
	return s, parseSignatureInto(s, f)
}

// parseSignatureInto is parseSignature filling a signature the caller
// recycles.
func parseSignatureInto(s *signature, f field) error {
	// Field by field: the arrays need no clearing (they are appended to
	// afresh), and copying a whole zero value would be 1.7 KB of
	// pointer-carrying memory per signature.
	s.f, s.tags = f, nil
	s.algorithm, s.keyType, s.hash = "", "", 0
	s.headerCanon, s.bodyCanon = "", ""
	s.domain, s.selector, s.identity = "", "", ""
	s.headers = nil
	s.bodyLength, s.timestamp, s.expiration = -1, -1, -1
	s.bodyHash, s.sig = nil, nil
	tags, err := parseTagListInto(s.tagArr[:0], f.value())
	if err != nil {
		return permErr("signature syntax error: %v", err)
	}
	s.tags = tags
	// One pass over the tags picks out the ones RFC 6376 §3.5 defines;
	// unknown tags are ignored (§3.2). Tag names are case-sensitive.
	var t sigTags
	for _, tg := range tags {
		if i := sigTagIndex(tg.name); i >= 0 {
			t.val[i], t.have = tg.value, t.have|1<<i
		}
	}
	s.domain = strings.ToLower(stripFWS(t.get(tagD)))
	s.selector = stripFWS(t.get(tagS))

	for _, req := range [...]int{tagV, tagA, tagB, tagBH, tagD, tagH, tagS} {
		if t.have&(1<<req) == 0 {
			return permErr("signature missing required tag %s=", sigTagNames[req])
		}
	}
	if v := t.get(tagV); v != "1" {
		return permErr("incompatible signature version v=%s", v)
	}
	s.algorithm = strings.ToLower(stripFWS(t.get(tagA)))
	switch s.algorithm {
	case "rsa-sha256":
		s.keyType, s.hash = "rsa", crypto.SHA256
	case "ed25519-sha256":
		s.keyType, s.hash = "ed25519", crypto.SHA256
	case "rsa-sha1":
		// RFC 8301 §3.1: "Verifiers MUST NOT consider signatures using
		// rsa-sha1 as valid signatures."
		s.keyType, s.hash = "rsa", crypto.SHA1
		return permErr("rsa-sha1 is not accepted (RFC 8301)")
	default:
		return permErr("unsupported signature algorithm %s", s.algorithm)
	}
	if s.sig, err = decodeB64(t.get(tagB), "b", s.b64[:0]); err != nil {
		return err
	}
	off := min(len(s.sig), len(s.b64)) // a larger b= was decoded elsewhere
	if s.bodyHash, err = decodeB64(t.get(tagBH), "bh", s.b64[off:off]); err != nil {
		return err
	}
	s.headerCanon, s.bodyCanon = Simple, Simple
	if c, ok := t.lookup(tagC); ok {
		hc, bc, _ := strings.Cut(strings.ToLower(stripFWS(c)), "/")
		s.headerCanon = Canonicalization(hc)
		if bc != "" {
			s.bodyCanon = Canonicalization(bc)
		}
		for _, x := range []Canonicalization{s.headerCanon, s.bodyCanon} {
			if x != Simple && x != Relaxed {
				return permErr("unsupported canonicalization c=%s", c)
			}
		}
	}
	if s.domain == "" || s.selector == "" {
		return permErr("empty d= or s= tag")
	}
	// h= names cannot hold FWS, so each is trimmed rather than the whole
	// value copied without it. Names keep their case: hashHeaders matches
	// them case-insensitively (RFC 5322 §1.2.2), so nothing is copied.
	h := t.get(tagH)
	if n := strings.Count(h, ":") + 1; n <= len(s.hdrs) {
		s.headers = s.hdrs[:0]
	} else {
		s.headers = make([]string, 0, n)
	}
	for {
		name, rest, more := strings.Cut(h, ":")
		name = trimFWS(name)
		if name == "" {
			// A name with FWS inside matches no field, so it needs no
			// check of its own: the signature simply will not verify.
			return permErr("empty header name in h=")
		}
		s.headers = append(s.headers, name)
		if !more {
			break
		}
		h = rest
	}
	// No limit in RFC 6376, but each entry costs a scan of the header: a
	// hostile h= of thousands of names must not buy that much work.
	if len(s.headers) > maxSignedHeaders {
		return permErr("too many header fields in h= (%d, at most %d)", len(s.headers), maxSignedHeaders)
	}
	// RFC 6376 §5.4: the From field MUST be signed.
	hasFrom := false
	for _, name := range s.headers {
		hasFrom = hasFrom || len(name) == 4 && strings.EqualFold(name, "from")
	}
	if !hasFrom {
		return permErr("From field not signed")
	}
	if q, ok := t.lookup(tagQ); ok {
		okq := false
		for _, m := range splitColon(stripFWS(q)) {
			okq = okq || strings.ToLower(m) == "dns/txt"
		}
		if !okq {
			return permErr("unsupported query method q=%s", q)
		}
	}
	s.identity = "@" + s.domain
	if i, ok := t.lookup(tagI); ok {
		id, err := decodeQP(i)
		if err != nil {
			return permErr("invalid i= tag")
		}
		at := strings.LastIndexByte(id, '@')
		if at < 0 {
			return permErr("invalid i= tag: no @")
		}
		dom := strings.ToLower(id[at+1:])
		// §3.5 i=: the domain part MUST be the same as, or a subdomain
		// of, d=.
		if dom != s.domain && !strings.HasSuffix(dom, "."+s.domain) {
			return permErr("domain mismatch: i= is not within d=")
		}
		s.identity = id
	}
	for _, n := range [...]struct {
		tag int
		dst *int64
	}{{tagL, &s.bodyLength}, {tagT, &s.timestamp}, {tagX, &s.expiration}} {
		v, ok := t.lookup(n.tag)
		if !ok {
			continue
		}
		d, err := parseDecimal(stripFWS(v))
		if err != nil {
			return permErr("invalid %s= tag", sigTagNames[n.tag])
		}
		*n.dst = d
	}
	if s.timestamp >= 0 && s.expiration >= 0 && s.expiration < s.timestamp {
		return permErr("x= is earlier than t=")
	}
	return nil
}

// The tags of a DKIM-Signature (RFC 6376 §3.5), by index into sigTags.
const (
	tagV = iota
	tagA
	tagB
	tagBH
	tagC
	tagD
	tagH
	tagI
	tagL
	tagQ
	tagS
	tagT
	tagX
	tagZ
)

var sigTagNames = [...]string{"v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z"}

func sigTagIndex(name string) int {
	switch len(name) {
	case 1:
		switch name[0] {
		case 'v':
			return tagV
		case 'a':
			return tagA
		case 'b':
			return tagB
		case 'c':
			return tagC
		case 'd':
			return tagD
		case 'h':
			return tagH
		case 'i':
			return tagI
		case 'l':
			return tagL
		case 'q':
			return tagQ
		case 's':
			return tagS
		case 't':
			return tagT
		case 'x':
			return tagX
		case 'z':
			return tagZ
		}
	case 2:
		if name == "bh" {
			return tagBH
		}
	}
	return -1
}

// sigTags holds the known tags' values and which of them are present
// (parseTagList has refused duplicates).
type sigTags struct {
	val  [len(sigTagNames)]string
	have uint32
}

func (t *sigTags) lookup(i int) (string, bool) { return t.val[i], t.have&(1<<i) != 0 }
func (t *sigTags) get(i int) string            { return t.val[i] }

// maxSignedHeaders bounds h=; real signers list a few dozen names, even
// when they oversign.
const maxSignedHeaders = 512

// parseDecimal accepts 1*76DIGIT (RFC 6376 §3.5 for t=, x= and l=).
func parseDecimal(s string) (int64, error) {
	if s == "" || len(s) > 76 {
		return 0, errors.New("bad number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad number")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Larger than int64: far beyond any body or date; clamp.
		return 1<<63 - 1, nil
	}
	return n, nil
}

// decodeB64 decodes the base64 value of a tag into dst (allocating only
// when dst is too small). The value has passed checkTagValue, so every
// byte at or below SP is FWS (RFC 6376 §3.2), which base64 values may hold
// anywhere and which is dropped before decoding.
func decodeB64(v, name string, dst []byte) ([]byte, error) {
	var stack [1024]byte // b= of a 4096-bit key is 684 characters
	buf := stack[:0]
	for i := 0; i < len(v); {
		j := visibleRunString(v, i)
		buf = append(buf, v[i:j]...)
		for j < len(v) && v[j] <= ' ' {
			j++
		}
		i = j
	}
	need := base64.StdEncoding.DecodedLen(len(buf))
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	out := dst[:need]
	n, err := base64.StdEncoding.Decode(out, buf)
	if err != nil || n == 0 {
		return nil, permErr("invalid %s= tag", name)
	}
	return out[:n:n], nil
}

// withoutB appends to dst the signature field with the b= value removed,
// as it was hashed (RFC 6376 §3.7: "the value of the b= tag (including all
// surrounding whitespace) is deleted").
func withoutB(dst, raw []byte) []byte {
	colon := bytes.IndexByte(raw, ':')
	out := slices.Grow(dst, len(raw))
	out = append(out, raw[:colon+1]...)
	for i := colon + 1; i < len(raw); {
		j := bytes.IndexByte(raw[i:], ';')
		if j < 0 {
			j = len(raw)
		} else {
			j += i
		}
		spec := raw[i:j]
		eq := bytes.IndexByte(spec, '=')
		if eq >= 0 && isTagB(spec[:eq]) {
			out = append(out, spec[:eq+1]...)
		} else {
			out = append(out, spec...)
		}
		if j < len(raw) {
			out = append(out, ';')
		}
		i = j + 1
	}
	return out
}

// isTagB reports whether a tag name, with its surrounding FWS, is "b".
func isTagB(name []byte) bool {
	k := 0
	for _, c := range name {
		if isFWS(c) {
			continue
		}
		if c != 'b' || k > 0 {
			return false
		}
		k++
	}
	return k == 1
}
