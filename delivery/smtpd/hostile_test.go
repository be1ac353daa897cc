package smtpd

// Hostile clients (issue 13's acceptance): each gets the right reply or a
// timeout, memory stays bounded, nothing half-received reaches the queue,
// and other clients go on being served. TestHostileClients in
// smtpd_test.go has the short dialogues; these are the heavy ones.

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"esa/store/mailflow"
)

// setParam sets one mail-flow policy parameter of listener l.
func setParam(t testing.TB, l *mailflow.Listener, policy, key, value string) {
	t.Helper()
	p := l.HAT.Policy(policy)
	if p == nil {
		t.Fatalf("no policy %s", policy)
	}
	for i := range p.Params {
		if p.Params[i].Key == key {
			p.Params[i].Value = value
			return
		}
	}
	t.Fatalf("policy %s has no parameter %s", policy, key)
}

// memStats returns the Go runtime's memory statistics after a collection.
func memStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// inUse is the memory the process holds live: heap spans and goroutine
// stacks (an idle connection costs mostly its goroutines and buffers).
func inUse(m runtime.MemStats) int64 { return int64(m.HeapInuse + m.StackInuse) }

// expectNothingQueued waits until the queue holds nothing and no temporary
// file is left under tmp/ (an aborted DATA removes its file).
func (b *bed) expectNothingQueued() {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := b.q.Len()
		ents, _ := os.ReadDir(filepath.Join(b.dir, "tmp"))
		if n == 0 && len(ents) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%d messages queued, tmp holds %d files", n, len(ents))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// served checks that a well-behaved client gets a message through.
func (b *bed) served(addr string) {
	b.t.Helper()
	c := dial(b.t, addr)
	if err := send(c, "a@example.org", []string{"b@example.com"}, "Subject: still served\r\n\r\nok\r\n"); err != nil {
		b.t.Fatalf("a normal client is no longer served: %v", err)
	}
	c.Quit()
}

// TestTenThousandRecipients: a client pipelines 10,000 RCPT commands in one
// transaction. The first max_rcpts_per_msg get 250, each one past the limit
// gets 452 4.5.3 (RFC 5321 §4.5.3.1.10: a server that limits recipients
// answers 452 and the client sends the rest later), the message is queued
// with exactly the accepted recipients, and the server's memory does not
// grow with the refused ones.
func TestTenThousandRecipients(t *testing.T) {
	const total, limit = 10000, 100
	b := newBed(t)
	l := relayListener("L")
	setParam(t, &l, "RELAYED", "max_rcpts_per_msg", fmt.Sprint(limit))
	b.apply(l)
	addr := b.addr("L")
	r := dialRaw(t, addr)
	r.reply()
	r.cmd("EHLO client.example.org")
	if got := r.cmd("MAIL FROM:<a@example.org>"); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("MAIL: %q", got)
	}
	before := memStats()
	// The commands go out from another goroutine while the replies are
	// read (PIPELINING, RFC 2920): neither side may wait for the other.
	go func() {
		w := bufio.NewWriter(r.c)
		for i := range total {
			fmt.Fprintf(w, "RCPT TO:<rcpt%05d@example.com>\r\n", i)
		}
		w.Flush()
	}()
	counts := map[string]int{}
	for i := range total {
		got := r.reply()
		want := "452 4.5.3 Too many recipients"
		if i < limit {
			want = "250 "
		}
		if !strings.HasPrefix(got, want) {
			t.Fatalf("RCPT %d: %q, want %q", i, got, want)
		}
		counts[got[:3]]++
	}
	after := memStats()
	if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
		t.Fatalf("DATA: %q", got)
	}
	if got := r.cmd("Subject: many\r\n\r\nx\r\n."); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("end of DATA: %q", got)
	}
	list := b.q.List()
	if len(list) != 1 || len(list[0].Envelope.Recipients) != limit {
		t.Fatalf("queued %d messages; want one with %d recipients", len(list), limit)
	}
	if rc := list[0].Envelope.Recipients; rc[0] != "rcpt00000@example.com" || rc[limit-1] != fmt.Sprintf("rcpt%05d@example.com", limit-1) {
		t.Fatalf("recipients %v ... %v", rc[0], rc[limit-1])
	}
	if st := b.srv.Stats(); st.Rejected != total-limit {
		t.Fatalf("stats %+v: want %d refused recipients", st, total-limit)
	}
	// 9,900 refused recipients of ~25 bytes each would be ~250 KB if they
	// were kept; the connection's buffers are a few KB.
	grew := inUse(after) - inUse(before)
	t.Logf("10,000 RCPT: %d × 250, %d × 452; memory in use grew %d bytes", counts["250"], counts["452"], grew)
	if grew > 1<<20 {
		t.Fatalf("memory in use grew %d bytes over 10,000 recipients", grew)
	}
	b.served(addr)
}

