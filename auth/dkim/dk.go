package dkim

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// DomainKeys (RFC 4870, historic) is kept because the appliance signs with
// it. It differs from DKIM in ways that matter here: the signature covers
// the header fields that follow it (all of them, or those named in h=), the
// body hash is not separate (headers, an empty line and the body form one
// rsa-sha1 input), canonicalization is "simple" or "nofws", and the
// identity is the Sender: field if present, else From:.

// DKProfile is one DomainKeys signing profile.
type DKProfile struct {
	Domain   string // d=
	Selector string // s=
	Key      *rsa.PrivateKey
	Canon    Canonicalization // Simple or NoFWS; empty means Simple
	// Headers, when not nil, is written as h= and limits the signed fields
	// to those names; nil signs every field and writes no h= (RFC 4870
	// §3.3: h= is optional).
	Headers []string
}

func (p *DKProfile) canon() Canonicalization {
	if p.Canon == "" {
		return Simple
	}
	return p.Canon
}

// SignDomainKeys reads the message once and returns the DomainKey-Signature
// field, ending in CRLF, to prepend to it (RFC 4870 §3.3, §3.5).
func SignDomainKeys(r io.Reader, p *DKProfile) (string, error) {
	if p.Domain == "" || p.Selector == "" || p.Key == nil {
		return "", errors.New("profile needs a domain, a selector and a key")
	}
	c := p.canon()
	if c != Simple && c != NoFWS {
		return "", fmt.Errorf("DomainKeys canonicalization must be simple or nofws, not %q", c)
	}
	br := getReader(r)
	defer putReader(br)
	hb, fields, err := readPooledHeader(br)
	defer hb.release()
	if err != nil {
		return "", err
	}
	var names []string
	if p.Headers != nil {
		names = []string{}
		for _, n := range p.Headers {
			names = append(names, strings.ToLower(strings.TrimSpace(n)))
		}
	}
	h := sha1.New()
	hashDKHeaders(h, fields, names, c)
	if err := hashDKBody(br, h, c); err != nil {
		return "", err
	}
	sig, err := rsaSign(p.Key, crypto.SHA1, h.Sum(nil))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("DomainKey-Signature: a=rsa-sha1; c=" + string(c) + "; d=" + p.Domain + "; ")
	if p.Headers != nil {
		b.WriteString("h=" + strings.ToLower(strings.Join(p.Headers, ":")) + "; ")
	}
	b.WriteString("q=dns; s=" + p.Selector + "; b=" + base64.StdEncoding.EncodeToString(sig) + "\r\n")
	return b.String(), nil
}

// hashDKHeaders writes the signed fields: without h=, every field in
// message order; with h=, for each name in h= order, every instance of it
// top down. RFC 4870 §3.3 is silent on the order, but the deployed signers
// hash in h= order (Gmail's dk_headers_1 in the Mail::DKIM corpus verifies
// only that way, with h= naming Received once for two instances). The empty
// line that separates header and body is written by newDKBodyCanon.
func hashDKHeaders(h io.Writer, fields []field, names []string, c Canonicalization) {
	var buf []byte
	write := func(f field) {
		if c == NoFWS {
			buf = canonHeaderNoFWS(buf[:0], f.raw)
			h.Write(buf)
		} else {
			h.Write(f.raw)
		}
	}
	if names == nil {
		for _, f := range fields {
			write(f)
		}
		return
	}
	done := map[string]bool{}
	for _, n := range names {
		if done[n] {
			continue
		}
		done[n] = true
		for _, f := range fields {
			if f.name == n {
				write(f)
			}
		}
	}
}

// newDKBodyCanon starts a DomainKeys body. RFC 4870 §3.4 presents the
// message as one sequence of lines "from the first line of the headers to
// the last line of the body" and ignores trailing empty lines, so the line
// separating header and body is itself an empty line held back until body
// content follows: an empty body hashes no separator (as Mail::DKIM does,
// which the msg4 vectors show).
func newDKBodyCanon(c Canonicalization, h io.Writer) *bodyCanon {
	mode := bodyDKSimple
	if c == NoFWS {
		mode = bodyDKNoFWS
	}
	bc := newBodyCanon(mode, h, -1)
	bc.held = 1
	return bc
}

