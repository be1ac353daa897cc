package smtpclient

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     Reply
		err      string // substring of the error; "" = none
	}{
		{"one line", "220 mx.test ESMTP\r\n", Reply{220, []string{"mx.test ESMTP"}}, ""},
		{"code only", "250\r\n", Reply{250, []string{""}}, ""},
		{"multiline", "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", Reply{250, []string{"mx.test", "PIPELINING", "STARTTLS"}}, ""},
		{"empty extension line", "250-mx.test\r\n250-\r\n250 STARTTLS\r\n", Reply{250, []string{"mx.test", "", "STARTTLS"}}, ""},
		{"bare LF", "250-a\n250 b\n", Reply{250, []string{"a", "b"}}, ""},
		{"code changes", "250-a\r\n251 b\r\n", Reply{}, "code changed"},
		{"short", "25\r\n", Reply{}, "too short"},
		{"no code", "abc def\r\n", Reply{}, "without a reply code"},
		{"bad separator", "250xok\r\n", Reply{}, "space or a dash"},
		{"first digit 6", "650 no\r\n", Reply{}, "without a reply code"},
		{"cut", "250-a\r\n250-b", Reply{}, "unexpected EOF"},
		{"eof", "", Reply{}, "EOF"},
		{"long line", "250 " + strings.Repeat("x", MaxLineLen) + "\r\n", Reply{}, "longer than"},
		{"many lines", strings.Repeat("250-x\r\n", MaxReplyLines) + "250 x\r\n", Reply{}, "lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadReply(bufio.NewReaderSize(strings.NewReader(tc.in), 16))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ReadReply(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ReadReply(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestReadReplyMaxLines: the longest reply allowed is read whole.
func TestReadReplyMaxLines(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("250-x\r\n", MaxReplyLines-1) + "250 x\r\n"
	rep, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
	if err != nil || len(rep.Lines) != MaxReplyLines {
		t.Fatalf("%d lines, %v", len(rep.Lines), err)
	}
}

func TestReadReplyEOFKinds(t *testing.T) {
	t.Parallel()
	if _, err := ReadReply(bufio.NewReader(strings.NewReader(""))); err != io.EOF {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
	if _, err := ReadReply(bufio.NewReader(strings.NewReader("250-a\r\n"))); err != io.ErrUnexpectedEOF {
		t.Errorf("cut reply: %v, want io.ErrUnexpectedEOF", err)
	}
	var pe *ProtocolError
	if _, err := ReadReply(bufio.NewReader(strings.NewReader("x\r\n"))); !errors.As(err, &pe) {
		t.Errorf("junk: %v, want a *ProtocolError", err)
	}
}

func TestParseEHLO(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lines []string
		want  Extensions
	}{
		{[]string{"mx.test"}, Extensions{}},
		{nil, Extensions{}},
		// The reply that crashed the walk (issue 12 item 21).
		{[]string{"mx.test", "", "STARTTLS"}, Extensions{"STARTTLS": ""}},
		{[]string{"mx.test", "   ", "\t"}, Extensions{}},
		{[]string{"mx.test", "size 1000", "starttls", "AUTH PLAIN LOGIN"}, Extensions{"SIZE": "1000", "STARTTLS": "", "AUTH": "PLAIN LOGIN"}},
		{[]string{"mx.test", "-STARTTLS", "STARTTLS!", "8BITMIME"}, Extensions{"8BITMIME": ""}},
		// The first line is the greeting, never an extension.
		{[]string{"STARTTLS"}, Extensions{}},
	} {
		got := ParseEHLO(Reply{Code: 250, Lines: tc.lines})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseEHLO(%q) = %v, want %v", tc.lines, got, tc.want)
		}
	}
	if !(Extensions{"STARTTLS": ""}).Has("starttls") {
		t.Error("Has is not case-insensitive")
	}
}

// BenchmarkReadEHLO: reading and parsing a typical ten-line EHLO reply.
func BenchmarkReadEHLO(b *testing.B) {
	in := "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-ETRN\r\n250-STARTTLS\r\n" +
		"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
	r := strings.NewReader(in)
	br := bufio.NewReader(r)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		rep, err := ReadReply(br)
		if err != nil || !ParseEHLO(rep).Has("STARTTLS") {
			b.Fatal(rep, err)
		}
	}
}
