package dnssec

import "errors"

// Limits caps the validation work one top-level query may cause. They are the
// KeyTrap (CVE-2023-50387) and NSEC3 hashing (CVE-2023-50868) defences that
// DANE.md §0 item 6 asks for.
type Limits struct {
	// MaxKeyCandidates is how many DNSKEYs sharing one key tag (and
	// algorithm) are tried for one RRSIG. Key tags collide (RFC 4034 App. B).
	MaxKeyCandidates int
	// MaxSigsPerRRset is how many RRSIGs of one RRset are looked at.
	MaxSigsPerRRset int
	// MaxVerifiesPerQuery is how many public-key operations (signature
	// verifications) the whole query may do.
	MaxVerifiesPerQuery int
	// MaxNSEC3Iterations: NSEC3 records with more iterations make the answer
	// Insecure (RFC 9276 §3.2), never a hashing job.
	MaxNSEC3Iterations int
	// MaxNSEC3Hashes is how many NSEC3 name hashes the whole query may compute.
	MaxNSEC3Hashes int
}

// DefaultLimits returns the limits the resolver uses.
//
// 150 NSEC3 iterations: RFC 9276 §3.2 lets a validator treat responses
// above a threshold as insecure; 150 is the value sdns, Unbound and BIND
// settled on, so every zone they validate validates here too, and a hash
// costs at most ~13 µs (DANE.md §1.8). Above it answers are Insecure,
// reported by ErrNSEC3Iterations.
func DefaultLimits() Limits {
	return Limits{
		MaxKeyCandidates:    4,
		MaxSigsPerRRset:     8,
		MaxVerifiesPerQuery: 64,
		MaxNSEC3Iterations:  150,
		MaxNSEC3Hashes:      64,
	}
}

// ErrWorkBudget says a Limits cap was reached. Callers report it as
// LookupError{Kind: ErrBudget}, never as an answer.
var ErrWorkBudget = errors.New("validation work budget exhausted")

// Budget counts the work of one top-level query across every VerifyRRset,
// VerifyKeys and Prove* call made for it. It is not safe for concurrent use:
// one query, one goroutine, one Budget.
type Budget struct {
	l         Limits
	verifies  int
	hashes    int
	exhausted bool
	memo      map[string]string // NSEC3 hashes computed for this query
}

// NewBudget starts the count for one query. Zero fields of l take the
// DefaultLimits value, so a zero Limits is safe.
func NewBudget(l Limits) *Budget {
	d := DefaultLimits()
	if l.MaxKeyCandidates <= 0 {
		l.MaxKeyCandidates = d.MaxKeyCandidates
	}
	if l.MaxSigsPerRRset <= 0 {
		l.MaxSigsPerRRset = d.MaxSigsPerRRset
	}
	if l.MaxVerifiesPerQuery <= 0 {
		l.MaxVerifiesPerQuery = d.MaxVerifiesPerQuery
	}
	if l.MaxNSEC3Iterations <= 0 {
		l.MaxNSEC3Iterations = d.MaxNSEC3Iterations
	}
	if l.MaxNSEC3Hashes <= 0 {
		l.MaxNSEC3Hashes = d.MaxNSEC3Hashes
	}
	return &Budget{l: l}
}

// Limits returns the caps in force.
func (b *Budget) Limits() Limits { return b.l }

// Exhausted reports whether some cap was hit; every later call fails fast.
func (b *Budget) Exhausted() bool { return b.exhausted }

// Verifies and Hashes report the work done so far (tests, debug trace).
func (b *Budget) Verifies() int { return b.verifies }

// Hashes reports the NSEC3 hashes computed so far.
func (b *Budget) Hashes() int { return b.hashes }

// spendVerify takes one signature verification from the budget.
func (b *Budget) spendVerify() bool {
	if b.exhausted || b.verifies >= b.l.MaxVerifiesPerQuery {
		b.exhausted = true
		return false
	}
	b.verifies++
	return true
}

// spendHash takes one NSEC3 hash from the budget.
func (b *Budget) spendHash() bool {
	if b.exhausted || b.hashes >= b.l.MaxNSEC3Hashes {
		b.exhausted = true
		return false
	}
	b.hashes++
	return true
}
