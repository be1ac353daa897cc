package filter

import "testing"

func TestSimilarity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"Olivia Smith", "Olivia Smith", 100},
		{"Olivia Smith", "olivia smith", 100},
		{"Olivia Smith", "Smith, Olivia", 100},
		{"Olivia Smith", "  OLIVIA   SMITH ", 100},
		{"Olivia Smith", "Olivia-Smith", 100},
		{"Olivia Smith", "Olivia.Smith", 100},
		{"Olivia Smith", "0livia Smith", 92},  // one of 12 characters
		{"Olivia Smith", "Olivia Smyth", 92},  // one of 12
		{"Olivia Smith", "Olivia Smiths", 92}, // one added to 13
		{"Olivia Smith", "Oliva Smith", 92},
		{"Olivia Smith", "Olivia Smith CEO", 75}, // "ceo " before the sorted words: 4 of 16
		{"Olivia Smith", "O. Smith", 58},
		{"Olivia Smith", "Bob Jones", 8},
		{"Olivia Smith", "", 0},
		{"", "", 0},
		{"...", "Olivia", 0},
		{"José Núñez", "jose nunez", 100},     // accents folded
		{"Olivia Smith", "Оlivia Smith", 100}, // a Cyrillic О
		{"Olivia Smith", "Smith Olivia Jane", 71},
		{"Rob Jones", "Jones, Bob", 89},
		{"a b c d e", "e d c b a", 100}, // five words: sorted
		{"李 明", "明 李", 100},
	} {
		if got := Similarity(tc.a, tc.b); got != tc.want {
			t.Errorf("Similarity(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Similarity(tc.b, tc.a); got != tc.want {
			t.Errorf("Similarity(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestBestMatch(t *testing.T) {
	t.Parallel()
	terms := []string{"Bob Jones", "Olivia Smith", "Olivia Smyth"}
	for _, tc := range []struct {
		name, term string
		score      int
	}{
		{"Smith, Olivia", "Olivia Smith", 100},
		{"Olivia Smythe", "Olivia Smyth", 92},
		{"Rob Jones", "Bob Jones", 89},
		{"Mallory", "Bob Jones", 11},
	} {
		term, score := BestMatch(tc.name, terms)
		if term != tc.term || score != tc.score {
			t.Errorf("BestMatch(%q) = %q %d, want %q %d", tc.name, term, score, tc.term, tc.score)
		}
	}
	if term, score := BestMatch("x", nil); term != "" || score != 0 {
		t.Errorf("no terms: %q %d", term, score)
	}
}

func TestDisplayName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, want string }{
		{`"Olivia Smith" <ceo@example.com>`, "Olivia Smith"},
		{`Olivia Smith <ceo@example.com>`, "Olivia Smith"},
		{`"Smith, Olivia" <ceo@example.com>`, "Smith, Olivia"},
		{`=?UTF-8?B?T2xpdmlhIFNtaXRo?= <ceo@example.com>`, "Olivia Smith"},
		{`=?ISO-8859-1?Q?Jos=E9?= Smith <j@example.com>`, "José Smith"},
		{`"Olivia Smith" <ceo@example.com>, other@example.com`, "Olivia Smith"},
		{`ceo@example.com`, ""},
		{`<ceo@example.com>`, ""},
		{`ceo@example.com (Olivia Smith)`, "Olivia Smith"}, // the old comment form (RFC 822)
		// Malformed, as forged mail often is: the text before '<'.
		{`"Olivia Smith" <ceo@@evil>`, "Olivia Smith"},
		{`Olivia "the CEO" Smith <x@@y>`, `Olivia "the CEO" Smith`},
		{``, ""},
	} {
		if got := DisplayName(tc.from); got != tc.want {
			t.Errorf("DisplayName(%q) = %q, want %q", tc.from, got, tc.want)
		}
	}
}

// TestBestMatchPruning: skipping the terms whose length rules them out
// finds what comparing every term finds.
func TestBestMatchPruning(t *testing.T) {
	t.Parallel()
	terms := names(600)
	prepared := Dictionary{Terms: terms}.Prepared()
	for _, name := range append(names(620)[600:], "Olivia Smith", terms[7], terms[599]+"x", "") {
		bestTerm, bestScore := "", 0
		for _, term := range terms {
			if s := Similarity(name, term); s > bestScore {
				bestTerm, bestScore = term, s
			}
		}
		for _, min := range []int{1, 50, 80, 100} {
			term, score := Dictionary{Terms: terms}.bestMatch(name, min)
			if t2, s2 := prepared.bestMatch(name, min); t2 != term || s2 != score {
				t.Errorf("prepared: %q %d, unprepared %q %d", t2, s2, term, score)
			}
			want, wantScore := bestTerm, bestScore
			if bestScore < min {
				want, wantScore = "", 0
			}
			if term != want || score != wantScore {
				t.Errorf("bestMatch(%q, %d) = %q %d, want %q %d", name, min, term, score, want, wantScore)
			}
		}
	}
}
