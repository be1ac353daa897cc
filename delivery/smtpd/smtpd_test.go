package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/store/mailflow"

	"github.com/emersion/go-smtp"
)

// logLines collects mail_logs lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
}

func newLog() *logLines { l := &logLines{}; l.cond = sync.NewCond(&l.mu); return l }

func (l *logLines) add(level, format string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, a...))
	l.cond.Broadcast()
	l.mu.Unlock()
}
func (l *logLines) Info(f string, a ...any)    { l.add("Info", f, a...) }
func (l *logLines) Warning(f string, a ...any) { l.add("Warning", f, a...) }
func (l *logLines) Debug(f string, a ...any)   { l.add("Debug", f, a...) }

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// waitFor blocks until a line containing s is logged (the close line is
// written after the client sees the connection end).
func (l *logLines) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for _, x := range l.lines {
			if strings.Contains(x, s) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q in:\n%s", s, strings.Join(l.lines, "\n"))
		}
		go func() { time.Sleep(20 * time.Millisecond); l.cond.Broadcast() }()
		l.cond.Wait()
	}
}

type bed struct {
	t   *testing.T
	q   *queue.Queue
	log *logLines
	srv *Server
	dir string

	cmdTimeout, dataTimeout time.Duration
}

func selfSigned(t testing.TB) *tls.Config {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esa.example.com"},
		DNSNames: []string{"esa.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func newBed(t *testing.T, opts ...func(*bed)) *bed {
	t.Helper()
	dir := t.TempDir()
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, q: q, log: newLog(), dir: dir}
	o := Options{Queue: q, Log: b.log, TLS: selfSigned(t)}
	b.cmdTimeout, b.dataTimeout = 5*time.Second, 5*time.Second
	for _, f := range opts {
		f(b)
	}
	b.srv = New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.srv.Shutdown(ctx)
	})
	return b
}

func relayListener(name string) mailflow.Listener {
	l := mailflow.NewListener(name, mailflow.Private, "127.0.0.1", 0)
	l.HAT.Entries[0].Members = []string{"127.0.0.1"}
	return l
}

func publicListener(name string) mailflow.Listener {
	l := mailflow.NewListener(name, mailflow.Public, "127.0.0.1", 0)
	l.RAT = []mailflow.RATEntry{{Pattern: "example.com", Action: mailflow.ActAccept}, {Pattern: "ALL", Action: mailflow.ActReject}}
	return l
}

func (b *bed) apply(ls ...mailflow.Listener) {
	b.t.Helper()
	if err := b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: ls, CommandTimeout: b.cmdTimeout, DataTimeout: b.dataTimeout}); err != nil {
		b.t.Fatal(err)
	}
}

// waitIdle waits until the server has seen every client connection close
// (the per-host concurrency count depends on it).
func (b *bed) waitIdle() {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.srv.Stats().CurrentConnections != 0 {
		if time.Now().After(deadline) {
			b.t.Fatalf("connections still open: %+v", b.srv.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *bed) addr(name string) string {
	a := b.srv.Addrs()[name]
	if a == nil {
		b.t.Fatalf("listener %s not running", name)
	}
	return a.String()
}

func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatal(err)
	}
	return c
}

func send(c *smtp.Client, from string, to []string, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	return w.Close()
}

// raw is a line-level client for hostile dialogues.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *raw {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

// reply reads one whole (possibly multi-line) reply.
func (r *raw) reply() string {
	r.t.Helper()
	var out []string
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			return strings.Join(append(out, "ERR "+err.Error()), "\n")
		}
		out = append(out, strings.TrimRight(l, "\r\n"))
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(out, "\n")
		}
	}
}

func (r *raw) send(s string) { r.c.Write([]byte(s)) }

func (r *raw) cmd(s string) string { r.send(s + "\r\n"); return r.reply() }

const body = "From: a@example.org\r\nTo: b@example.com\r\nMessage-ID: <1@example.org>\r\nSubject: it's here\r\n\r\nHello.\r\n..dot-stuffed line\r\n"

