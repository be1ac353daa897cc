package dnssec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the DNS Flag Day 2020 buffer size: big enough for most signed
// answers, small enough to avoid IP fragmentation; bigger replies come over
// TCP (RFC 7766, RFC 6891 §6.2.5).
const ednsSize = 1232

// exchanger asks the configured recursive resolvers, in priority order.
type exchanger struct {
	groups  [][]Server // servers grouped by Priority, lower first, stable
	timeout time.Duration
	log     dlog
	sent    atomic.Int64 // queries put on the wire (benchmarks report it)
	now     func() time.Time

	x Exchanger

	mu   sync.Mutex
	down map[string]time.Time // server -> until when it is asked last
}

// downFor is how long a server that timed out or was unreachable goes to
// the back of the line, so one dead resolver does not cost a timeout on
// every query of a chain. It is still asked when all others fail.
const downFor = 30 * time.Second

func newExchanger(servers []Server, x Exchanger, timeout time.Duration, log dlog, now func() time.Time) *exchanger {
	s := append([]Server(nil), servers...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Priority < s[j].Priority })
	var groups [][]Server
	for i, sv := range s {
		if i == 0 || sv.Priority != s[i-1].Priority {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], sv)
	}
	return &exchanger{groups: groups, x: x, timeout: timeout, log: log, now: now, down: map[string]time.Time{}}
}

// xfail is one server's unusable outcome.
type xfail struct {
	kind ErrorKind
	err  error
}

// query asks every resolver in turn until one gives a usable reply: NOERROR
// or NXDOMAIN with the question we asked. DO=1 so signatures come back, CD=1
// so an upstream validator hands over bogus data for us to judge instead of
// hiding it behind SERVFAIL (RFC 4035 §3.2.2, DANE.md §2.5 item 4). It also
// returns the address of the server that answered. When all fail, the
// error's Kind is the most informative failure seen (failRank), not the
// last one.
func (e *exchanger) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	var last xfail // the most informative failure so far (failRank)
	type later struct {
		group int
		sv    Server
	}
	var deferred []later
	try := func(sv Server) (*dns.Msg, bool) {
		e.log.queryServer(name, qtype, sv.Addr, e.timeout)
		m, f := e.ask(ctx, sv.Addr, name, qtype)
		if f.kind == 0 {
			e.setDown(sv.Addr, false)
			return m, true
		}
		if ctx.Err() != nil {
			// Interrupted: the server did nothing wrong.
			last = f
			return nil, false
		}
		e.log.invalid(xfailWords(f), sv.Addr, name)
		if f.kind == ErrTimeout || f.kind == ErrNetwork {
			e.setDown(sv.Addr, true)
		}
		if failRank(f.kind) >= failRank(last.kind) {
			last = f
		}
		return nil, false
	}
	for gi, group := range e.groups {
		logged := false
		for _, sv := range group {
			if err := ctx.Err(); err != nil {
				return nil, "", &LookupError{Name: name, Qtype: qtype, Kind: ErrTimeout, Err: err}
			}
			if e.isDown(sv.Addr) {
				deferred = append(deferred, later{gi, sv})
				continue
			}
			if !logged {
				e.log.queryGroup(name, qtype, gi)
				logged = true
			}
			if m, ok := try(sv); ok {
				return m, sv.Addr, nil
			}
		}
	}
	for _, d := range deferred {
		if err := ctx.Err(); err != nil {
			return nil, "", &LookupError{Name: name, Qtype: qtype, Kind: ErrTimeout, Err: err}
		}
		e.log.queryGroup(name, qtype, d.group)
		if m, ok := try(d.sv); ok {
			return m, d.sv.Addr, nil
		}
	}
	if last.kind == 0 {
		last = xfail{ErrNetwork, errors.New("no resolvers configured")}
	}
	return nil, "", &LookupError{Name: name, Qtype: qtype, Kind: last.kind, Err: last.err}
}

// failRank orders the ways a server can fail by how much they say about
// the question, so that when every server fails the LookupError reports
// the most informative one rather than whichever server came last: a reply
// (SERVFAIL: the resolver tried and failed on this name; FORMERR: it sent
// garbage; REFUSED: it will not serve us) beats silence (a timeout, then a
// network error, which say nothing about the name).
func failRank(k ErrorKind) int {
	switch k {
	case ErrServFail:
		return 5
	case ErrFormErr:
		return 4
	case ErrRefused:
		return 3
	case ErrTimeout:
		return 2
	case ErrNetwork:
		return 1
	}
	return 0
}

