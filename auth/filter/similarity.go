package filter

import (
	"mime"
	"net/mail"
	"sort"
	"strings"
	"unicode"
)

// maxCompareRunes bounds the strings Similarity compares (the edit
// distance costs their product): no executive's name is longer.
const maxCompareRunes = 128

// DisplayName returns the display name of the first mailbox of a raw
// From: field value, RFC 2047 encoded words decoded (RFC 5322 §3.4
// name-addr). It is lenient, because forged mail is often malformed: when
// the value is not a valid address list, the text before '<' counts, its
// quotes removed. An address without a display name gives "".
func DisplayName(v string) string {
	if a, err := mail.ParseAddress(v); err == nil {
		return a.Name
	}
	if l, err := mail.ParseAddressList(v); err == nil && len(l) > 0 {
		return l[0].Name
	}
	lt := strings.IndexByte(v, '<')
	if lt <= 0 {
		return ""
	}
	name := strings.TrimSpace(v[:lt])
	name = strings.Trim(name, `"`)
	name = strings.ReplaceAll(name, `\"`, `"`)
	if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = dec
	}
	return strings.TrimSpace(name)
}

// normalize turns a name into its comparison form: lower case, every run
// of characters other than letters and digits a single separator, words
// sorted, so "Smith, Olivia", "olivia  smith" and "OLIVIA SMITH" are one
// name.
func normalize(s string) []rune {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	sort.Strings(words)
	rs := []rune(strings.Join(words, " "))
	if len(rs) > maxCompareRunes {
		rs = rs[:maxCompareRunes]
	}
	return rs
}

// Similarity scores how alike two names are, from 0 (nothing in common)
// to 100 (the same name up to case, punctuation, spacing and word order):
// 100 × (1 − edit distance / length of the longer) over the normalized
// forms, rounded to the nearest integer. Edit distance is Levenshtein's
// over characters, so one changed letter in a 12-letter name ("0livia
// Smith") scores 92.
func Similarity(a, b string) int {
	return similarity(normalize(a), normalize(b))
}

func similarity(x, y []rune) int {
	n := max(len(x), len(y))
	if n == 0 {
		return 0
	}
	d := levenshtein(x, y)
	return (100*(n-d) + n/2) / n
}

func levenshtein(x, y []rune) int {
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}

// BestMatch returns the term most similar to name and its score (the
// first of equals); "", 0 for no terms.
func BestMatch(name string, terms []string) (string, int) {
	x := normalize(name)
	best, score := "", 0
	for _, t := range terms {
		if s := similarity(x, normalize(t)); s > score {
			best, score = t, s
		}
	}
	return best, score
}
