package dkim

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
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
	s := &signature{f: f, bodyLength: -1, timestamp: -1, expiration: -1}
	tags, err := parseTagList(f.value())
	if err != nil {
		return s, permErr("signature syntax error: %v", err)
	}
	s.tags = tags
	s.domain, _ = tags.get("d")
	s.selector, _ = tags.get("s")
	s.domain = strings.ToLower(stripFWS(s.domain))
	s.selector = stripFWS(s.selector)

	for _, req := range []string{"v", "a", "b", "bh", "d", "h", "s"} {
		if _, ok := tags.get(req); !ok {
			return s, permErr("signature missing required tag %s=", req)
		}
	}
	if v, _ := tags.get("v"); v != "1" {
		return s, permErr("incompatible signature version v=%s", v)
	}
	a, _ := tags.get("a")
	s.algorithm = strings.ToLower(stripFWS(a))
	switch s.algorithm {
	case "rsa-sha256":
		s.keyType, s.hash = "rsa", crypto.SHA256
	case "ed25519-sha256":
		s.keyType, s.hash = "ed25519", crypto.SHA256
	case "rsa-sha1":
		// RFC 8301 §3.1: "Verifiers MUST NOT consider signatures using
		// rsa-sha1 as valid signatures."
		s.keyType, s.hash = "rsa", crypto.SHA1
		return s, permErr("rsa-sha1 is not accepted (RFC 8301)")
	default:
		return s, permErr("unsupported signature algorithm %s", s.algorithm)
	}
	if s.sig, err = decodeB64(tags, "b"); err != nil {
		return s, err
	}
	if s.bodyHash, err = decodeB64(tags, "bh"); err != nil {
		return s, err
	}
	s.headerCanon, s.bodyCanon = Simple, Simple
	if c, ok := tags.get("c"); ok {
		hc, bc, _ := strings.Cut(strings.ToLower(stripFWS(c)), "/")
		s.headerCanon = Canonicalization(hc)
		if bc != "" {
			s.bodyCanon = Canonicalization(bc)
		}
		for _, x := range []Canonicalization{s.headerCanon, s.bodyCanon} {
			if x != Simple && x != Relaxed {
				return s, permErr("unsupported canonicalization c=%s", c)
			}
		}
	}
	if s.domain == "" || s.selector == "" {
		return s, permErr("empty d= or s= tag")
	}
	// h= names cannot hold FWS, so each is trimmed rather than the whole
	// value copied without it.
	h, _ := tags.get("h")
	s.headers = make([]string, 0, strings.Count(h, ":")+1)
	for {
		name, rest, more := strings.Cut(h, ":")
		name = trimFWS(name)
		if name == "" {
			// A name with FWS inside matches no field, so it needs no
			// check of its own: the signature simply will not verify.
			return s, permErr("empty header name in h=")
		}
		s.headers = append(s.headers, lowerString(name))
		if !more {
			break
		}
		h = rest
	}
	// No limit in RFC 6376, but each entry costs a scan of the header: a
	// hostile h= of thousands of names must not buy that much work.
	if len(s.headers) > maxSignedHeaders {
		return s, permErr("too many header fields in h= (%d, at most %d)", len(s.headers), maxSignedHeaders)
	}
	// RFC 6376 §5.4: the From field MUST be signed.
	hasFrom := false
	for _, name := range s.headers {
		hasFrom = hasFrom || name == "from"
	}
	if !hasFrom {
		return s, permErr("From field not signed")
	}
	if q, ok := tags.get("q"); ok {
		okq := false
		for _, m := range splitColon(stripFWS(q)) {
			okq = okq || strings.ToLower(m) == "dns/txt"
		}
		if !okq {
			return s, permErr("unsupported query method q=%s", q)
		}
	}
	s.identity = "@" + s.domain
	if i, ok := tags.get("i"); ok {
		id, err := decodeQP(i)
		if err != nil {
			return s, permErr("invalid i= tag")
		}
		at := strings.LastIndexByte(id, '@')
		if at < 0 {
			return s, permErr("invalid i= tag: no @")
		}
		dom := strings.ToLower(id[at+1:])
		// §3.5 i=: the domain part MUST be the same as, or a subdomain
		// of, d=.
		if dom != s.domain && !strings.HasSuffix(dom, "."+s.domain) {
			return s, permErr("domain mismatch: i= is not within d=")
		}
		s.identity = id
	}
	for _, t := range []struct {
		name string
		dst  *int64
	}{{"l", &s.bodyLength}, {"t", &s.timestamp}, {"x", &s.expiration}} {
		v, ok := tags.get(t.name)
		if !ok {
			continue
		}
		n, err := parseDecimal(stripFWS(v))
		if err != nil {
			return s, permErr("invalid %s= tag", t.name)
		}
		*t.dst = n
	}
	if s.timestamp >= 0 && s.expiration >= 0 && s.expiration < s.timestamp {
		return s, permErr("x= is earlier than t=")
	}
	return s, nil
}

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

func decodeB64(tags tagList, name string) ([]byte, error) {
	v, _ := tags.get(name)
	// Strip FWS and decode in one buffer (b= is folded in nearly every
	// signature).
	var stack [1024]byte // b= of a 4096-bit key is 684 characters
	buf := stack[:0]
	for i := 0; i < len(v); i++ {
		if !isFWS(v[i]) {
			buf = append(buf, v[i])
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(buf)))
	n, err := base64.StdEncoding.Decode(out, buf)
	if err != nil || n == 0 {
		return nil, permErr("invalid %s= tag", name)
	}
	return out[:n], nil
}

// withoutB returns the signature field with the b= value removed, as it
// was hashed (RFC 6376 §3.7: "the value of the b= tag (including all
// surrounding whitespace) is deleted").
func withoutB(raw []byte) []byte {
	colon := bytes.IndexByte(raw, ':')
	out := make([]byte, 0, len(raw))
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
