package commands

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"esa/store"
	"esa/store/mailflow"
)

// The listenerconfig transcripts and the configuration each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"listenerconfig_new": {check: checkNewListeners},
	} {
		transcripts[name] = tc
	}
}

// findListener returns the listener named name in c.
func findListener(t *testing.T, c store.Config, name string) mailflow.Listener {
	t.Helper()
	for _, l := range c.Listeners.Listeners {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no listener %q in %+v", name, c.Listeners.Listeners)
	return mailflow.Listener{}
}

func checkNewListeners(t *testing.T, env *Env) {
	c := env.Store.Committed()
	if n := len(c.Listeners.Listeners); n != 2 {
		t.Fatalf("%d listeners committed, want 2", n)
	}
	in := findListener(t, c, "IncomingMail")
	want := mailflow.NewListener("IncomingMail", mailflow.Public, "127.0.0.1", 25)
	want.RAT = []mailflow.RATEntry{
		{Pattern: "example.com", Action: "ACCEPT"}, {Pattern: ".example.org", Action: "ACCEPT"},
		{Pattern: "postmaster@", Action: "ACCEPT"}, {Pattern: "joe@example.net", Action: "ACCEPT"},
		{Pattern: "ALL", Action: "REJECT"},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("IncomingMail:\n got %+v\nwant %+v", in, want)
	}
	out := findListener(t, c, "OutgoingMail")
	if out.Type != mailflow.Private || out.Address != "::1" || out.Port != 587 || out.Interface != "Management" || out.Certificate != "Demo" {
		t.Errorf("OutgoingMail = %+v", out)
	}
	if m := out.HAT.Entries[0].Members; strings.Join(m, " ") != "10.0.0.0/8 192.168.1.1-20 .relay.example.com 10.2.3. 2001:db8::/32" {
		t.Errorf("RELAYLIST members %q", m)
	}
	lim := out.HAT.Effective("")
	wantLim := mailflow.Limits{MaxMessageSize: 20 << 20, MaxConcurrency: 50, MaxMsgsPerConn: 10, MaxRcptsPerMsg: 100,
		MaxRcptsPerHour: 500, DHAPLimit: 0, TLS: "preferred", BannerCode: 250, BannerText: "Relay ready",
		BannerHost: "relay.example.com", RejectCode: 554, SpamCheck: false, VirusCheck: true, UseSenderBase: false}
	if lim != wantLim {
		t.Errorf("OutgoingMail DEFAULT:\n got %+v\nwant %+v", lim, wantLim)
	}
	if d := out.HAT.Match(mailflow.Peer{IP: mustAddr(t, "10.1.2.3")}); d.Action != mailflow.ActRelay || d.Group != "RELAYLIST" {
		t.Errorf("10.1.2.3 on OutgoingMail: %+v", d)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
