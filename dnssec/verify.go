package dnssec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Verdict is the outcome of validating one RRset (or a DNSKEY RRset).
type Verdict struct {
	Security Security
	// Reason says why the verdict is not Secure. Bogus reasons start with
	// one of "no signatures", "signature expired", "signature not yet
	// valid", "no matching key", "bad signature", "signer ", "RRSIG labels",
	// "no DNSKEY matches the DS", followed by ": " and the details.
	// Indeterminate means the work Budget ran out (ErrWorkBudget's text).
	Reason string
	// Expires is the expiration of the signature that verified; the caller
	// caps cache TTLs with it (RFC 4035 §5.3.3). Zero unless Secure.
	Expires time.Time
	// OrigTTL is the Original TTL of the signature that verified: the
	// caller must not keep the RRset longer than that, whatever TTL the
	// records arrived with (RFC 4035 §5.3.3; the record TTLs are not
	// signed). Zero unless Secure.
	OrigTTL uint32
	// Wildcard is "*.<closest encloser>" when the verifying RRSIG's Labels
	// field shows the RRset was synthesized from a wildcard (RFC 4035
	// §5.3.4); the caller must then obtain ProveWildcard for the query name
	// from the same response's NSEC/NSEC3 records. Empty otherwise.
	Wildcard string
}

// failure ranks why a signature did not validate; when every signature
// fails, the verdict reports the most telling one (a bad signature says
// more than a missing key).
type failure int

const (
	failNone failure = iota
	failLabels
	failSigner
	failNoKey
	failNotYet
	failExpired
	failBadSig
)

var failWords = [...]string{
	failNone:    "no signatures",
	failLabels:  "RRSIG labels exceed owner labels",
	failSigner:  "signer is not the zone",
	failNoKey:   "no matching key",
	failNotYet:  "signature not yet valid",
	failExpired: "signature expired",
	failBadSig:  "bad signature",
}

