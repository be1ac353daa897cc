package smtpclient

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReadReply: any bytes from a server give replies within the bounds or
// an error, never a panic; every reply's code is a valid reply code.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 mx.test ESMTP\r\n",
		"250-mx.test\r\n250-\r\n250 STARTTLS\r\n",
		"250\r\n",
		"250-a\n250 b\n",
		"250-a\r\n251 b\r\n",
		"999 x\r\n",
		"25",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for {
			rep, err := ReadReply(r)
			if err != nil {
				return
			}
			if rep.Code < 100 || rep.Code > 599 || len(rep.Lines) == 0 || len(rep.Lines) > MaxReplyLines {
				t.Fatalf("bad reply %#v", rep)
			}
			for _, l := range rep.Lines {
				if len(l) > MaxLineLen {
					t.Fatalf("line of %d bytes", len(l))
				}
			}
			_ = ParseEHLO(rep)
		}
	})
}

// FuzzParseEHLO: any extension lines parse without panic into keywords
// that satisfy the RFC 5321 §4.1.1.1 grammar.
func FuzzParseEHLO(f *testing.F) {
	for _, s := range []string{"mx\n\nSTARTTLS", "mx\nSIZE 1000\nAUTH PLAIN", "mx\n-\n \t", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ext := ParseEHLO(Reply{Code: 250, Lines: strings.Split(text, "\n")})
		for k := range ext {
			if !isKeyword(k) || k != strings.ToUpper(k) {
				t.Fatalf("keyword %q", k)
			}
		}
	})
}

// FuzzDialogue: whatever a hostile server answers to the greeting, EHLO and
// STARTTLS, the client returns (an error or a go-ahead), never panics, and
// goes ahead only when STARTTLS was offered and nothing followed the 220.
func FuzzDialogue(f *testing.F) {
	for _, s := range []string{
		"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n",
		"220 mx\r\n250-mx\r\n250-\r\n250 STARTTLS\r\n220 go ahead\r\n",
		"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n250 injected\r\n",
		"220 mx\r\n250 mx\r\n",
		"220-mx\r\n220 mx\r\n250-mx\r\n250-SIZE\r\n250 starttls\r\n220-a\r\n220 b\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, server string) {
		s, err := dialogue(server)
		if err == nil && !strings.Contains(s.sent.String(), "STARTTLS\r\n") {
			t.Fatalf("went ahead without asking for STARTTLS: sent %q", s.sent.String())
		}
	})
}
