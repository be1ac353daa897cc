package dnssec

import (
	"bytes"
	"strings"

	"github.com/miekg/dns"
)

// name is a domain name with its wire-format labels, lower-cased, from the
// leftmost label to the rightmost: the form RFC 4034 §6.1 orders by.
type name struct {
	text   string
	labels [][]byte
}

// parseName canonicalises s; ok is false for names that do not pack
// (too long, bad escapes), which no proof may use.
func parseName(s string) (name, bool) {
	s = dns.CanonicalName(s)
	buf := make([]byte, 256)
	off, err := dns.PackDomainName(s, buf, 0, nil, false)
	if err != nil {
		return name{}, false
	}
	var n name
	for i := 0; i < off && buf[i] != 0; {
		l := int(buf[i])
		if i+1+l > off {
			return name{}, false
		}
		lab := make([]byte, l)
		for j, c := range buf[i+1 : i+1+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A' // RFC 4034 §6.1: only US-ASCII letters fold
			}
			lab[j] = c
		}
		n.labels = append(n.labels, lab)
		i += 1 + l
	}
	// Rebuild the text from the lower-cased wire labels: "\065" must hash
	// and compare as "a" (RFC 4034 §6.2, RFC 5155 §5).
	return n.ancestor(len(n.labels)), true
}

// canonCompare orders names as RFC 4034 §6.1: label by label from the
// right, each label as an octet string; a name sorts before its
// descendants.
func canonCompare(a, b name) int {
	i, j := len(a.labels)-1, len(b.labels)-1
	for ; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if c := bytes.Compare(a.labels[i], b.labels[j]); c != 0 {
			return c
		}
	}
	switch {
	case i < 0 && j < 0:
		return 0
	case i < 0:
		return -1
	}
	return 1
}

// commonLabels counts the labels a and b share from the right.
func commonLabels(a, b name) int {
	n := 0
	for i, j := len(a.labels)-1, len(b.labels)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if !bytes.Equal(a.labels[i], b.labels[j]) {
			break
		}
		n++
	}
	return n
}

// ancestor returns the ancestor of n with k labels (k <= len(n.labels)),
// its text rebuilt from the wire labels so escapes stay exact.
func (n name) ancestor(k int) name {
	labels := n.labels[len(n.labels)-k:]
	var sb strings.Builder
	for _, l := range labels {
		sb.WriteString(escapeLabel(l))
		sb.WriteByte('.')
	}
	if k == 0 {
		sb.WriteByte('.')
	}
	return name{text: sb.String(), labels: labels}
}

// child returns label.n.
func (n name) child(label []byte) name {
	labels := append([][]byte{label}, n.labels...)
	text := escapeLabel(label) + "."
	if n.text != "." {
		text += n.text
	}
	return name{text: text, labels: labels}
}

