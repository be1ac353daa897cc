package dmarc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Resolver is the DNS the evaluator needs: TXT records.
//
// LookupTXT returns the TXT records at name, each record's strings already
// concatenated (as net.Resolver does). NXDOMAIN and NODATA must be reported
// as an error matching ErrNotFound (errors.Is) or as a *net.DNSError with
// IsNotFound set: they mean "no record". Any other error is a temporary
// failure and makes the result temperror.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// DomainChecker tells whether a domain exists, for the DMARCbis np tag: a
// domain is non-existent when A, AAAA and MX all answer NXDOMAIN or NODATA
// (the definition of RFC 9091, kept by RFC 9989). Without one, np is never
// applied.
type DomainChecker interface {
	DomainExists(ctx context.Context, domain string) (bool, error)
}

// ErrNotFound is what a Resolver returns (wrapped or not) for NXDOMAIN and
// NODATA.
var ErrNotFound = errors.New("no such DNS record")

func isNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// dnsError is a temporary DNS failure during discovery or alignment.
type dnsError struct {
	name string
	err  error
}

func (e *dnsError) Error() string {
	return fmt.Sprintf("DNS failure for %s: %v", e.name, e.err)
}

func (e *dnsError) Unwrap() error { return e.err }

// lookup holds the answers of one evaluation so the policy walk, the
// Organizational Domain walks and several DKIM domains ask each name once.
type lookup struct {
	ctx     context.Context
	r       Resolver
	mode    Mode
	answers map[string]answer
	queries int
}

type answer struct {
	records []string // only the strings that start with v=DMARC1
	err     error    // temporary failure
}

// dmarcTXT returns the DMARC records at _dmarc.<domain>.
func (l *lookup) dmarcTXT(domain string) ([]string, error) {
	if a, ok := l.answers[domain]; ok {
		return a.records, a.err
	}
	name := "_dmarc." + domain
	l.queries++
	txts, err := l.r.LookupTXT(l.ctx, name)
	var a answer
	switch {
	case err == nil:
		for _, t := range txts {
			if IsDMARC(t) {
				a.records = append(a.records, t)
			}
		}
	case isNotFound(err):
	default:
		a.err = &dnsError{name: name, err: err}
	}
	if l.answers == nil {
		l.answers = map[string]answer{}
	}
	l.answers[domain] = a
	return a.records, a.err
}

// found is the outcome of looking at one domain's records.
type found struct {
	rec    *Record
	reason string // why there is no usable record
	perm   bool   // there were DMARC records, but none usable
}

// at reads _dmarc.<domain> and applies the "exactly one record" rule (RFC
// 7489 §6.6.3 steps 2 and 5; the RFC 9989 DNS Tree Walk likewise discards
// several records at one name).
func (l *lookup) at(domain string) (found, error) {
	recs, err := l.dmarcTXT(domain)
	if err != nil {
		return found{}, err
	}
	switch len(recs) {
	case 0:
		return found{reason: "No record found for the sending domain"}, nil
	case 1:
		rec, err := Parse(recs[0], l.mode)
		if err != nil {
			return found{reason: fmt.Sprintf("Malformed DMARC record for %s (%v)", domain, err), perm: true}, nil
		}
		return found{rec: rec}, nil
	}
	return found{reason: fmt.Sprintf("Multiple DMARC records for %s", domain), perm: true}, nil
}

// discovery is the policy record that applies to an author domain.
type discovery struct {
	rec          *Record
	policyDomain string
	reason       string // set when rec is nil
	perm         bool   // records were there but unusable (permerror)
}

// discover7489 is RFC 7489 §6.6.3: the From domain, then (only when no
// DMARC record at all was there) the Organizational Domain.
func (l *lookup) discover7489(psl PublicSuffixList, from string) (discovery, error) {
	f, err := l.at(from)
	if err != nil {
		return discovery{}, err
	}
	if f.rec != nil {
		return discovery{rec: f.rec, policyDomain: from}, nil
	}
	if f.perm {
		// Step 5: several records, or one that step 6 refused: stop here,
		// without asking the Organizational Domain.
		return discovery{reason: f.reason, perm: true}, nil
	}
	org, ok := orgByPSL(psl, from)
	if !ok || org == from {
		return discovery{reason: f.reason}, nil
	}
	g, err := l.at(org)
	if err != nil {
		return discovery{}, err
	}
	if g.rec == nil {
		return discovery{reason: g.reason, perm: g.perm}, nil
	}
	return discovery{rec: g.rec, policyDomain: org}, nil
}

// walkTargets lists the names the DMARCbis DNS tree walk queries for d (RFC
// 9989, "DNS Tree Walk"): d itself, then, if d has 8 or more labels, its
// 7-label suffix, then one label fewer each time down to the top-level
// domain. That bounds a walk to 8 queries.
func walkTargets(d string) []string {
	labels := strings.Split(d, ".")
	out := []string{d}
	n := len(labels) - 1
	if len(labels) >= 8 {
		n = 7
	}
	for ; n >= 1; n-- {
		out = append(out, strings.Join(labels[len(labels)-n:], "."))
	}
	return out
}

// discoverBis is DMARCbis policy discovery: the first single valid record
// found walking up from the author domain is the policy record. Unlike RFC
// 7489, several records at one name are discarded and the walk goes on.
func (l *lookup) discoverBis(from string) (discovery, error) {
	var first string
	for i, t := range walkTargets(from) {
		f, err := l.at(t)
		if err != nil {
			return discovery{}, err
		}
		if f.rec != nil {
			return discovery{rec: f.rec, policyDomain: t}, nil
		}
		if i == 0 {
			first = f.reason
		}
	}
	return discovery{reason: first}, nil
}

// orgBis finds the Organizational Domain of d by the tree walk (RFC 9989,
// "Identifying the Organizational Domain"): a record with psd=n names its
// own domain; a record with psd=y above d names the domain one label below
// it; otherwise the record with the fewest labels wins; with no record at
// all, d is its own Organizational Domain.
func (l *lookup) orgBis(d string) (string, error) {
	targets := walkTargets(d)
	org := ""
	for i, t := range targets {
		f, err := l.at(t)
		if err != nil {
			return "", err
		}
		if f.rec == nil {
			continue
		}
		switch {
		case f.rec.PSD == PSDNo:
			return t, nil
		case f.rec.PSD == PSDYes && i > 0:
			return oneBelow(d, t), nil
		}
		org = t
	}
	if org == "" {
		return d, nil
	}
	return org, nil
}

// oneBelow returns the suffix of d that has one label more than its suffix
// t.
func oneBelow(d, t string) string {
	rest := strings.TrimSuffix(d, "."+t)
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest + "." + t
}
