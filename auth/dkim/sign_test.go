package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

var (
	testKeysOnce sync.Once
	testRSA      *rsa.PrivateKey
	testEd       ed25519.PrivateKey
)

// testKeys returns an RSA-2048 and an Ed25519 key made once per test
// binary (key generation is the slow part).
func testKeys(t testing.TB) (*rsa.PrivateKey, ed25519.PrivateKey) {
	testKeysOnce.Do(func() {
		var err error
		testRSA, err = GenerateRSAKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testEd, err = GenerateEd25519Key(rand.Reader)
		if err != nil {
			panic(err)
		}
	})
	return testRSA, testEd
}

// A message with the white space and line ends canonicalization cares
// about: folded and tab-separated header, trailing blanks, empty lines at
// the end of the body.
const testMessage = "Received: from a.example by b.example; Tue, 1 Dec 2026 10:00:00 +0000\r\n" +
	"Return-Path: <joe@example.com>\r\n" +
	"From: Joe SixPack <joe@football.example.com>\r\n" +
	"To: Suzie Q <suzie@shopping.example.net>\r\n" +
	"Subject: Is dinner ready?\r\n" +
	"  folded\tsubject line \r\n" +
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" +
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n" +
	"X-Custom: kept\r\n" +
	"\r\n" +
	"Hi.\r\n" +
	"\r\n" +
	"We lost the game.  Are you hungry yet?\t \r\n" +
	"   indented line\r\n" +
	"\r\n" +
	"Joe.\r\n" +
	"\r\n" +
	"\r\n"

