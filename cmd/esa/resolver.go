package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"esa/dnssec"
	"esa/store"
	"esa/store/logs"
)

// buildResolver checks the lab flags (--resolver HOST[:PORT], --trust-anchor
// FILE) at start-up, so a typo stops esa at once, and returns the door
// Env.Resolver through which dnsconfig, daneverify and tlsverify get a
// validating resolver.
//
// PLACEHOLDER for the integrator: the validating resolver (dnssec.New) had
// not landed when this was written, so the returned function reports that no
// resolver is available. Finishing it means: servers from --resolver or the
// committed DNS table (st.Committed().DNS), anchors from the --trust-anchor
// file, the DNS table's TrustAnchor or dnssec.BuiltinAnchors(), RFC 5011
// state through st.GetState/PutState, and lm.Logger(store.LogTypeMail) as the
// debug log.
func buildResolver(st *store.Store, lm *logs.Manager, now func() time.Time, resolver, anchorFile string) (func() (dnssec.Lookuper, error), error) {
	if resolver != "" {
		if _, _, err := net.SplitHostPort(resolver); err != nil {
			if net.ParseIP(resolver) == nil {
				if _, _, err := net.SplitHostPort(resolver + ":53"); err != nil {
					return nil, fmt.Errorf("--resolver %q: want HOST or HOST:PORT", resolver)
				}
			}
		}
	}
	if anchorFile != "" {
		text, err := os.ReadFile(anchorFile)
		if err != nil {
			return nil, fmt.Errorf("--trust-anchor: %w", err)
		}
		if _, err := dnssec.ParseAnchors(string(text)); err != nil {
			return nil, fmt.Errorf("--trust-anchor %s: %w", anchorFile, err)
		}
	}
	return func() (dnssec.Lookuper, error) {
		return nil, errors.New("DNS resolver not available")
	}, nil
}
