package dnstest

import (
	"net"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Front is a "recursive front": a DNS server on 127.0.0.1 (UDP and TCP on
// the same port) answering every query from the hierarchy's zones the way
// a recursive resolver asked with DO=1, CD=1 would. It keeps a query log.
type Front struct {
	// Addr is "127.0.0.1:port", for dnssec.Server.Addr.
	Addr string

	h        *Hierarchy
	udp, tcp *dns.Server

	mu    sync.Mutex
	log   []Query
	count map[QueryKey]int
	fault Fault
	// asked holds, per question, the channels Asked handed out that
	// close at its next query.
	asked map[QueryKey][]chan struct{}
}

// QueryKey identifies a question in the query log.
type QueryKey struct {
	Name string // lower case, fully qualified
	Type uint16
}

// Query is one logged query.
type Query struct {
	QueryKey
	Net    string // "udp" or "tcp"
	DO, CD bool
}

// Serve starts a Front for the hierarchy on 127.0.0.1:0; it is shut down
// when the test ends. Several fronts may serve one hierarchy (e.g. one
// healthy and one with SetFault(ServFail) to test fall-over).
func (h *Hierarchy) Serve(t testing.TB) *Front {
	t.Helper()
	f := &Front{h: h, count: map[QueryKey]int{}}
	var pc net.PacketConn
	var ln net.Listener
	var err error
	// UDP and TCP must share the port; retry if TCP's is taken.
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("dnstest: listen tcp: %v", err)
	}
	f.Addr = pc.LocalAddr().String()
	handler := dns.HandlerFunc(f.serveDNS)
	f.udp = &dns.Server{PacketConn: pc, Handler: handler}
	f.tcp = &dns.Server{Listener: ln, Handler: handler}
	var wg sync.WaitGroup
	wg.Add(2)
	for _, s := range []*dns.Server{f.udp, f.tcp} {
		s.NotifyStartedFunc = wg.Done
		go func() { _ = s.ActivateAndServe() }()
	}
	wg.Wait()
	t.Cleanup(f.Close)
	return f
}

// Close stops the front.
func (f *Front) Close() {
	_ = f.udp.Shutdown()
	_ = f.tcp.Shutdown()
}

// SetFault makes every query to this front fail: ServFail, Refused,
// Timeout, Truncate or TruncateAlways (0 restores normal answers). The
// hierarchy and other fronts are unaffected.
func (f *Front) SetFault(fl Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fl
}

// Queries returns how many queries for (name, qtype) the front received,
// over UDP and TCP together.
func (f *Front) Queries(name string, qtype uint16) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[QueryKey{canon(name), qtype}]
}

// Asked returns a channel closed when the front receives a query for
// (name, qtype), at once if it already has: tests synchronise on it (say,
// to press Ctrl-C while that query is in flight) instead of sleeping.
func (f *Front) Asked(name string, qtype uint16) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	k := QueryKey{canon(name), qtype}
	if f.count[k] > 0 {
		close(ch)
		return ch
	}
	if f.asked == nil {
		f.asked = map[QueryKey][]chan struct{}{}
	}
	f.asked[k] = append(f.asked[k], ch)
	return ch
}

// Total returns the number of queries received.
func (f *Front) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.log)
}

// Log returns the queries received, in order.
func (f *Front) Log() []Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Query(nil), f.log...)
}

// Counts returns the number of queries per question.
func (f *Front) Counts() map[QueryKey]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[QueryKey]int, len(f.count))
	for k, v := range f.count {
		out[k] = v
	}
	return out
}

// Duplicates returns the questions asked more than once over the same
// transport (a TC retry over TCP is not a duplicate).
func (f *Front) Duplicates() []QueryKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	type k struct {
		QueryKey
		net string
	}
	n := map[k]int{}
	var out []QueryKey
	for _, q := range f.log {
		n[k{q.QueryKey, q.Net}]++
		if n[k{q.QueryKey, q.Net}] == 2 {
			out = append(out, q.QueryKey)
		}
	}
	return out
}

// ResetQueries clears the query log.
func (f *Front) ResetQueries() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
	f.count = map[QueryKey]int{}
}

func (f *Front) serveDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	if len(r.Question) != 1 || r.Opcode != dns.OpcodeQuery {
		m.SetRcode(r, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	netw := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		netw = "tcp"
	}
	opt := r.IsEdns0()
	do := opt != nil && opt.Do()
	key := QueryKey{canon(q.Name), q.Qtype}
	f.mu.Lock()
	f.log = append(f.log, Query{QueryKey: key, Net: netw, DO: do, CD: r.CheckingDisabled})
	f.count[key]++
	for _, ch := range f.asked[key] {
		close(ch)
	}
	delete(f.asked, key)
	fl := f.fault
	f.mu.Unlock()
	if fl == Truncate && netw == "tcp" {
		fl = 0 // Truncate only affects UDP, so the TCP retry succeeds
	}

	h := f.h
	var res *result
	var err error
	if fl == 0 {
		h.mu.Lock()
		res, err = h.resolveLocked(key.Name, key.Type, do, netw)
		h.mu.Unlock()
		if err == nil && res.fault != 0 {
			fl = res.fault
		}
	}

	m.SetReply(r)
	m.RecursionAvailable = true
	m.CheckingDisabled = r.CheckingDisabled
	size := dns.MinMsgSize
	if opt != nil {
		// RFC 6891 §6.2.3: answer with EDNS when asked; our buffer is
		// the DNS flag day 2020 value.
		m.SetEdns0(1232, do)
		if s := int(opt.UDPSize()); s > size {
			size = s
		}
	}
	switch {
	case err != nil:
		h.t.Errorf("dnstest: %v", err)
		m.Rcode = dns.RcodeServerFailure
	case fl == Timeout:
		return
	case fl == ServFail:
		m.Rcode = dns.RcodeServerFailure
	case fl == Refused:
		m.Rcode = dns.RcodeRefused
	case fl == TruncateAlways || fl == Truncate:
		m.Truncated = true
	default:
		m.Rcode = res.rcode
		m.Answer, m.Ns = res.answer, res.ns
	}
	if netw == "udp" && m.Len() > size {
		// RFC 1035 §4.2.1, RFC 6891 §7: signal truncation so the client
		// retries over TCP; empty sections leave no partial RRsets.
		m.Answer, m.Ns = nil, nil
		m.Truncated = true
	}
	_ = w.WriteMsg(m)
}
