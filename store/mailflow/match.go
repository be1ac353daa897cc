package mailflow

import (
	"net/netip"
	"strings"
)

// Peer is what the listener knows of a connecting host when it consults the
// HAT: its address and, when the reverse lookup was confirmed by a forward
// lookup, its host name.
type Peer struct {
	IP   netip.Addr
	Host string // verified reverse DNS name, "" when none
}

// Decision is the HAT's answer for a connection, with what mail_logs
// reports: `ICID n ACCEPT SG UNKNOWNLIST match ALL SBRS None`.
type Decision struct {
	Action string // ACCEPT, RELAY, REJECT, TCPREFUSE
	Group  string // sender group, "" for a single-host entry or no match
	Match  string // the member that matched
	Policy string // policy name without $, "" for a bare action
	Limits Limits
}

// Match walks the entries in order and returns the first that matches p.
// CONTINUE entries are skipped over. A host no entry matches is refused, as
// a table without its final ALL entry leaves it unknown.
func (h *HAT) Match(p Peer) Decision {
	for _, e := range h.Entries {
		for _, m := range e.Members {
			if !MemberMatches(m, p) {
				continue
			}
			if e.Decision == ActContinue {
				break
			}
			d := Decision{Group: e.Group, Match: m}
			if strings.HasPrefix(e.Decision, "$") {
				d.Policy = e.Decision[1:]
				if pol := h.Policy(d.Policy); pol != nil {
					d.Action = pol.Action
				} else {
					d.Action = ActReject
				}
			} else {
				d.Action = e.Decision
			}
			d.Limits = h.Effective(d.Policy)
			return d
		}
	}
	return Decision{Action: ActReject, Limits: h.Effective("")}
}

// MemberMatches reports whether one sender-group member matches p. There is
// no reputation service behind this appliance, so every host's SBRS is
// "None": sbrs[none] matches and a numeric range never does.
func MemberMatches(m string, p Peer) bool {
	switch {
	case m == "ALL":
		return true
	case strings.HasPrefix(m, "sbrs["):
		return m == "sbrs[none]"
	}
	ip := p.IP.Unmap()
	if a, err := netip.ParseAddr(m); err == nil {
		return a.Unmap() == ip
	}
	if pre, err := netip.ParsePrefix(m); err == nil {
		if pre.Addr().Is4In6() {
			pre = netip.PrefixFrom(pre.Addr().Unmap(), pre.Bits()-96)
		}
		return pre.Masked().Contains(ip)
	}
	if lo, hi, err := parseRange(m); err == nil {
		return !ip.Less(lo.Unmap()) && !hi.Unmap().Less(ip) && ip.Is4() == lo.Unmap().Is4()
	}
	if isPartialIPv4(m) {
		return ip.Is4() && strings.HasPrefix(ip.String(), m)
	}
	host := strings.ToLower(strings.TrimSuffix(p.Host, "."))
	if host == "" {
		return false
	}
	m = strings.ToLower(m)
	if strings.HasPrefix(m, ".") {
		return strings.HasSuffix(host, m)
	}
	return host == m
}

// MatchRAT returns the first recipient access entry matching addr
// (local@domain), or false when none does: the recipient is then refused.
func MatchRAT(rat []RATEntry, addr string) (RATEntry, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return RATEntry{}, false
	}
	local, domain := addr[:at], strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
	for _, e := range rat {
		pat := e.Pattern
		switch {
		case pat == "ALL":
			return e, true
		case strings.Contains(pat, "@"):
			pl, pd, _ := strings.Cut(pat, "@")
			if !strings.EqualFold(pl, local) {
				continue
			}
			if pd == "" || strings.EqualFold(pd, domain) {
				return e, true
			}
		case strings.HasPrefix(pat, "."):
			if strings.HasSuffix(domain, strings.ToLower(pat)) {
				return e, true
			}
		default:
			if strings.EqualFold(pat, domain) {
				return e, true
			}
		}
	}
	return RATEntry{}, false
}
