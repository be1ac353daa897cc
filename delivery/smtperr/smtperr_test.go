package smtperr

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		in      string
		want    Reply
		wantErr string
	}{
		{in: "550 #5.7.1 SPF unauthorized mail is prohibited", want: Reply{Code: 550, Enhanced: Enhanced{5, 7, 1}, Text: "SPF unauthorized mail is prohibited"}},
		{in: "451 #4.4.3 Temporary error occurred during SPF verification", want: Reply{Code: 451, Enhanced: Enhanced{4, 4, 3}, Text: "Temporary error occurred during SPF verification"}},
		{in: "550 5.7.1 without hash", want: Reply{Code: 550, Enhanced: Enhanced{5, 7, 1}, Text: "without hash"}},
		{in: "550 plain text", want: Reply{Code: 550, Text: "plain text"}},
		{in: "  554  ", want: Reply{Code: 554}},
		{in: "550 4.7.1 mismatched class stays text", want: Reply{Code: 550, Text: "4.7.1 mismatched class stays text"}},
		{in: "250 #2.0.0 ok", wantErr: "from 400 to 599"},
		{in: "55 text", wantErr: "from 400 to 599"},
		{in: "0550 text", wantErr: "from 400 to 599"},
		{in: "", wantErr: "from 400 to 599"},
		{in: "550 #5.7 short", wantErr: "not an enhanced status code"},
		{in: "550 #4.7.1 class", wantErr: "does not agree"},
		{in: "550 #5.7.1000 long", wantErr: "not an enhanced status code"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			r, err := ParseConfig(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseConfig(%q) = %v, %v; want error containing %q", c.in, r, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *r != c.want {
				t.Fatalf("ParseConfig(%q) = %+v, want %+v", c.in, *r, c.want)
			}
			// The configuration form reads back to the same reply.
			back, err := ParseConfig(r.Config())
			if err != nil || *back != *r {
				t.Fatalf("round trip of %q via %q = %+v, %v", c.in, r.Config(), back, err)
			}
		})
	}
}

func TestWire(t *testing.T) {
	r := New(550, Enhanced{5, 7, 1}, "The domain example.com explains:\nGo away")
	want := "550-5.7.1 The domain example.com explains:\r\n550 5.7.1 Go away\r\n"
	if got := r.Wire(); got != want {
		t.Fatalf("Wire() = %q, want %q", got, want)
	}
	if got := New(421, Enhanced{}, "bye").Wire(); got != "421 bye\r\n" {
		t.Fatalf("Wire() without enhanced code = %q", got)
	}
}

func TestClassification(t *testing.T) {
	wrapped := fmt.Errorf("delivering: %w", QueueFull.WithDetail("disk full on %s", "/var"))
	if !IsTemporary(wrapped) || IsPermanent(wrapped) {
		t.Fatal("a wrapped 452 must be temporary")
	}
	if IsTemporary(RelayDenied) || !IsPermanent(RelayDenied) {
		t.Fatal("550 must be permanent")
	}
	// A network error never gave a permanent answer.
	if !IsTemporary(&net.OpError{Op: "dial", Err: errors.New("refused")}) {
		t.Fatal("a network error must count as temporary")
	}
	if IsTemporary(nil) || IsPermanent(nil) {
		t.Fatal("nil is neither")
	}
	r, _ := As(wrapped)
	if r.Detail != "disk full on /var" || strings.Contains(r.SMTP().Message, "disk") {
		t.Fatalf("detail must stay out of the wire text: %+v", r.SMTP())
	}
	if got := r.Error(); got != "452 4.3.1 Insufficient system storage (disk full on /var)" {
		t.Fatalf("Error() = %q", got)
	}
	if QueueFull.Detail != "" {
		t.Fatal("WithDetail must not change the shared reply")
	}
}

func TestFromSMTP(t *testing.T) {
	// go-smtp's client leaves the enhanced code in the text when it did not
	// parse one; both forms give the same Reply.
	a := FromSMTP(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.NoEnhancedCode, Message: "5.1.1 No such user"})
	b := FromSMTP(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"})
	if *a != *b || a.Enhanced != (Enhanced{5, 1, 1}) || a.Text != "No such user" {
		t.Fatalf("FromSMTP: %+v vs %+v", a, b)
	}
	c := FromSMTP(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.NoEnhancedCode, Message: "try later"})
	if !c.Enhanced.IsZero() || c.Text != "try later" || !c.Temporary() {
		t.Fatalf("FromSMTP without code: %+v", c)
	}
	if got, ok := As(&smtp.SMTPError{Code: 554, Message: "x"}); !ok || !got.Permanent() {
		t.Fatal("As must find a go-smtp error")
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"550 #5.7.1 SPF unauthorized mail is prohibited", "451 #4.4.3 x", "550 5.7.1 y", "599", "550 #5.7.", "550 #.1.1 a", "400 #4.999.999 \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseConfig(s)
		if err != nil {
			return
		}
		if r.Code < 400 || r.Code > 599 {
			t.Fatalf("accepted code %d", r.Code)
		}
		if !r.Enhanced.IsZero() && r.Enhanced[0] != r.Code/100 {
			t.Fatalf("accepted mismatched class %v for %d", r.Enhanced, r.Code)
		}
		back, err := ParseConfig(r.Config())
		if err != nil || back.Code != r.Code || back.Enhanced != r.Enhanced {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, r.Config(), back, err)
		}
	})
}

func FuzzFromSMTP(f *testing.F) {
	f.Add(550, "5.1.1 No such user")
	f.Add(421, "4.3.2 try later")
	f.Add(250, "")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		r := FromSMTP(&smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: msg})
		if !r.Enhanced.IsZero() && r.Enhanced[0] != code/100 {
			t.Fatalf("enhanced class %v taken for code %d", r.Enhanced, code)
		}
		_ = r.Wire()
		_ = r.Error()
	})
}
