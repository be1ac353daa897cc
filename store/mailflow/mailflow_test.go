package mailflow

import (
	"bytes"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The factory public HAT prints exactly as the appliance's PRINT does
// (ESA-CLI.md §3.3 [V]), and reads back to the same table.
func TestPublicHATPrint(t *testing.T) {
	want, err := os.ReadFile("testdata/public_hat.txt")
	if err != nil {
		t.Fatal(err)
	}
	h := PublicHAT()
	var b bytes.Buffer
	if err := PrintHAT(&b, &h); err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("PRINT differs:\n%s\nwant:\n%s", b.String(), want)
	}
	back, err := ParseHAT(bytes.NewReader(want), h.Default)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*back, h) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", *back, h)
	}
}

func TestHATRoundTripWithMembers(t *testing.T) {
	h := PrivateHAT()
	h.Entries[0].Members = []string{"127.0.0.1", "10.0.0.0/8", "192.168.1.1-20", "::1", "2001:db8::/32", "mail.example.org", ".example.net", "172.16.", "sbrs[none]"}
	h.Entries = append([]Entry{{Members: []string{"spamdomain.com"}, Decision: ActReject, Comment: `reject the domain "spamdomain.com"`}}, h.Entries...)
	h.Policies[0].Params = append(h.Policies[0].Params, Param{"smtp_banner_text", `Welcome "friend"`})
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	PrintHAT(&b, &h)
	back, err := ParseHAT(&b, h.Default)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(*back, h) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", *back, h)
	}
}

