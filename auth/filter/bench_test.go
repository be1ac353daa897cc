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

// names returns n deterministic pseudo-random names of 2 or 3 words, 4 to
// 24 letters long in all.
func names(n int) []string {
	seed := uint32(1)
	next := func(k int) int {
		seed = seed*1664525 + 1013904223
		return int(seed>>8) % k
	}
	out := make([]string, n)
	for i := range out {
		words := 2 + next(2)
		var b []byte
		for w := 0; w < words; w++ {
			if w > 0 {
				b = append(b, ' ')
			}
			l := 2 + next(7)
			for j := 0; j < l; j++ {
				c := byte('a' + next(26))
				if j == 0 {
					c -= 'a' - 'A'
				}
				b = append(b, c)
			}
		}
		out[i] = string(b)
	}
	return out
}

// BenchmarkForgedLarge: a dictionary of 10,000 names, the most
// dictionaryconfig allows, against a display name that matches none;
// prepared once (as a caller keeping the dictionary does) and not.
func BenchmarkForgedLarge(b *testing.B) {
	fs := mustParse(b, `f: if (forged-email-detection("Executives", 90)) { fed("from", ""); }`)
	m := typical()
	d := Dictionary{Terms: names(10000)}
	for _, bc := range []struct {
		name string
		d    Dictionary
	}{{"prepared", d.Prepared()}, {"unprepared", d}} {
		b.Run(bc.name, func(b *testing.B) {
			env := Env{Dictionary: func(string) (Dictionary, bool) { return bc.d, true }}
			b.ReportAllocs()
			for b.Loop() {
				if r := Run(fs, &m, env); len(r.Forged) != 0 {
					b.Fatal(r.Forged)
				}
			}
		})
	}
}
