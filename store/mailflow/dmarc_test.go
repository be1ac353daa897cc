package mailflow

import (
	"bytes"
	"strings"
	"testing"
)

// DKIM signing and DMARC verification are off in a table that never set
// them, DMARC names the DEFAULT profile (""), and a policy's own settings
// override DEFAULT's (ESA-CLI.md §3.4 items 18 and 22). $RELAYED does not
// sign out of the box: the appliance leaves signing to the administrator.
func TestSigningAndDMARCSettings(t *testing.T) {
	for _, h := range []HAT{PublicHAT(), PrivateHAT()} {
		for _, p := range append([]Policy{{}}, h.Policies...) {
			l := h.Effective(p.Name)
			if l.DKIMSigning || l.DMARC != (DMARCSettings{}) {
				t.Fatalf("policy %q defaults: signing %v, DMARC %+v", p.Name, l.DKIMSigning, l.DMARC)
			}
		}
	}
	h := PublicHAT()
	h.Default = append(h.Default, Param{"dmarc_verify", "on"}, Param{"dkim_signing", "on"})
	h.Policies[0].Params = append(h.Policies[0].Params, Param{"dmarc_profile", "STRICT"}, Param{"dmarc_reports", "on"}, Param{"dkim_signing", "off"})
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := h.Effective("THROTTLED"); got.DMARC != (DMARCSettings{Enabled: true}) || !got.DKIMSigning {
		t.Fatalf("THROTTLED inherits DEFAULT: %+v signing %v", got.DMARC, got.DKIMSigning)
	}
	if got := h.Effective(h.Policies[0].Name); got.DMARC != (DMARCSettings{Enabled: true, Profile: "STRICT", Reports: true}) || got.DKIMSigning {
		t.Fatalf("%s overrides: %+v signing %v", h.Policies[0].Name, got.DMARC, got.DKIMSigning)
	}
	for _, bad := range []Param{{"dmarc_verify", "yes"}, {"dmarc_reports", "1"}, {"dkim_signing", "On"}, {"dmarc_profile", "a\x1bb"}} {
		h2 := PublicHAT()
		h2.Default = append(h2.Default, bad)
		if err := h2.Validate(); err == nil {
			t.Errorf("%s = %q accepted", bad.Key, bad.Value)
		}
	}
	for _, p := range []Param{{"dkim_signing", "off"}, {"dmarc_verify", "off"}, {"dmarc_profile", ""}, {"dmarc_reports", "off"}} {
		if !SPFDefault(p) {
			t.Errorf("%s = %q is not the built-in value", p.Key, p.Value)
		}
	}
}

// The HAT text form carries the new keys as quoted on/off values and reads
// them back; a bad value is refused with its line.
func TestDMARCParamsText(t *testing.T) {
	h := PublicHAT()
	h.Policies[0].Params = append(h.Policies[0].Params, Param{"dkim_signing", "on"}, Param{"dmarc_verify", "on"}, Param{"dmarc_profile", "STRICT"}, Param{"dmarc_reports", "on"})
	var b bytes.Buffer
	if err := PrintHAT(&b, &h); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`dkim_signing = "on"`, `dmarc_verify = "on"`, `dmarc_profile = "STRICT"`, `dmarc_reports = "on"`} {
		if !strings.Contains(b.String(), "        "+want+"\n") {
			t.Errorf("export lacks %s:\n%s", want, b.String())
		}
	}
	back, err := ParseHAT(strings.NewReader(b.String()), h.Default)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Effective(h.Policies[0].Name).DMARC; got != (DMARCSettings{true, "STRICT", true}) {
		t.Fatalf("read back: %+v", got)
	}
	bad := strings.Replace(b.String(), `dmarc_reports = "on"`, `dmarc_reports = "sometimes"`, 1)
	_, err = ParseHAT(strings.NewReader(bad), h.Default)
	if err == nil || !strings.Contains(err.Error(), "dmarc_reports") || !strings.HasPrefix(err.Error(), "line ") {
		t.Fatalf("bad value: %v", err)
	}
}
