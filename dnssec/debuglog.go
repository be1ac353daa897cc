package dnssec

import (
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// warner is the optional richer logger: the appliance's logs.Logger has a
// Warning method, and the seed shows fall-over and invalid-response lines at
// Warning level. Anything that only has Debugf gets those lines there.
type warner interface {
	Warning(format string, args ...any)
}

// dlog writes the appliance's DNS debug trace (seed 000, "debug level mail
// logs during daneverify"). Every method is a no-op without a Logger so the
// warm cache path pays nothing.
type dlog struct {
	l Logger
	w warner
}

func newDlog(l Logger) dlog {
	d := dlog{l: l}
	if w, ok := l.(warner); ok {
		d.w = w
	}
	return d
}

func (d dlog) on() bool { return d.l != nil }

func (d dlog) debug(format string, args ...any) {
	if d.l != nil {
		d.l.Debugf(format, args...)
	}
}

func (d dlog) warn(format string, args ...any) {
	switch {
	case d.w != nil:
		d.w.Warning(format, args...)
	case d.l != nil:
		d.l.Debugf(format, args...)
	}
}

// trimDot gives the name the way the appliance prints it: no trailing dot.
func trimDot(name string) string {
	if len(name) > 1 {
		return strings.TrimSuffix(name, ".")
	}
	return name
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// serverIP is what the QIP/Q lines show: the bare IP for port 53 (as on the
// appliance), host:port otherwise so loopback test resolvers stay apart.
func serverIP(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "53" {
		if err != nil {
			return addr
		}
		return host
	}
	return addr
}

// "DNS query: Q('ietf.org', 'MX')"
func (d dlog) query(name string, qtype uint16) {
	if d.on() {
		d.debug("DNS query: Q('%s', '%s')", trimDot(name), typeName(qtype))
	}
}

// "DNS query: QN('ietf.org', 'MX', 'recursive_nameserver0.parent')": the
// priority group about to be asked.
func (d dlog) queryGroup(name string, qtype uint16, group int) {
	if d.on() {
		d.debug("DNS query: QN('%s', '%s', 'recursive_nameserver%d.parent')", trimDot(name), typeName(qtype), group)
	}
}

// "DNS query: QIP ('ietf.org','MX','194.191.40.84',60)" then
// "DNS query: Q ('ietf.org', 'MX', '194.191.40.84')".
func (d dlog) queryServer(name string, qtype uint16, addr string, timeout time.Duration) {
	if d.on() {
		n, t, ip := trimDot(name), typeName(qtype), serverIP(addr)
		d.debug("DNS query: QIP ('%s','%s','%s',%d)", n, t, ip, int(timeout/time.Second))
		d.debug("DNS query: Q ('%s', '%s', '%s')", n, t, ip)
	}
}

// "Received an invalid DNS Response: SERVER FAILED to IP 194.191.40.83
// looking up thinkbeyond-ch.mail.protection.outlook.com"
func (d dlog) invalid(what, addr, name string) {
	if d.on() {
		d.warn("Received an invalid DNS Response: %s to IP %s looking up %s", what, serverIP(addr), trimDot(name))
	}
}

// "Received an invalid DNSSEC Response: DNSSEC_Error('mail.ietf.org', 'AAAA',
// '194.191.40.84', 'DNSSEC Error for hostname mail.ietf.org (AAAA) while
// asking 194.191.40.84. Error was: ...') of qtype AAAA looking up mail.ietf.org"
func (d dlog) dnssecError(name string, qtype uint16, addr, reason string) {
	if d.on() {
		n, t, ip := trimDot(name), typeName(qtype), serverIP(addr)
		d.warn("Received an invalid DNSSEC Response: DNSSEC_Error('%s', '%s', '%s', 'DNSSEC Error for hostname %s (%s) while asking %s. Error was: %s') of qtype %s looking up %s",
			n, t, ip, n, t, ip, reason, t, n)
	}
}

// response logs "DNSSEC Response data([...], secure, 0, 1800)", then for data
// "DNS encache (...)" or for denials "Received NODATA|NXDOMAIN for domain X
// type T".
func (d dlog) response(a *Answer, expires time.Time) {
	if !d.on() {
		return
	}
	var b strings.Builder
	for i, rr := range a.Records {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(rdataRepr(rr, true))
	}
	d.debug("DNSSEC Response data([%s], %s, 0, %d)", b.String(), strings.ToLower(a.Security.String()), a.TTL)
	switch a.Kind {
	case NXDomain:
		d.debug("Received NXDOMAIN for domain %s type %s", trimDot(a.Name), typeName(a.Qtype))
	case NoData:
		d.debug("Received NODATA for domain %s type %s", trimDot(a.Target), typeName(a.Qtype))
	default:
		b.Reset()
		stamp := strconv.FormatInt(expires.UnixMicro(), 10) + "L"
		for i, rr := range a.Records {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + stamp + ", 0, '" + a.Security.String() + "', " + rdataRepr(rr, false) + ")")
		}
		d.debug("DNS encache (%s, %s, [%s])", trimDot(a.Name), typeName(a.Qtype), b.String())
	}
}

// rdataRepr renders one record the way the appliance's Python trace does:
// MX as (pref, 'host.'), addresses as 'ip', TLSA as one hex string
// (usage, selector, matching type, data). dot keeps the trailing dot of
// names (the Response line has it, the encache line does not).
func rdataRepr(rr dns.RR, dot bool) string {
	name := func(s string) string {
		if dot {
			return s
		}
		return trimDot(s)
	}
	switch v := rr.(type) {
	case *dns.MX:
		return "(" + strconv.Itoa(int(v.Preference)) + ", '" + name(v.Mx) + "')"
	case *dns.A:
		return "'" + v.A.String() + "'"
	case *dns.AAAA:
		return "'" + v.AAAA.String() + "'"
	case *dns.CNAME:
		return "'" + name(v.Target) + "'"
	case *dns.TLSA:
		return "'" + hex.EncodeToString([]byte{v.Usage, v.Selector, v.MatchingType}) + strings.ToLower(v.Certificate) + "'"
	}
	hdr := rr.Header().String()
	return "'" + strings.TrimSpace(strings.TrimPrefix(rr.String(), hdr)) + "'"
}