func TestRelayQueuesByteIdentical(t *testing.T) {
	b := newBed(t)
	b.apply(relayListener("OutgoingMail"))
	c := dial(t, b.addr("OutgoingMail"))
	if err := send(c, "a@example.org", []string{"b@example.com", "c@elsewhere.net"}, body); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	b.log.waitFor(t, "close")
	list := b.q.List()
	if len(list) != 1 {
		t.Fatalf("%d messages queued", len(list))
	}
	e := list[0].Envelope
	if e.From != "a@example.org" || strings.Join(e.Recipients, ",") != "b@example.com,c@elsewhere.net" ||
		e.SenderGroup != "RELAYLIST" || e.Policy != "RELAYED" || !e.Relayed || e.Listener != "OutgoingMail" || e.HELO != "client.example.org" {
		t.Fatalf("envelope %+v", e)
	}
	rc, _ := b.q.Body(e.MID)
	got, _ := io.ReadAll(rc)
	rc.Close()
	// go-smtp's client dot-stuffs the line starting with '.', the server
	// unstuffs it: the queue holds the message as written.
	if string(got) != body {
		t.Fatalf("body:\n%q\nwant\n%q", got, body)
	}
	if !strings.HasPrefix(e.Prepend, "Received: from client.example.org (unknown [127.0.0.1])\r\n  by esa.example.com with ESMTP; ") {
		t.Fatalf("Received header %q", e.Prepend)
	}
	want := []string{
		"Info: New SMTP ICID %[1]d interface Management (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no",
		"Info: ICID %[1]d RELAY SG RELAYLIST match 127.0.0.1 SBRS None",
		"Info: Start MID %[2]d ICID %[1]d",
		"Info: MID %[2]d ICID %[1]d From: <a@example.org>",
		"Info: MID %[2]d ICID %[1]d RID 0 To: <b@example.com>",
		"Info: MID %[2]d ICID %[1]d RID 1 To: <c@elsewhere.net>",
		"Info: MID %[2]d Message-ID '<1@example.org>'",
		`Info: MID %[2]d Subject "it's here"`,
		fmt.Sprintf("Info: MID %%[2]d ready %d bytes from <a@example.org>", len(body)),
		"Info: MID %[2]d matched all recipients for per-recipient policy DEFAULT in the inbound table",
		"Info: MID %[2]d queued for delivery",
		"Info: ICID %[1]d close",
	}
	lines := b.log.all()
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if exp := fmt.Sprintf(w, e.ICID, e.MID); lines[i] != exp {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], exp)
		}
	}
	if st := b.srv.Stats(); st.Messages != 1 || st.Recipients != 2 || st.ConnectionsIn != 1 || st.CurrentConnections != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPublicListenerRAT(t *testing.T) {
	b := newBed(t)
	b.apply(publicListener("IncomingMail"))
	r := dialRaw(t, b.addr("IncomingMail"))
	if got := r.reply(); !strings.HasPrefix(got, "220 esa.example.com ESMTP") {
		t.Fatalf("banner %q", got)
	}
	r.cmd("EHLO client.example.org")
	r.cmd("MAIL FROM:<a@example.org>")
	if got := r.cmd("RCPT TO:<x@elsewhere.net>"); got != "550 5.7.1 Relaying denied" {
		t.Fatalf("foreign recipient: %q", got)
	}
	if got := r.cmd("RCPT TO:<b@EXAMPLE.com>"); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("RAT domain: %q", got)
	}
	b.log.waitFor(t, "To: <x@elsewhere.net> Rejected by Receiving Control")
	// UNKNOWNLIST has no members in the factory table: the final ALL entry
	// takes the host, outside any sender group.
	b.log.waitFor(t, "ACCEPT SG None match ALL SBRS None")
	if st := b.srv.Stats(); st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHATRejectAndTCPRefuse(t *testing.T) {
	b := newBed(t)
	rej := publicListener("Rej")
	rej.HAT.Entries[1].Members = []string{"127.0.0.0/8"} // BLACKLIST
	refuse := publicListener("Refuse")
	refuse.HAT.Entries = append([]mailflow.Entry{{Members: []string{"127.0.0.1"}, Decision: mailflow.ActTCPRefuse}}, refuse.HAT.Entries...)
	b.apply(rej, refuse)
	r := dialRaw(t, b.addr("Rej"))
	if got := r.reply(); got != "554 5.7.1 Access denied" {
		t.Fatalf("REJECT banner %q", got)
	}
	b.log.waitFor(t, "REJECT SG BLACKLIST match 127.0.0.0/8 SBRS None")
	r2 := dialRaw(t, b.addr("Refuse"))
	if got := r2.reply(); got != "ERR EOF" {
		t.Fatalf("TCPREFUSE sent %q", got)
	}
	b.log.waitFor(t, "TCPREFUSE SG None match 127.0.0.1 SBRS None")
}

