package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// LookupFunc answers one DNS question: the records of type qtype at the end
// of any CNAME chain, whether the name does not exist (RCODE 3), or an
// error for anything that gave no usable answer. It is the shape of the
// project's validating resolver (dnssec.Lookuper: Answer.Records,
// Answer.Kind == NXDomain), which the daemon wraps in a few lines without
// this package importing it.
type LookupFunc func(ctx context.Context, name string, qtype uint16) (records []dns.RR, nxdomain bool, err error)

// NewDNSResolver adapts a LookupFunc to the Resolver the checker needs.
func NewDNSResolver(f LookupFunc) Resolver { return dnsResolver{f} }

type dnsResolver struct{ f LookupFunc }

func (r dnsResolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	rrs, nx, err := r.f(ctx, dns.Fqdn(name), qtype)
	if err != nil {
		return nil, err
	}
	if nx {
		return nil, fmt.Errorf("%s: %w", name, ErrNXDomain)
	}
	return rrs, nil
}

func (r dnsResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			// RFC 7208 §3.3: the character-strings of one record are
			// concatenated without adding spaces.
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, err
}

func (r dnsResolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeA)
	var out []netip.Addr
	for _, rr := range rrs {
		if a, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				out = append(out, ip)
			}
		}
	}
	return out, err
}

func (r dnsResolver) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeAAAA)
	var out []netip.Addr
	for _, rr := range rrs {
		if a, ok := rr.(*dns.AAAA); ok {
			if ip, ok := netip.AddrFromSlice(a.AAAA.To16()); ok {
				out = append(out, ip)
			}
		}
	}
	return out, err
}

func (r dnsResolver) LookupMX(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeMX)
	var out []string
	for _, rr := range rrs {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, m.Mx)
		}
	}
	return out, err
}

func (r dnsResolver) LookupPTR(ctx context.Context, addr netip.Addr) ([]string, error) {
	rev, err := dns.ReverseAddr(addr.Unmap().String())
	if err != nil {
		return nil, err
	}
	rrs, err := r.lookup(ctx, rev, dns.TypePTR)
	var out []string
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, p.Ptr)
		}
	}
	return out, err
}

// StubLookup is a LookupFunc that asks one recursive server directly (the
// lab --resolver switch, and the loopback tests), without validation:
// NOERROR gives the answer's records of qtype, NXDOMAIN gives nxdomain,
// any other RCODE or a network error is an error (temporary to SPF).
func StubLookup(c *dns.Client, server string) LookupFunc {
	return func(ctx context.Context, name string, qtype uint16) ([]dns.RR, bool, error) {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), qtype)
		q.RecursionDesired = true
		resp, _, err := c.ExchangeContext(ctx, q, server)
		if err == nil && resp.Truncated {
			tcp := *c
			tcp.Net = "tcp"
			resp, _, err = tcp.ExchangeContext(ctx, q, server)
		}
		if err != nil {
			return nil, false, err
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			return nil, true, nil
		default:
			return nil, false, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[resp.Rcode])
		}
		var out []dns.RR
		for _, rr := range resp.Answer {
			if rr.Header().Rrtype == qtype {
				out = append(out, rr)
			}
		}
		return out, false, nil
	}
}
