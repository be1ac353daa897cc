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

// normalize turns a name into its comparison form: words of letters and
// digits, lower case, accents and look-alike letters of other scripts
// folded to plain Latin ones (fold), everything else a separator. So
// "Smith, Olivia", "olivia  smith" and "OLÍVIA SMITH" have the same words.
func normalize(s string) []string {
	words := strings.FieldsFunc(strings.Map(fold, strings.ToLower(s)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	n := 0
	for i, w := range words {
		if n += len(w); n > maxCompareRunes {
			return words[:i]
		}
	}
	return words
}

// folds maps accented Latin letters and the Cyrillic and Greek letters that
// look like Latin ones to the plain letter, because a forged display name
// only has to look like the executive's ("Оlivia" with a Cyrillic О). The
// standard library has no Unicode decomposition; this covers Latin-1,
// the common Latin Extended-A letters and the usual confusables.
var folds = func() map[rune]rune {
	m := map[rune]rune{}
	for to, from := range map[rune]string{
		'a': "àáâãäåāăąаα", 'c': "çćčсς", 'd': "ďđ", 'e': "èéêëēėęěеε", 'g': "ğ",
		'h': "һ", 'i': "ìíîïīįıіι", 'j': "ј", 'k': "κк", 'l': "ĺļľł", 'n': "ñńňη",
		'o': "òóôõöøōőоο", 'p': "рρ", 'r': "ŕř", 's': "śşšѕ", 't': "ţťτ",
		'u': "ùúûüūůűų", 'v': "ν", 'x': "хχ", 'y': "ýÿуγ", 'z': "źżž",
	} {
		for _, r := range from {
			m[r] = to
		}
	}
	return m
}()

func fold(r rune) rune {
	if f, ok := folds[r]; ok {
		return f
	}
	return r
}

// maxPermuteWords: names of up to this many words are compared in every
// order of their words (4! = 24 orders), longer ones as written and sorted.
const maxPermuteWords = 4

// Similarity scores how alike two names are, from 0 (nothing in common)
// to 100 (the same name up to case, accents, punctuation, spacing and word
// order): 100 × (1 − d / n), rounded, where d is the Levenshtein distance
// between the names' words joined by single spaces and n the length of the
// longer, in the word order of either name that gives the best score. So
// "Smith, Olivia" scores 100 against "Olivia Smith", and one changed letter
// in those 12 characters ("0livia Smith") 92.
func Similarity(a, b string) int {
	var c comparer
	return c.score(prepare(a), prepare(b))
}

// name is a name in comparison form: its words, joined, and (once asked
// for) joined in every order tried.
type name struct {
	words  []string
	joined []rune
	perms  [][]rune
}

func prepare(s string) *name {
	w := normalize(s)
	return &name{words: w, joined: []rune(strings.Join(w, " "))}
}

// orders returns the name joined in every word order to try.
func (n *name) orders() [][]rune {
	if n.perms == nil {
		for _, p := range orders(n.words) {
			n.perms = append(n.perms, []rune(strings.Join(p, " ")))
		}
	}
	return n.perms
}

// comparer holds the edit distance rows between calls, so scoring a name
// against a dictionary allocates them once.
type comparer struct{ prev, cur []int }

func (c *comparer) score(x, y *name) int {
	best := c.ratio(x.joined, y.joined)
	// Reordering one name's words is enough to line them up with the
	// other's; reorder the one with fewer words (both when equal, so the
	// score does not depend on the argument order).
	if len(x.words) <= len(y.words) && len(x.words) > 1 {
		for _, p := range x.orders() {
			best = max(best, c.ratio(p, y.joined))
		}
	}
	if len(y.words) <= len(x.words) && len(y.words) > 1 {
		for _, p := range y.orders() {
			best = max(best, c.ratio(x.joined, p))
		}
	}
	return best
}

// orders returns the word orders of words to try.
func orders(words []string) [][]string {
	if len(words) > maxPermuteWords {
		sorted := append([]string(nil), words...)
		sort.Strings(sorted)
		return [][]string{words, sorted}
	}
	var out [][]string
	var perm func(k int, w []string)
	perm = func(k int, w []string) {
		if k == len(w) {
			out = append(out, append([]string(nil), w...))
			return
		}
		for i := k; i < len(w); i++ {
			w[k], w[i] = w[i], w[k]
			perm(k+1, w)
			w[k], w[i] = w[i], w[k]
		}
	}
	perm(0, append([]string(nil), words...))
	return out
}

func (c *comparer) ratio(x, y []rune) int {
	n := max(len(x), len(y))
	if n == 0 {
		return 0
	}
	d := c.levenshtein(x, y)
	return (100*(n-d) + n/2) / n
}

func (c *comparer) levenshtein(x, y []rune) int {
	if cap(c.prev) < len(y)+1 {
		c.prev, c.cur = make([]int, len(y)+1), make([]int, len(y)+1)
	}
	prev, cur := c.prev[:len(y)+1], c.cur[:len(y)+1]
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
	return Dictionary{Terms: terms}.bestMatch(name, 1)
}

// Prepared returns d with its terms in comparison form, kept with it, so
// that matching a message against it does not prepare every term again:
// for a dictionary of thousands of names most of the time goes there. A
// caller that keeps a dictionary across messages prepares it once.
func (d Dictionary) Prepared() Dictionary {
	d.names = make([]*name, len(d.Terms))
	for i, t := range d.Terms {
		d.names[i] = prepare(t)
		d.names[i].orders()
	}
	return d
}

// bestMatch returns the term most similar to s among those scoring at
// least min, and its score; "", 0 when none does. A term whose length
// alone keeps it below min, or below the best so far, is not compared (the
// edit distance is at least the difference in length, in any word order).
func (d Dictionary) bestMatch(s string, min int) (string, int) {
	var c comparer
	x := prepare(s)
	lx := len(x.joined)
	var xc [64]int
	for _, r := range x.joined {
		xc[r&63]++
	}
	best, score := "", 0
	for i, t := range d.Terms {
		var y *name
		if len(d.names) == len(d.Terms) {
			y = d.names[i]
		} else {
			y = prepare(t)
		}
		ly := len(y.joined)
		n := max(lx, ly)
		if n == 0 {
			continue
		}
		bound := (100*(n-abs(lx-ly)) + n/2) / n
		if bound < min || bound <= score {
			continue
		}
		// A finer bound, as cheap: characters one name has and the
		// other lacks each cost an edit, in any word order.
		if d := n - common(&xc, y.joined); d > 0 {
			if bound = (100*(n-d) + n/2) / n; bound < min || bound <= score {
				continue
			}
		}
		if s := c.score(x, y); s > score && s >= min {
			best, score = t, s
			if s == 100 {
				break
			}
		}
	}
	return best, score
}

// common counts the characters of y also in the name whose characters xc
// counts, matched one to one. Characters are counted in 64 buckets, so the
// count may come out high, never low: the bound it gives stays a bound.
func common(xc *[64]int, y []rune) int {
	var yc [64]int
	n := 0
	for _, r := range y {
		b := r & 63
		if yc[b] < xc[b] {
			n++
		}
		yc[b]++
	}
	return n
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