func (e *exchanger) isDown(addr string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	until, ok := e.down[addr]
	return ok && e.now().Before(until)
}

func (e *exchanger) setDown(addr string, down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if down {
		e.down[addr] = e.now().Add(downFor)
	} else {
		delete(e.down, addr)
	}
}

func xfailWords(f xfail) string {
	switch f.kind {
	case ErrServFail:
		return "SERVER FAILED"
	case ErrRefused:
		return "REFUSED"
	case ErrFormErr:
		return "FORMAT ERROR (" + f.err.Error() + ")"
	case ErrTimeout:
		return "TIMED OUT"
	}
	return "NETWORK ERROR (" + f.err.Error() + ")"
}

// ask sends one query to one server: UDP first, TCP when the reply is
// truncated (RFC 7766 §5: a stub must retry over TCP).
func (e *exchanger) ask(ctx context.Context, addr, name string, qtype uint16) (*dns.Msg, xfail) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype) // random ID from dns.Id (crypto/rand)
	q.RecursionDesired = true
	q.CheckingDisabled = true
	q.SetEdns0(ednsSize, true)

	m, f := e.exchange(ctx, "udp", addr, q)
	if f.kind == 0 && m.Truncated {
		m, f = e.exchange(ctx, "tcp", addr, q)
		if f.kind == 0 && m.Truncated {
			return nil, xfail{ErrFormErr, errors.New("truncated reply over TCP")}
		}
	}
	return m, f
}

func (e *exchanger) exchange(ctx context.Context, network, addr string, q *dns.Msg) (*dns.Msg, xfail) {
	e.sent.Add(1)
	m, err := e.x.Exchange(ctx, network, addr, q)
	if err == nil && m == nil {
		err = errors.New("no reply")
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, xfail{ErrTimeout, cerr}
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
			return nil, xfail{ErrTimeout, err}
		case errors.Is(err, dns.ErrId):
			return nil, xfail{ErrFormErr, errors.New("reply ID does not match the query")}
		case isUnpackError(err):
			return nil, xfail{ErrFormErr, err}
		}
		return nil, xfail{ErrNetwork, err}
	}
	return checkReply(q, m)
}

// netExchanger is the network: miekg/dns over UDP or TCP, timeout per
// attempt.
type netExchanger struct{ timeout time.Duration }

func (n netExchanger) Exchange(ctx context.Context, network, addr string, q *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: n.timeout, UDPSize: ednsSize}
	conn, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// miekg/dns sets socket deadlines from the context's deadline only and
	// does not watch its cancellation: Ctrl-C must end a read from a
	// silent server at once, not after the timeout.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	m, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	return m, err
}

// isUnpackError tells a malformed reply (a broken or hostile resolver) from a
// transport error; miekg/dns returns plain errors for both.
func isUnpackError(err error) bool {
	var de *dns.Error
	return errors.As(err, &de) || strings.Contains(err.Error(), "overflow") || strings.Contains(err.Error(), "unpack")
}

// checkReply accepts a reply only when it answers our question (RFC 5452
// §9.1: ID, question name, type and class must all match) with a usable
// RCODE. The question name is compared case-insensitively.
func checkReply(q, m *dns.Msg) (*dns.Msg, xfail) {
	if m.Id != q.Id {
		return nil, xfail{ErrFormErr, errors.New("reply ID does not match the query")}
	}
	if !m.Response || len(m.Question) != 1 || m.Question[0].Qtype != q.Question[0].Qtype ||
		m.Question[0].Qclass != q.Question[0].Qclass || !strings.EqualFold(m.Question[0].Name, q.Question[0].Name) {
		return nil, xfail{ErrFormErr, errors.New("reply question does not match the query")}
	}
	switch m.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return m, xfail{}
	case dns.RcodeServerFailure:
		return nil, xfail{ErrServFail, errors.New("SERVFAIL")}
	case dns.RcodeRefused:
		return nil, xfail{ErrRefused, errors.New("REFUSED")}
	case dns.RcodeFormatError:
		return nil, xfail{ErrFormErr, errors.New("FORMERR")}
	}
	return nil, xfail{ErrServFail, fmt.Errorf("RCODE %s", dns.RcodeToString[m.Rcode])}
}