// signerDNS publishes the key of each profile and returns a resolver.
func signerDNS(t testing.TB, profiles ...*SignProfile) *mapResolver {
	t.Helper()
	res := newMapResolver()
	for _, p := range profiles {
		rec, err := KeyRecordText(p.Key, RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res.add(p.Selector+"._domainkey."+p.Domain, rec)
	}
	return res
}

func signMessage(t testing.TB, msg string, now time.Time, profiles ...*SignProfile) string {
	t.Helper()
	sigs, err := Sign(strings.NewReader(msg), now, profiles...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(sigs, "") + msg
}

func verifyString(t testing.TB, res TXTResolver, msg string, now time.Time, prof VerifyProfile) []Result {
	t.Helper()
	v := &Verifier{Resolver: res, Now: fixedClock(now), Profile: prof}
	results, err := v.Verify(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// msgauthVerify is the second opinion: go-msgauth's verifier (which
// refuses l=, so it is asked only about signatures without one).
func msgauthVerify(t testing.TB, res *mapResolver, msg string) []error {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(strings.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(context.Background(), name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, v := range vs {
		errs = append(errs, v.Err)
	}
	return errs
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	rsaKey, edKey := testKeys(t)
	now := time.Now()
	for _, key := range []crypto.Signer{rsaKey, edKey} {
		for _, hc := range []Canonicalization{Simple, Relaxed} {
			for _, bc := range []Canonicalization{Simple, Relaxed} {
				for _, bl := range []BodyLength{BodyWholeImplied, BodyWholeAuto, BodyFirstN} {
					name := fmt.Sprintf("%T/%s-%s/l%d", key, hc, bc, bl)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						p := &SignProfile{Domain: "football.example.com", Selector: "sel", Key: key,
							HeaderCanon: hc, BodyCanon: bc, BodyLength: bl, BodyLengthBytes: 20}
						res := signerDNS(t, p)
						signed := signMessage(t, testMessage, now, p)
						r := verifyString(t, res, signed, now, DefaultVerifyProfile())
						if len(r) != 1 || r[0].Status != Pass {
							t.Fatalf("verify: %v\n%s", r, signed)
						}
						if got, want := r[0].Partial, bl == BodyFirstN; got != want {
							t.Errorf("partial = %v (%v), want %v", got, r[0], want)
						}
						if bl == BodyFirstN && r[0].String() != "pass (partially verified [20 bytes])" {
							t.Errorf("String() = %q", r[0].String())
						}
						if bl == BodyWholeImplied {
							if errs := msgauthVerify(t, res, signed); len(errs) != 1 || errs[0] != nil {
								t.Errorf("go-msgauth: %v\n%s", errs, signed)
							}
						}
						// Changes in transit: white space inside a header survives
						// relaxed only; appended body text survives l= only.
						ws := strings.Replace(signed, "Subject: Is dinner", "Subject:  Is   dinner", 1)
						if got := verifyString(t, res, ws, now, DefaultVerifyProfile())[0].Status; (got == Pass) != (hc == Relaxed) {
							t.Errorf("header white space change: %v", got)
						}
						appended := signed + "-- \r\nappended footer\r\n"
						got := verifyString(t, res, appended, now, DefaultVerifyProfile())[0]
						if (got.Status == Pass) != (bl != BodyWholeImplied) {
							t.Errorf("appended body: %v", got)
						}
						if bl == BodyWholeAuto && !got.Partial {
							t.Errorf("appended body under l=: %v, want partial", got)
						}
						// A profile that does not honour l= verifies the whole body.
						strict := DefaultVerifyProfile()
						strict.HonorBodyLength = false
						if got := verifyString(t, res, appended, now, strict)[0]; got.Status != HardFail {
							t.Errorf("appended body, l= not honoured: %v", got)
						}
					})
				}
			}
		}
	}
}

// A profile can sign with RSA and Ed25519 at once (RFC 8463 §1 suggests
// dual signing during the transition); both verify, here and in go-msgauth.
func TestDualSign(t *testing.T) {
	t.Parallel()
	rsaKey, edKey := testKeys(t)
	now := time.Now()
	pr := &SignProfile{Domain: "example.com", Selector: "rsa", Key: rsaKey}
	pe := &SignProfile{Domain: "example.com", Selector: "ed", Key: edKey}
	res := signerDNS(t, pr, pe)
	msg := strings.Replace(testMessage, "football.example.com>", "example.com>", 1)
	signed := signMessage(t, msg, now, pr, pe)
	r := verifyString(t, res, signed, now, DefaultVerifyProfile())
	if len(r) != 2 || r[0].Status != Pass || r[1].Status != Pass || r[0].Algorithm != "rsa-sha256" || r[1].Algorithm != "ed25519-sha256" {
		t.Fatalf("results = %+v", r)
	}
	if errs := msgauthVerify(t, res, signed); len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Errorf("go-msgauth: %v", errs)
	}
}

func hTag(t *testing.T, signed string) []string {
	t.Helper()
	fields, err := readHeader(bufioReader(signed))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSignature(fields[0])
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(s.headers))
	for i, n := range s.headers {
		names[i] = strings.ToLower(n)
	}
	return names
}

func TestHeaderSets(t *testing.T) {
	t.Parallel()
	rsaKey, _ := testKeys(t)
	now := time.Now()
	for _, tc := range []struct {
		name      string
		set       HeaderSet
		extra     []string
		signed    []string // must be in h=
		notSigned []string // must not be in h=
		breaks    string   // a field whose addition must break the signature
		harmless  string   // a field whose addition must not
	}{
		{"standard", HeadersStandard, nil,
			[]string{"from", "subject", "reply-to", "resent-message-id", "list-archive", "content-type"},
			[]string{"x-custom", "received", "return-path"},
			"Reply-To: evil@example.org", "X-Spam: yes"},
		{"standard+extra", HeadersStandard, []string{"X-Custom", "X-Absent"},
			[]string{"from", "x-custom", "x-absent"},
			[]string{"received"},
			"X-Absent: now present", "X-Spam: yes"},
		{"all", HeadersAll, nil,
			[]string{"from", "to", "subject", "date", "message-id", "x-custom"},
			[]string{"received", "return-path", "reply-to"},
			"", "Reply-To: other@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &SignProfile{Domain: "football.example.com", Selector: "s", Key: rsaKey, Headers: tc.set, ExtraHeaders: tc.extra}
			res := signerDNS(t, p)
			signed := signMessage(t, testMessage, now, p)
			h := map[string]bool{}
			for _, n := range hTag(t, signed) {
				h[n] = true
			}
			for _, n := range tc.signed {
				if !h[n] {
					t.Errorf("h= lacks %s: %v", n, hTag(t, signed))
				}
			}
			for _, n := range tc.notSigned {
				if h[n] {
					t.Errorf("h= has %s", n)
				}
			}
			if tc.set == HeadersStandard && len(hTag(t, signed)) < len(StandardHeaders) {
				t.Errorf("h= has %d names, want every standard name", len(hTag(t, signed)))
			}
			if r := verifyString(t, res, signed, now, DefaultVerifyProfile()); r[0].Status != Pass {
				t.Fatalf("verify: %v", r)
			}
			if errs := msgauthVerify(t, res, signed); errs[0] != nil {
				t.Errorf("go-msgauth: %v", errs)
			}
			// Fields are added at the end of the header block, as a later
			// hop or an attacker would.
			add := func(f string) string {
				return strings.Replace(signed, "\r\n\r\n", "\r\n"+f+"\r\n\r\n", 1)
			}
			if tc.breaks != "" {
				if r := verifyString(t, res, add(tc.breaks), now, DefaultVerifyProfile()); r[0].Status != HardFail {
					t.Errorf("adding %q: %v, want hardfail", tc.breaks, r[0])
				}
			}
			if r := verifyString(t, res, add(tc.harmless), now, DefaultVerifyProfile()); r[0].Status != Pass {
				t.Errorf("adding %q: %v, want pass", tc.harmless, r[0])
			}
		})
	}
}

func TestSignTags(t *testing.T) {
	t.Parallel()
	rsaKey, _ := testKeys(t)
	now := time.Now().Truncate(time.Second)
	p := &SignProfile{Domain: "football.example.com", Selector: "s", Key: rsaKey,
		Identity: "joe@football.example.com", TagQ: true, TagT: true, Expiration: DefaultExpiration, TagZ: true}
	res := signerDNS(t, p)
	signed := signMessage(t, testMessage, now, p)
	fields, _ := readHeader(bufioReader(signed))
	s, err := parseSignature(fields[0])
	if err != nil {
		t.Fatal(err)
	}
	if s.identity != "joe@football.example.com" || s.timestamp != now.Unix() || s.expiration != now.Unix()+31536000 {
		t.Errorf("i=%q t=%d x=%d", s.identity, s.timestamp, s.expiration)
	}
	if q, _ := s.tags.get("q"); q != "dns/txt" {
		t.Errorf("q=%q", q)
	}
	z, _ := s.tags.get("z")
	zd, err := decodeQP(strings.ReplaceAll(stripFWS(z), "|", "=7C"))
	if err != nil || !strings.Contains(zd, "From:Joe SixPack <joe@football.example.com>|") || !strings.Contains(zd, "Subject:Is dinner ready?  folded\tsubject line") {
		t.Errorf("z= decodes to %q (%v)", zd, err)
	}
	if r := verifyString(t, res, signed, now.Add(time.Hour), DefaultVerifyProfile()); r[0].Status != Pass || r[0].Identity != "joe@football.example.com" {
		t.Errorf("verify: %+v", r)
	}
	if errs := msgauthVerify(t, res, signed); errs[0] != nil {
		t.Errorf("go-msgauth: %v", errs)
	}
	// Without tags: none of i= q= t= x= z= l= is written.
	p2 := &SignProfile{Domain: "football.example.com", Selector: "s", Key: rsaKey}
	fields, _ = readHeader(bufioReader(signMessage(t, testMessage, now, p2)))
	s2, _ := parseSignature(fields[0])
	for _, n := range []string{"i", "q", "t", "x", "z", "l"} {
		if _, ok := s2.tags.get(n); ok {
			t.Errorf("%s= written without being asked for", n)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	t.Parallel()
	small, err := GenerateRSAKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := testKeys(t)
	for _, tc := range []struct {
		name string
		p    *SignProfile
		msg  string
		want string
	}{
		{"512-bit key", &SignProfile{Domain: "example.com", Selector: "s", Key: small}, testMessage, "RFC 8301"},
		{"no selector", &SignProfile{Domain: "example.com", Key: rsaKey}, testMessage, "selector"},
		{"bad canon", &SignProfile{Domain: "example.com", Selector: "s", Key: rsaKey, BodyCanon: NoFWS}, testMessage, "canonicalization"},
		{"no From", &SignProfile{Domain: "example.com", Selector: "s", Key: rsaKey}, "To: a@example.com\r\n\r\nbody\r\n", "no From"},
	} {
		_, err := Sign(strings.NewReader(tc.msg), time.Now(), tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Mail stored with bare LF signs and verifies as the CRLF mail it stands
// for.
func TestLFMessages(t *testing.T) {
	t.Parallel()
	rsaKey, _ := testKeys(t)
	now := time.Now()
	p := &SignProfile{Domain: "football.example.com", Selector: "s", Key: rsaKey, BodyCanon: Simple, HeaderCanon: Simple}
	res := signerDNS(t, p)
	lf := strings.ReplaceAll(testMessage, "\r\n", "\n")
	sigs, err := Sign(strings.NewReader(lf), now, p)
	if err != nil {
		t.Fatal(err)
	}
	if r := verifyString(t, res, sigs[0]+testMessage, now, DefaultVerifyProfile()); r[0].Status != Pass {
		t.Errorf("CRLF copy of LF-signed mail: %v", r)
	}
	if r := verifyString(t, res, strings.ReplaceAll(sigs[0], "\r\n", "\n")+lf, now, DefaultVerifyProfile()); r[0].Status != Pass {
		t.Errorf("LF mail: %v", r)
	}
}

func bufioReader(s string) *bufioR { return newBufioR(bytes.NewReader([]byte(s))) }

// Verification parses every signature into a recycled struct: whatever
// the previous signature set must not leak into the next one.
func TestParseSignatureReuse(t *testing.T) {
	t.Parallel()
	rsaKey, edKey := testKeys(t)
	now := time.Now()
	full := &SignProfile{Domain: "football.example.com", Selector: "rsa", Key: rsaKey, HeaderCanon: Relaxed, BodyCanon: Relaxed,
		BodyLength: BodyWholeAuto, Identity: "joe@football.example.com", TagQ: true, TagT: true, Expiration: time.Hour, TagZ: true}
	bare := &SignProfile{Domain: "example.org", Selector: "ed", Key: edKey, HeaderCanon: Simple, BodyCanon: Simple}
	var fields []field
	for _, p := range []*SignProfile{full, bare, full} {
		f, err := readHeader(bufioReader(signMessage(t, testMessage, now, p)))
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, f[0])
	}
	bad := field{raw: []byte("DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s; h=to; bh=AAAA; b=AAAA\r\n"), name: "dkim-signature"}
	fields = append(fields, bad, fields[1])
	var reused signature
	for i, f := range fields {
		fresh, wantErr := parseSignature(f)
		gotErr := parseSignatureInto(&reused, f)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("signature %d: error %v, fresh parse says %v", i, gotErr, wantErr)
		}
		got, want := reused, *fresh
		got.b64, want.b64 = [320]byte{}, [320]byte{}
		got.tagArr, want.tagArr = [16]tag{}, [16]tag{}
		got.hdrs, want.hdrs = [32]string{}, [32]string{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("signature %d parsed into a used struct:\n got %+v\nwant %+v", i, got, want)
		}
	}
}