// Hand-written files in the forms administrators use: one-line entries,
// comma-separated members, comments, "tls = on", policy line before members.
func TestParseHATForms(t *testing.T) {
	in := `# exported by hand
$RELAYED
    RELAY {
        tls = "on"
        max_rcpts_per_msg = 100
    }
$BLOCKED
    REJECT {}
RELAYLIST:
        $RELAYED (Relayed mail)
        127.0.0.1, 10.0.0.0/8

blocked.example.com REJECT (no thanks)
ALL $BLOCKED
`
	h, err := ParseHAT(strings.NewReader(in), DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Policies[0].Params[0]; got.Value != "preferred" {
		t.Fatalf("tls on read as %q", got.Value)
	}
	if got := h.Entries[0].Members; !reflect.DeepEqual(got, []string{"127.0.0.1", "10.0.0.0/8"}) {
		t.Fatalf("members %v", got)
	}
	if e := h.Entries[1]; e.Members[0] != "blocked.example.com" || e.Decision != "REJECT" || e.Comment != "no thanks" {
		t.Fatalf("inline entry %+v", e)
	}
	if e := h.Entries[2]; e.Members[0] != "ALL" || e.Decision != "$BLOCKED" {
		t.Fatalf("ALL entry %+v", e)
	}
}

// Every refused file gives its exact error, naming the line.
func TestParseHATRefusals(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"empty", "", "line 1: the file is empty"},
		{"comments only", "# nothing\n\n", "line 1: the file is empty"},
		{"stray indent", "    ACCEPT\n", `line 1: "ACCEPT" is indented but belongs to no policy, sender group or host`},
		{"policy without action", "$X\n$Y\n    ACCEPT\n", "line 1: policy $X has no action on the next line"},
		{"bad action", "$X\n    MAYBE\n", `policy $X: action must be ACCEPT, RELAY, REJECT or TCPREFUSE, not "MAYBE"`},
		{"unclosed params", "$X\n    ACCEPT {\n        tls = \"off\"\n", "line 1: the parameters of $X are not closed with }"},
		{"unknown param", "$X\n    ACCEPT {\n        colour = \"red\"\n    }\n", `line 3: unknown parameter "colour"`},
		{"param range", "$X\n    ACCEPT {\n        max_concurrency = 0\n    }\n", "line 3: max_concurrency must be from 1 to 1000, not 0"},
		{"param not number", "$X\n    ACCEPT {\n        max_concurrency = ten\n    }\n", `line 3: max_concurrency must be a whole number, not "ten"`},
		{"param bad quote", "$X\n    ACCEPT {\n        tls = \"off\n    }\n", `line 3: tls: bad quoted value "off`},
		{"param no equals", "$X\n    ACCEPT {\n        tls off\n    }\n", `line 3: "tls off" is not key = value`},
		{"dup policy", "$X\n    ACCEPT\n$X\n    REJECT\n", "line 3: policy $X is already defined on line 1"},
		{"unknown policy", "$X\n    ACCEPT\nALL\n    $Y\n", "line 3: no policy $Y"},
		{"group without policy", "$X\n    ACCEPT\nG:\n        1.2.3.4\n", "line 3: sender group G has no $POLICY line"},
		{"group two policies", "$X\n    ACCEPT\nG:\n        $X\n        $X\n", `line 5: sender group G has a second decision "$X"`},
		{"bad member", "$X\n    ACCEPT\nG:\n        300.1.1.1\n        $X\n", `line 4: "300.1.1.1" is not an IP address, CIDR block, range, host name, .partial.host, sbrs[lo:hi] or ALL`},
		{"dup group", "$X\n    ACCEPT\nG:\n        $X\nG:\n        $X\n", "line 5: sender group G is already defined on line 3"},
		{"host without decision", "$X\n    ACCEPT\nexample.com\n", "line 3: host example.com has no decision on the next line"},
		{"host bad decision", "example.com MAYBE\n", `line 1: "MAYBE" is neither a $POLICY nor an action`},
		{"unclosed comment", "$X\n    ACCEPT\nALL $X (oops\n", "line 3: the comment's parenthesis is not closed"},
		{"control char", "$X\n    ACC\x1bEPT\n", "line 2: control character in the line"},
		{"long line", "$X\n    ACCEPT\n" + strings.Repeat("a", 70000) + "\n", "line 3: line longer than 64 KB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := ParseHAT(strings.NewReader(c.in), DefaultParams())
			if err == nil {
				t.Fatalf("accepted: %+v", h)
			}
			if err.Error() != c.err {
				t.Fatalf("error\n got %q\nwant %q", err.Error(), c.err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	h := PublicHAT()
	h.Entries[0].Members = []string{"10.1.1.0/24", "mail.trusted.example", "2001:db8::/32"}
	h.Entries[1].Members = []string{".spam.example", "192.0.2.5-9", "sbrs[-10.0:-2.0]"}
	h.Entries[2].Members = []string{"198.51.", "sbrs[none]"}
	h = HAT{Default: h.Default, Policies: h.Policies, Entries: append([]Entry{{Members: []string{"203.0.113.7"}, Decision: ActTCPRefuse}}, h.Entries...)}
	cases := []struct {
		ip, host          string
		action, sg, match string
		policy            string
	}{
		{"10.1.1.9", "", "ACCEPT", "WHITELIST", "10.1.1.0/24", "TRUSTED"},
		{"::ffff:10.1.1.9", "", "ACCEPT", "WHITELIST", "10.1.1.0/24", "TRUSTED"},
		{"2001:db8::25", "", "ACCEPT", "WHITELIST", "2001:db8::/32", "TRUSTED"},
		{"192.0.2.1", "MAIL.Trusted.Example.", "ACCEPT", "WHITELIST", "mail.trusted.example", "TRUSTED"},
		{"192.0.2.1", "a.b.spam.example", "REJECT", "BLACKLIST", ".spam.example", "BLOCKED"},
		{"192.0.2.1", "spam.example", "ACCEPT", "SUSPECTLIST", "sbrs[none]", "THROTTLED"},
		{"192.0.2.7", "", "REJECT", "BLACKLIST", "192.0.2.5-9", "BLOCKED"},
		{"198.51.100.1", "", "ACCEPT", "SUSPECTLIST", "198.51.", "THROTTLED"},
		{"203.0.113.7", "", "TCPREFUSE", "", "203.0.113.7", ""},
	}
	for _, c := range cases {
		d := h.Match(Peer{IP: netip.MustParseAddr(c.ip), Host: c.host})
		if d.Action != c.action || d.Group != c.sg || d.Match != c.match || d.Policy != c.policy {
			t.Errorf("%s %s: got %+v", c.ip, c.host, d)
		}
	}
	// Limits come from the policy over DEFAULT.
	d := h.Match(Peer{IP: netip.MustParseAddr("198.51.100.1")})
	if d.Limits.MaxRcptsPerMsg != 25 || d.Limits.MaxMessageSize != 1048576 || d.Limits.BannerCode != 220 {
		t.Fatalf("THROTTLED limits %+v", d.Limits)
	}
	// A table without a catch-all refuses unknown hosts.
	empty := HAT{Default: DefaultParams()}
	if d := empty.Match(Peer{IP: netip.MustParseAddr("192.0.2.1")}); d.Action != ActReject || d.Group != "" {
		t.Fatalf("unmatched host: %+v", d)
	}
	// Private listener: RELAYLIST relays, the rest is blocked.
	p := PrivateHAT()
	p.Entries[0].Members = []string{"127.0.0.1"}
	if d := p.Match(Peer{IP: netip.MustParseAddr("127.0.0.1")}); d.Action != ActRelay || d.Group != "RELAYLIST" || d.Limits.MaxRcptsPerMsg != 5000 {
		t.Fatalf("relay host: %+v", d)
	}
	if d := p.Match(Peer{IP: netip.MustParseAddr("127.0.0.2")}); d.Action != ActReject || d.Policy != "BLOCKED" {
		t.Fatalf("other host: %+v", d)
	}
}

func TestRAT(t *testing.T) {
	rat := []RATEntry{
		{Pattern: "postmaster@", Action: ActAccept},
		{Pattern: "bad@example.com", Action: ActReject, Code: 550, Text: "No such user"},
		{Pattern: "example.com", Action: ActAccept},
		{Pattern: ".example.org", Action: ActAccept, BypassLimits: true},
		{Pattern: "ALL", Action: ActReject},
	}
	if err := ValidateRAT(rat); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"Bob@EXAMPLE.com":          "example.com",
		"bad@example.com":          "bad@example.com",
		"x@sub.example.org":        ".example.org",
		"x@example.org":            "ALL",
		"postmaster@elsewhere.net": "postmaster@",
		"x@other.net":              "ALL",
	}
	for addr, want := range cases {
		e, ok := MatchRAT(rat, addr)
		if !ok || e.Pattern != want {
			t.Errorf("%s matched %+v %v, want %s", addr, e, ok, want)
		}
	}
	if _, ok := MatchRAT(rat[:4], "x@other.net"); ok {
		t.Error("no entry should match")
	}
	var b bytes.Buffer
	PrintRAT(&b, rat)
	want := "postmaster@ ACCEPT\nbad@example.com REJECT 550 \"No such user\"\nexample.com ACCEPT\n.example.org ACCEPT BYPASS_LIMITS\nALL REJECT\n"
	if b.String() != want {
		t.Fatalf("PrintRAT:\n%s", b.String())
	}
	back, err := ParseRAT(strings.NewReader("# File exported by the GUI at 20060530T220526\n" + b.String()))
	if err != nil || !reflect.DeepEqual(back, rat) {
		t.Fatalf("ParseRAT: %v\n%+v", err, back)
	}
}

func TestParseRATRefusals(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"empty", "# only a comment\n", "line 1: the file holds no entries"},
		{"one word", "example.com\n", `line 1: "example.com": expected a pattern and ACCEPT or REJECT`},
		{"bad action", "example.com MAYBE\n", `line 1: action must be ACCEPT or REJECT, not "MAYBE"`},
		{"bad domain", "bad..com ACCEPT\n", `line 1: "bad..com" is not a domain, .partial.domain, address or ALL`},
		{"numeric top label", "10.1.1.1 ACCEPT\n", `line 1: "10.1.1.1" is not a domain, .partial.domain, address or ALL`},
		{"code on accept", "example.com ACCEPT 550\n", "line 1: a custom reply code goes with REJECT and is from 400 to 599"},
		{"bad code", "example.com REJECT 250\n", "line 1: a custom reply code goes with REJECT and is from 400 to 599"},
		{"unquoted text", "example.com REJECT 550 go away\n", "line 1: the reply text must be in double quotes"},
		{"duplicate", "example.com ACCEPT\nEXAMPLE.com REJECT\n", "line 2: recipient access entry 2: EXAMPLE.com is listed twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRAT(strings.NewReader(c.in))
			if err == nil || err.Error() != c.err {
				t.Fatalf("error\n got %v\nwant %q", err, c.err)
			}
		})
	}
}

