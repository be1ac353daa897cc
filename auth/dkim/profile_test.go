package dkim

import (
	"context"
	"crypto"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"
)

func keyRecord(t testing.TB, key crypto.Signer, o RecordOptions) string {
	t.Helper()
	s, err := KeyRecordText(key, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Each verification-profile limit and key flag, one row per case.
func TestVerifyProfileLimits(t *testing.T) {
	t.Parallel()
	rsa2048, ed := testKeys(t)
	k1024, err := GenerateRSAKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k512, err := GenerateRSAKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		key     crypto.Signer
		publish string // key record served; "" = the signing key's own
		ident   string // i=
		expire  time.Duration
		sigs    int // signatures on the message
		prof    func(*VerifyProfile)
		at      time.Duration // verifier clock minus signing time
		want    []Status
		reason  string
	}{
		{name: "defaults pass 2048", key: rsa2048, want: []Status{Pass}},
		{name: "defaults pass 1024", key: k1024, want: []Status{Pass}},
		{name: "ed25519 ignores RSA bounds", key: ed, prof: func(p *VerifyProfile) { p.MinKeyBits = 2048 }, want: []Status{Pass}},
		{name: "key too small for profile", key: k1024, prof: func(p *VerifyProfile) { p.MinKeyBits = 1536 },
			want: []Status{PermError}, reason: "key too small: 1024 bits, minimum 1536"},
		{name: "512-bit key fails even when the profile allows it (RFC 8301)", key: k1024,
			publish: keyRecord(t, k512, RecordOptions{}), prof: func(p *VerifyProfile) { p.MinKeyBits = 512 },
			want: []Status{PermError}, reason: "key too small: 512 bits, minimum 1024"},
		{name: "key too large", key: rsa2048, prof: func(p *VerifyProfile) { p.MaxKeyBits = 1536 },
			want: []Status{PermError}, reason: "key too large: 2048 bits, maximum 1536"},
		{name: "too many signatures", key: ed, sigs: 3, prof: func(p *VerifyProfile) { p.MaxSignatures = 2 },
			want: []Status{Pass, Pass, Neutral}, reason: "more than 2 signatures"},
		{name: "default limit is 5", key: ed, sigs: 6,
			want: []Status{Pass, Pass, Pass, Pass, Pass, Neutral}},
		{name: "signed in the future within skew", key: ed, at: -50 * time.Second, want: []Status{Pass}},
		{name: "signed in the future beyond skew", key: ed, at: -70 * time.Second,
			want: []Status{PermError}, reason: "timestamp in the future"},
		{name: "skew 10s", key: ed, at: -20 * time.Second, prof: func(p *VerifyProfile) { p.ClockSkew = 10 * time.Second },
			want: []Status{PermError}, reason: "timestamp in the future"},
		{name: "expired within skew", key: ed, expire: time.Hour, at: time.Hour + 30*time.Second, want: []Status{Pass}},
		{name: "expired", key: ed, expire: time.Hour, at: time.Hour + 61*time.Second,
			want: []Status{PermError}, reason: "signature expired"},
		{name: "expired, skew 10s", key: ed, expire: time.Hour, at: time.Hour + 30*time.Second,
			prof: func(p *VerifyProfile) { p.ClockSkew = 10 * time.Second }, want: []Status{PermError}, reason: "signature expired"},
		{name: "t=y testing key skips verification", key: ed, publish: keyRecord(t, ed, RecordOptions{Testing: true}),
			want: []Status{Neutral}, reason: "testing mode"},
		{name: "t=y even on a bad signature", key: ed, publish: keyRecord(t, k1024, RecordOptions{Testing: true}),
			want: []Status{Neutral}, reason: "testing mode"},
		{name: "t=s with i= in a subdomain", key: ed, ident: "@mail.example.com",
			publish: keyRecord(t, ed, RecordOptions{Strict: true}), want: []Status{PermError}, reason: "t=s"},
		{name: "t=s with i= at d=", key: ed, ident: "joe@example.com",
			publish: keyRecord(t, ed, RecordOptions{Strict: true}), want: []Status{Pass}},
		{name: "wrong key", key: ed, publish: keyRecord(t, testEd2(t), RecordOptions{}),
			want: []Status{HardFail}, reason: "signature did not verify"},
		{name: "key type mismatch", key: ed, publish: keyRecord(t, k1024, RecordOptions{}),
			want: []Status{PermError}, reason: "inappropriate key algorithm"},
		{name: "revoked key", key: ed, publish: "v=DKIM1; k=ed25519; p=", want: []Status{PermError}, reason: "key revoked"},
		{name: "key h= excludes sha256", key: rsa2048, publish: "v=DKIM1; h=sha1; " + strings.Split(keyRecord(t, rsa2048, RecordOptions{}), "; ")[1],
			want: []Status{PermError}, reason: "inappropriate hash algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := max(tc.sigs, 1)
			var profiles []*SignProfile
			for i := range n {
				profiles = append(profiles, &SignProfile{Domain: "example.com", Selector: fmt.Sprintf("s%d", i),
					Key: tc.key, Identity: tc.ident, TagT: true, Expiration: tc.expire})
			}
			res := signerDNS(t, profiles...)
			if tc.publish != "" {
				res.records["s0._domainkey.example.com"] = []string{tc.publish}
			}
			msg := strings.Replace(testMessage, "football.example.com>", "example.com>", 1)
			signed := signMessage(t, msg, t0, profiles...)
			prof := DefaultVerifyProfile()
			if tc.prof != nil {
				tc.prof(&prof)
			}
			r := verifyString(t, res, signed, t0.Add(tc.at), prof)
			if len(r) != len(tc.want) {
				t.Fatalf("results %v, want %v", r, tc.want)
			}
			for i := range r {
				if r[i].Status != tc.want[i] {
					t.Errorf("signature %d: %v, want %v", i, r[i], tc.want[i])
				}
			}
			if last := r[len(r)-1]; !strings.Contains(last.Reason, tc.reason) {
				t.Errorf("reason %q, want %q", last.Reason, tc.reason)
			}
			if tc.want[len(tc.want)-1] == Neutral && tc.sigs > 0 && res.queries != len(tc.want)-1 {
				t.Errorf("%d key queries: signatures over the limit must not be looked up", res.queries)
			}
		})
	}
}