func TestLimits(t *testing.T) {
	b := newBed(t)
	l := relayListener("L")
	p := l.HAT.Policy("RELAYED")
	for i := range p.Params {
		switch p.Params[i].Key {
		case "max_rcpts_per_msg":
			p.Params[i].Value = "3"
		case "max_message_size":
			p.Params[i].Value = "2048"
		case "max_msgs_per_session":
			p.Params[i].Value = "2"
		case "max_concurrency":
			p.Params[i].Value = "2"
		}
	}
	b.apply(l)
	addr := b.addr("L")

	t.Run("recipients", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.reply()
		r.cmd("EHLO x")
		r.cmd("MAIL FROM:<a@example.org>")
		for i := 0; i < 3; i++ {
			r.cmd(fmt.Sprintf("RCPT TO:<r%d@example.com>", i))
		}
		if got := r.cmd("RCPT TO:<r4@example.com>"); got != "452 4.5.3 Too many recipients" {
			t.Fatalf("4th recipient: %q", got)
		}
	})
	t.Run("size", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.reply()
		if got := r.cmd("EHLO x"); !strings.Contains(got, "SIZE 2048") {
			t.Fatalf("EHLO %q", got)
		}
		if got := r.cmd("MAIL FROM:<a@example.org> SIZE=5000"); !strings.HasPrefix(got, "552") {
			t.Fatalf("declared SIZE: %q", got)
		}
		r.cmd("MAIL FROM:<a@example.org>")
		r.cmd("RCPT TO:<b@example.com>")
		r.cmd("DATA")
		r.send(strings.Repeat(strings.Repeat("x", 70)+"\r\n", 40) + ".\r\n")
		if got := r.reply(); !strings.HasPrefix(got, "552 5.3.4") {
			t.Fatalf("oversized DATA: %q", got)
		}
	})
	t.Run("messages per connection", func(t *testing.T) {
		b.waitIdle()
		c := dial(t, addr)
		for i := 0; i < 2; i++ {
			if err := send(c, "a@example.org", []string{"b@example.com"}, "Subject: x\r\n\r\nx\r\n"); err != nil {
				t.Fatal(err)
			}
		}
		err := send(c, "a@example.org", []string{"b@example.com"}, "x\r\n")
		if err == nil || !strings.Contains(err.Error(), "421") {
			t.Fatalf("third message: %v", err)
		}
	})
	t.Run("concurrency", func(t *testing.T) {
		b.waitIdle()
		r1, r2 := dialRaw(t, addr), dialRaw(t, addr)
		r1.reply()
		r2.reply()
		r3 := dialRaw(t, addr)
		if got := r3.reply(); !strings.HasPrefix(got, "421 4.7.0 Too many concurrent SMTP connections") {
			t.Fatalf("third connection: %q", got)
		}
		b.log.waitFor(t, "Receiving Failed: Connection limit exceeded")
	})
	if n, _ := b.q.Len(); n != 2 {
		t.Fatalf("%d messages queued, want 2", n)
	}
}