func hashDKBody(br *bufio.Reader, h io.Writer, c Canonicalization) error {
	bc := newDKBodyCanon(c, h)
	if err := readBody(br, bc); err != nil {
		return err
	}
	return bc.Close()
}

// VerifyDomainKeys checks the DomainKey-Signature fields of a message
// (RFC 4870 §3.5) and returns one result per signature, or a single None.
// The profile's key-size limits do not apply: RFC 8301 postdates
// DomainKeys, which was deployed with 512-bit keys. A t=y key is reported
// (Testing) but still verified, as RFC 4870 verifiers do; DomainKeys
// results are informational since the appliance verifies DKIM only.
func (v *Verifier) VerifyDomainKeys(ctx context.Context, r io.Reader) ([]Result, error) {
	br := getReader(r)
	defer putReader(br)
	hb, fields, err := readPooledHeader(br)
	defer hb.release()
	if err != nil {
		return nil, err
	}
	limit := v.Profile.MaxSignatures
	if limit <= 0 {
		limit = 5
	}
	var sigs []*dkSig
	var bodies []io.Writer
	for i, f := range fields {
		if f.name != "domainkey-signature" {
			continue
		}
		s := &dkSig{res: Result{DomainKeys: true, Algorithm: "rsa-sha1"}}
		sigs = append(sigs, s)
		if len(sigs) > limit {
			s.res.Status, s.res.Reason = Neutral, fmt.Sprintf("not verified: more than %d signatures", limit)
			s.done = true
			continue
		}
		if err := s.parse(f, fields, i); err != nil {
			s.res.Status, s.res.Reason = PermError, err.Error()
			s.done = true
			continue
		}
		s.h = sha1.New()
		hashDKHeaders(s.h, fields[i+1:], s.names, s.c)
		s.body = newDKBodyCanon(s.c, s.h)
		bodies = append(bodies, s.body)
	}
	if len(sigs) == 0 {
		// Unsigned: the body is not needed, so it is not read.
		return []Result{{Status: None, Reason: "no signature", DomainKeys: true}}, nil
	}
	if err := readBody(br, io.MultiWriter(bodies...)); err != nil {
		return nil, err
	}
	out := make([]Result, len(sigs))
	for i, s := range sigs {
		if !s.done {
			s.body.Close()
			s.finish(ctx, v)
		}
		out[i] = s.res
	}
	return out, nil
}

type dkSig struct {
	res      Result
	done     bool
	c        Canonicalization
	names    []string
	signed   map[string]bool
	sig      []byte
	identity string
	h        hash.Hash
	body     *bodyCanon
}

