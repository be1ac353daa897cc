package filter

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; a script that parses prints filters that
// parse back, alone, to the same canonical text; Run on them never
// panics. The committed corpus (testdata/fuzz/FuzzParse) holds the seed's
// filters and one script per rule and action.
func FuzzParse(f *testing.F) {
	f.Add(seedScript)
	f.Add(`f: if (forged-email-detection("Executives", 90)) { fed("from", ""); log-entry("forged $Subject"); }`)
	f.Add(`g: if (not (remote-ip == "192.0.2.0/24, 2001:db8::/32") and body-size >= 1M) { bounce(); } else if (header("X-A") == "^b") { deliver(); }`)
	f.Add("# c\nh: quarantine('Q'); skip-filters();\n.\n")
	env := dictEnv(map[string][]string{"Executives": {"Olivia Smith"}})
	f.Fuzz(func(t *testing.T, src string) {
		fs, err := Parse(src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not an *Error", err)
			}
			return
		}
		for _, fl := range fs {
			text := fl.String()
			again, err := Parse(text)
			if err != nil {
				t.Fatalf("canonical form does not parse: %v\n%s", err, text)
			}
			if len(again) != 1 || again[0].String() != text {
				t.Fatalf("canonical form does not round-trip:\n%s", text)
			}
		}
		m := typical()
		m.SPF = spf("Fail", "SoftFail", "PermError")
		r := Run(fs, &m, env)
		if len(r.Trace) < len(fs) {
			t.Fatalf("%d trace lines for %d filters", len(r.Trace), len(fs))
		}
		for _, fd := range r.Insert {
			if strings.ContainsAny(fd.Value, "\r\n") {
				t.Fatalf("inserted field %q splits the header", fd.Value)
			}
		}
	})
}