// TestOversizedMessage: a message far over the policy's maximum size, sent
// without SIZE, is read through and discarded as it arrives: 552 5.3.4
// (RFC 5321 §4.5.3.1.9 at the final dot, RFC 1870 §6.3), nothing queued, no
// temporary file left, and the server allocates far less than the message.
// The connection stays usable for the next transaction.
func TestOversizedMessage(t *testing.T) {
	const limit, size = 1 << 20, 32 << 20
	// The DATA timeout bounds the whole DATA phase: long enough for 32 MiB
	// under the race detector on a loaded machine.
	b := newBed(t, func(b *bed) { b.dataTimeout = time.Minute })
	l := relayListener("L")
	setParam(t, &l, "RELAYED", "max_message_size", fmt.Sprint(limit))
	b.apply(l)
	addr := b.addr("L")
	r := dialRaw(t, addr)
	r.c.SetDeadline(time.Now().Add(60 * time.Second))
	r.reply()
	r.cmd("EHLO client.example.org")
	r.cmd("MAIL FROM:<a@example.org>")
	r.cmd("RCPT TO:<b@example.com>")
	if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
		t.Fatalf("DATA: %q", got)
	}
	line := []byte(strings.Repeat("0123456789abcdef", 63) + "\r\n") // 1010 bytes
	before := memStats()
	w := bufio.NewWriterSize(r.c, 64<<10)
	for sent := 0; sent < size; sent += len(line) {
		if _, err := w.Write(line); err != nil {
			t.Fatalf("the server stopped reading after %d bytes: %v", sent, err)
		}
	}
	w.WriteString(".\r\n")
	w.Flush()
	got := r.reply()
	after := memStats()
	if got != "552 5.3.4 Message size exceeds fixed maximum message size" && !strings.HasPrefix(got, "552 5.3.4") {
		t.Fatalf("oversized message: %q", got)
	}
	b.expectNothingQueued()
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB message over a %d MiB limit: %q; %d KiB allocated meanwhile (client and server)", size>>20, limit>>20, got, alloc>>10)
	if alloc > size/4 {
		t.Fatalf("%d bytes allocated while a %d-byte message was refused: the server buffers it", alloc, size)
	}
	b.log.waitFor(t, "Receiving Failed: Message size exceeds limit")
	// The same connection goes on.
	r.cmd("MAIL FROM:<a@example.org>")
	r.cmd("RCPT TO:<b@example.com>")
	r.cmd("DATA")
	if got := r.cmd("Subject: small\r\n\r\nok\r\n."); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("next message on the connection: %q", got)
	}
	if n, _ := b.q.Len(); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
}

// TestClientStopsMidDATA: clients that vanish in the middle of a message
// (closed connection, reset, or silence until the DATA timeout) leave
// nothing in the queue and no temporary file, and their connections are
// released.
func TestClientStopsMidDATA(t *testing.T) {
	b := newBed(t, func(b *bed) { b.cmdTimeout, b.dataTimeout = 2*time.Second, 300*time.Millisecond })
	b.apply(relayListener("L"))
	addr := b.addr("L")
	start := func() *raw {
		r := dialRaw(t, addr)
		r.reply()
		r.cmd("EHLO x")
		r.cmd("MAIL FROM:<a@example.org>")
		r.cmd("RCPT TO:<b@example.com>")
		if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
			t.Fatalf("DATA: %q", got)
		}
		// Enough body that it has reached the queue's file.
		r.send("Subject: partial\r\n\r\n" + strings.Repeat("partial body line\r\n", 5000))
		return r
	}
	// Closed after part of the body, with and without the final CRLF.
	r := start()
	r.send("no final dot")
	r.c.Close()
	r = start()
	r.send("\r\n.") // one byte short of the end of data
	r.c.Close()
	// Reset (RST instead of FIN).
	r = start()
	r.c.(*net.TCPConn).SetLinger(0)
	r.c.Close()
	// Silent until the DATA timeout: 421 4.4.2, and the connection ends.
	// (The server closes it at the next command timeout, not at once
	// after the 421: go-smtp goes back to reading commands.)
	r = start()
	if got := r.reply(); !strings.HasPrefix(got, "421 4.4.2") {
		t.Fatalf("silent client mid-DATA: %q", got)
	}
	for {
		got := r.reply()
		if strings.HasPrefix(got, "ERR") {
			break
		}
		if !strings.HasPrefix(got, "421 ") {
			t.Fatalf("after the DATA timeout: %q", got)
		}
	}
	b.waitIdle()
	b.expectNothingQueued()
	if st := b.srv.Stats(); st.ConnectionsIn != 4 || st.Messages != 0 {
		t.Fatalf("stats %+v", st)
	}
	b.served(addr)
}

