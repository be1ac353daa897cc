package queue

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestStripReader(t *testing.T) {
	t.Parallel()
	long := "X-Long: " + strings.Repeat("a", 20000) + "\r\n"
	cases := []struct {
		name, in, want string
		strip          []string
	}{
		{"one field", "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n", "Subject: hi\r\n\r\nbody\r\n", []string{"From"}},
		{"case and continuation", "subject: x\r\n  y\r\nTo: c\r\n\r\nSubject: in body\r\n", "To: c\r\n\r\nSubject: in body\r\n", []string{"Subject"}},
		{"every instance", "A: 1\r\nB: 2\r\nA: 3\r\n\r\n", "B: 2\r\n\r\n", []string{"a"}},
		{"space before colon", "From : x\r\nTo: y\r\n\r\n", "To: y\r\n\r\n", []string{"From"}},
		{"prefix is not the name", "From-Not: x\r\n\r\n", "From-Not: x\r\n\r\n", []string{"From"}},
		{"long line dropped whole", long + "To: y\r\n\r\n", "To: y\r\n\r\n", []string{"X-Long"}},
		{"long line kept whole", long + "To: y\r\n\r\n", long + "\r\n", []string{"To"}},
		{"no body separator", "From: x\r\nTo: y\r\n", "To: y\r\n", []string{"From"}},
		{"nothing to strip", "From: x\r\n\r\nb", "From: x\r\n\r\nb", nil},
	}
	for _, c := range cases {
		for _, slow := range []bool{false, true} {
			var r io.Reader = strings.NewReader(c.in)
			if slow {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(iotest.HalfReader(newStripReader(r, c.strip)))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if string(got) != c.want {
				t.Errorf("%s (slow %v): got %.80q, want %.80q", c.name, slow, got, c.want)
			}
		}
	}
}

// FuzzStripReader: stripping never grows a message, never touches the
// body, and stripping nothing changes nothing.
func FuzzStripReader(f *testing.F) {
	f.Add([]byte("From: a\r\n b\r\nTo: c\r\n\r\nFrom: body\r\n"), "From")
	f.Add([]byte("\r\n\r\n"), "x")
	f.Fuzz(func(t *testing.T, msg []byte, name string) {
		got, err := io.ReadAll(newStripReader(bytes.NewReader(msg), []string{name}))
		if err != nil || len(got) > len(msg) {
			t.Fatalf("err %v, %d > %d", err, len(got), len(msg))
		}
		same, _ := io.ReadAll(newStripReader(bytes.NewReader(msg), nil))
		if !bytes.Equal(same, msg) {
			t.Fatalf("nothing stripped changed the message")
		}
		if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 && !bytes.HasSuffix(got, msg[i+4:]) {
			t.Fatalf("body changed")
		}
	})
}
