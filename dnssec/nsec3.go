package dnssec

import (
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// nsec3Set is the NSEC3 records of one zone offered as a proof, all with
// the same parameters (RFC 5155 §8.2: one hash algorithm, iteration count
// and salt per proof).
type nsec3Set struct {
	zone   name
	recs   []*dns.NSEC3
	owners []string // upper-case base32hex owner hashes
	nexts  []string
	alg    uint8
	iter   uint16
	salt   string
	b      *Budget
}

// loadNSEC3 keeps the usable records: owner one label below the zone
// (RFC 5155 §8.3: records from other zones are ignored), flags 0 or 1
// (§8.2), a SHA-1 hash (§8.1), well-formed hashes. Mixed parameters are
// bogus; unknown hash algorithms only: ErrNSEC3Unsupported; iterations
// above the limit: ErrNSEC3Iterations before anything is hashed (RFC 9276
// §3.2).
func loadNSEC3(z name, in []*dns.NSEC3, b *Budget) (*nsec3Set, error) {
	s := &nsec3Set{zone: z, b: b}
	unknown := 0
	for _, rr := range in {
		if rr == nil || rr.Flags > 1 {
			continue
		}
		o, ok := parseName(rr.Hdr.Name)
		if !ok || len(o.labels) != len(z.labels)+1 || !o.isBelow(z) {
			continue
		}
		if rr.Hash != dns.SHA1 {
			unknown++
			continue
		}
		owner := strings.ToUpper(string(o.labels[0]))
		next := strings.ToUpper(rr.NextDomain)
		if !isHash(owner) || !isHash(next) {
			continue
		}
		salt := strings.ToUpper(rr.Salt)
		if salt == "-" {
			salt = ""
		}
		if len(s.recs) == 0 {
			s.alg, s.iter, s.salt = rr.Hash, rr.Iterations, salt
		} else if rr.Iterations != s.iter || salt != s.salt {
			return nil, badProof("NSEC3 parameters differ within the proof")
		}
		s.recs = append(s.recs, rr)
		s.owners = append(s.owners, owner)
		s.nexts = append(s.nexts, next)
	}
	if len(s.recs) == 0 {
		if unknown > 0 {
			return nil, ErrNSEC3Unsupported
		}
		return nil, badProof("no usable NSEC or NSEC3 records for zone %s", z.text)
	}
	if int(s.iter) > b.l.MaxNSEC3Iterations {
		return nil, ErrNSEC3Iterations
	}
	return s, nil
}

// isHash: a SHA-1 NSEC3 hash in base32hex, 32 characters of [0-9A-V]
// (RFC 5155 §3.3).
func isHash(h string) bool {
	if len(h) != 32 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'V') {
			return false
		}
	}
	return true
}

// hash returns the NSEC3 hash of n with the proof's parameters, charged to
// the budget (CVE-2023-50868) and memoised per query.
func (s *nsec3Set) hash(n name) (string, error) {
	key := s.salt + "/" + strconv.Itoa(int(s.iter)) + "/" + n.text
	if h, ok := s.b.memo[key]; ok {
		return h, nil
	}
	if !s.b.spendHash() {
		return "", ErrWorkBudget
	}
	h := dns.HashName(n.text, s.alg, s.iter, s.salt)
	if h == "" {
		return "", badProof("cannot hash %s", n.text)
	}
	if s.b.memo == nil {
		s.b.memo = map[string]string{}
	}
	s.b.memo[key] = h
	return h, nil
}

// match returns the NSEC3 whose owner hash is h.
func (s *nsec3Set) match(h string) *dns.NSEC3 {
	for i, o := range s.owners {
		if o == h {
			return s.recs[i]
		}
	}
	return nil
}

// cover returns the NSEC3 whose span strictly contains h: owner < h < next,
// or, for the last record of the chain (next <= owner), h > owner or
// h < next (RFC 5155 §8.3 "covers"). Equality with the owner is a match,
// never a cover: miekg/dns NSEC3.Cover accepts it, which lets a zone's own
// NSEC3 records forge an NXDOMAIN (DANE.md §0 item 5).
func (s *nsec3Set) cover(h string) *dns.NSEC3 {
	for i, o := range s.owners {
		n := s.nexts[i]
		switch {
		case h == o:
			continue
		case o < n:
			if o < h && h < n {
				return s.recs[i]
			}
		default: // wrap: the last NSEC3, or the only one (o == n)
			if h > o || h < n {
				return s.recs[i]
			}
		}
	}
	return nil
}

// closestEncloser runs the closest encloser proof for q (RFC 5155 §8.3):
// the deepest ancestor of q with a matching NSEC3 is the closest encloser,
// and the name one label longer, the next closer name, must be covered. q
// itself must not match. A closest encloser whose NSEC3 shows a zone cut
// (NS without SOA) or a DNAME cannot be used: names below it belong to
// another zone or are redirected (RFC 5155 §8.3, RFC 6840 §4.1).
func (s *nsec3Set) closestEncloser(q name) (ce name, cov *dns.NSEC3, err error) {
	prev := ""
	for k := len(q.labels); k >= len(s.zone.labels); k-- {
		n := q.ancestor(k)
		h, err := s.hash(n)
		if err != nil {
			return name{}, nil, err
		}
		m := s.match(h)
		if m == nil {
			prev = h
			continue
		}
		if k == len(q.labels) {
			return name{}, nil, badProof("an NSEC3 shows %s exists", q.text)
		}
		if delegationOnly(m.TypeBitMap) || hasType(m.TypeBitMap, dns.TypeDNAME) {
			return name{}, nil, badProof("closest encloser %s is a delegation or DNAME", n.text)
		}
		cov := s.cover(prev)
		if cov == nil {
			return name{}, nil, badProof("no NSEC3 covers the next closer name %s", q.ancestor(k+1).text)
		}
		return n, cov, nil
	}
	return name{}, nil, badProof("no NSEC3 matches an encloser of %s", q.text)
}

// optOut reports the Opt-Out flag (RFC 5155 §3.1.2.1).
func optOut(r *dns.NSEC3) bool { return r.Flags&1 != 0 }
