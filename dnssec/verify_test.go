package dnssec

import (
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestVerifyRRset has one case per check of RFC 4035 §5.3 (and the traps of
// DANE.md §0 item 5).
func TestVerifyRRset(t *testing.T) {
	t.Parallel()
	zsk := newKey(t, "example.com.", dns.ECDSAP256SHA256, 256, 0)
	other := newKey(t, "example.com.", dns.ECDSAP256SHA256, 256, 1)
	evil := newKey(t, "evilexample.com.", dns.ECDSAP256SHA256, 256, 0)
	a := rrs(t, "www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2")
	good := sign(t, zsk, a, 0, 0)
	now := uint32(testNow.Unix())

	wild := rrs(t, "*.example.com. 300 IN TXT \"w\"")
	wsig := sign(t, zsk, wild, 0, 0)
	expanded, esig := rename(wild, wsig, "a.b.example.com.")

	revoked := newKey(t, "example.com.", dns.ECDSAP256SHA256, 256|dns.REVOKE, 0)
	nonZone := newKey(t, "example.com.", dns.ECDSAP256SHA256, 0, 0)

	ed448 := fakeKey("example.com.", dns.ED448, 256)
	bigE := rsaKeyWithExponent("example.com.", 256)

	corrupt := *good
	corrupt.Signature = good.Signature[:10] + strings.Repeat("A", len(good.Signature)-12) + "=="

	upper := rrs(t, "WWW.Example.COM. 300 IN A 192.0.2.1", "WWW.Example.COM. 300 IN A 192.0.2.2")
	upperSig := *good
	upperSig.Hdr.Name = "WWW.Example.COM."
	upperSig.SignerName = "EXAMPLE.com."

	evilA := rrs(t, "www.evilexample.com. 300 IN A 192.0.2.66")
	// The string-suffix trap: example.com.'s key signs a name of
	// evilexample.com.; miekg/dns RRSIG.Verify accepts it.
	evilSig := sign(t, zsk, evilA, 0, 0)
	if err := evilSig.Verify(zsk.key, evilA); err != nil {
		t.Fatalf("trap precondition: miekg Verify should accept the suffix signer, got %v", err)
	}
	// A key of evilexample.com. cannot speak for example.com.
	byEvil := sign(t, evil, a, 0, 0)

	tooMany := dns.Copy(good).(*dns.RRSIG)
	tooMany.Labels = 4

	cases := []struct {
		name     string
		rrset    []dns.RR
		sigs     []*dns.RRSIG
		keys     []*dns.DNSKEY
		zone     string
		sec      Security
		reason   string
		wildcard string
	}{
		{"5.3 valid signature", a, []*dns.RRSIG{good}, keysOf(zsk), "example.com.", Secure, "", ""},
		{"5.3 owner and signer compared case-insensitively", upper, []*dns.RRSIG{&upperSig}, keysOf(zsk), "Example.COM", Secure, "", ""},
		{"5.3 second signature verifies after a bad one", a, []*dns.RRSIG{&corrupt, good}, keysOf(zsk), "example.com.", Secure, "", ""},
		{"5.3 no signatures", a, nil, keysOf(zsk), "example.com.", Bogus, "no signatures", ""},
		{"5.3 signature of another type only", a, []*dns.RRSIG{wsig}, keysOf(zsk), "example.com.", Bogus, "no signatures", ""},
		{"5.3.1 signer must be the zone (suffix trap)", evilA, []*dns.RRSIG{evilSig}, keysOf(zsk), "example.com.", Bogus, "signer is not the zone", ""},
		{"5.3.1 signer evilexample.com. for zone example.com.", a, []*dns.RRSIG{byEvil}, keysOf(zsk, evil), "example.com.", Bogus, "signer is not the zone", ""},
		{"5.3.1 labels above owner count", a, []*dns.RRSIG{tooMany}, keysOf(zsk), "example.com.", Bogus, "RRSIG labels", ""},
		{"5.3.1 key tag and algorithm must match a DNSKEY", a, []*dns.RRSIG{good}, keysOf(other), "example.com.", Bogus, "no matching key", ""},
		{"5.3.1 zone flag required", a, []*dns.RRSIG{sign(t, nonZone, a, 0, 0)}, keysOf(nonZone), "example.com.", Bogus, "no matching key", ""},
		{"RFC 5011 §3 revoked key unusable", a, []*dns.RRSIG{sign(t, revoked, a, 0, 0)}, keysOf(revoked), "example.com.", Bogus, "no matching key", ""},
		{"5.3.3 expired", a, []*dns.RRSIG{sign(t, zsk, a, now-7200, now-1)}, keysOf(zsk), "example.com.", Bogus, "signature expired", ""},
		{"5.3.3 not yet valid", a, []*dns.RRSIG{sign(t, zsk, a, now+60, now+7200)}, keysOf(zsk), "example.com.", Bogus, "signature not yet valid", ""},
		{"5.3.3 inception == now is valid", a, []*dns.RRSIG{sign(t, zsk, a, now, now+10)}, keysOf(zsk), "example.com.", Secure, "", ""},
		{"5.3.3 expiration == now is valid", a, []*dns.RRSIG{sign(t, zsk, a, now-10, now)}, keysOf(zsk), "example.com.", Secure, "", ""},
		{"5.3.2 bad signature", a, []*dns.RRSIG{&corrupt}, keysOf(zsk), "example.com.", Bogus, "bad signature", ""},
		{"5.3.2 RRset changed after signing", rrs(t, "www.example.com. 300 IN A 192.0.2.1"), []*dns.RRSIG{good}, keysOf(zsk), "example.com.", Bogus, "bad signature", ""},
		{"5.3.4 wildcard expansion reported", expanded, []*dns.RRSIG{esig}, keysOf(zsk), "example.com.", Secure, "", "*.example.com."},
		{"5.3.4 literal wildcard owner is no expansion", wild, []*dns.RRSIG{wsig}, keysOf(zsk), "example.com.", Secure, "", ""},
		{"RFC 6840 §5.2 Ed448 only: insecure", a, []*dns.RRSIG{fakeSig(ed448, a)}, []*dns.DNSKEY{ed448}, "example.com.", Insecure, "unsupported algorithm", ""},
		{"RFC 6840 §5.2 RSA exponent > 2^31-1: insecure", a, []*dns.RRSIG{fakeSig(bigE, a)}, []*dns.DNSKEY{bigE}, "example.com.", Insecure, "unsupported algorithm", ""},
		{"RFC 4035 §2.2 Ed448 signature where a usable key exists: bogus", a, []*dns.RRSIG{fakeSig(ed448, a)}, []*dns.DNSKEY{ed448, zsk.key}, "example.com.", Bogus, "no matching key", ""},
		{"empty RRset", nil, []*dns.RRSIG{good}, keysOf(zsk), "example.com.", Bogus, "bad RRset", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := VerifyRRset(c.rrset, c.sigs, c.keys, c.zone, testNow, NewBudget(DefaultLimits()))
			if v.Security != c.sec || !strings.HasPrefix(v.Reason, c.reason) || v.Wildcard != c.wildcard {
				t.Fatalf("got %v %q wildcard %q; want %v %q wildcard %q", v.Security, v.Reason, v.Wildcard, c.sec, c.reason, c.wildcard)
			}
			if c.sec == Secure && v.Expires.IsZero() {
				t.Fatal("secure verdict without Expires")
			}
		})
	}
}

// TestVerifyExpires: Expires is the verifying signature's expiration.
func TestVerifyExpires(t *testing.T) {
	t.Parallel()
	zsk := newKey(t, "example.com.", dns.ED25519, 256, 0)
	a := rrs(t, "www.example.com. 300 IN A 192.0.2.1")
	exp := testNow.Add(90 * time.Minute)
	v := VerifyRRset(a, []*dns.RRSIG{sign(t, zsk, a, uint32(testNow.Add(-time.Hour).Unix()), uint32(exp.Unix()))}, keysOf(zsk), "example.com.", testNow, nil)
	if v.Security != Secure || !v.Expires.Equal(exp) {
		t.Fatalf("got %v expires %v, want Secure %v", v.Security, v.Expires, exp)
	}
}

// TestSerialArithmetic: RFC 4034 §3.1.5 timestamps are serial numbers; a
// validator running after the 2106 wrap of the 32-bit field must still
// accept a current signature and reject a stale one.
func TestSerialArithmetic(t *testing.T) {
	t.Parallel()
	zsk := newKey(t, "example.com.", dns.ECDSAP256SHA256, 256, 0)
	a := rrs(t, "www.example.com. 300 IN A 192.0.2.1")
	after := time.Date(2106, 3, 1, 0, 0, 0, 0, time.UTC) // > 2^32 s
	if after.Unix() < 1<<32 {
		t.Fatal("clock not past the wrap")
	}
	n := uint32(after.Unix()) // wrapped value
	cases := []struct {
		name     string
		inc, exp uint32
		want     Security
		reason   string
	}{
		{"valid across wrap", n - 3600, n + 30*86400, Secure, ""},
		{"inception before the wrap, expiration after", uint32(time.Date(2106, 2, 1, 0, 0, 0, 0, time.UTC).Unix()), n + 86400, Secure, ""},
		{"expired across wrap", n - 7200, n - 3600, Bogus, "signature expired"},
		{"not yet valid across wrap", n + 3600, n + 7200, Bogus, "signature not yet valid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sig := sign(t, zsk, a, c.inc, c.exp)
			v := VerifyRRset(a, []*dns.RRSIG{sig}, keysOf(zsk), "example.com.", after, nil)
			if v.Security != c.want || !strings.HasPrefix(v.Reason, c.reason) {
				t.Fatalf("got %v %q, want %v %q", v.Security, v.Reason, c.want, c.reason)
			}
			if c.want == Secure && !v.Expires.After(after) {
				t.Fatalf("Expires %v not after now %v", v.Expires, after)
			}
		})
	}
}

