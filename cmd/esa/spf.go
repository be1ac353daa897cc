package main

import (
	"context"
	"fmt"

	"esa/auth/spf"
	"esa/dnssec"

	"github.com/miekg/dns"
)

// spfLookup adapts the shell's validating resolver (Env.Resolver: rebuilt
// when the DNS table changes, its cache kept otherwise) to the SPF
// checker's DNS question. An answer DNSSEC proves Bogus, or could not
// validate (Indeterminate), is an error: the check's result is TempError
// (RFC 7208 §2.6.6: a transient DNS error), never data an attacker forged.
func spfLookup(resolver func() (dnssec.Lookuper, error)) spf.LookupFunc {
	return func(ctx context.Context, name string, qtype uint16) ([]dns.RR, bool, error) {
		r, err := resolver()
		if err != nil {
			return nil, false, err
		}
		a, err := r.Lookup(ctx, name, qtype)
		if err != nil {
			return nil, false, err
		}
		if a.Security == dnssec.Bogus || a.Security == dnssec.Indeterminate {
			return nil, false, fmt.Errorf("%s %s: DNSSEC %s: %s", name, dns.TypeToString[qtype], a.Security, a.Reason)
		}
		return a.Records, a.Kind == dnssec.NXDomain, nil
	}
}

// newSPFChecker is the daemon's one SPF checker: its parsed-record cache
// serves every listener for the life of the process.
func newSPFChecker(resolver func() (dnssec.Lookuper, error), hostname string) *spf.Checker {
	return &spf.Checker{Resolver: spf.NewDNSResolver(spfLookup(resolver)), Receiver: hostname}
}
