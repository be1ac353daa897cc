package smtpd

import (
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/store/mailflow"
)

type nopLog struct{}

func (nopLog) Info(string, ...any)    {}
func (nopLog) Warning(string, ...any) {}
func (nopLog) Debug(string, ...any)   {}

var crlf = []byte("\r\n")

// FuzzSMTPSession feeds arbitrary bytes to the real listener (HAT, policy
// limits, go-smtp, DATA to the queue) over loopback, as one client's whole
// side of a session ending with a half-close. The server must not panic
// (a panic in its goroutines ends the fuzzing process), must finish the
// session within bounds, must answer only with well-formed reply lines
// (RFC 5321 §4.2), and must queue exactly the messages it answered
// "250 OK: queued" for, each of them the bytes of a DATA section the input
// really ended with CRLF.CRLF (RFC 5321 §4.1.1.4), dot-unstuffed
// (§4.5.2), or the chunks of a BDAT ... LAST sequence (RFC 3030) — never a
// message cut short, and never one with a bare LF or NUL.
func FuzzSMTPSession(f *testing.F) {
	for _, s := range []string{
		"EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n..stuffed\r\n.\r\nQUIT\r\n",
		"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.com>\r\nBDAT 5\r\nab\r\nBDAT 3 LAST\r\ncd\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nline\n.\r\nMAIL FROM:<evil@example.net>\r\n.\r\n",
		"EHLO x\r\nMAIL FROM:<a@example.org> SIZE=99999999\r\nSTARTTLS\r\n\x16\x03\x01\x00",
		"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	q, err := queue.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	srv := New(Options{Queue: q, Log: nopLog{}, TLS: selfSigned(f)})
	l := relayListener("L")
	// Small limits, so that short inputs reach them.
	setParam(f, &l, "RELAYED", "max_message_size", "2048")
	setParam(f, &l, "RELAYED", "max_rcpts_per_msg", "3")
	setParam(f, &l, "RELAYED", "max_msgs_per_session", "3")
	setParam(f, &l, "RELAYED", "max_concurrency", "1000")
	setParam(f, &l, "RELAYED", "tls", "preferred")
	if err := srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l},
		CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second}); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	addr := srv.Addrs()["L"].String()

	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		deadline := time.Now().Add(20 * time.Second)
		c.SetDeadline(deadline)
		go func() {
			c.Write(in)
			c.(*net.TCPConn).CloseWrite()
		}()
		out, rerr := io.ReadAll(c)
		if rerr != nil && time.Now().After(deadline) {
			t.Fatalf("the session did not end within 20s of the client's half-close; server said %q", out)
		}
		// A server that closes while input is unread resets the connection,
		// and the reset can drop replies not yet read.
		complete := rerr == nil

		if limit := 4096 + 1024*(bytes.Count(in, []byte("\n"))+1); len(out) > limit {
			t.Fatalf("%d reply bytes for %d input lines", len(out), bytes.Count(in, []byte("\n"))+1)
		}
		lines := bytes.SplitAfter(out, crlf)
		for i, line := range lines {
			if i == len(lines)-1 && (len(line) == 0 || !complete) {
				continue // after the last CRLF, or cut by a reset
			}
			if !replyLine.Match(line) {
				t.Fatalf("malformed reply line %q in %q", line, out)
			}
		}

		queued := bytes.Count(out, []byte("250 2.0.0 OK: queued\r\n"))
		list := q.List()
		if len(list) < queued || complete && len(list) != queued {
			t.Fatalf("%d messages queued, %d \"OK: queued\" replies (complete %v)", len(list), queued, complete)
		}
		for _, e := range list {
			rc, err := q.Body(e.Envelope.MID)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			q.Remove(e.Envelope.MID)
			if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(bytes.ReplaceAll(body, crlf, nil), []byte("\n")) {
				t.Fatalf("queued a message with NUL or bare LF: %q", body)
			}
			// A bare CR is refused like a bare LF: go-smtp's reader does
			// not see CRLF.CRLF right after a CR ("\r\r\n.\r\n" is taken as
			// data and the message would end at a later dot), so a queued
			// body holding one could carry what another MTA takes as the end
			// of the message (found by this fuzz test: testdata/fuzz/
			// FuzzSMTPSession/2488766bb2e9b52c).
			if bareCR(body) {
				t.Fatalf("queued a message with a bare CR: %q", body)
			}
			if !fromDATA(in, body) && !fromBDAT(in, body) {
				t.Fatalf("queued %q, which the input %q did not send as a whole message", body, in)
			}
		}
	})
}

// bareCR reports whether b holds a CR not followed by LF.
func bareCR(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return true
		}
	}
	return false
}

