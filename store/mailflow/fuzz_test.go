package mailflow

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseHAT: whatever the HAT importer accepts is a valid table that
// prints and reads back to itself.
func FuzzParseHAT(f *testing.F) {
	if b, err := os.ReadFile("testdata/public_hat.txt"); err == nil {
		f.Add(string(b))
	}
	f.Add("$RELAYED\n    RELAY {\n        tls = \"on\"\n    }\nRELAYLIST:\n        127.0.0.1, ::1\n        $RELAYED (x)\nALL $RELAYED\n")
	f.Add("$S\n    ACCEPT {\n        spf_verify = \"on\"\n        spf_helo_reject = \"Fail,none\"\n        spf_timeout = 7\n    }\nALL $S\n")
	f.Add("example.com REJECT (no)\n.example.org\n    TCPREFUSE\n")
	f.Add("$A\n    ACCEPT {}\nG:\n        sbrs[-1.5:2]\n        10.1.1.1-9\n        $A\n")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := ParseHAT(strings.NewReader(in), DefaultParams())
		if err != nil {
			return
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("accepted an invalid table: %v", err)
		}
		var b bytes.Buffer
		PrintHAT(&b, h)
		back, err := ParseHAT(&b, DefaultParams())
		if err != nil {
			t.Fatalf("printed form refused: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(back, h) {
			t.Fatalf("round trip changed the table:\n%+v\n%+v", h, back)
		}
	})
}

// FuzzParseRAT: the same for the recipient access table.
func FuzzParseRAT(f *testing.F) {
	f.Add("# comment\n.example.com ACCEPT\nbad@example.com REJECT 550 \"No\"\nuser@ ACCEPT BYPASS_LIMITS\nALL REJECT\n")
	f.Add("example.com REJECT 451\n")
	f.Fuzz(func(t *testing.T, in string) {
		rat, err := ParseRAT(strings.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		PrintRAT(&b, rat)
		back, err := ParseRAT(&b)
		if err != nil || !reflect.DeepEqual(back, rat) {
			t.Fatalf("round trip: %v\n%q\n%+v\n%+v", err, b.String(), rat, back)
		}
	})
}