func TestValidateListeners(t *testing.T) {
	a := NewListener("IncomingMail", Public, "127.0.0.1", 2525)
	b := NewListener("OutgoingMail", Private, "127.0.0.1", 2526)
	if err := ValidateListeners([]Listener{a, b}); err != nil {
		t.Fatal(err)
	}
	dupName := NewListener("incomingmail", Private, "127.0.0.2", 25)
	if err := ValidateListeners([]Listener{a, dupName}); err == nil || err.Error() != `listener name "incomingmail" is used twice` {
		t.Fatalf("duplicate name: %v", err)
	}
	dupBind := NewListener("Other", Private, "127.0.0.1", 2525)
	if err := ValidateListeners([]Listener{a, dupBind}); err == nil || err.Error() != `listeners "IncomingMail" and "Other" both use 127.0.0.1:2525` {
		t.Fatalf("duplicate bind: %v", err)
	}
	bad := []struct {
		mut  func(l *Listener)
		want string
	}{
		{func(l *Listener) { l.Name = "a b" }, `listener name "a b": use 1 to 64 letters, digits, '-' or '_'`},
		{func(l *Listener) { l.Type = "Blackhole" }, `listener "L": type must be Public or Private, not "Blackhole"`},
		{func(l *Listener) { l.Address = "localhost" }, `listener "L": "localhost" is not an IP address`},
		{func(l *Listener) { l.Port = 70000 }, `listener "L": port must be from 1 to 65535, not 70000`},
		{func(l *Listener) { l.DefaultDomain = "-bad-" }, `listener "L": "-bad-" is not a domain name`},
		{func(l *Listener) { l.HAT.Entries[0].Comment = "a (b)" }, `listener "L": sender group WHITELIST: the comment must be one line without parentheses`},
		{func(l *Listener) { l.HAT.Default = append(l.HAT.Default, Param{"tls", "off"}) }, `listener "L": DEFAULT: parameter tls is set twice`},
	}
	for _, c := range bad {
		l := NewListener("L", Public, "::1", 25)
		c.mut(&l)
		if err := l.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
