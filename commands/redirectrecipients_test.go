package commands

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func init() {
	transcripts["redirectrecipients_clear"] = transcript{setup: withEngine, check: func(t *testing.T, env *Env) {
		f := fake(env)
		if got := strings.Join(f.redirects, ","); got != "relay.example.com 2525" || !f.cleared {
			t.Errorf("redirects %q, cleared %v; want one redirect, cleared", got, f.cleared)
		}
	}}
}

// FuzzRedirectHost: what redirectrecipients accepts as its host is
// accepted again unchanged (the engine gets exactly what the
// confirmation showed), is a host name or an IP address with an optional
// port from 1 to 65535, and holds no space or control character that could
// forge a mail_logs line.
func FuzzRedirectHost(f *testing.F) {
	for _, s := range []string{"relay.example.com", "relay.example.com:2525", "192.0.2.1", "[2001:db8::25]:25",
		"2001:db8::25", "[2001:db8::25]", "bad..host", "host:0", "host:99999", "a b", "host\n:25", ":25", "[]:25", "RELAY.Example.COM."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := redirectHost(in)
		if err != nil {
			return
		}
		again, err := redirectHost(out)
		if err != nil || again != out {
			t.Fatalf("%q -> %q -> %q, %v", in, out, again, err)
		}
		if strings.ContainsFunc(out, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Fatalf("%q accepted as %q", in, out)
		}
		host := out
		if h, p, err := net.SplitHostPort(out); err == nil {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				t.Fatalf("%q: port %q", out, p)
			}
			host = h
		}
		if host == "" {
			t.Fatalf("%q: no host", out)
		}
	})
}
