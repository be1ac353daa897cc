package dnssec

import (
	"time"

	"github.com/miekg/dns"
)

// Verdict is the outcome of validating one RRset (or a DNSKEY RRset).
type Verdict struct {
	Security Security
	// Reason says why the verdict is not Secure ("signature expired", ...).
	Reason string
	// Expires is the earliest expiration among the signatures that
	// verified; the caller caps cache TTLs with it (RFC 4035 §5.3.3).
	Expires time.Time
	// Wildcard is "*.<closest encloser>" when the verifying RRSIG's Labels
	// field shows the RRset was synthesized from a wildcard (RFC 4035
	// §5.3.4); the caller must then obtain ProveWildcard. Empty otherwise.
	Wildcard string
}

// VerifyRRset validates rrset against sigs made by keys of zone (RFC 4035 §5.3).
func VerifyRRset(rrset []dns.RR, sigs []*dns.RRSIG, keys []*dns.DNSKEY, zone string, now time.Time, b *Budget) Verdict {
	return Verdict{Security: Bogus, Reason: "not implemented yet"}
}

// VerifyKeys authenticates the DNSKEY RRset of zone from its DS RRset (RFC 4035 §5.2).
func VerifyKeys(keys []*dns.DNSKEY, sigs []*dns.RRSIG, ds []*dns.DS, zone string, now time.Time, b *Budget) ([]*dns.DNSKEY, Verdict) {
	return nil, Verdict{Security: Bogus, Reason: "not implemented yet"}
}

// VerifyKeysWithAnchorKeys authenticates the DNSKEY RRset of zone from
// DNSKEY trust anchors (RFC 4035 §5: a trust anchor may be a DNSKEY).
func VerifyKeysWithAnchorKeys(keys []*dns.DNSKEY, sigs []*dns.RRSIG, anchors []*dns.DNSKEY, zone string, now time.Time, b *Budget) ([]*dns.DNSKEY, Verdict) {
	return nil, Verdict{Security: Bogus, Reason: "not implemented yet"}
}
