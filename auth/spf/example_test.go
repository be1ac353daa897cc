package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"esa/auth/spf"
)

// txtOnly is a tiny Resolver: TXT records by name, nothing else exists.
type txtOnly map[string][]string

func (z txtOnly) LookupTXT(_ context.Context, name string) ([]string, error) {
	if r, ok := z[strings.TrimSuffix(name, ".")]; ok {
		return r, nil
	}
	return nil, spf.ErrNXDomain
}
func (txtOnly) LookupA(context.Context, string) ([]netip.Addr, error)    { return nil, spf.ErrNXDomain }
func (txtOnly) LookupAAAA(context.Context, string) ([]netip.Addr, error) { return nil, spf.ErrNXDomain }
func (txtOnly) LookupMX(context.Context, string) ([]string, error)       { return nil, spf.ErrNXDomain }
func (txtOnly) LookupPTR(context.Context, netip.Addr) ([]string, error)  { return nil, spf.ErrNXDomain }

// A listener (or the trace command) checks every identity of a message at
// the configured conformance level and stamps one Received-SPF: per
// identity; mail_logs gets LogText after "MID n ".
func ExampleChecker_Verify() {
	ck := &spf.Checker{
		Resolver: txtOnly{
			"mail.example.com": {"v=spf1 ip4:192.0.2.25 -all"},
			"example.com":      {"v=spf1 ip4:192.0.2.0/24 -all"},
			"company.example":  {"spf2.0/pra ip4:192.0.2.25 -all", "v=spf1 -all"},
		},
		Receiver: "box.example.net",
	}
	p := spf.Policy{Level: spf.SIDFCompatible, CheckHELO: true}
	tx := spf.Transaction{
		ClientIP: netip.MustParseAddr("192.0.2.25"),
		HELO:     "mail.example.com",
		MailFrom: "alice@example.com",
		Header:   []spf.HeaderField{{Name: "From", Value: "Alice <alice@company.example>"}},
	}
	for _, v := range ck.Verify(context.Background(), p, tx) {
		fmt.Println("MID 1", v.LogText())
		// The field is folded with CRLF, ready for the message; shown
		// here with plain newlines.
		fmt.Println(strings.ReplaceAll(v.ReceivedSPF(), "\r\n", "\n"))
	}
	// Output:
	// MID 1 SPF: helo identity postmaster@mail.example.com Pass
	// Received-SPF: Pass identity=helo; receiver=box.example.net;
	//	client-ip=192.0.2.25; envelope-from="";
	//	x-sender="postmaster@mail.example.com"; x-conformance=sidf_compatible
	// MID 1 SPF: mailfrom identity alice@example.com Pass
	// Received-SPF: Pass identity=mailfrom; receiver=box.example.net;
	//	client-ip=192.0.2.25; envelope-from="alice@example.com";
	//	x-sender="alice@example.com"; x-conformance=sidf_compatible
	// MID 1 SPF: pra identity alice@company.example Pass
	// Received-SPF: Pass identity=pra; receiver=box.example.net;
	//	client-ip=192.0.2.25; envelope-from="alice@example.com";
	//	x-sender="alice@company.example"; x-conformance=sidf_compatible
}
