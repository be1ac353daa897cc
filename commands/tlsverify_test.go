package commands

import "testing"

func TestCheckDest(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"MX.Example.com":       "mx.example.com",
		"mx.example.com:26":    "mx.example.com:26",
		"192.0.2.1":            "192.0.2.1",
		"192.0.2.1:2525":       "192.0.2.1:2525",
		"2001:db8::1":          "2001:db8::1",
		"[2001:db8::1]:26":     "[2001:db8::1]:26",
		"mx.example.com:0":     "",
		"mx.example.com:99999": "",
		"mx..example.com":      "",
		"mx.example.com:port":  "",
	} {
		got, err := checkDest(in)
		if want == "" && err == nil || want != "" && (err != nil || got != want) {
			t.Errorf("checkDest(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if h, p, err := splitDest("[2001:db8::1]:26", 25); err != nil || h != "2001:db8::1" || p != 26 {
		t.Errorf("splitDest: %q %d %v", h, p, err)
	}
}
