package mailflow

import "testing"

// DKIM verification is off in a table that never set it, and names the
// DEFAULT verification profile (""); a policy's own settings override
// DEFAULT's (ESA-CLI.md §3.4 item 20).
func TestDKIMSettings(t *testing.T) {
	h := PublicHAT()
	if got := h.Effective("ACCEPTED").DKIM; got != (DKIMSettings{}) {
		t.Fatalf("defaults: %+v", got)
	}
	h.Default = append(h.Default, Param{"dkim_verify", "on"})
	h.Policies[0].Params = append(h.Policies[0].Params, Param{"dkim_profile", "STRICT"})
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := h.Effective("THROTTLED").DKIM; got != (DKIMSettings{Enabled: true}) {
		t.Fatalf("THROTTLED inherits DEFAULT: %+v", got)
	}
	if got := h.Effective(h.Policies[0].Name).DKIM; got != (DKIMSettings{Enabled: true, Profile: "STRICT"}) {
		t.Fatalf("%s overrides: %+v", h.Policies[0].Name, got)
	}
	h.Default = append(h.Default, Param{"dkim_verify", "maybe"})
	if err := h.Validate(); err == nil {
		t.Fatal("dkim_verify = maybe accepted")
	}
}
