package spf

import (
	"net/netip"
	"strings"
	"testing"
)

func TestReceivedSPF(t *testing.T) {
	v := Verdict{Identity: PRA, Result: Pass, Sender: "alice@company.com", Receiver: "box.example.com",
		ClientIP: netip.MustParseAddr("1.2.3.4"), EnvelopeFrom: "alice@fooo.com", Conformance: SIDFCompatible}
	// Seed 004's example, key for key and in its order.
	want := `Pass identity=pra; receiver=box.example.com; client-ip=1.2.3.4; envelope-from="alice@fooo.com"; x-sender="alice@company.com"; x-conformance=sidf_compatible`
	if got := v.ReceivedSPFValue(); got != want {
		t.Errorf("value\n got %s\nwant %s", got, want)
	}
	field := v.ReceivedSPF()
	wantField := "Received-SPF: Pass identity=pra; receiver=box.example.com; client-ip=1.2.3.4;\r\n" +
		"\tenvelope-from=\"alice@fooo.com\"; x-sender=\"alice@company.com\";\r\n" +
		"\tx-conformance=sidf_compatible"
	if field != wantField {
		t.Errorf("field\n got %q\nwant %q", field, wantField)
	}
	for _, l := range strings.Split(field, "\r\n") {
		if len(l) > 78 {
			t.Errorf("line longer than 78: %q", l)
		}
	}
	if got := strings.ReplaceAll(strings.ReplaceAll(field, "\r\n\t", " "), "Received-SPF: ", ""); got != want {
		t.Errorf("unfolding does not give the value back: %q", got)
	}

	tests := []struct {
		v    Verdict
		want string
	}{
		{Verdict{Identity: HELO, Result: None, Sender: "postmaster@mail.example.net", ClientIP: netip.MustParseAddr("2001:db8::1"), Conformance: SPFOnly},
			`None identity=helo; receiver=unknown; client-ip=2001:db8::1; envelope-from=""; x-sender="postmaster@mail.example.net"; x-conformance=spf_only`},
		{Verdict{Identity: MailFrom, Result: SoftFail, Sender: `"a\b"@x.example`, Receiver: "mx 1", ClientIP: netip.MustParseAddr("192.0.2.9"), EnvelopeFrom: "x\r\nInjected: yes", Conformance: SIDFStrict},
			`SoftFail identity=mailfrom; receiver="mx 1"; client-ip=192.0.2.9; envelope-from="xInjected: yes"; x-sender="\"a\\b\"@x.example"; x-conformance=sidf_strict`},
		{Verdict{Identity: PRA, Result: None, Downgraded: true, Sender: "r@x.example", Receiver: "box", ClientIP: netip.MustParseAddr("192.0.2.9"), EnvelopeFrom: "a@b.example", Conformance: SIDFCompatible},
			`None identity=pra; receiver=box; client-ip=192.0.2.9; envelope-from="a@b.example"; x-sender="r@x.example"; x-conformance=sidf_compatible (PRA Pass downgraded to None)`},
	}
	for _, tc := range tests {
		if got := tc.v.ReceivedSPFValue(); got != tc.want {
			t.Errorf("\n got %s\nwant %s", got, tc.want)
		}
	}
}

func TestLogText(t *testing.T) {
	v := Verdict{Identity: MailFrom, Result: Pass, Sender: "azure-noreply@microsoft.com"}
	if got, want := v.LogText(), "SPF: mailfrom identity azure-noreply@microsoft.com Pass"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v = Verdict{Identity: HELO, Result: TempError, Sender: "postmaster@mx.example"}
	if got, want := v.LogText(), "SPF: helo identity postmaster@mx.example TempError"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v = Verdict{Identity: PRA, Result: Fail}
	if got, want := v.LogText(), "SPF: pra identity Fail"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestResultNames(t *testing.T) {
	for r := None; r <= PermError; r++ {
		back, ok := ParseResult(strings.ToLower(r.String()))
		if !ok || back != r {
			t.Errorf("ParseResult(%q) = %v, %v", r, back, ok)
		}
	}
	if _, ok := ParseResult("hardfail"); ok {
		t.Error("ParseResult accepted an unknown name")
	}
}

func TestRejectText(t *testing.T) {
	const text = "#5.7.1 SPF unauthorized mail is prohibited."
	fail := Verdict{Result: Fail, Domain: "example.com", Explanation: "Mail from 192.0.2.1 is not allowed"}
	if got := fail.RejectText(text, true); strings.Join(got, "|") != text+"|The domain example.com explains:|Mail from 192.0.2.1 is not allowed" {
		t.Errorf("third party: %q", got)
	}
	if got := fail.RejectText(text, false); len(got) != 1 || got[0] != text {
		t.Errorf("without third party: %q", got)
	}
	temp := fail
	temp.Result = TempError
	if got := temp.RejectText(text, true); len(got) != 1 {
		t.Errorf("TempError carries no explanation: %q", got)
	}
	none := Verdict{Result: Fail, Domain: "example.com"}
	if got := none.RejectText(text, true); len(got) != 1 {
		t.Errorf("no explanation published: %q", got)
	}
	hostile := Verdict{Result: Fail, Domain: "example.com", Explanation: "a\r\n250 OK\x00é" + strings.Repeat("x", 600)}
	got := hostile.RejectText(text, true)
	if len(got) != 3 || strings.ContainsAny(got[2], "\r\n\x00") || len(got[2]) != maxExplanation || !strings.HasPrefix(got[2], "a??250 OK???") {
		t.Errorf("hostile explanation not neutralised: %q", got[2][:20])
	}
}