// TestBareLFAndNUL: beyond the DATA cases in TestHostileClients, a NUL in a
// command and in an address, and a bare LF or NUL in the last line before
// the final dot, in a message's first line and across write boundaries:
// each message is refused with 554 5.6.0 (RFC 5321 §2.3.8: only CRLF ends a
// line; a bare LF is how SMTP smuggling hides a second message from the
// next hop), none is queued, and the connection goes on.
func TestBareLFAndNUL(t *testing.T) {
	b := newBed(t)
	b.apply(relayListener("L"))
	addr := b.addr("L")
	r := dialRaw(t, addr)
	r.reply()
	r.cmd("EHLO x")
	if got := r.cmd("MAIL FROM:<a\x00@example.org>"); !strings.HasPrefix(got, "553 5.1.3") {
		t.Fatalf("NUL in MAIL FROM: %q", got)
	}
	if got := r.cmd("MA\x00IL FROM:<a@example.org>"); !strings.HasPrefix(got, "50") {
		t.Fatalf("NUL in the verb: %q", got)
	}
	for _, data := range []string{
		// Each ends with a proper CRLF.CRLF after the smuggling attempt, so
		// the reply comes at once rather than at the DATA timeout.
		"\n.\r\n\r\n.\r\n", // the smuggling end marker
		"Subject: x\r\n\r\nlast line\n.\r\n\r\n.\r\n",                          // bare LF right before a dot
		"Subject: x\r\n\r\n\x00\r\n.\r\n",                                      // NUL line
		"Sub\x00ject: x\r\n\r\nbody\r\n.\r\n",                                  // NUL in a header name
		"Subject: x\r\n\r\nsmuggled\n.\nMAIL FROM:<evil@example.net>\r\n.\r\n", // a second message hidden
	} {
		r.cmd("MAIL FROM:<a@example.org>")
		r.cmd("RCPT TO:<b@example.com>")
		r.cmd("DATA")
		// Byte by byte, so the forbidden byte is at a write boundary.
		for i := range len(data) {
			r.send(data[i : i+1])
		}
		if got := r.reply(); !strings.HasPrefix(got, "554 5.6.0") {
			t.Fatalf("DATA %q: %q", data, got)
		}
	}
	if got := r.cmd("NOOP"); !strings.HasPrefix(got, "250") {
		t.Fatalf("connection after the refused messages: %q", got)
	}
	b.expectNothingQueued()
	b.served(addr)
}