// VerifyRRset validates rrset against sigs made by keys of zone (RFC 4035
// §5.3). keys must be the authenticated DNSKEYs of zone (from VerifyKeys).
//
// The RRset is Secure when one RRSIG covering exactly this owner, class and
// type, whose signer is exactly zone (label-wise, RFC 4035 §5.3.1; not the
// string-suffix test of miekg/dns), whose Labels does not exceed the owner's
// label count, and which is inside its validity period by RFC 1982 serial
// arithmetic (RFC 4034 §3.1.5, RFC 4035 §5.3.3), verifies with a non-revoked
// zone key of matching tag and algorithm. Only the first
// Limits.MaxSigsPerRRset RRSIGs and, per RRSIG, the first
// Limits.MaxKeyCandidates keys with its tag are tried (KeyTrap,
// CVE-2023-50387); every verification is charged to b, and an exhausted
// budget yields Indeterminate with ErrWorkBudget's text.
//
// It is Insecure when no RRSIG verified, every RRSIG considered uses an
// algorithm this validator cannot verify (Ed448, GOST, unknown values, RSA
// keys with an exponent above 2^31-1: RFC 6840 §5.2), and no key in keys is
// usable either, so that the zone is signed only with unsupported
// algorithms. A zone with a usable key must sign with it (RFC 4035 §2.2), so
// an RRset carrying only unsupported signatures there is Bogus: that is a
// stripping attack, not an insecure zone.
//
// b may be nil (a fresh DefaultLimits budget is used).
func VerifyRRset(rrset []dns.RR, sigs []*dns.RRSIG, keys []*dns.DNSKEY, zone string, now time.Time, b *Budget) Verdict {
	if b == nil {
		b = NewBudget(Limits{})
	}
	if b.Exhausted() {
		return budgetVerdict()
	}
	zone = dns.CanonicalName(zone)
	if len(rrset) == 0 || !dns.IsRRset(rrset) {
		return bogus("bad RRset: empty or mixed owner, type or class")
	}
	h := rrset[0].Header()
	owner := dns.CanonicalName(h.Name)
	what := owner + " " + dns.Type(h.Rrtype).String()
	if !dns.IsSubDomain(zone, owner) {
		return bogus("signer is not the zone: " + what + " is outside zone " + zone)
	}
	ownerLabels := dns.CountLabel(owner)
	// RFC 4034 §3.1.3: the Labels field does not count a leading "*", so an
	// RRset owned by a literal wildcard name has Labels = count-1 without
	// being an expansion.
	literalWild := strings.HasPrefix(owner, "*.") || owner == "*."
	tags := make([]uint16, len(keys))
	for i, k := range keys {
		if k != nil {
			tags[i] = k.KeyTag()
		}
	}

	worst, detail := failNone, ""
	fail := func(f failure, d string) {
		if f >= worst {
			worst, detail = f, d
		}
	}
	considered, unsupported := 0, 0
	for _, sig := range sigs {
		if sig == nil || sig.TypeCovered != h.Rrtype || sig.Hdr.Class != h.Class ||
			!strings.EqualFold(dns.CanonicalName(sig.Hdr.Name), owner) {
			continue // an RRSIG for another RRset: not ours to judge
		}
		if considered == b.l.MaxSigsPerRRset {
			break
		}
		considered++
		signer := dns.CanonicalName(sig.SignerName)
		if signer != zone {
			fail(failSigner, fmt.Sprintf("%s signed by %s, zone is %s", what, signer, zone))
			continue
		}
		if int(sig.Labels) > ownerLabels {
			fail(failLabels, fmt.Sprintf("%s has %d labels, RRSIG says %d", what, ownerLabels, sig.Labels))
			continue
		}
		if int(sig.Labels) < dns.CountLabel(zone) {
			// The wildcard would sit above the zone apex (RFC 4035 §5.3.1).
			fail(failLabels, fmt.Sprintf("%s RRSIG labels %d reach above zone %s", what, sig.Labels, zone))
			continue
		}
		if !AlgorithmSupported(sig.Algorithm) {
			unsupported++
			continue
		}
		if st := validity(sig, now); st != failNone {
			fail(st, fmt.Sprintf("%s key %d valid %s to %s", what, sig.KeyTag,
				sigTime(sig.Inception, now).UTC().Format(time.RFC3339),
				sigTime(sig.Expiration, now).UTC().Format(time.RFC3339)))
			continue
		}
		tried, keyProblem, verified := 0, 0, false
		for i, k := range keys {
			if k == nil || tags[i] != sig.KeyTag || k.Algorithm != sig.Algorithm || !zoneKey(k, zone) {
				continue
			}
			if tried == b.l.MaxKeyCandidates {
				break
			}
			tried++
			if !b.spendVerify() {
				return budgetVerdict()
			}
			err := sig.Verify(k, rrset)
			if err == nil {
				verified = true
				break
			}
			// Every field Verify compares before the crypto was checked
			// above, so ErrKey/ErrAlg here means miekg/dns cannot use the
			// key (RSA exponent > 2^31-1, bad length): unsupported, RFC 6840
			// §5.2.
			if errors.Is(err, dns.ErrKey) || errors.Is(err, dns.ErrAlg) {
				keyProblem++
				continue
			}
			fail(failBadSig, fmt.Sprintf("%s key %d: %v", what, sig.KeyTag, err))
		}
		if verified {
			v := Verdict{Security: Secure, Expires: sigTime(sig.Expiration, now), OrigTTL: sig.OrigTtl}
			if int(sig.Labels) < ownerLabels && !(literalWild && int(sig.Labels) == ownerLabels-1) {
				// RFC 4035 §5.3.4: the RRset was expanded from the
				// wildcard at the closest encloser named by Labels.
				labels := dns.SplitDomainName(owner)
				v.Wildcard = dns.Fqdn("*." + strings.Join(labels[len(labels)-int(sig.Labels):], "."))
			}
			return v
		}
		switch {
		case tried == 0:
			fail(failNoKey, fmt.Sprintf("%s needs key %d algorithm %d of %s", what, sig.KeyTag, sig.Algorithm, zone))
		case keyProblem == tried:
			unsupported++
		}
	}
	if considered > 0 && unsupported == considered && !anyUsable(keys, zone) {
		return Verdict{Security: Insecure, Reason: "unsupported algorithm: " + what + " is signed only with algorithms or keys this validator cannot verify"}
	}
	if considered > 0 && worst == failNone {
		// Only unsupported signatures, yet the zone has a usable key that
		// should have signed (RFC 4035 §2.2).
		return bogus("no matching key: " + what + " has no signature by a supported key of " + zone)
	}
	if worst == failNone {
		return bogus("no signatures: " + what)
	}
	return bogus(failWords[worst] + ": " + detail)
}

// anyUsable reports whether zone has a key this validator can verify with.
func anyUsable(keys []*dns.DNSKEY, zone string) bool {
	for _, k := range keys {
		if zoneKey(k, zone) && keyUsable(k) {
			return true
		}
	}
	return false
}