// TestVerifyKeys has one case per rule of RFC 4035 §5.2 and the
// algorithm/digest support rules of RFC 6840 §5.2 and RFC 4509 §3.
func TestVerifyKeys(t *testing.T) {
	t.Parallel()
	const zone = "example.com."
	ksk := newKey(t, zone, dns.ECDSAP256SHA256, 257, 0)
	zsk := newKey(t, zone, dns.ECDSAP256SHA256, 256, 0)
	revoked := newKey(t, zone, dns.ECDSAP256SHA256, 257|dns.REVOKE, 2)
	set := keyRRs(ksk, zsk)
	kskSig := sign(t, ksk, set, 0, 0)
	zskSig := sign(t, zsk, set, 0, 0)
	now := uint32(testNow.Unix())

	ds2 := ksk.key.ToDS(dns.SHA256)
	ds1 := ksk.key.ToDS(dns.SHA1)
	ds4 := ksk.key.ToDS(dns.SHA384)
	wrong := *ds2
	wrong.Digest = strings.Repeat("00", 32)
	wrong1 := *ds1
	wrong1.Digest = strings.Repeat("00", 20)
	alg16 := &dns.DS{Hdr: ds2.Hdr, KeyTag: 4242, Algorithm: dns.ED448, DigestType: dns.SHA256, Digest: strings.Repeat("ab", 32)}
	gost := *ds2
	gost.DigestType = dns.GOST94
	unknownDigest := *ds2
	unknownDigest.DigestType = 99
	zskDS := zsk.key.ToDS(dns.SHA256)

	bigE := rsaKeyWithExponent(zone, 257)
	bigSet := []dns.RR{bigE, zsk.key}

	withRevoked := keyRRs(ksk, zsk, revoked)
	revokedSig := sign(t, ksk, withRevoked, 0, 0)

	cases := []struct {
		name   string
		keys   []dns.RR
		sigs   []*dns.RRSIG
		ds     []*dns.DS
		sec    Security
		reason string
		nkeys  int
	}{
		{"5.2 DS SHA-256 matches KSK that signs the RRset", set, []*dns.RRSIG{kskSig}, []*dns.DS{ds2}, Secure, "", 2},
		{"5.2 DS SHA-1", set, []*dns.RRSIG{kskSig}, []*dns.DS{ds1}, Secure, "", 2},
		{"5.2 DS SHA-384", set, []*dns.RRSIG{kskSig}, []*dns.DS{ds4}, Secure, "", 2},
		{"5.2 SEP flag not required: DS of the ZSK", set, []*dns.RRSIG{zskSig}, []*dns.DS{zskDS}, Secure, "", 2},
		{"5.2 DS digest mismatch", set, []*dns.RRSIG{kskSig}, []*dns.DS{&wrong}, Bogus, "no DNSKEY matches the DS", 0},
		{"5.2 RRset signed only by a key without DS", set, []*dns.RRSIG{zskSig}, []*dns.DS{ds2}, Bogus, "no matching key", 0},
		{"5.2 DNSKEY RRset signature expired", set, []*dns.RRSIG{sign(t, ksk, set, now-7200, now-60)}, []*dns.DS{ds2}, Bogus, "signature expired", 0},
		{"5.2 no signatures over the DNSKEY RRset", set, nil, []*dns.DS{ds2}, Bogus, "no signatures", 0},
		{"RFC 6840 §5.2 only alg-16 DS: insecure", set, []*dns.RRSIG{kskSig}, []*dns.DS{alg16}, Insecure, "unsupported algorithm", 0},
		{"RFC 6840 §5.2 alg-16 DS beside alg-13 DS stays secure", set, []*dns.RRSIG{kskSig}, []*dns.DS{alg16, ds2}, Secure, "", 2},
		{"RFC 6840 §5.2 alg-16 DS beside a wrong alg-13 DS is bogus, not insecure", set, []*dns.RRSIG{kskSig}, []*dns.DS{alg16, &wrong}, Bogus, "no DNSKEY matches the DS", 0},
		{"RFC 4509 GOST digest only: insecure", set, []*dns.RRSIG{kskSig}, []*dns.DS{&gost}, Insecure, "unsupported algorithm", 0},
		{"unknown digest type only: insecure", set, []*dns.RRSIG{kskSig}, []*dns.DS{&unknownDigest}, Insecure, "unsupported algorithm", 0},
		{"RFC 4509 §3 wrong SHA-1 DS ignored beside good SHA-256", set, []*dns.RRSIG{kskSig}, []*dns.DS{&wrong1, ds2}, Secure, "", 2},
		{"RFC 4509 §3 good SHA-1 DS ignored beside wrong SHA-256", set, []*dns.RRSIG{kskSig}, []*dns.DS{ds1, &wrong}, Bogus, "no DNSKEY matches the DS", 0},
		{"RFC 6840 §5.2 DS of an RSA key with exponent > 2^31-1: insecure", bigSet, []*dns.RRSIG{fakeSig(bigE, bigSet)}, []*dns.DS{bigE.ToDS(dns.SHA256)}, Insecure, "unsupported algorithm", 0},
		{"RFC 5011 revoked key not returned", withRevoked, []*dns.RRSIG{revokedSig}, []*dns.DS{ds2}, Secure, "", 2},
		{"no DS at all", set, []*dns.RRSIG{kskSig}, nil, Bogus, "no DNSKEY matches the DS", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var keys []*dns.DNSKEY
			for _, k := range c.keys {
				keys = append(keys, k.(*dns.DNSKEY))
			}
			got, v := VerifyKeys(keys, c.sigs, c.ds, zone, testNow, NewBudget(DefaultLimits()))
			if v.Security != c.sec || !strings.HasPrefix(v.Reason, c.reason) || len(got) != c.nkeys {
				t.Fatalf("got %v %q %d keys; want %v %q %d keys", v.Security, v.Reason, len(got), c.sec, c.reason, c.nkeys)
			}
			for _, k := range got {
				if k.Flags&dns.REVOKE != 0 {
					t.Fatal("revoked key returned")
				}
			}
		})
	}
}

