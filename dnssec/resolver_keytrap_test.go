package dnssec

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// TestKeyTrapVerificationsBounded: a KeyTrap zone (CVE-2023-50387: 40
// DNSKEYs sharing the ZSK's tag and 40 garbage RRSIGs before the real one,
// 1640 verifications for a validator without caps) ends as ErrBudget or
// Bogus, and every validation stays within MaxVerifiesPerQuery — counted,
// not timed.
func TestKeyTrapVerificationsBounded(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.h.KeyTrap("example.test.", 40, 40)
	var mu sync.Mutex
	var budgets []*Budget
	r := b.resolverWith(t, nil, observerFunc(func(_ string, _ uint16, bd *Budget) {
		mu.Lock()
		budgets = append(budgets, bd)
		mu.Unlock()
	}))
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"mail.example.test.", dns.TypeA}, {"nope.example.test.", dns.TypeA}, {"_25._tcp.mail.example.test.", dns.TypeTLSA}} {
		a, err := r.Lookup(context.Background(), q.name, q.qtype)
		var le *LookupError
		switch {
		case errors.As(err, &le):
			if le.Kind != ErrBudget {
				t.Errorf("%s: err = %v, want ErrBudget", q.name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", q.name, err)
		case a.Security != Bogus && a.Security != Indeterminate:
			t.Errorf("%s: KeyTrap answer %v %q, want Bogus", q.name, a.Security, a.Reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(budgets) == 0 {
		t.Fatal("budget hook never called")
	}
	lim := DefaultLimits()
	total := 0
	for _, bd := range budgets {
		if bd.Verifies() > lim.MaxVerifiesPerQuery {
			t.Errorf("one validation did %d verifications, cap %d", bd.Verifies(), lim.MaxVerifiesPerQuery)
		}
		total += bd.Verifies()
	}
	if total == 0 || total > len(budgets)*lim.MaxSigsPerRRset*lim.MaxKeyCandidates+len(budgets)*8 {
		t.Errorf("%d verifications over %d validations", total, len(budgets))
	}
	t.Logf("%d verifications over %d validations", total, len(budgets))
}
