package dnssec

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// rootAnchors are the IANA root zone KSK digests (root-anchors.xml, also
// Debian's /usr/share/dns/root.ds): KSK-2017 and KSK-2024.
const rootAnchors = `. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
`

// BuiltinAnchors returns the IANA root DS records, the trust anchors used
// when none are configured. RFC 5011 keeps them current afterwards.
func BuiltinAnchors() []dns.RR {
	rrs, err := ParseAnchors(rootAnchors)
	if err != nil {
		panic("dnssec: built-in anchors: " + err.Error()) // a constant; cannot fail
	}
	return rrs
}

// ParseAnchors reads trust anchors from zone-file text: DS or DNSKEY
// records, with comments, blank lines, multi-line parentheses and
// $TTL/$ORIGIN directives allowed. Any other record type, or a DNSKEY
// without the zone-key flag (RFC 4034 §2.1.1), is an error naming its line.
func ParseAnchors(text string) ([]dns.RR, error) {
	var (
		out        []dns.RR
		directives strings.Builder // $TTL/$ORIGIN seen so far, replayed for each record
		rec        strings.Builder
		recLine    int
		depth      int
		lastOwner  string
	)
	flush := func() error {
		body := rec.String()
		rec.Reset()
		if strings.TrimSpace(body) == "" {
			return nil
		}
		if body[0] == ' ' || body[0] == '\t' { // owner omitted: the previous one
			body = lastOwner + body
		}
		zp := dns.NewZoneParser(strings.NewReader(directives.String()+body+"\n"), ".", "anchors")
		rr, ok := zp.Next()
		if err := zp.Err(); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("no record")
			}
			return fmt.Errorf("anchors: line %d: %s", recLine, parseReason(err))
		}
		lastOwner = rr.Header().Name
		switch v := rr.(type) {
		case *dns.DS:
			out = append(out, v)
		case *dns.DNSKEY:
			if v.Flags&dns.ZONE == 0 {
				return fmt.Errorf("anchors: line %d: DNSKEY for %s is not a zone key", recLine, v.Hdr.Name)
			}
			out = append(out, v)
		default:
			return fmt.Errorf("anchors: line %d: %s record is not a trust anchor (want DS or DNSKEY)",
				recLine, typeName(rr.Header().Rrtype))
		}
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		if c := strings.IndexByte(line, ';'); c >= 0 {
			line = line[:c]
		}
		if depth == 0 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "$") {
				if !strings.HasPrefix(strings.ToUpper(t), "$TTL") && !strings.HasPrefix(strings.ToUpper(t), "$ORIGIN") {
					return nil, fmt.Errorf("anchors: line %d: unsupported directive %q", i+1, t)
				}
				directives.WriteString(t + "\n")
				continue
			}
			recLine = i + 1
		}
		rec.WriteString(line + " ")
		depth += strings.Count(line, "(") - strings.Count(line, ")")
		if depth < 0 {
			return nil, fmt.Errorf("anchors: line %d: unbalanced parentheses", i+1)
		}
		if depth == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("anchors: line %d: unbalanced parentheses", recLine)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("anchors: no DS or DNSKEY record found")
	}
	return out, nil
}

// parseReason trims miekg's zone parser error ("anchors: dns: not a TTL:
// \"x\" at line: 1:11") to its reason, since the caller names the line of
// the whole file itself.
func parseReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "anchors: ")
	msg = strings.TrimPrefix(msg, "dns: ")
	if i := strings.LastIndex(msg, " at line: "); i > 0 {
		msg = msg[:i]
	}
	return msg
}