// escapeLabel gives the presentation form of a wire label (RFC 4343 §2.1).
func escapeLabel(l []byte) string {
	var sb strings.Builder
	for _, c := range l {
		switch {
		case c == '.' || c == '\\' || c == '(' || c == ')' || c == ';' || c == ' ' || c == '@' || c == '"':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < '!' || c > '~':
			sb.WriteByte('\\')
			sb.WriteByte('0' + c/100)
			sb.WriteByte('0' + c/10%10)
			sb.WriteByte('0' + c%10)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// isBelow reports whether n is at or below z (label-wise).
func (n name) isBelow(z name) bool {
	return commonLabels(n, z) == len(z.labels) && len(n.labels) >= len(z.labels)
}

// hasType reports whether a type bitmap lists t.
func hasType(bitmap []uint16, t uint16) bool {
	for _, x := range bitmap {
		if x == t {
			return true
		}
	}
	return false
}

// delegationOnly is a bitmap of a zone cut seen from the parent: NS without
// SOA (RFC 6840 §4.1, §4.4).
func delegationOnly(bitmap []uint16) bool {
	return hasType(bitmap, dns.TypeNS) && !hasType(bitmap, dns.TypeSOA)
}

// typeDenied checks an exact-match bitmap for a NODATA proof of qtype (RFC
// 4035 §5.4, RFC 5155 §8.5-8.6, RFC 6840 §4.4): qtype and CNAME absent; for
// DS the record must come from the parent side (no SOA); for other types it
// must not be the parent's record of a delegation (NS without SOA).
func typeDenied(bitmap []uint16, qtype uint16) string {
	switch {
	case hasType(bitmap, qtype):
		return "the type exists"
	case hasType(bitmap, dns.TypeCNAME):
		return "a CNAME exists"
	case qtype == dns.TypeDS && hasType(bitmap, dns.TypeSOA):
		return "child-side record used to deny DS"
	case qtype != dns.TypeDS && delegationOnly(bitmap):
		return "parent-side delegation record used to deny a child type"
	}
	return ""
}

// nsecRec is an NSEC record with its names parsed.
type nsecRec struct {
	rr          *dns.NSEC
	owner, next name
}

// nsecChain is the NSEC records of one zone offered as a proof.
type nsecChain struct {
	zone name
	recs []nsecRec
}

// loadNSEC keeps the records whose owner and next name are in zone; others
// cannot belong to the zone's chain (RFC 4035 §5.4).
func loadNSEC(z name, in []*dns.NSEC) *nsecChain {
	c := &nsecChain{zone: z}
	for _, rr := range in {
		if rr == nil {
			continue
		}
		o, ok1 := parseName(rr.Hdr.Name)
		n, ok2 := parseName(rr.NextDomain)
		if !ok1 || !ok2 || !o.isBelow(z) || !n.isBelow(z) {
			continue
		}
		c.recs = append(c.recs, nsecRec{rr: rr, owner: o, next: n})
	}
	return c
}

// match returns the NSEC owned by q.
func (c *nsecChain) match(q name) *nsecRec {
	for i := range c.recs {
		if canonCompare(c.recs[i].owner, q) == 0 {
			return &c.recs[i]
		}
	}
	return nil
}

// cover returns an NSEC proving no name between its owner and next name,
// q strictly inside, in canonical order (RFC 4034 §6.1); the last NSEC of
// the chain has the apex as next name and covers everything after its
// owner. An NSEC at an ancestor of q that marks a zone cut (NS without
// SOA) or a DNAME cannot speak for names below it (RFC 6840 §4.1).
func (c *nsecChain) cover(q name) *nsecRec {
	for i := range c.recs {
		r := &c.recs[i]
		if canonCompare(r.owner, q) >= 0 {
			continue
		}
		if canonCompare(q, r.next) >= 0 && canonCompare(r.next, r.owner) > 0 {
			continue
		}
		if q.isBelow(r.owner) && (delegationOnly(r.rr.TypeBitMap) || hasType(r.rr.TypeBitMap, dns.TypeDNAME)) {
			continue
		}
		return r
	}
	return nil
}

// nonexistent proves q does not exist and returns its closest encloser:
// the deepest ancestor q shares with the covering NSEC's owner or next
// name (RFC 4035 §5.4; RFC 5155 §7.2.1 defines the term).
func (c *nsecChain) nonexistent(q name) (name, error) {
	if c.match(q) != nil {
		return name{}, badProof("an NSEC shows %s exists", q.text)
	}
	r := c.cover(q)
	if r == nil {
		return name{}, badProof("no NSEC covers %s", q.text)
	}
	if r.next.isBelow(q) {
		return name{}, badProof("%s is an empty non-terminal (NSEC next name %s)", q.text, r.next.text)
	}
	k := max(commonLabels(q, r.owner), commonLabels(q, r.next), len(c.zone.labels))
	return q.ancestor(k), nil
}

// noWildcard proves the wildcard at ce does not exist: an NSEC covers it.
func (c *nsecChain) noWildcard(ce name) error {
	w := ce.child([]byte("*"))
	if c.match(w) != nil {
		return badProof("the wildcard %s exists", w.text)
	}
	if c.cover(w) == nil {
		return badProof("no NSEC covers the wildcard %s", w.text)
	}
	return nil
}
