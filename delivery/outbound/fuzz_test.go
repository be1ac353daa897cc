package outbound

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/delivery/smtpclient"
	"esa/dnssec"
)

// FuzzReplyFailure: any reply a remote server sends is classified without
// panicking; 5xx alone is permanent, and the enhanced code used is
// well-formed.
func FuzzReplyFailure(f *testing.F) {
	for _, s := range []string{"550 5.1.1 user unknown", "451 4.3.0 later", "421 closing", "552", "250 2.0.0 ok",
		"554 9.9.9 odd", "599 5.999.999 x", "450 4.2.0", "500 5.", "555 5.1.-1 neg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := smtpclient.ReadReply(bufioReader(s + "\r\n"))
		if err != nil {
			return
		}
		fl := replyFailure(rep, false)
		if fl.perm != (rep.Code/100 == 5) {
			t.Fatalf("%q: perm %v", s, fl.perm)
		}
		if fl.enh != "" && !isEnhanced(fl.enh) {
			t.Fatalf("%q: enhanced code %q", s, fl.enh)
		}
		if fl.status != "" && !isEnhanced(fl.status) {
			t.Fatalf("%q: status %q", s, fl.status)
		}
	})
}

// FuzzHostileServer: whatever a mail server sends (replies, garbage,
// early EOF), one delivery attempt ends without panicking, and a recipient
// is marked delivered only if the server sent a 2xx reply after our DATA.
func FuzzHostileServer(f *testing.F) {
	for _, s := range []string{
		"220 x\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n",
		"220 x\r\n250 x\r\n250 ok\r\n550 5.1.1 no\r\n",
		"220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\ngarbage",
		"220 x\r\n250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n451 4.3.0 later\r\n",
		"554 go away\r\n",
		"220-x\r\n220",
		"220 x\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n550 no\r\n354 go\r\n250 ok\r\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	q, err := queue.Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { q.Close() })
	f.Fuzz(func(t *testing.T, script string) {
		mid := submitTo(t, q, "a@b.test", false, "Subject: x\r\n\r\n.body\r\n", "r@b.test")
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, s := net.Pipe()
			go func() {
				defer s.Close()
				go io.Copy(io.Discard, s)
				io.WriteString(s, script)
			}()
			return c, nil
		}
		e, err := New(Config{Queue: q, Resolver: nilResolver{}, Dial: dial, HeloName: "esa.test", Timeout: 300 * time.Millisecond,
			Route: func(string) (Route, bool) { return Route{Hosts: []RouteHost{{Host: "127.0.0.1"}}}, true }})
		if err != nil {
			t.Fatal(err)
		}
		var got []Event
		e.cfg.Notify = func(ev Event) { got = append(got, ev) }
		ds := &dest{key: destKey{"b.test", false}}
		if s := e.deliverJob(ds, nil, job{mid: mid, domain: "b.test"}); s != nil {
			e.closeSession(s)
		}
		for _, ev := range got {
			if ev.MID == mid && ev.Outcome == Delivered && !strings.Contains(script, "354") {
				t.Fatalf("delivered without a 354 in %q", script)
			}
		}
		q.Remove(mid)
	})
}

type nilResolver struct{}

func (nilResolver) Lookup(context.Context, string, uint16) (*dnssec.Answer, error) {
	return nil, io.EOF
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
