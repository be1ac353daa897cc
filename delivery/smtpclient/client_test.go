package smtpclient

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// script is a server side played from a byte string: reads come from the
// server's bytes, writes (our commands) are recorded.
type script struct {
	r    io.Reader
	sent bytes.Buffer
}

func (s *script) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *script) Write(p []byte) (int, error) { return s.sent.Write(p) }

// dialogue runs greeting, EHLO and STARTTLS against server bytes.
func dialogue(server string) (*script, error) {
	s := &script{r: strings.NewReader(server)}
	c := New(s)
	if _, err := c.Greeting(); err != nil {
		return s, err
	}
	ext, err := c.Hello("esa.example.com")
	if err != nil {
		return s, err
	}
	return s, c.StartTLS(ext)
}

func TestDialogue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, server string
		want         error  // errors.Is target
		err          string // or a substring
	}{
		{name: "ok", server: "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n"},
		{name: "empty extension line", server: "220 mx\r\n250-mx\r\n250-\r\n250 STARTTLS\r\n220 go ahead\r\n"},
		{name: "empty extension line only", server: "220 mx\r\n250-mx\r\n250-\r\n250 8BITMIME\r\n", want: ErrNoSTARTTLS},
		{name: "no STARTTLS", server: "220 mx\r\n250 mx\r\n", want: ErrNoSTARTTLS},
		{name: "injected", server: "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n250 injected\r\n", want: ErrInjected},
		{name: "greeting 554", server: "554 go away\r\n", err: "greeting: unexpected reply 554 go away (want 220)"},
		{name: "STARTTLS refused", server: "220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 not now\r\n", err: "STARTTLS: unexpected reply 454"},
		{name: "EHLO junk", server: "220 mx\r\n\x00\x01\r\n", err: "EHLO: SMTP protocol error"},
		{name: "hang up", server: "220 mx\r\n", err: "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := dialogue(tc.server)
			switch {
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if tc.name == "ok" && s.sent.String() != "EHLO esa.example.com\r\nSTARTTLS\r\n" {
				t.Errorf("sent %q", s.sent.String())
			}
		})
	}
}

func TestQuit(t *testing.T) {
	t.Parallel()
	s := &script{r: strings.NewReader("221 bye\r\n")}
	if err := New(s).Quit(); err != nil || s.sent.String() != "QUIT\r\n" {
		t.Fatalf("Quit: %v, sent %q", err, s.sent.String())
	}
}
