package spf

import (
	"context"
	"errors"
	"net/netip"
)

// Resolver is the DNS the checker needs. The daemon hands it an adapter over
// the project's (validating, caching) resolver; tests hand it an in-memory
// zone.
//
// Outcomes are told apart as RFC 7208 needs them (§2.6.6, §4.6.4, §5):
//   - records, nil: an answer;
//   - no records, nil: NODATA (the name exists, no record of that type);
//   - an error wrapping ErrNXDomain: the name does not exist;
//   - any other error (timeout, SERVFAIL, a cancelled context): a temporary
//     failure, which makes the check TempError where the RFC says so.
type Resolver interface {
	// LookupTXT returns one string per TXT record, its character-strings
	// already concatenated without separator (RFC 7208 §3.3).
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupA and LookupAAAA return the addresses of name.
	LookupA(ctx context.Context, name string) ([]netip.Addr, error)
	LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error)
	// LookupMX returns the exchange host names of name (order does not
	// matter to SPF). A null MX (".") may be returned as ".".
	LookupMX(ctx context.Context, name string) ([]string, error)
	// LookupPTR returns the names of the reverse entry of addr.
	LookupPTR(ctx context.Context, addr netip.Addr) ([]string, error)
}

// dnsKind classifies a resolver outcome.
type dnsKind uint8

const (
	dnsOK   dnsKind = iota // at least one record
	dnsVoid                // NXDOMAIN or NODATA (RFC 7208 §4.6.4)
	dnsNX                  // NXDOMAIN specifically (still void)
	dnsTemp                // anything else: temperror material
)

func classify(n int, err error) dnsKind {
	switch {
	case err == nil && n > 0:
		return dnsOK
	case err == nil:
		return dnsVoid
	case errors.Is(err, ErrNXDomain):
		return dnsNX
	default:
		return dnsTemp
	}
}
