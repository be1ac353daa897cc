package dane

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
)

// rawSMTP serves one scripted SMTP conversation on loopback: the greeting,
// then for each command line read, the reply the script gives for its verb.
func rawSMTP(t *testing.T, replies map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("220 raw.test ESMTP\r\n"))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			verb := strings.ToUpper(strings.Fields(line + " ")[0])
			reply, ok := replies[verb]
			if !ok {
				reply = "502 unknown\r\n"
			}
			c.Write([]byte(reply))
		}
	}()
	return ln.Addr().String()
}

// TestStartTLSInjectionRefused: bytes following the 220 reply to STARTTLS
// were sent in clear text and must not be accepted (RFC 3207 §5); a hostile
// EHLO reply is refused or skipped, never a panic.
func TestStartTLSInjectionRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ehlo, reply string
		want              error
	}{
		{"clean", "250-raw.test\r\n250 STARTTLS\r\n", "220 go ahead\r\n", nil},
		{"injected", "250-raw.test\r\n250 STARTTLS\r\n", "220 go ahead\r\n250 injected\r\n", errInjected},
		// An empty extension line crashed the walk with an index out of
		// range (issue 12 item 21); it offers nothing and is skipped.
		{"empty extension line", "250-raw.test\r\n250-\r\n250 STARTTLS\r\n", "220 go ahead\r\n", nil},
		{"empty extension line, no STARTTLS", "250-raw.test\r\n250-\r\n250 8BITMIME\r\n", "220 go ahead\r\n", errNoSTARTTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := rawSMTP(t, map[string]string{
				"EHLO":     tc.ehlo,
				"STARTTLS": tc.reply,
			})
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			err = startTLS(conn, "esa.example.com")
			if !errors.Is(err, tc.want) {
				t.Fatalf("startTLS: %v, want %v", err, tc.want)
			}
		})
	}
}
