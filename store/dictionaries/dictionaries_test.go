package dictionaries

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"Executives", "a", "Board 2026", "x.y_z-w", strings.Repeat("n", MaxNameLen)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " lead", "trail ", `quo"te`, `back\slash`, "-dash", "Ünicode", "tab\tname", strings.Repeat("n", MaxNameLen+1)} {
		if err := CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckTerm(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"Olivia Smith", "渡辺 健", "O'Brien (CFO)", "a.b*c", "x#y", strings.Repeat("é", MaxTermLen)} {
		if err := CheckTerm(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " lead", "trail ", "\u00a0nbsp", "#comment", "tab\there", "bell\a", "rtl\u202eoverride",
		"line\u2028sep", "\xff\xfe", strings.Repeat("é", MaxTermLen+1)} {
		if err := CheckTerm(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := Table{Dictionaries: []Dictionary{{Name: "Executives", Terms: []string{"Olivia Smith", "olivia smith"}}, New("Other")}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid table refused: %v", err)
	}
	many := make([]string, MaxTerms+1)
	for i := range many {
		many[i] = "t" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('A'+i/26%26)) + string(rune('0'+i/676))
	}
	for name, c := range map[string]struct {
		tbl   Table
		index int
		want  string
	}{
		"same name in other case": {Table{Dictionaries: []Dictionary{New("Exec"), New("EXEC")}}, 1, `content dictionary "EXEC" is defined twice`},
		"bad name":                {Table{Dictionaries: []Dictionary{New("ok"), New(`b"d`)}}, 1, `content dictionary "b\"d": the name may hold only letters, digits, spaces, '.', '_' and '-'`},
		"term twice":              {Table{Dictionaries: []Dictionary{{Name: "E", Terms: []string{"A", "B", "A"}}}}, 0, `content dictionary "E": the term "A" appears twice`},
		"bad term":                {Table{Dictionaries: []Dictionary{{Name: "E", Terms: []string{"A\x00"}}}}, 0, `content dictionary "E": "A\x00": the term holds the control character U+0000`},
		"too many terms":          {Table{Dictionaries: []Dictionary{{Name: "E", Terms: many}}}, 0, `content dictionary "E": a dictionary holds at most 10000 terms`},
	} {
		err := c.tbl.Validate()
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Index != c.index || err.Error() != c.want {
			t.Errorf("%s: got %v, want entry %d %q", name, err, c.index, c.want)
		}
	}
	var lots Table
	for i := 0; i <= MaxDictionaries; i++ {
		lots.Dictionaries = append(lots.Dictionaries, New("d"+strings.Repeat("x", i)))
	}
	if err := lots.Validate(); err == nil || err.Error() != "at most 100 content dictionaries can be defined" {
		t.Errorf("%d dictionaries: %v", len(lots.Dictionaries), err)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	in := "\ufeff# Executives\r\n\r\nOlivia Smith\r\n   John Doe  \n#  not a term\n渡辺 健"
	got, err := Parse(strings.NewReader(in))
	if want := []string{"Olivia Smith", "John Doe", "渡辺 健"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if got, err := Parse(strings.NewReader("# only comments\n\n")); err != nil || got != nil {
		t.Errorf("comments only: %q, %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{"A\nB\nA\n", `line 3: the term "A" is already on line 1`},
		{"A\nbad\x01term\n", "line 2: the term holds the control character U+0001"},
		{"A\n\xff\n", "line 2: the line is not valid UTF-8"},
		{"A\n" + strings.Repeat("x", MaxTermLen+1) + "\n", "line 2: the term is longer than 256 characters"},
		{"A\n" + strings.Repeat("y", 70000) + "\nB\n", "line 2: the term is longer than 256 characters"},
	} {
		got, err := Parse(strings.NewReader(c.in))
		var pe *ParseError
		if !errors.As(err, &pe) || err.Error() != c.want || got != nil {
			t.Errorf("%.40q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	var b strings.Builder
	for i := 0; i <= MaxTerms; i++ {
		b.WriteString("term ")
		b.WriteString(strings.Repeat("z", i%50))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(string(rune('a' + i/26%26)))
		b.WriteString(string(rune('a' + i/676)))
		b.WriteByte('\n')
	}
	if _, err := Parse(strings.NewReader(b.String())); err == nil || err.Error() != "line 10001: a dictionary holds at most 10000 terms" {
		t.Errorf("too many terms: %v", err)
	}
	big := strings.NewReader(strings.Repeat("x", MaxFileBytes+10))
	if _, err := Parse(big); err == nil || !strings.Contains(err.Error(), "the file is larger than 16777216 bytes") {
		t.Errorf("too large: %v", err)
	}
	if big.Len() != 10-1 {
		t.Errorf("a too large file was read to %d bytes from its end, want reading to stop after MaxFileBytes+1", big.Len())
	}
}

// TestWriteParse: what EXPORT writes, IMPORT reads back unchanged.
func TestWriteParse(t *testing.T) {
	t.Parallel()
	d := Dictionary{Name: "Executives", Terms: []string{"Olivia Smith", "x#y", "渡辺 健"}}
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	want := "# Content dictionary Executives: one term a line; lines starting with # are comments.\nOlivia Smith\nx#y\n渡辺 健\n"
	if b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
	got, err := Parse(&b)
	if err != nil || !reflect.DeepEqual(got, d.Terms) {
		t.Errorf("read back %q, %v", got, err)
	}
}

// FuzzParse: whatever the file, Parse returns valid unique terms or a
// line-numbered refusal, and the terms survive Write and Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"Olivia Smith\nJohn Doe\n", "\ufeff# c\r\n\r\nA\r\n", "A\nA\n", "#x\n  #y\n", "\xff", "a\x00b", " a \n\tb\t", "x\u202ey"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		terms, err := Parse(strings.NewReader(in))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("refusal without a line: %v", err)
			}
			return
		}
		if err := CheckTerms(terms); err != nil {
			t.Fatalf("Parse gave invalid terms %q: %v", terms, err)
		}
		var b bytes.Buffer
		if err := Write(&b, Dictionary{Name: "F", Terms: terms}); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(&b)
		if err != nil || len(again) != len(terms) {
			t.Fatalf("%q written and read back: %q, %v", terms, again, err)
		}
		for i := range terms {
			if again[i] != terms[i] {
				t.Fatalf("%q written and read back: %q", terms, again)
			}
		}
	})
}

// BenchmarkParse: reading a dictionary file of MaxTerms names.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("# executives\n")
	for i := 0; i < MaxTerms; i++ {
		buf.WriteString("Person ")
		buf.WriteString(strings.Repeat("x", i%20))
		buf.WriteString(string(rune('A' + i%26)))
		buf.WriteString(string(rune('a' + i/26%26)))
		buf.WriteString(string(rune('a' + i/676)))
		buf.WriteByte('\n')
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if terms, err := Parse(bytes.NewReader(data)); err != nil || len(terms) != MaxTerms {
			b.Fatalf("%d terms, %v", len(terms), err)
		}
	}
}
