package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"esa/dnssec"
	"esa/store"
	"esa/store/logs"
)

// anchorStateKey is where the RFC 5011 trust-anchor state lives in the
// store's runtime state (it is not configuration: it changes by itself).
const anchorStateKey = "dnssec/rfc5011"

// buildResolver checks the lab flags (--resolver HOST[:PORT], --trust-anchor
// FILE) at start-up, so a typo stops esa at once, and returns the door
// Env.Resolver: a validating resolver built from the committed DNS table
// (dnsconfig) unless a flag overrides its servers or trust anchor. The
// resolver is kept while the DNS table is unchanged, so its cache and
// RFC 5011 state (saved through the store) carry over between commands.
func buildResolver(st *store.Store, lm *logs.Manager, now func() time.Time, resolver, anchorFile string) (func() (dnssec.Lookuper, error), error) {
	var servers []dnssec.Server
	if resolver != "" {
		addr, err := resolverAddr(resolver)
		if err != nil {
			return nil, err
		}
		servers = []dnssec.Server{{Addr: addr}}
	}
	var anchors []dns.RR
	if anchorFile != "" {
		text, err := os.ReadFile(anchorFile)
		if err != nil {
			return nil, fmt.Errorf("--trust-anchor: %w", err)
		}
		if anchors, err = dnssec.ParseAnchors(string(text)); err != nil {
			return nil, fmt.Errorf("--trust-anchor %s: %w", anchorFile, err)
		}
	}

	var (
		mu      sync.Mutex
		current *dnssec.Resolver
		builtOn store.DNS     // the table current was built from
		seen    *store.Config // the snapshot current was last checked against
	)
	return func() (dnssec.Lookuper, error) {
		// One lookup per message calls this: the shared snapshot costs an
		// atomic load, and its pointer changes only with a commit, so the
		// DNS table is compared only after one (issue 12 item 24).
		snap := st.Snapshot()
		mu.Lock()
		defer mu.Unlock()
		if current != nil && snap == seen {
			return current, nil
		}
		table := snap.DNS
		if current != nil && reflect.DeepEqual(table, builtOn) {
			seen = snap // a commit of another table
			return current, nil
		}
		c := dnssec.Config{
			Servers: servers,
			Timeout: time.Duration(table.Timeout) * time.Second,
			Anchors: anchors,
			Now:     now,
			Log:     lm.Logger(store.LogTypeMail),
		}
		if c.Servers == nil {
			for _, r := range table.Resolvers {
				ap, err := store.ResolverAddr(r.Address)
				if err != nil {
					return nil, err
				}
				c.Servers = append(c.Servers, dnssec.Server{Addr: ap.String(), Priority: r.Priority})
			}
		}
		if len(c.Servers) == 0 {
			return nil, errors.New("No DNS resolvers are configured; add one with dnsconfig.")
		}
		if c.Anchors == nil && table.TrustAnchor != "" {
			a, err := dnssec.ParseAnchors(table.TrustAnchor)
			if err != nil {
				return nil, fmt.Errorf("DNS trust anchor: %w", err)
			}
			c.Anchors = a
		}
		r, err := dnssec.NewWithState(c, anchorState{st})
		if err != nil {
			return nil, err
		}
		current, builtOn, seen = r, table, snap
		return r, nil
	}, nil
}

// resolverAddr turns HOST or HOST:PORT (IPv6 in brackets with a port) into
// the host:port the resolver dials; the port defaults to 53.
func resolverAddr(s string) (string, error) {
	if ip := net.ParseIP(s); ip != nil {
		return net.JoinHostPort(s, "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "53"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return "", fmt.Errorf("--resolver %q: want HOST or HOST:PORT", s)
	}
	return net.JoinHostPort(host, port), nil
}

// anchorState keeps the RFC 5011 state in the store (dnssec.AnchorStore).
type anchorState struct{ st *store.Store }

func (a anchorState) Load() ([]byte, error) { return a.st.GetState(anchorStateKey) }
func (a anchorState) Save(b []byte) error   { return a.st.PutState(anchorStateKey, b) }