func TestVerifyKeysWithAnchorKeys(t *testing.T) {
	t.Parallel()
	const zone = "."
	ksk := newKey(t, zone, dns.RSASHA256, 257, 0)
	zsk := newKey(t, zone, dns.ECDSAP256SHA256, 256, 0)
	set := keyRRs(ksk, zsk)
	keys := keysOf(ksk, zsk)
	sig := sign(t, ksk, set, 0, 0)
	anchor := *ksk.key
	anchor.Flags = 257 | dns.REVOKE // flags differ: still the same key material
	stranger := newKey(t, zone, dns.RSASHA256, 257, 1)
	ed448 := fakeKey(zone, dns.ED448, 257)

	cases := []struct {
		name    string
		anchors []*dns.DNSKEY
		sec     Security
		reason  string
	}{
		{"anchor key signs the RRset", []*dns.DNSKEY{&anchor}, Secure, ""},
		{"anchor not in the RRset", []*dns.DNSKEY{stranger.key}, Bogus, "no DNSKEY matches the trust anchor"},
		{"only unsupported anchors: insecure", []*dns.DNSKEY{ed448}, Insecure, "unsupported algorithm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, v := VerifyKeysWithAnchorKeys(keys, []*dns.RRSIG{sig}, c.anchors, zone, testNow, nil)
			if v.Security != c.sec || !strings.HasPrefix(v.Reason, c.reason) {
				t.Fatalf("got %v %q; want %v %q", v.Security, v.Reason, c.sec, c.reason)
			}
			if c.sec == Secure && len(got) != 2 {
				t.Fatalf("got %d keys", len(got))
			}
		})
	}
}