// TestPipelinedGarbageFlood: pipelined binary garbage and unknown verbs get
// their 500s, and after a handful go-smtp ends the session (500 5.5.1 Too
// many errors) instead of reading the rest; a megabyte of pipelined
// commands with known verbs, out of sequence or with broken arguments, each
// gets its 4xx/5xx (or VRFY's 252, NOOP's 250) without the server's memory
// growing, and the same connection then sends a proper message.
func TestPipelinedGarbageFlood(t *testing.T) {
	b := newBed(t, func(b *bed) { b.cmdTimeout, b.dataTimeout = 10*time.Second, 10*time.Second })
	b.apply(relayListener("L"))
	addr := b.addr("L")
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	// Binary garbage without line ends inside the lines.
	r := dialRaw(t, addr)
	r.reply()
	r.cmd("EHLO x")
	var garbage []byte
	for range 5000 {
		bs := make([]byte, 1+rng.Intn(200))
		for i := range bs {
			if bs[i] = byte(rng.Intn(256)); bs[i] == '\n' || bs[i] == '\r' {
				bs[i] = 'x'
			}
		}
		garbage = append(append(garbage, bs...), "\r\n"...)
	}
	go r.c.Write(garbage)
	var replies []string
	for {
		got := r.reply()
		if strings.HasPrefix(got, "ERR") {
			break
		}
		if got[0] != '5' {
			t.Fatalf("garbage line answered %q", got)
		}
		replies = append(replies, got)
	}
	if n := len(replies); n > 6 || replies[n-1] != "500 5.5.1 Too many errors. Quiting now" {
		t.Fatalf("binary garbage: %d replies, ending %q", n, replies[n-1])
	}

	// Known verbs in the wrong place (not syntax errors, which count
	// towards go-smtp's limit of three per session): answered one by one,
	// for a megabyte.
	verbs := []string{"RCPT TO:<x@example.com>", "MAIL FROM:<<>>", "MAIL FROM:", "RCPT TO:", "BDAT", "BDAT x LAST", "BDAT 1 2 3",
		"STARTTLS", "VRFY", "VRFY postmaster", "EXPN list", "HELP", "TURN", "DATA", "NOOP", "RSET", "AUTH PLAIN"}
	var lines []string
	size := 0
	for size < 1<<20 {
		l := verbs[rng.Intn(len(verbs))]
		if rng.Intn(2) == 0 {
			// Not an empty argument: "NOOP " is a syntax error, and go-smtp
			// ends the session at the fourth one.
			l += " " + strings.Repeat("?", 1+rng.Intn(200))
		}
		lines = append(lines, l)
		size += len(l) + 2
	}
	r = dialRaw(t, addr)
	r.c.SetDeadline(time.Now().Add(60 * time.Second))
	r.reply()
	r.cmd("EHLO x")
	before := memStats()
	go func(c net.Conn) {
		w := bufio.NewWriter(c)
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}(r.c)
	codes := map[string]int{}
	for i, l := range lines {
		got := r.reply()
		if strings.HasPrefix(got, "ERR") || len(got) < 3 {
			t.Fatalf("line %d %q: %q (after %v)", i, l, got, codes)
		}
		ok := got[0] == '4' || got[0] == '5' ||
			got[:3] == "252" && strings.HasPrefix(l, "VRFY") || // RFC 5321 §3.5.3: cannot verify
			got[:3] == "250" && (strings.HasPrefix(l, "NOOP") || strings.HasPrefix(l, "RSET"))
		if !ok {
			t.Fatalf("line %d %q: %q", i, l, got)
		}
		codes[got[:3]]++
	}
	after := memStats()
	grew := inUse(after) - inUse(before)
	t.Logf("%d pipelined commands (%d KiB): replies %v; memory in use grew %d bytes", len(lines), size>>10, codes, grew)
	if grew > 1<<20 {
		t.Fatalf("memory grew %d bytes over %d KiB of pipelined commands", grew, size>>10)
	}
	r.cmd("RSET")
	r.cmd("MAIL FROM:<a@example.org>")
	r.cmd("RCPT TO:<b@example.com>")
	r.cmd("DATA")
	if got := r.cmd("Subject: after garbage\r\n\r\nok\r\n."); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("message after the garbage: %q", got)
	}
	if n, _ := b.q.Len(); n != 1 {
		t.Fatalf("%d messages queued, want the one proper message", n)
	}
}

// TestOverlongCommandLines: a command line longer than the limit gets
// 500 5.4.0 and the connection is closed (RFC 5321 §4.5.3.1.4 allows 512
// octets; past our far larger limit the client is broken or hostile) — also
// a 16 MiB line that never ends, which must not be buffered; an address
// longer than RFC 5321 §4.5.3.1.3 allows gets 553 5.1.3 and the session
// goes on.
func TestOverlongCommandLines(t *testing.T) {
	b := newBed(t)
	b.apply(relayListener("L"))
	addr := b.addr("L")
	r := dialRaw(t, addr)
	r.reply()
	r.cmd("EHLO x")
	long := strings.Repeat("a", 300) + "@example.org"
	if got := r.cmd("MAIL FROM:<" + long + ">"); !strings.HasPrefix(got, "553 5.1.3") {
		t.Fatalf("over-long address: %q", got)
	}
	if got := r.cmd("MAIL FROM:<a@example.org>"); !strings.HasPrefix(got, "250") {
		t.Fatalf("session after the long address: %q", got)
	}
	if got := r.cmd("RCPT TO:<" + strings.Repeat("b", maxLineLength) + "@example.com>"); got != "500 5.4.0 Too long line, closing connection" {
		t.Fatalf("over-long RCPT: %q", got)
	}
	if got := r.reply(); !strings.HasPrefix(got, "ERR") {
		t.Fatalf("connection open after an over-long line: %q", got)
	}

	// A line that never ends: the server stops reading after the limit.
	r = dialRaw(t, addr)
	r.reply()
	before := memStats()
	chunk := []byte(strings.Repeat("z", 64<<10))
	var wrote int
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for wrote < 16<<20 {
			n, err := r.c.Write(chunk)
			wrote += n
			if err != nil {
				werr = err
				return
			}
		}
	}()
	got := r.reply()
	// The client's writes fail once the server has closed (reset) the
	// connection, or stall and time out; either way they end.
	r.c.Close()
	<-done
	after := memStats()
	if got != "500 5.4.0 Too long line, closing connection" {
		t.Fatalf("endless line: %q", got)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("endless line: %q after the client wrote %d KiB (%v); %d KiB allocated", got, wrote>>10, werr, alloc>>10)
	if alloc > 4<<20 {
		t.Fatalf("%d bytes allocated for an endless command line", alloc)
	}
	b.served(addr)
}

