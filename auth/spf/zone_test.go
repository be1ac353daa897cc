package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// zone is the in-memory DNS of the OpenSPF YAML suites
// (../shared/testdata/spf/README.md): names absent from the zone are
// NXDOMAIN, a bare TIMEOUT item makes queries of its name fail temporarily
// unless a record of the queried type comes before it, SPF items are served
// as TXT when the name has no TXT items, and CNAMEs are followed.
type zone map[string][]zoneRR

type zoneRR struct {
	typ  string // A AAAA MX PTR TXT SPF CNAME TIMEOUT
	str  string
	addr netip.Addr
}

var errTimeout = errors.New("simulated DNS timeout")

func (z zone) add(name, typ string, v any) error {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	rr := zoneRR{typ: typ}
	switch typ {
	case "TIMEOUT":
	case "A", "AAAA":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s %s: %v is not a string", name, typ, v)
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%s %s: %v", name, typ, err)
		}
		rr.addr = a
	case "MX":
		l, ok := v.([]any)
		if !ok || len(l) != 2 {
			return fmt.Errorf("%s MX: want [prio, host], got %v", name, v)
		}
		rr.str = fmt.Sprint(l[1])
	case "TXT", "SPF":
		switch t := v.(type) {
		case string:
			rr.str = t
		case []any:
			// The character-strings of one record, concatenated with no
			// separator (RFC 7208 §3.3).
			var b strings.Builder
			for _, p := range t {
				b.WriteString(fmt.Sprint(p))
			}
			rr.str = b.String()
		default:
			rr.str = fmt.Sprint(t)
		}
	case "PTR", "CNAME":
		rr.str = fmt.Sprint(v)
	default:
		return fmt.Errorf("%s: unknown type %s", name, typ)
	}
	z[name] = append(z[name], rr)
	return nil
}

// addName loads the items of one zonedata name the way pyspf's harness
// (getrdata) does: a TXT or SPF value "NONE" is a placeholder that yields
// no record; SPF items are repeated as TXT records after all the name's
// items (so after a TIMEOUT) unless the name has TXT items of its own.
func (z zone) addName(name string, items []any) error {
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	if _, ok := z[key]; !ok {
		z[key] = nil
	}
	hasTXT := false
	var spf []any
	for _, it := range items {
		switch v := it.(type) {
		case string:
			if v != "TIMEOUT" {
				return fmt.Errorf("zone %s: bare item %q", name, v)
			}
			if err := z.add(name, "TIMEOUT", nil); err != nil {
				return err
			}
		case map[string]any:
			for typ, val := range v {
				if typ == "TXT" {
					hasTXT = true
				}
				if typ == "SPF" {
					spf = append(spf, val)
				}
				if val == "NONE" {
					continue
				}
				if typ == "SPF" {
					continue // served as TXT below, or not at all (RFC 7208 only queries TXT)
				}
				if err := z.add(name, typ, val); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("zone %s: item %v", name, it)
		}
	}
	if !hasTXT {
		for _, v := range spf {
			if v == "NONE" {
				continue
			}
			if err := z.add(name, "TXT", v); err != nil {
				return err
			}
		}
	}
	return nil
}

// answer returns the records of type typ at name.
func (z zone) answer(name, typ string, depth int) ([]zoneRR, error) {
	name = lower(strings.TrimSuffix(name, "."))
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if i-start > 63 {
				// pyspf's harness: an over-long label is a resolver error.
				return nil, errTimeout
			}
			start = i + 1
		}
	}
	rrs, ok := z[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNXDomain)
	}
	var out []zoneRR
	for _, rr := range rrs {
		switch {
		case rr.typ == "TIMEOUT":
			if len(out) == 0 {
				return nil, errTimeout
			}
			return out, nil
		case rr.typ == typ:
			out = append(out, rr)
		case rr.typ == "CNAME" && depth < 8:
			return z.answer(rr.str, typ, depth+1)
		}
	}
	return out, nil
}

func (z zone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rrs, err := z.answer(name, "TXT", 0)
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.str
	}
	return out, err
}

func (z zone) addrs(ctx context.Context, name, typ string) ([]netip.Addr, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rrs, err := z.answer(name, typ, 0)
	out := make([]netip.Addr, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.addr
	}
	return out, err
}

func (z zone) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	return z.addrs(ctx, name, "A")
}

func (z zone) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	return z.addrs(ctx, name, "AAAA")
}

func (z zone) LookupMX(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rrs, err := z.answer(name, "MX", 0)
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.str
	}
	return out, err
}

func (z zone) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rrs, err := z.answer(reverseName(ip), "PTR", 0)
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.str
	}
	return out, err
}

// reverseName is the in-addr.arpa / ip6.arpa name of ip.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		return strconv.Itoa(int(a[3])) + "." + strconv.Itoa(int(a[2])) + "." + strconv.Itoa(int(a[1])) + "." + strconv.Itoa(int(a[0])) + ".in-addr.arpa"
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	var b strings.Builder
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[a[i]&15])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa")
	return b.String()
}

// lower is strings.ToLower without the allocation for names already in
// lower case (the benchmark's in-memory DNS should not dominate it).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// sealedZone answers from every (name, type) answer of a zone computed
// once, so that the benchmark measures the checker, not the emulated DNS.
// It gives exactly zone's answers (it is built by calling zone.answer), and
// the suites run against it too.
type sealedZone struct {
	z   zone
	ans map[sealedKey]sealedAns
}

type sealedKey struct{ name, typ string }

type sealedAns struct {
	strs  []string
	addrs []netip.Addr
	err   error
}

func (z zone) seal() *sealedZone {
	s := &sealedZone{z: z, ans: map[sealedKey]sealedAns{}}
	for name := range z {
		for _, typ := range []string{"TXT", "A", "AAAA", "MX", "PTR"} {
			rrs, err := z.answer(name, typ, 0)
			a := sealedAns{err: err}
			for _, rr := range rrs {
				if typ == "A" || typ == "AAAA" {
					a.addrs = append(a.addrs, rr.addr)
				} else {
					a.strs = append(a.strs, rr.str)
				}
			}
			s.ans[sealedKey{name, typ}] = a
		}
	}
	return s
}

func (s *sealedZone) get(ctx context.Context, name, typ string) (sealedAns, bool) {
	if ctx.Err() != nil {
		return sealedAns{err: ctx.Err()}, true
	}
	a, ok := s.ans[sealedKey{lower(strings.TrimSuffix(name, ".")), typ}]
	return a, ok
}

func (s *sealedZone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if a, ok := s.get(ctx, name, "TXT"); ok {
		return a.strs, a.err
	}
	return s.z.LookupTXT(ctx, name)
}

func (s *sealedZone) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	if a, ok := s.get(ctx, name, "A"); ok {
		return a.addrs, a.err
	}
	return s.z.LookupA(ctx, name)
}

func (s *sealedZone) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	if a, ok := s.get(ctx, name, "AAAA"); ok {
		return a.addrs, a.err
	}
	return s.z.LookupAAAA(ctx, name)
}

func (s *sealedZone) LookupMX(ctx context.Context, name string) ([]string, error) {
	if a, ok := s.get(ctx, name, "MX"); ok {
		return a.strs, a.err
	}
	return s.z.LookupMX(ctx, name)
}

func (s *sealedZone) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	if a, ok := s.get(ctx, reverseName(ip), "PTR"); ok {
		return a.strs, a.err
	}
	return s.z.LookupPTR(ctx, ip)
}
