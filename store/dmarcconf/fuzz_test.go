package dmarcconf

import (
	"reflect"
	"testing"
)

// FuzzDMARCImport: the import parser never panics, and whatever it accepts
// is a valid table that exports and reads back to the same profiles.
func FuzzDMARCImport(f *testing.F) {
	f.Add(Format(Factory().Profiles))
	f.Add("name=DEFAULT\n\nname=LAX\nreject_action=none\nquarantine_action=none\n")
	f.Add("name=DEFAULT\nreject_action=quarantine\nreject_quarantine=Policy\ntempfail_action=reject\ntempfail_code=421\n")
	f.Add("name=DEFAULT\nreject_code=450\n")
	f.Fuzz(func(t *testing.T, text string) {
		ps, err := Parse(text)
		if err != nil {
			return
		}
		tb := Table{Profiles: ps, Settings: Factory().Settings}
		if err := tb.Validate(); err != nil {
			t.Fatalf("accepted an invalid table: %v\n%q", err, text)
		}
		back, err := Parse(Format(ps))
		if err != nil {
			t.Fatalf("export not read back: %v\n%s", err, Format(ps))
		}
		if !reflect.DeepEqual(back, ps) {
			t.Fatalf("round trip:\n%+v\n%+v", back, ps)
		}
	})
}
