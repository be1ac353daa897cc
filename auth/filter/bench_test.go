package filter

import "testing"

// BenchmarkRun: the seed's four filters on a typical message (the listener
// runs this once a message).
func BenchmarkRun(b *testing.B) {
	fs := mustParse(b, seedScript)
	m := typical()
	m.SPF = spf("SoftFail", "Fail", "Pass")
	b.ReportAllocs()
	for b.Loop() {
		r := Run(fs, &m, Env{})
		if r.Quarantine != "Policy" {
			b.Fatal(r.Quarantine)
		}
	}
}

// BenchmarkForged: forged email detection of one display name against a
// dictionary of 100 executives' names.
func BenchmarkForged(b *testing.B) {
	terms := make([]string, 100)
	for i := range terms {
		terms[i] = string(rune('A'+i%26)) + "livia Smith-" + string(rune('a'+i/26))
	}
	fs := mustParse(b, `f: if (forged-email-detection("Executives", 90)) { fed("from", ""); }`)
	m := typical()
	env := dictEnv(map[string][]string{"Executives": terms})
	b.ReportAllocs()
	for b.Loop() {
		Run(fs, &m, env)
	}
}

// BenchmarkParse: parsing the seed's script (every Validate of the
// filters table does this per filter).
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(seedScript); err != nil {
			b.Fatal(err)
		}
	}
}
