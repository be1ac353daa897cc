package dnssec

import (
	"context"
	"time"

	"github.com/miekg/dns"
)

// Security is the validation status of an answer (RFC 4035 §4.3, RFC 7672 §2.1.1).
type Security int

const (
	// Indeterminate: the records needed to decide could not be obtained.
	// RFC 7672 treats it as bogus for DANE.
	Indeterminate Security = iota
	// Secure: validated up a chain of DS/DNSKEY to a trust anchor.
	Secure
	// Insecure: provably unsigned (authenticated absence of DS at a cut, or
	// only unsupported algorithms/digests), or no anchor covers the name.
	Insecure
	// Bogus: signatures expected but not verifiable.
	Bogus
)

// String is the word daneverify prints ("SECURE", "INSECURE", "BOGUS").
func (s Security) String() string {
	switch s {
	case Secure:
		return "SECURE"
	case Insecure:
		return "INSECURE"
	case Bogus:
		return "BOGUS"
	}
	return "INDETERMINATE"
}

// Kind says what an answer holds.
type Kind int

const (
	Data     Kind = iota // records of the asked type (possibly after a CNAME/DNAME chain)
	NXDomain             // the name does not exist
	NoData               // the name exists but has no records of the asked type
)

// Answer is a validated lookup result. It is the only way this package hands
// out records, so a caller cannot take unvalidated data for validated data.
type Answer struct {
	Name  string // the name asked, fully qualified
	Qtype uint16
	Kind  Kind
	// Security is the least secure link of the whole answer, CNAME chain
	// included.
	Security Security
	// Reason says why an answer is Bogus or Indeterminate (expired
	// signature, no matching key, bad denial proof, ...), for daneverify
	// and the logs. Empty when Secure or Insecure.
	Reason string
	// Records are the RRs of type Qtype at the end of the chain (no RRSIGs).
	Records []dns.RR
	// Chain is the CNAME/DNAME chain followed from Name, in order, each with
	// its own security.
	Chain []ChainLink
	// Target is the owner of Records (Name, or the end of the CNAME chain).
	Target string
	// TTL is the smallest TTL of the answer, capped by signature validity.
	TTL uint32
}

// ChainLink is one CNAME or DNAME step of an answer.
type ChainLink struct {
	RR       dns.RR
	Security Security
}

// ErrorKind classifies a lookup that produced no answer at all.
type ErrorKind int

const (
	ErrServFail ErrorKind = iota + 1
	ErrTimeout
	ErrRefused
	ErrFormErr
	ErrBudget  // KeyTrap / NSEC3 work limits reached
	ErrNetwork // no resolver reachable
)

// LookupError is returned when no resolver gave a usable answer. For DANE it
// counts as a failure, never as "no record" (RFC 7672 §2.1.2).
type LookupError struct {
	Name  string
	Qtype uint16
	Kind  ErrorKind
	Err   error
}

func (e *LookupError) Error() string {
	msg := "lookup " + e.Name + " " + dns.TypeToString[e.Qtype] + " failed"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *LookupError) Unwrap() error { return e.Err }

// Server is one recursive resolver the stub asks; lower Priority first.
type Server struct {
	Addr     string // host:port
	Priority int
}

// Logger receives the debug trace of every DNS step, in the appliance's
// words without the timestamp and level ("DNS query: Q('ietf.org', 'MX')").
type Logger interface {
	Debugf(format string, args ...any)
}

// Config builds a Resolver. Every dependency is passed in.
type Config struct {
	Servers []Server
	Timeout time.Duration // per query and server
	// Anchors are DS or DNSKEY records for the root (or any zone).
	Anchors []dns.RR
	Now     func() time.Time
	Log     Logger // may be nil
	// Exchanger sends the queries; nil sends them on the network (UDP,
	// then TCP for a truncated reply) with Timeout per attempt.
	Exchanger Exchanger
	// Observer, if set, sees the work of every validation.
	Observer Observer
	// MaxZones bounds the zone key cache (0: DefaultMaxZones) and
	// MaxAnswers the answer cache (0: DefaultMaxAnswers).
	MaxZones, MaxAnswers int
}

// Exchanger sends one query to one server over network ("udp" or "tcp")
// and returns the server's reply. It must return as soon as ctx ends (an
// interrupted lookup must not wait for a silent server). The resolver
// checks the reply itself (RFC 5452 §9.1: ID, question, RCODE), so an
// Exchanger is the network and nothing else: tests and benchmarks replay
// recorded replies through it.
type Exchanger interface {
	Exchange(ctx context.Context, network, addr string, q *dns.Msg) (*dns.Msg, error)
}

// Observer receives, for monitoring, the work Budget of every validation
// once it is done (the KeyTrap tests count verifications through it).
type Observer interface {
	Validated(name string, qtype uint16, work *Budget)
}

// Lookuper is what consumers (delivery/dane, auth) depend on.
type Lookuper interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error)
}