func TestHostileClients(t *testing.T) {
	b := newBed(t, func(b *bed) { b.cmdTimeout, b.dataTimeout = 300*time.Millisecond, 500*time.Millisecond })
	b.apply(relayListener("L"))
	addr := b.addr("L")
	start := func() *raw {
		r := dialRaw(t, addr)
		r.reply()
		r.cmd("EHLO x")
		r.cmd("MAIL FROM:<a@example.org>")
		r.cmd("RCPT TO:<b@example.com>")
		return r
	}
	t.Run("bare LF", func(t *testing.T) {
		r := start()
		r.cmd("DATA")
		r.send("Subject: x\r\n\r\nline\nsmuggled\r\n.\r\n")
		if got := r.reply(); !strings.HasPrefix(got, "554 5.6.0") {
			t.Fatalf("bare LF: %q", got)
		}
	})
	t.Run("NUL", func(t *testing.T) {
		r := start()
		r.cmd("DATA")
		r.send("Subject: x\r\n\r\nnul\x00byte\r\n.\r\n")
		if got := r.reply(); !strings.HasPrefix(got, "554 5.6.0") {
			t.Fatalf("NUL: %q", got)
		}
	})
	t.Run("long line", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.reply()
		if got := r.cmd("EHLO " + strings.Repeat("a", 20000)); !strings.HasPrefix(got, "500") {
			t.Fatalf("long command: %q", got)
		}
	})
	t.Run("stops mid-DATA", func(t *testing.T) {
		r := start()
		r.cmd("DATA")
		r.send("Subject: x\r\n\r\npartial")
		r.c.Close()
	})
	t.Run("idle", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.reply()
		if got := r.reply(); !strings.HasPrefix(got, "421") {
			t.Fatalf("idle client: %q", got)
		}
	})
	t.Run("slow DATA", func(t *testing.T) {
		r := start()
		r.cmd("DATA")
		r.send("Subject: x\r\n")
		if got := r.reply(); !strings.HasPrefix(got, "421 4.4.2") {
			t.Fatalf("slow DATA: %q", got)
		}
	})
	t.Run("long DATA line", func(t *testing.T) {
		r := start()
		r.cmd("DATA")
		r.send("Subject: x\r\n\r\n" + strings.Repeat("y", 20000) + "\r\n.\r\n")
		if got := r.reply(); got != "552 5.3.4 Message line longer than 10240 characters" {
			t.Fatalf("long DATA line: %q", got)
		}
	})
	t.Run("pipelined garbage", func(t *testing.T) {
		r := dialRaw(t, addr)
		r.reply()
		r.send("EHLO x\r\nFOO bar\r\nMAIL FROM:<a@b>\r\n\x01\x02\r\nRCPT TO:<<>>\r\nDATA\r\n")
		var got []string
		for i := 0; i < 6; i++ {
			got = append(got, r.reply())
		}
		if !strings.HasPrefix(got[1], "50") || !strings.HasPrefix(got[2], "250") || !strings.HasPrefix(got[3], "50") ||
			!strings.HasPrefix(got[4], "50") || !strings.HasPrefix(got[5], "502") {
			t.Fatalf("pipelined garbage:\n%s", strings.Join(got, "\n"))
		}
	})
	b.log.waitFor(t, "ICID")
	// Nothing above reached the queue, and no temporary file is left.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := b.q.Len()
		ents, _ := os.ReadDir(filepath.Join(b.dir, "tmp"))
		if n == 0 && len(ents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queued, tmp %v", n, ents)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And a normal client is still served.
	c := dial(t, addr)
	if err := send(c, "a@example.org", []string{"b@example.com"}, "Subject: ok\r\n\r\nok\r\n"); err != nil {
		t.Fatal(err)
	}
}

func TestSTARTTLSAndRequiredTLS(t *testing.T) {
	b := newBed(t)
	l := relayListener("L")
	for i, p := range l.HAT.Policies[0].Params {
		if p.Key == "tls" {
			l.HAT.Policies[0].Params[i].Value = "required"
		}
	}
	b.apply(l)
	r := dialRaw(t, b.addr("L"))
	r.reply()
	if got := r.cmd("EHLO x"); !strings.Contains(got, "STARTTLS") {
		t.Fatalf("EHLO %q", got)
	}
	if got := r.cmd("MAIL FROM:<a@example.org>"); !strings.HasPrefix(got, "530 5.7.0") {
		t.Fatalf("MAIL without TLS: %q", got)
	}
	c, err := smtp.DialStartTLS(b.addr("L"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "a@example.org", []string{"b@example.com"}, "Subject: tls\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	b.log.waitFor(t, "TLS success protocol TLSv1.3 cipher TLS_")
	b.log.waitFor(t, "TLS was required but remote host did not initiate it")
	e := b.q.List()[0].Envelope
	if !strings.Contains(e.Prepend, "with ESMTPS") {
		t.Fatalf("Received %q", e.Prepend)
	}
	// A policy with TLS off offers no STARTTLS.
	b.apply(relayListener("L"))
	r2 := dialRaw(t, b.addr("L"))
	r2.reply()
	if got := r2.cmd("EHLO x"); strings.Contains(got, "STARTTLS") {
		t.Fatalf("tls off still offers STARTTLS: %q", got)
	}
}

// Apply takes effect for new connections at once; a connection in progress
// finishes under the settings it started with; a removed listener stops
// accepting without cutting its connections.
func TestApplyWithoutRestart(t *testing.T) {
	b := newBed(t)
	b.apply(relayListener("L"))
	addr := b.addr("L")
	old := dial(t, addr)
	if err := old.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}

	blocked := relayListener("L")
	blocked.HAT.Entries[0].Members = nil // nobody relays any more
	// Apply keeps the socket: the address and port are unchanged.
	blocked.Port = b.srv.Addrs()["L"].(*net.TCPAddr).Port
	b.apply(blocked)
	if b.addr("L") != addr {
		t.Fatalf("socket changed: %s -> %s", addr, b.addr("L"))
	}
	r := dialRaw(t, addr)
	if got := r.reply(); !strings.HasPrefix(got, "554") {
		t.Fatalf("new connection under the new HAT: %q", got)
	}
	if err := old.Rcpt("b@example.com", nil); err != nil {
		t.Fatalf("the old connection lost its settings: %v", err)
	}
	w, _ := old.Data()
	io.WriteString(w, "Subject: old\r\n\r\nx\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// A second listener added, then the first removed.
	other := relayListener("Other")
	b.apply(blocked, other)
	c := dial(t, b.addr("Other"))
	if err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	b.apply(other)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("removed listener still accepts")
	}
	if err := old.Quit(); err != nil {
		t.Fatalf("connection of the removed listener was cut: %v", err)
	}
	// A listener that cannot bind changes nothing.
	busy, _ := net.Listen("tcp", "127.0.0.1:0")
	defer busy.Close()
	bad := relayListener("Bad")
	bad.Port = busy.Addr().(*net.TCPAddr).Port
	if err := b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{other, bad}}); err == nil {
		t.Fatal("Apply with a busy port succeeded")
	}
	if _, ok := b.srv.Addrs()["Bad"]; ok {
		t.Fatal("half-applied configuration")
	}
	if err := send(c, "a@example.org", []string{"b@example.com"}, "x\r\n"); err == nil {
		// c already has MAIL; a second MAIL is a sequence error, fine either way
		_ = err
	}
}