// raiseNoFile makes sure the process may hold need descriptors, raising the
// soft limit up to the hard one; the test is skipped when even the hard
// limit is too low.
func raiseNoFile(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		t.Skipf("RLIMIT_NOFILE hard limit %d < %d descriptors this test needs (ulimit -Hn)", lim.Max, need)
	}
	old := lim.Cur
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise RLIMIT_NOFILE from %d to %d: %v", old, need, err)
	}
	t.Cleanup(func() { lim.Cur = old; syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}

// TestThousandIdleConnections: 1,000 clients connect, read the banner and
// say nothing. A normal client is served meanwhile; each idle client gets
// 421 4.4.2 at the command timeout (RFC 5321 §4.5.3.2.7 lets the server
// end an idle session) and is closed; the memory they held is reported and
// bounded by the target (200 MB for 1,000 idle connections, far
// above what they cost).
func TestThousandIdleConnections(t *testing.T) {
	const idle = 1000
	raiseNoFile(t, 2*idle+256) // both ends of each connection are ours
	// Long enough that all 1,000 are open before the first times out, even
	// under -race on a loaded machine (opening them takes about a second).
	const timeout = 10 * time.Second
	b := newBed(t, func(b *bed) { b.cmdTimeout, b.dataTimeout = timeout, timeout })
	l := relayListener("L")
	setParam(t, &l, "RELAYED", "max_concurrency", "1000")
	// The normal client comes from another loopback address, outside the
	// per-host limit of the idle ones.
	l.HAT.Entries[0].Members = []string{"127.0.0.1", "127.0.0.2"}
	b.apply(l)
	addr := b.addr("L")
	before := memStats()
	conns := make([]*bufio.Reader, idle)
	raws := make([]net.Conn, idle)
	var wg sync.WaitGroup
	errs := make(chan error, idle)
	began := time.Now()
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < idle; i += 20 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				c.SetDeadline(time.Now().Add(timeout + 30*time.Second))
				br := bufio.NewReader(c)
				banner, err := br.ReadString('\n')
				if err != nil || !strings.HasPrefix(banner, "220 ") {
					errs <- fmt.Errorf("connection %d: banner %q, %v", i, banner, err)
					c.Close()
					return
				}
				conns[i], raws[i] = br, c
			}
		}()
	}
	wg.Wait()
	opened := time.Since(began)
	t.Cleanup(func() {
		for _, c := range raws {
			if c != nil {
				c.Close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	held := memStats()
	if cur := b.srv.Stats().CurrentConnections; cur != idle {
		t.Fatalf("%d connections open, want %d", cur, idle)
	}

	// A normal client, from 127.0.0.2, is served while they idle.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nr := &raw{t: t, c: nc, r: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	nr.reply()
	nr.cmd("EHLO normal.example.org")
	nr.cmd("MAIL FROM:<a@example.org>")
	nr.cmd("RCPT TO:<b@example.com>")
	nr.cmd("DATA")
	during := b.srv.Stats().CurrentConnections
	if got := nr.cmd("Subject: beside 1000 idle\r\n\r\nok\r\n."); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("normal client beside %d idle connections: %q", idle, got)
	}
	nr.cmd("QUIT")
	nc.Close()
	if during != idle+1 {
		t.Fatalf("%d connections open while the normal client sent; want %d (did the idle ones time out already? opening them took %v)", during, idle+1, opened)
	}

	perConn := (inUse(held) - inUse(before)) / idle
	t.Logf("%d idle connections opened in %v; memory in use %d KiB per connection (heap+stacks, client ends included), %d MiB in all",
		idle, opened.Round(time.Millisecond), perConn>>10, (inUse(held)-inUse(before))>>20)
	if inUse(held)-inUse(before) > 200<<20 {
		t.Fatalf("1,000 idle connections hold %d MiB", (inUse(held)-inUse(before))>>20)
	}

	// Each idle client is told it timed out, then closed.
	for i, br := range conns {
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "421 4.4.2") {
			t.Fatalf("idle connection %d: %q, %v", i, line, err)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection %d not closed after 421: %v", i, err)
		}
	}
	b.waitIdle()
	if n, _ := b.q.Len(); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
}