// parse reads the DomainKey-Signature tags (RFC 4870 §3.3) and finds the
// sending address, which must be among the signed fields: a Sender: or
// From: added above the signature, or left out of h=, would let anyone
// claim the domain (RFC 4870 §3.5 step 2).
func (s *dkSig) parse(f field, fields []field, at int) error {
	tags, err := parseTagList(f.value())
	if err != nil {
		return fmt.Errorf("signature syntax error: %v", err)
	}
	d, _ := tags.get("d")
	sel, _ := tags.get("s")
	s.res.Domain, s.res.Selector = strings.ToLower(stripFWS(d)), stripFWS(sel)
	for _, req := range []string{"b", "d", "s"} {
		if _, ok := tags.get(req); !ok {
			return fmt.Errorf("signature missing required tag %s=", req)
		}
	}
	if a, ok := tags.get("a"); ok && strings.ToLower(a) != "rsa-sha1" {
		return fmt.Errorf("unsupported algorithm a=%s", a)
	}
	// q= defaults to dns (RFC 4870 §3.3; Yahoo's signatures, good_dk_2 in
	// the Mail::DKIM corpus, carry none); an empty or other value is
	// refused.
	if q, ok := tags.get("q"); ok && strings.ToLower(q) != "dns" {
		return fmt.Errorf("unsupported query method q=%s", q)
	}
	s.c = Simple
	if c, ok := tags.get("c"); ok {
		s.c = Canonicalization(strings.ToLower(c))
		if s.c != Simple && s.c != NoFWS {
			return fmt.Errorf("unsupported canonicalization c=%s", c)
		}
	}
	if h, ok := tags.get("h"); ok {
		s.names = []string{}
		s.signed = map[string]bool{}
		for _, n := range splitColon(stripFWS(h)) {
			s.names = append(s.names, strings.ToLower(n))
			s.signed[strings.ToLower(n)] = true
		}
	}
	b, _ := tags.get("b")
	if s.sig, err = base64.StdEncoding.DecodeString(stripFWS(b)); err != nil || len(s.sig) == 0 {
		return errors.New("invalid b= tag")
	}
	if s.res.Domain == "" || s.res.Selector == "" {
		return errors.New("empty d= or s= tag")
	}
	// The sending address is the first signed Sender:, else the first
	// signed From: (RFC 4870 §3.5 step 2). Unsigned fields are ignored, as
	// if absent, so a Sender: added in transit cannot change the identity
	// (Mail::DKIM does the same; see dk_headers_2 in its corpus).
	sender := -1
	for _, want := range []string{"sender", "from"} {
		for i := at + 1; i < len(fields) && sender < 0; i++ {
			if fields[i].name == want && (s.names == nil || s.signed[want]) {
				sender = i
			}
		}
	}
	if sender < 0 {
		return errors.New("no signed sender address (neither Sender: nor From:)")
	}
	s.identity = addressOf(fields[sender].value())
	atSign := strings.LastIndexByte(s.identity, '@')
	if atSign < 0 {
		return errors.New("sender address has no domain")
	}
	dom := strings.ToLower(s.identity[atSign+1:])
	if dom != s.res.Domain && !strings.HasSuffix(dom, "."+s.res.Domain) {
		return fmt.Errorf("d=%s does not match sender domain %s", s.res.Domain, dom)
	}
	s.res.Identity = s.identity
	return nil
}

func (s *dkSig) finish(ctx context.Context, v *Verifier) {
	s.done = true
	key, err := v.lookupKey(ctx, s.res.Selector, s.res.Domain, ParseDKKeyRecord)
	if err != nil {
		var se *sigError
		errors.As(err, &se)
		s.res.Status, s.res.Reason = se.status, se.reason
		return
	}
	s.res.KeyBits = key.Bits()
	s.res.Testing = key.Testing()
	// g= (RFC 4870 §3.2.3): when not empty, the local part must match it.
	// RFC 4870 says exactly; deployed verifiers (Mail::DKIM, and RFC 4871
	// for DKIM) accept one "*" wildcard, and keys were published that way.
	if key.HasGranularity && key.Granularity != "" {
		local := s.identity[:strings.LastIndexByte(s.identity, '@')]
		if !globMatch(key.Granularity, local) {
			s.res.Status, s.res.Reason = PermError, "key granularity g= does not match the sender"
			return
		}
	}
	if rsaVerify(key.Key.(*rsa.PublicKey), crypto.SHA1, s.h.Sum(nil), s.sig) != nil {
		s.res.Status, s.res.Reason = HardFail, "signature did not verify"
		return
	}
	s.res.Status, s.res.Reason = Pass, "signature verified"
}

// addressOf extracts the addr-spec of a mailbox field value: the part in
// angle brackets, or the value itself (RFC 5322 §3.4), comments dropped.
func addressOf(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
	}
	if i := strings.IndexByte(v, '('); i >= 0 {
		v = v[:i]
	}
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// globMatch matches s against a pattern with at most one "*" wildcard.
func globMatch(pattern, s string) bool {
	pre, post, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(pre)+len(post) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, post)
}
