package dmarc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
)

// memDNS is an in-memory zone: names not listed answer NXDOMAIN (as a
// *net.DNSError, the way net.Resolver reports it), names in fail answer
// SERVFAIL. It records the names asked, in order.
type memDNS struct {
	txt    map[string][]string
	fail   map[string]bool
	exists map[string]bool // DomainExists answers; absent = does not exist

	mu    sync.Mutex
	asked []string
}

func (m *memDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	m.mu.Lock()
	m.asked = append(m.asked, name)
	m.mu.Unlock()
	if m.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	recs, ok := m.txt[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("NODATA for %s: %w", name, ErrNotFound)
	}
	return recs, nil
}

func (m *memDNS) DomainExists(_ context.Context, domain string) (bool, error) {
	m.mu.Lock()
	m.asked = append(m.asked, "exists?"+domain)
	m.mu.Unlock()
	if m.fail["exists?"+domain] {
		return false, errors.New("timeout")
	}
	return m.exists[domain], nil
}

func (m *memDNS) queries() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.asked)
}

// fixedRand returns its values in turn and fails the test when asked more
// often than expected, so a test proves when randomness is (not) drawn.
type fixedRand struct {
	t    *testing.T
	vals []int
}

func (r *fixedRand) IntN(n int) int {
	r.t.Helper()
	if n != 100 {
		r.t.Errorf("IntN(%d): pct sampling draws from 100", n)
	}
	if len(r.vals) == 0 {
		r.t.Fatal("pct sampling drew a random number it did not need")
	}
	v := r.vals[0]
	r.vals = r.vals[1:]
	return v
}
