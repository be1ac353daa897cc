package main

import (
	"context"
	"sync"
	"time"

	"esa/delivery/outbound"
	"esa/dnssec"
	"esa/store"
	"esa/store/destinations"
	"esa/store/routes"
)

// This file turns the committed destconfig, bounceconfig and smtproutes
// tables into the delivery engine's inputs. Each is read from the shared
// snapshot at the moment the engine asks, so a commit applies to the next
// delivery without a restart.

// lookuper follows the validating resolver the DNS table (or the lab
// switches) describe; Env.Resolver rebuilds it when that table changes.
type lookuper struct {
	resolver func() (dnssec.Lookuper, error)
}

func (l lookuper) Lookup(ctx context.Context, name string, qtype uint16) (*dnssec.Answer, error) {
	r, err := l.resolver()
	if err != nil {
		return nil, err
	}
	return r.Lookup(ctx, name, qtype)
}

// enginePolicy answers the engine's per-domain question from the snapshot.
func enginePolicy(st *store.Store) func(domain string) outbound.Policy {
	return func(domain string) outbound.Policy {
		c := st.Snapshot()
		return policyFrom(c, domain)
	}
}

func policyFrom(c *store.Config, domain string) outbound.Policy {
	e := c.Destinations.Lookup(domain)
	p := outbound.Policy{
		Concurrency:     e.Concurrency,
		PerIP:           e.LimitType == destinations.PerMXIP,
		MessagesPerConn: e.MessagesPerConnection,
		RecipientLimit:  e.RecipientLimit,
		RecipientWindow: time.Duration(e.RecipientMinutes) * time.Minute,
		TLS:             tlsMode(e.TLS),
		DANE:            daneMode(e.DANE),
		IPSort:          ipSort(e.IPSort),
	}
	b := c.Bounces.Lookup(e.BounceProfile)
	p.Bounce = outbound.Bounce{
		MaxRetries:     b.MaxRetries,
		MaxQueueTime:   b.MaxQueueLifetime,
		InitialRetry:   b.InitialRetry,
		MaxRetry:       b.MaxRetryInterval,
		HardBounce:     b.HardBounces,
		DelayWarning:   b.DelayWarnings,
		BounceFrom:     b.FromAddress(c.System.Hostname),
		DelayRecipient: b.AlternateRecipient,
		Sign:           b.Sign,
	}
	return p
}

func tlsMode(t destinations.TLS) outbound.TLSMode {
	switch t {
	case destinations.TLSPreferred:
		return outbound.TLSPreferred
	case destinations.TLSRequired:
		return outbound.TLSRequired
	case destinations.TLSPreferredVerify:
		return outbound.TLSPreferredVerify
	case destinations.TLSRequiredVerify:
		return outbound.TLSRequiredVerify
	case destinations.TLSRequiredVerifyHosted:
		return outbound.TLSRequiredVerifyHosted
	}
	return outbound.TLSNo
}

func daneMode(d destinations.DANE) outbound.DANEMode {
	switch d {
	case destinations.DANEOpportunistic:
		return outbound.DANEOpportunistic
	case destinations.DANEMandatory:
		return outbound.DANEMandatory
	}
	return outbound.DANENo
}

func ipSort(s destinations.IPSort) outbound.IPSort {
	switch s {
	case destinations.PreferIPv6:
		return outbound.IPv6Preferred
	case destinations.RequireIPv4:
		return outbound.IPv4Required
	case destinations.RequireIPv6:
		return outbound.IPv6Required
	}
	return outbound.IPv4Preferred
}

// engineRoute answers the engine's route question from the snapshot; the
// index is rebuilt only when the routes table changed (pointer compare).
func engineRoute(st *store.Store) func(domain string) (outbound.Route, bool) {
	var mu sync.Mutex
	var last *store.Config
	var ix *routes.Index
	return func(domain string) (outbound.Route, bool) {
		c := st.Snapshot()
		mu.Lock()
		if c != last {
			// A new snapshot; rebuilding the index is cheap next to a
			// delivery (the engine asks once per destination queue).
			last, ix = c, routes.NewIndex(c.Routes)
		}
		idx := ix
		mu.Unlock()
		r, ok := idx.Lookup(domain)
		if !ok {
			return outbound.Route{}, false
		}
		return routeFrom(r), true
	}
}

func routeFrom(r routes.Route) outbound.Route {
	switch {
	case r.Discard():
		return outbound.Route{DevNull: true}
	case r.UsesDNS():
		return outbound.Route{UseDNS: true}
	}
	var out outbound.Route
	for _, d := range r.Destinations {
		out.Hosts = append(out.Hosts, outbound.RouteHost{Host: d.Host, Priority: d.Priority, Port: d.Port})
	}
	return out
}