func testEd2(t testing.TB) crypto.Signer {
	k, err := GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// blockingResolver never answers; it returns when the context ends.
type blockingResolver struct{}

func (blockingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

type errResolver struct{ err error }

func (e errResolver) LookupTXT(context.Context, string) ([]string, error) { return nil, e.err }

// Key lookup failures: timeout and SERVFAIL are temporary, a missing
// record is permanent.
func TestKeyLookupFailures(t *testing.T) {
	t.Parallel()
	_, ed := testKeys(t)
	now := time.Now()
	p := &SignProfile{Domain: "example.com", Selector: "s", Key: ed}
	signed := signMessage(t, strings.Replace(testMessage, "football.example.com>", "example.com>", 1), now, p)
	for _, tc := range []struct {
		name   string
		res    TXTResolver
		prof   func(*VerifyProfile)
		want   Status
		reason string
	}{
		{"timeout", blockingResolver{}, func(p *VerifyProfile) { p.KeyQueryTimeout = 20 * time.Millisecond }, TempError, "timed out"},
		{"servfail", errResolver{errServFail}, nil, TempError, "key unavailable"},
		{"nxdomain", newMapResolver(), nil, PermError, "no key for signature"},
		{"no resolver", nil, nil, TempError, "no resolver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prof := DefaultVerifyProfile()
			if tc.prof != nil {
				tc.prof(&prof)
			}
			v := &Verifier{Resolver: tc.res, Now: fixedClock(now), Profile: prof}
			r, err := v.Verify(context.Background(), strings.NewReader(signed))
			if err != nil {
				t.Fatal(err)
			}
			if r[0].Status != tc.want || !strings.Contains(r[0].Reason, tc.reason) {
				t.Errorf("%v, want %v (%q)", r[0], tc.want, tc.reason)
			}
		})
	}
}

// The SMTP action follows the verdict: temporary failures take the
// tempfail action, hardfail and permerror the permfail one, and pass,
// neutral (t=y) and none are always accepted.
func TestSMTPActions(t *testing.T) {
	t.Parallel()
	reject := DefaultVerifyProfile()
	reject.TempFail.Reject = true
	reject.PermFail.Reject = true
	accept := DefaultVerifyProfile()
	for _, tc := range []struct {
		prof   VerifyProfile
		status Status
		reject bool
		code   int
	}{
		{reject, TempError, true, 451},
		{reject, PermError, true, 550},
		{reject, HardFail, true, 550},
		{reject, Pass, false, 0},
		{reject, Neutral, false, 0},
		{reject, None, false, 0},
		{accept, TempError, false, 451},
		{accept, HardFail, false, 550},
	} {
		a, ok := tc.prof.Action(Result{Status: tc.status})
		if ok != tc.reject || (tc.code != 0 && a.Code != tc.code) {
			t.Errorf("%v (reject profile %v): action %+v ok=%v", tc.status, tc.prof.PermFail.Reject, a, ok)
		}
	}
}

func TestVerdictAndAuthResults(t *testing.T) {
	t.Parallel()
	rs := []Result{
		{Status: HardFail, Reason: "body hash did not verify", Domain: "a.example", Identity: "@a.example"},
		{Status: Pass, Partial: true, BodyLength: 1000, Domain: "example.com", Identity: "@example.com"},
	}
	if v := Verdict(rs); v.Domain != "example.com" || v.String() != "pass (partially verified [1000 bytes])" {
		t.Errorf("Verdict = %v", v)
	}
	if v := Verdict(nil); v.Status != None {
		t.Errorf("Verdict(nil) = %v", v)
	}
	got := AuthenticationResults("mx.example.net", rs)
	want := `mx.example.net; dkim=fail reason="body hash did not verify" header.d=a.example header.i=@a.example; dkim=pass reason="partially verified [1000 bytes]" header.d=example.com header.i=@example.com`
	if got != want {
		t.Errorf("Authentication-Results\n got %s\nwant %s", got, want)
	}
	if got := AuthenticationResults("mx.example.net", []Result{{Status: None}}); got != "mx.example.net; dkim=none" {
		t.Errorf("none: %q", got)
	}
}
