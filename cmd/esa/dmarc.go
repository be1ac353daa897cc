package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"esa/auth/dkim"
	"esa/auth/dmarc"
	"esa/dnssec"
	"esa/store"
	"esa/store/dmarcconf"

	"github.com/miekg/dns"
)

// dmarcResolver adapts the shell's validating resolver to DMARC's policy
// record lookups: the TXT lookups of the DKIM adapter, with "no such
// record" said in DMARC's words (a missing _dmarc record means no policy,
// RFC 7489 §6.6.3), and the existence checks of DMARCbis's np tag.
type dmarcResolver struct {
	txt dkimResolver
}

func (d dmarcResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	out, err := d.txt.LookupTXT(ctx, name)
	if errors.Is(err, dkim.ErrNotFound) {
		return nil, fmt.Errorf("%s TXT: %w", name, dmarc.ErrNotFound)
	}
	return out, err
}

// DomainExists is dmarc.DomainChecker: a domain is non-existent when A,
// AAAA and MX all answer NXDOMAIN or NODATA (RFC 9091, kept by DMARCbis);
// an answer that does not validate is an error, never a non-existence an
// attacker forged.
func (d dmarcResolver) DomainExists(ctx context.Context, domain string) (bool, error) {
	r, err := d.txt.resolver()
	if err != nil {
		return false, err
	}
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX} {
		a, err := r.Lookup(ctx, dns.Fqdn(domain), t)
		if err != nil {
			return false, err
		}
		if a.Security == dnssec.Bogus || a.Security == dnssec.Indeterminate {
			return false, fmt.Errorf("%s: DNSSEC %s: %s", domain, a.Security, a.Reason)
		}
		if a.Kind == dnssec.Data {
			return true, nil
		}
	}
	return false, nil
}

// dmarcEvaluators gives the listeners the evaluator of the specification
// dmarcconfig SETUP picks (RFC 7489 or DMARCbis), built once each so their
// caches serve every message.
func dmarcEvaluators(st *store.Store, r dmarcResolver) func() *dmarc.Evaluator {
	var once sync.Once
	var rfc, bis *dmarc.Evaluator
	return func() *dmarc.Evaluator {
		once.Do(func() {
			rfc = dmarc.New(r, dmarc.Options{Mode: dmarc.RFC7489})
			bis = dmarc.New(r, dmarc.Options{Mode: dmarc.DMARCbis, Exists: r})
		})
		if st.Snapshot().DMARC.Settings.Rules == "dmarcbis" {
			return bis
		}
		return rfc
	}
}

// dmarcProfileFor returns the committed dmarcconfig profile a policy
// names; a name that is gone (the table is validated, so only in a race
// with a commit) falls back to DEFAULT, then to the factory DEFAULT.
func dmarcProfileFor(st *store.Store) func(string) dmarcconf.Profile {
	return func(name string) dmarcconf.Profile {
		t := st.Snapshot().DMARC
		if name == "" {
			name = dmarcconf.DefaultProfile
		}
		if p := t.Profile(name); p != nil {
			return *p
		}
		if p := t.Profile(dmarcconf.DefaultProfile); p != nil {
			return *p
		}
		return dmarcconf.NewProfile(dmarcconf.DefaultProfile)
	}
}
