package main

import (
	"context"
	"fmt"
	"strings"

	"esa/auth/dkim"
	"esa/dnssec"

	"github.com/miekg/dns"
)

// dkimResolver adapts the shell's validating resolver to the DKIM
// verifier's key lookups, as spfLookup does for SPF. A name with no TXT
// record (NXDOMAIN or NODATA) wraps dkim.ErrNotFound: the key is absent,
// a permanent failure (RFC 6376 §6.1.2). An answer DNSSEC proves Bogus or
// cannot validate is any other error, so the result is a temperror, never
// a key an attacker forged.
type dkimResolver struct {
	resolver func() (dnssec.Lookuper, error)
}

func (d dkimResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r, err := d.resolver()
	if err != nil {
		return nil, err
	}
	a, err := r.Lookup(ctx, dns.Fqdn(name), dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	if a.Security == dnssec.Bogus || a.Security == dnssec.Indeterminate {
		return nil, fmt.Errorf("%s TXT: DNSSEC %s: %s", name, a.Security, a.Reason)
	}
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			// One record's character-strings are concatenated (RFC 6376
			// §3.6.2.2).
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s TXT: %w", name, dkim.ErrNotFound)
	}
	return out, nil
}
