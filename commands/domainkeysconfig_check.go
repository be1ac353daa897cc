package commands

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"time"

	"esa/auth/dkim"
	"esa/dnssec"
	"esa/shell"
	"esa/store/domainkeys"

	"github.com/miekg/dns"
)

// dkTestTimeout bounds SIGNING TEST's key lookup (the DEFAULT verification
// profile's key query timeout).
const dkTestTimeout = 10 * time.Second

// dkTest is SIGNING TEST (ESA-CLI §2.5): look the profile's published key
// up through the validating resolver and say whether it is the public half
// of the profile's private key. A record DNSSEC proves Bogus, or cannot
// validate, is a failure: a forged record must not look ready.
func dkTest(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectSigning(io, t, "Enter the name or number of a domain profile to test.")
	if err != nil || i < 0 {
		return err
	}
	p := t.Signing[i]
	if reason := dkTestProfile(io.Ctx, env, t, p); reason != "" {
		io.Printf("\nThe domain profile %s failed the test: %s\n", p.Name, reason)
		io.Fail()
		return nil
	}
	io.Printf("\nDomain profile %q is ready to sign.\n", p.Name)
	return nil
}

// dkTestProfile returns why p cannot sign verifiably, "" when it can.
func dkTestProfile(ctx context.Context, env *Env, t domainkeys.Table, p domainkeys.SigningProfile) string {
	k := t.FindKey(p.KeyName)
	if k < 0 {
		return "the signing key " + p.KeyName + " is not configured."
	}
	signer, err := t.Keys[k].Parse()
	if err != nil {
		return err.Error() + "."
	}
	var r dnssec.Lookuper
	if env.Resolver != nil {
		if r, err = env.Resolver(); err != nil {
			return err.Error()
		}
	}
	if r == nil {
		return errNoResolver.Error()
	}
	// RFC 6376 §3.6.2.1 / RFC 4870 §3.2.2: the key lives at
	// selector._domainkey.domain.
	name := dns.Fqdn(p.Selector + "._domainkey." + p.Domain)
	ctx, cancel := context.WithTimeout(ctx, dkTestTimeout)
	defer cancel()
	a, err := r.Lookup(ctx, name, dns.TypeTXT)
	name = strings.TrimSuffix(name, ".")
	if err != nil {
		return "the lookup of " + name + " TXT failed: " + err.Error() + "."
	}
	if a.Security == dnssec.Bogus || a.Security == dnssec.Indeterminate {
		return "the " + name + " TXT record is DNSSEC " + a.Security.String() + " (" + a.Reason + ")."
	}
	var txts []string
	for _, rr := range a.Records {
		if txt, ok := rr.(*dns.TXT); ok {
			txts = append(txts, strings.Join(txt.Txt, ""))
		}
	}
	if len(txts) == 0 {
		return "no TXT record is published at " + name + "."
	}
	var last error
	for _, txt := range txts {
		var rec *dkim.KeyRecord
		if p.Type == domainkeys.TypeDK {
			rec, err = dkim.ParseDKKeyRecord(txt)
		} else {
			rec, err = dkim.ParseKeyRecord(txt)
		}
		if err != nil {
			last = err
			continue
		}
		if rec.Revoked {
			last = errors.New("the published key is revoked (empty p=)")
			continue
		}
		if pk, ok := rec.Key.(interface{ Equal(crypto.PublicKey) bool }); ok && pk.Equal(signer.Public()) {
			return ""
		}
		last = errors.New("the published key does not match the private key " + p.KeyName)
	}
	return last.Error() + "."
}