func TestShutdownFinishesTransactions(t *testing.T) {
	b := newBed(t)
	b.apply(relayListener("L"))
	addr := b.addr("L")
	c := dial(t, addr)
	c.Mail("a@example.org", nil)
	c.Rcpt("b@example.com", nil)
	w, _ := c.Data()
	io.WriteString(w, "Subject: in flight\r\n\r\n")
	done := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- b.srv.Shutdown(ctx)
	}()
	// New connections are refused once shutdown began.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(w, "body\r\n")
	if err := w.Close(); err != nil {
		t.Fatalf("in-flight DATA cut by shutdown: %v", err)
	}
	c.Quit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := b.q.Len(); n != 1 {
		t.Fatalf("%d queued", n)
	}
}

func TestPyQuote(t *testing.T) {
	cases := map[string]string{
		"Hello":        "'Hello'",
		"it's":         `"it's"`,
		`it's "x"`:     `'it\'s "x"'`,
		"a\r\nInfo: x": `'a\x0d\x0aInfo: x'`,
	}
	for in, want := range cases {
		if got := pyQuote(in); got != want {
			t.Errorf("pyQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The STARTTLS certificate is the one the listener names, asked at each
// handshake (certconfig SETUP applies to the next connection).
func TestListenerCertificateByName(t *testing.T) {
	names := map[string]*tls.Config{"First": selfSigned(t), "Second": selfSigned(t)}
	var mu sync.Mutex
	current := "First"
	b := newBed(t, func(b *bed) {})
	b.srv.opt.Certificate = func(name string) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		if name != "Mine" {
			return nil, fmt.Errorf("no certificate %q", name)
		}
		return &names[current].Certificates[0], nil
	}
	l := relayListener("L")
	l.Certificate = "Mine"
	for i, p := range l.HAT.Policies[0].Params {
		if p.Key == "tls" {
			l.HAT.Policies[0].Params[i].Value = "preferred"
		}
	}
	b.apply(l)
	leaf := func() []byte {
		c, err := smtp.DialStartTLS(b.addr("L"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The handshake happens at the first command after STARTTLS.
		if err := c.Noop(); err != nil {
			t.Fatal(err)
		}
		st, _ := c.TLSConnectionState()
		return st.PeerCertificates[0].Raw
	}
	if !bytes.Equal(leaf(), names["First"].Certificates[0].Certificate[0]) {
		t.Fatal("not the listener's certificate")
	}
	mu.Lock()
	current = "Second"
	mu.Unlock()
	if !bytes.Equal(leaf(), names["Second"].Certificates[0].Certificate[0]) {
		t.Fatal("a changed certificate did not apply to the next connection")
	}
}