// validity applies RFC 4035 §5.3.1 time checks with RFC 1982 serial
// arithmetic relative to now (RFC 4034 §3.1.5), so timestamps keep working
// across the 2106 wrap of the 32-bit field.
func validity(sig *dns.RRSIG, now time.Time) failure {
	n := uint32(now.Unix())
	if int32(sig.Expiration-n) < 0 {
		return failExpired
	}
	if int32(n-sig.Inception) < 0 {
		return failNotYet
	}
	return failNone
}

// sigTime turns an RRSIG timestamp into the absolute time nearest to now
// (serial arithmetic, RFC 4034 §3.1.5).
func sigTime(v uint32, now time.Time) time.Time {
	d := int32(v - uint32(now.Unix()))
	return time.Unix(now.Unix()+int64(d), 0)
}

// zoneKey: a DNSKEY of zone that may verify RRSIGs: owner is the zone,
// protocol 3, Zone flag set (RFC 4034 §2.1.1-2.1.2, RFC 4035 §5.3.1), and
// not revoked (RFC 5011 §3: a revoked key must not be used for validation).
func zoneKey(k *dns.DNSKEY, zone string) bool {
	return k != nil && k.Protocol == 3 && k.Flags&dns.ZONE != 0 && k.Flags&dns.REVOKE == 0 &&
		dns.CanonicalName(k.Hdr.Name) == zone
}

// keyUsable reports whether miekg/dns can turn k into a public key: its
// algorithm is supported and the key material parses (RSA exponent at most
// 4 bytes and 2^31-1, modulus 512-4096 bits; ECDSA and Ed25519 lengths).
// It mirrors dns.DNSKEY's unexported parsers, which fail with ErrKey.
func keyUsable(k *dns.DNSKEY) bool {
	if !AlgorithmSupported(k.Algorithm) {
		return false
	}
	buf, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil {
		return false
	}
	switch k.Algorithm {
	case dns.ECDSAP256SHA256:
		return len(buf) == 64
	case dns.ECDSAP384SHA384:
		return len(buf) == 96
	case dns.ED25519:
		return len(buf) == 32
	}
	if len(buf) < 1+1+64 {
		return false
	}
	explen, off := int(buf[0]), 1
	if explen == 0 {
		explen, off = int(buf[1])<<8|int(buf[2]), 3
	}
	if explen > 4 || explen == 0 || off+explen > len(buf) || buf[off] == 0 {
		return false
	}
	var e uint64
	for _, c := range buf[off : off+explen] {
		e = e<<8 | uint64(c)
	}
	mod := buf[off+explen:]
	return e <= 1<<31-1 && len(mod) >= 64 && len(mod) <= 512 && mod[0] != 0
}

func bogus(reason string) Verdict { return Verdict{Security: Bogus, Reason: reason} }

func budgetVerdict() Verdict {
	return Verdict{Security: Indeterminate, Reason: ErrWorkBudget.Error()}
}

// VerifyKeys authenticates the DNSKEY RRset of zone from its DS RRset
// (RFC 4035 §5.2): a DS of supported algorithm and digest type (SHA-1,
// SHA-256, SHA-384) must match a zone key by tag, algorithm and digest, and
// that key must sign the whole DNSKEY RRset (whether or not it has the SEP
// flag: RFC 4035 §5.2 ignores SEP). It returns the keys usable to verify the
// zone's other RRsets: the zone's non-revoked zone keys.
//
// DS records with unsupported algorithms or digests are ignored; if none
// remains the zone is Insecure (RFC 4035 §5.2, RFC 6840 §5.2), whereas one
// unsupported DS beside a supported one changes nothing. SHA-1 DS records
// are ignored when a SHA-256 or SHA-384 DS is present (RFC 4509 §3). A DS
// whose keys cannot be parsed by miekg/dns (RSA exponent above 2^31-1) also
// counts as unsupported. Work is bounded by b: at most
// Limits.MaxSigsPerRRset DS records and Limits.MaxKeyCandidates keys per DS
// tag are digested.
//
// DNSKEY trust anchors go through VerifyKeysWithAnchorKeys instead; a caller
// may also convert them with DNSKEY.ToDS(dns.SHA256) and use this function.
func VerifyKeys(keys []*dns.DNSKEY, sigs []*dns.RRSIG, ds []*dns.DS, zone string, now time.Time, b *Budget) ([]*dns.DNSKEY, Verdict) {
	if b == nil {
		b = NewBudget(Limits{})
	}
	if b.Exhausted() {
		return nil, budgetVerdict()
	}
	zone = dns.CanonicalName(zone)
	var usable []*dns.DS
	strong := false
	for _, d := range ds {
		if d == nil || dns.CanonicalName(d.Hdr.Name) != zone || !AlgorithmSupported(d.Algorithm) || !DigestSupported(d.DigestType) {
			continue
		}
		usable = append(usable, d)
		strong = strong || d.DigestType != dns.SHA1
	}
	if len(usable) == 0 {
		if len(ds) == 0 {
			return nil, bogus("no DNSKEY matches the DS: no DS records for " + zone)
		}
		return nil, Verdict{Security: Insecure, Reason: "unsupported algorithm: no DS of " + zone + " has a supported algorithm and digest type"}
	}
	var matched []*dns.DNSKEY
	unparsable := 0
	for i, d := range usable {
		if i == b.l.MaxSigsPerRRset {
			break
		}
		if strong && d.DigestType == dns.SHA1 {
			continue
		}
		tried := 0
		for _, k := range keys {
			if k == nil || k.Algorithm != d.Algorithm || !zoneKey(k, zone) || k.KeyTag() != d.KeyTag {
				continue
			}
			if tried == b.l.MaxKeyCandidates {
				break
			}
			tried++
			kd := k.ToDS(d.DigestType)
			if kd == nil || !strings.EqualFold(kd.Digest, d.Digest) {
				continue
			}
			if !keyUsable(k) {
				unparsable++
				continue
			}
			matched = append(matched, k)
		}
	}
	if len(matched) == 0 {
		if unparsable > 0 {
			return nil, Verdict{Security: Insecure, Reason: "unsupported algorithm: the DS of " + zone + " points to a key this validator cannot use"}
		}
		return nil, bogus("no DNSKEY matches the DS of " + zone)
	}
	return selfSigned(keys, sigs, matched, zone, now, b)
}

