package dnssec

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// replayServer answers every query, over UDP and TCP, with the bytes under
// test: when they parse as a message, with the query's ID and question
// spliced in so the reply reaches the validator; otherwise raw, with only
// the ID patched.
type replayServer struct {
	addr  string
	reply atomic.Pointer[[]byte]
	raw   atomic.Bool // send the bytes as they are (ID patched only)
}

func startReplay(tb testing.TB) *replayServer {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		tb.Fatal(err)
	}
	s := &replayServer{addr: pc.LocalAddr().String()}
	tb.Cleanup(func() { pc.Close(); ln.Close() })
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		raw := *s.reply.Load()
		m := new(dns.Msg)
		if err := m.Unpack(raw); err == nil && !s.raw.Load() {
			m.Id, m.Question, m.Response = q.Id, q.Question, true
			if b, err := m.Pack(); err == nil {
				w.Write(b)
				return
			}
		}
		b := append([]byte(nil), raw...)
		if len(b) >= 2 {
			b[0], b[1] = byte(q.Id>>8), byte(q.Id)
		}
		w.Write(b)
	})
	go (&dns.Server{PacketConn: pc, Handler: h}).ActivateAndServe()
	go (&dns.Server{Listener: ln, Handler: h}).ActivateAndServe()
	return s
}

func packMsg(tb testing.TB, rcode int, ans, ns []string) []byte {
	tb.Helper()
	m := new(dns.Msg)
	m.SetQuestion("a.example.", dns.TypeA)
	m.Response, m.Rcode = true, rcode
	for _, s := range ans {
		m.Answer = append(m.Answer, mustRR(tb, s))
	}
	for _, s := range ns {
		m.Ns = append(m.Ns, mustRR(tb, s))
	}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustRR(tb testing.TB, s string) dns.RR {
	tb.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		tb.Fatal(err)
	}
	return rr
}

// FuzzExchangeReply feeds arbitrary bytes as every resolver reply through
// the exchange and validation path. It must never panic, and never call
// anything Secure: no reply can verify against the fresh anchor key.
func FuzzExchangeReply(f *testing.F) {
	const sig = "RRSIG A 13 2 300 20300101000000 20200101000000 12345 example. AAAA"
	f.Add(packMsg(f, dns.RcodeSuccess, []string{"a.example. 300 IN A 192.0.2.1", "a.example. 300 IN " + sig}, nil))
	f.Add(packMsg(f, dns.RcodeSuccess, []string{"a.example. 300 IN CNAME b.example.", "b.example. 300 IN A 192.0.2.1"}, nil))
	f.Add(packMsg(f, dns.RcodeSuccess, []string{"example. 300 IN DNAME other.", "a.other. 300 IN A 192.0.2.1"}, nil))
	f.Add(packMsg(f, dns.RcodeNameError, nil, []string{
		"example. 300 IN SOA ns. h. 1 2 3 4 300",
		"a.example. 300 IN NSEC z.example. A RRSIG NSEC",
		"a.example. 300 IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 12345 example. AAAA",
	}))
	f.Add(packMsg(f, dns.RcodeSuccess, nil, []string{
		"example. 300 IN SOA ns. h. 1 2 3 4 300",
		"2vptu5timamqttgl4luu9kg21e0aor3s.example. 300 IN NSEC3 1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3t A",
	}))
	f.Add(packMsg(f, dns.RcodeServerFailure, nil, nil))
	f.Add([]byte{0, 0, 0x83, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}) // TC set, no question
	f.Add([]byte{})
	srv := startReplay(f)
	anchor := newSEP(f, ".")
	f.Fuzz(func(t *testing.T, reply []byte) {
		srv.reply.Store(&reply)
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		r, err := New(Config{Servers: []Server{{Addr: srv.addr}}, Timeout: 200 * time.Millisecond,
			Anchors: []dns.RR{anchor.k}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		for _, qt := range []uint16{dns.TypeA, dns.TypeTLSA} {
			a, err := r.Lookup(context.Background(), "a.example.", qt)
			if err != nil {
				var le *LookupError
				if !errors.As(err, &le) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			if a.Security == Secure {
				t.Fatalf("unverifiable reply judged secure: %+v", a)
			}
		}
	})
}
