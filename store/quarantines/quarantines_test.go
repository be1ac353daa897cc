package quarantines

import (
	"errors"
	"strings"
	"testing"
)

func TestFactoryValid(t *testing.T) {
	t.Parallel()
	f := Factory()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if p := f.Quarantine(Policy); p == nil || p.RetentionHours != 240 || p.DefaultAction != ActionDelete {
		t.Errorf("factory Policy quarantine: %+v", p)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	hr := Quarantine{Name: "HR", RetentionHours: 12, DefaultAction: ActionRelease}
	with := func(qs ...Quarantine) Table { return Table{Quarantines: append(Factory().Quarantines, qs...)} }
	if err := with(hr).Validate(); err != nil {
		t.Fatalf("valid table refused: %v", err)
	}
	for name, c := range map[string]struct {
		tbl   Table
		index int
		want  string
	}{
		"twice":          {with(hr, Quarantine{Name: "hr", RetentionHours: 1, DefaultAction: ActionDelete}), 2, `quarantine "hr" is defined twice`},
		"bad name":       {with(Quarantine{Name: "a\"b", RetentionHours: 1, DefaultAction: ActionDelete}), 1, `quarantine "a\"b": the name may hold only letters, digits, spaces, '.', '_' and '-'`},
		"no retention":   {with(Quarantine{Name: "X", DefaultAction: ActionDelete}), 1, `quarantine "X": the retention period must be 1 hour to 365 days, got 0 hours`},
		"long":           {with(Quarantine{Name: "X", RetentionHours: MaxRetentionHours + 1, DefaultAction: ActionDelete}), 1, `quarantine "X": the retention period must be 1 hour to 365 days, got 8761 hours`},
		"unknown action": {with(Quarantine{Name: "X", RetentionHours: 5, DefaultAction: "bounce"}), 1, `quarantine "X": the default action must be delete or release, got "bounce"`},
	} {
		err := c.tbl.Validate()
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Index != c.index || err.Error() != c.want {
			t.Errorf("%s: got %v, want entry %d %q", name, err, c.index, c.want)
		}
	}
	// Policy may be edited, never removed (nor renamed away).
	if err := (Table{Quarantines: []Quarantine{hr}}).Validate(); err == nil || err.Error() != "the Policy quarantine cannot be deleted" {
		t.Errorf("table without Policy: %v", err)
	}
	var lots Table
	for i := 0; i < MaxQuarantines; i++ {
		lots.Quarantines = append(lots.Quarantines, Quarantine{Name: "q" + strings.Repeat("x", i), RetentionHours: 1, DefaultAction: ActionDelete})
	}
	lots.Quarantines = append(lots.Quarantines, Factory().Quarantines...)
	if err := lots.Validate(); err == nil || err.Error() != "at most 100 quarantines can be defined" {
		t.Errorf("%d quarantines: %v", len(lots.Quarantines), err)
	}
}

func TestCheckUses(t *testing.T) {
	t.Parallel()
	f := Factory()
	if err := f.CheckUses([]Use{{"Policy", "DMARC profile DEFAULT"}, {"", "DMARC profile other"}}); err != nil {
		t.Errorf("existing use refused: %v", err)
	}
	if err := f.CheckUses([]Use{{"HR", "DMARC profile strict"}}); err == nil || err.Error() != `quarantine "HR" is used by DMARC profile strict` {
		t.Errorf("missing quarantine: %v", err)
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"10d": 240, "10D": 240, "12h": 12, "36H": 36, " 7d ": 168, "3": 72, "365d": 8760, "8760h": 8760} {
		if got, err := ParseRetention(in); err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "0h", "-1d", "+1d", "1 d", "1.5d", "1w", "366d", "8761h", "99999999999999999999d"} {
		if got, err := ParseRetention(in); err == nil {
			t.Errorf("ParseRetention(%q) = %d, want a refusal", in, got)
		}
	}
	for hours, want := range map[int]string{240: "10d", 24: "1d", 12: "12h", 36: "36h"} {
		if got := FormatRetention(hours); got != want {
			t.Errorf("FormatRetention(%d) = %q, want %q", hours, got, want)
		}
	}
}

// FuzzParseRetention: an accepted answer is in range and reads back the
// same from its shown form.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"10d", "12h", "0", "-3h", "+1d", "366d", " 5 ", "1e3h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseRetention(s)
		if err != nil {
			return
		}
		if h < MinRetentionHours || h > MaxRetentionHours {
			t.Fatalf("%q accepted as %d hours", s, h)
		}
		if again, err := ParseRetention(FormatRetention(h)); err != nil || again != h {
			t.Fatalf("%q: %d hours shown as %q reads back as %d, %v", s, h, FormatRetention(h), again, err)
		}
	})
}
