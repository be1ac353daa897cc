package mailflow

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// The SPF settings a table never set are the appliance's: off, and when
// turned on SIDF compatible with the §3.5 replies and a 40 s timeout.
func TestSPFDefaults(t *testing.T) {
	h := PublicHAT()
	got := h.Effective("ACCEPTED").SPF
	want := SPFSettings{
		Level: "sidf_compatible", HELOCheck: true,
		RejectCode: 550, RejectText: "#5.7.1 SPF unauthorized mail is prohibited.", PublisherText: true,
		DeferCode: 451, DeferText: "#4.4.3 Temporary error occurred during SPF verification.", Timeout: 40,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

// A policy's own SPF parameters override DEFAULT's; the others inherit.
func TestSPFPolicyOverride(t *testing.T) {
	h := PublicHAT()
	h.Default = append(h.Default, Param{"spf_verify", "on"}, Param{"spf_conformance", "spf_only"},
		Param{"spf_mailfrom_reject", "softfail,fail"})
	h.Policies[0].Params = []Param{{"spf_mailfrom_reject", ""}, {"spf_timeout", "5"}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	def := h.Effective("THROTTLED").SPF
	if !def.Enabled || def.Level != "spf_only" || !reflect.DeepEqual(def.MailFromReject, []string{"SoftFail", "Fail"}) || def.Timeout != 40 {
		t.Fatalf("THROTTLED inherits DEFAULT: %+v", def)
	}
	acc := h.Effective("ACCEPTED").SPF
	if !acc.Enabled || len(acc.MailFromReject) != 0 || acc.Timeout != 5 {
		t.Fatalf("ACCEPTED overrides: %+v", acc)
	}
	if !Rejects(def.MailFromReject, "Fail") || Rejects(def.MailFromReject, "None") {
		t.Fatal("Rejects")
	}
}

// The result lists are read in any case and order and written one way;
// anything else is refused with the key named.
func TestSPFParamValues(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"Fail, softfail":        "softfail,fail",
		"PERMERROR,none,none":   "none,permerror",
		"temperror,":            "temperror",
		"neutral,fail,softfail": "neutral,softfail,fail",
	} {
		got, err := checkParam("spf_helo_reject", in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for key, bad := range map[string]string{
		"spf_pra_reject":  "pass",
		"spf_conformance": "sidf",
		"spf_reject_code": "451",
		"spf_defer_code":  "550",
		"spf_timeout":     "0",
		"spf_verify":      "yes",
		"spf_defer_text":  "a\x01b",
	} {
		if _, err := checkParam(key, bad); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %q accepted or unnamed: %v", key, bad, err)
		}
	}
	if ResultsValue([]string{"Fail", "None"}) != "none,fail" {
		t.Fatal("ResultsValue")
	}
}

// A policy with SPF parameters prints and imports back unchanged.
func TestSPFRoundTrip(t *testing.T) {
	h := PublicHAT()
	h.Policies[0].Params = []Param{
		{"spf_verify", "on"}, {"spf_conformance", "sidf_strict"}, {"spf_pra_reject", "fail,permerror"},
		{"spf_helo_reject", ""}, {"spf_reject_text", "#5.7.1 No \"way\"."}, {"spf_defer_code", "421"},
	}
	var b bytes.Buffer
	if err := PrintHAT(&b, &h); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "        spf_pra_reject = \"fail,permerror\"\n") || !strings.Contains(b.String(), "        spf_defer_code = 421\n") {
		t.Fatalf("print form:\n%s", b.String())
	}
	back, err := ParseHAT(&b, h.Default)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*back, h) {
		t.Fatalf("round trip:\n%+v\n%+v", h, *back)
	}
}