// VerifyKeysWithAnchorKeys authenticates the DNSKEY RRset of zone from
// DNSKEY trust anchors (RFC 4035 §5: a trust anchor may be a DNSKEY): a key
// of the RRset equal to an anchor in algorithm and public key (flags may
// differ, so an anchor stays usable when RFC 5011 flag changes happen) must
// sign the RRset. Anchors of unsupported algorithms only: Insecure.
func VerifyKeysWithAnchorKeys(keys []*dns.DNSKEY, sigs []*dns.RRSIG, anchors []*dns.DNSKEY, zone string, now time.Time, b *Budget) ([]*dns.DNSKEY, Verdict) {
	if b == nil {
		b = NewBudget(Limits{})
	}
	if b.Exhausted() {
		return nil, budgetVerdict()
	}
	zone = dns.CanonicalName(zone)
	supported := false
	var matched []*dns.DNSKEY
	for _, a := range anchors {
		if a == nil || dns.CanonicalName(a.Hdr.Name) != zone || !keyUsable(a) {
			continue
		}
		supported = true
		for _, k := range keys {
			if zoneKey(k, zone) && k.Algorithm == a.Algorithm && samePublicKey(k.PublicKey, a.PublicKey) {
				matched = append(matched, k)
			}
		}
	}
	if !supported {
		return nil, Verdict{Security: Insecure, Reason: "unsupported algorithm: no trust anchor of " + zone + " has a supported algorithm"}
	}
	if len(matched) == 0 {
		return nil, bogus("no DNSKEY matches the trust anchor of " + zone)
	}
	return selfSigned(keys, sigs, matched, zone, now, b)
}

// samePublicKey compares base64 key material, ignoring whitespace and
// padding differences of the presentation form.
func samePublicKey(a, b string) bool {
	x, err1 := base64.StdEncoding.DecodeString(a)
	y, err2 := base64.StdEncoding.DecodeString(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// selfSigned checks that one of the trusted keys signs the DNSKEY RRset
// (RFC 4035 §5.2) and returns the zone's usable keys.
func selfSigned(keys []*dns.DNSKEY, sigs []*dns.RRSIG, trusted []*dns.DNSKEY, zone string, now time.Time, b *Budget) ([]*dns.DNSKEY, Verdict) {
	set := make([]dns.RR, 0, len(keys))
	for _, k := range keys {
		if k != nil {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		return nil, bogus("no DNSKEY matches the DS: empty DNSKEY RRset for " + zone)
	}
	v := VerifyRRset(set, sigs, trusted, zone, now, b)
	if v.Security != Secure {
		return nil, v
	}
	if v.Wildcard != "" {
		return nil, bogus("RRSIG labels: DNSKEY RRset of " + zone + " signed as a wildcard expansion")
	}
	var out []*dns.DNSKEY
	for _, k := range keys {
		if zoneKey(k, zone) {
			out = append(out, k)
		}
	}
	return out, v
}