// replyLine is one line of an SMTP reply: code, separator, text, CRLF. No
// LF inside (a client's bytes echoed with a LF would forge a reply line).
// A bare CR inside is tolerated: go-smtp echoes HELO arguments and unknown
// verbs as they came, CR included (found by this fuzz test, see
// testdata/fuzz/FuzzSMTPSession/2828f88a2fba697d and b1dca4f40aa92392).
var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9]([ -][^\n]*)?\r\n$`)

// fromDATA reports whether body is the unstuffed content of a DATA section
// of in that ends with CRLF.CRLF.
func fromDATA(in, body []byte) bool {
	if len(body) == 0 {
		// ".\r\n" right after the DATA line, which may have ended with a
		// bare LF.
		return bytes.Contains(in, []byte(".\r\n"))
	}
	for p := 0; ; {
		i := bytes.Index(in[p:], []byte("\r\n.\r\n"))
		if i < 0 {
			return false
		}
		if endsWithLines(in[:p+i+2], body) {
			return true
		}
		p += i + 1
	}
}

// endsWithLines reports whether seg (ending with CRLF) ends with the lines
// of body, each dot-stuffed or not. A line holding a bare CR is only
// counted: go-smtp's reader drops a bare CR after a leading dot.
func endsWithLines(seg, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if !bytes.HasSuffix(body, crlf) {
		return false
	}
	blines := bytes.SplitAfter(body, crlf)
	blines = blines[:len(blines)-1]
	for k := len(blines) - 1; k >= 0; k-- {
		if len(seg) < 2 {
			return false
		}
		start := bytes.LastIndex(seg[:len(seg)-2], crlf) + 2
		if start == 1 {
			start = 0
		}
		line := seg[start:]
		seg = seg[:start]
		if k == 0 {
			// The DATA command line may have ended with a bare LF, which
			// go-smtp accepts for commands: the body starts after it.
			if i := bytes.LastIndexByte(line[:len(line)-2], '\n'); i >= 0 {
				line = line[i+1:]
			}
		}
		line = bytes.TrimPrefix(line, []byte("."))
		if !bytes.Equal(line, blines[k]) && !bytes.Contains(line[:len(line)-2], []byte("\r")) {
			return false
		}
	}
	return true
}

var bdatCmd = regexp.MustCompile(`(?i)BDAT +[0-9]+( +LAST)? *\r?\n`)

// fromBDAT reports whether body is made of bytes of in outside its BDAT
// command lines (RFC 3030 chunks follow their command line directly).
func fromBDAT(in, body []byte) bool {
	if !bytes.Contains(bytes.ToUpper(in), []byte("BDAT")) {
		return false
	}
	return strings.Contains(string(bdatCmd.ReplaceAll(in, nil)), string(body))
}

// TestFuzzSMTPSessionOracle pins FuzzSMTPSession's judge of where a queued
// message came from, so that the fuzz test cannot pass by accepting
// everything.
func TestFuzzSMTPSessionOracle(t *testing.T) {
	const head = "EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
	cases := []struct {
		in, body string
		data     bool
		bdat     bool
	}{
		{head + "a\r\nb\r\n.\r\n", "a\r\nb\r\n", true, false},
		{head + "..a\r\n.b\r\n.\r\n", ".a\r\nb\r\n", true, false},
		{head + ".\r\n", "", true, false},
		{head + "a\r\nb\r\n.\r", "a\r\nb\r\n", false, false},    // no final LF
		{head + "a\r\nb\n.\r\n", "a\r\nb\n", false, false},      // bare LF end
		{head + "a\r\nb\r\n.\r\n", "a\r\nc\r\n", false, false},  // other bytes
		{head + "a\r\nb\r\n.\r\n", "a\r\nb", false, false},      // cut short
		{head + "x\r\n.\r\nRSET\r\n", "RSET\r\n", false, false}, // after the end
		{"BDAT 2\r\nabBDAT 1 LAST\r\nc", "abc", false, true},    // chunks
		{"BDAT 2\r\nabBDAT 1 LAST\r\nc", "abd", false, false},   // not the chunks
		{"MAIL FROM:<>\r\nDATA\r\nabc\r\n.\r\n", "abd\r\n", false, false},
		{"MAIL FROM:<>\nDATA\nabc\r\n.\r\n", "abc\r\n", true, false}, // DATA ended by a bare LF
		{"MAIL FROM:<>\nDATA\nabc\r\n.\r\n", "DATA\nabc\r\n", false, false},
	}
	for _, c := range cases {
		if got := fromDATA([]byte(c.in), []byte(c.body)); got != c.data {
			t.Errorf("fromDATA(%q, %q) = %v", c.in, c.body, got)
		}
		if got := fromBDAT([]byte(c.in), []byte(c.body)); got != c.bdat {
			t.Errorf("fromBDAT(%q, %q) = %v", c.in, c.body, got)
		}
	}
}