// TestRFCVectors: the published examples of RFC 6605 §6.1-6.2 (ECDSA) and
// RFC 8080 §6.1 (Ed25519) verify, DS included, at a time inside their
// validity period, and not after it.
func TestRFCVectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, key, ds, data, sig, priv string
		now                            time.Time
	}{
		{"RFC 6605 §6.1 P-256",
			"example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
			"example.net. 3600 IN DS 55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17",
			"www.example.net. 3600 IN A 192.0.2.1",
			"www.example.net. 3600 IN RRSIG A 13 3 3600 20100909100439 20100812100439 55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
			"Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=",
			time.Date(2010, 8, 20, 0, 0, 0, 0, time.UTC)},
		{"RFC 6605 §6.2 P-384",
			"example.net. 3600 IN DNSKEY 257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
			"example.net. 3600 IN DS 10771 14 4 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6",
			"www.example.net. 3600 IN A 192.0.2.1",
			"www.example.net. 3600 IN RRSIG A 14 3 3600 20100909102025 20100812102025 10771 example.net. /L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
			"Private-key-format: v1.2\nAlgorithm: 14 (ECDSAP384SHA384)\nPrivateKey: WURgWHCcYIYUPWgeLmiPY2DJJk02vgrmTfitxgqcL4vwW7BOrbawVmVe0d9V94SR",
			time.Date(2010, 8, 20, 0, 0, 0, 0, time.UTC)},
		{"RFC 8080 §6.1 Ed25519 example 1",
			"example.com. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
			"example.com. 3600 IN DS 3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
			"example.com. 3600 IN MX 10 mail.example.com.",
			"example.com. 3600 IN RRSIG MX 15 2 3600 1440021600 1438207200 3613 example.com. oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
			"Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
			time.Date(2015, 8, 1, 0, 0, 0, 0, time.UTC)},
		{"RFC 8080 §6.1 Ed25519 example 2",
			"example.com. 3600 IN DNSKEY 257 3 15 zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
			"example.com. 3600 IN DS 35217 15 2 401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c",
			"example.com. 3600 IN MX 10 mail.example.com.",
			"example.com. 3600 IN RRSIG MX 15 2 3600 1440021600 1438207200 35217 example.com. zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==",
			"Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=",
			time.Date(2015, 8, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := rr(t, c.key).(*dns.DNSKEY)
			ds := rr(t, c.ds).(*dns.DS)
			data := []dns.RR{rr(t, c.data)}
			sig := rr(t, c.sig).(*dns.RRSIG)
			zone := key.Hdr.Name
			v := VerifyRRset(data, []*dns.RRSIG{sig}, []*dns.DNSKEY{key}, zone, c.now, nil)
			if v.Security != Secure {
				t.Fatalf("published RRSIG: %v %q", v.Security, v.Reason)
			}
			if v := VerifyRRset(data, []*dns.RRSIG{sig}, []*dns.DNSKEY{key}, zone, c.now.AddDate(1, 0, 0), nil); v.Security != Bogus {
				t.Fatalf("a year later: %v, want Bogus", v.Security)
			}
			// The RFCs publish no DNSKEY RRSIG: sign the DNSKEY RRset with
			// the published private key and authenticate it from the
			// published DS.
			priv, err := key.NewPrivateKey(c.priv)
			if err != nil {
				t.Fatal(err)
			}
			ksig := &dns.RRSIG{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: 3600},
				TypeCovered: dns.TypeDNSKEY, Algorithm: key.Algorithm, OrigTtl: 3600, KeyTag: key.KeyTag(), SignerName: zone,
				Inception: sig.Inception, Expiration: sig.Expiration}
			if err := ksig.Sign(priv.(crypto.Signer), []dns.RR{key}); err != nil {
				t.Fatal(err)
			}
			got, kv := VerifyKeys([]*dns.DNSKEY{key}, []*dns.RRSIG{ksig}, []*dns.DS{ds}, zone, c.now, nil)
			if kv.Security != Secure || len(got) != 1 {
				t.Fatalf("DS -> DNSKEY: %v %q", kv.Security, kv.Reason)
			}
		})
	}
}
