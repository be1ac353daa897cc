package shell

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    []string
		wantErr string
	}{
		{line: "", want: nil},
		{line: "   \t ", want: nil},
		{line: "grep -e foo mail_logs", want: []string{"grep", "-e", "foo", "mail_logs"}},
		{line: "  lead  trail  ", want: []string{"lead", "trail"}},
		{line: `a "b c" d`, want: []string{"a", "b c", "d"}},
		{line: `'it''s'`, want: []string{"its"}},
		{line: `"it's"`, want: []string{"it's"}},
		{line: `'say "hi"'`, want: []string{`say "hi"`}},
		{line: `x"y z"w`, want: []string{"xy zw"}},
		{line: `"" ''`, want: []string{"", ""}},
		{line: `a\ b`, want: []string{"a b"}},
		{line: `\"`, want: []string{`"`}},
		{line: `"\d+\.\"\\"`, want: []string{`\d+\."\`}},
		{line: `'\n'`, want: []string{`\n`}},
		{line: "é ünï", want: []string{"é", "ünï"}},
		{line: `"open`, wantErr: `Invalid arguments when processing: unterminated " quote.`},
		{line: `'open`, wantErr: `Invalid arguments when processing: unterminated ' quote.`},
		{line: `end\`, wantErr: "Invalid arguments when processing: a backslash at the end of the line escapes nothing."},
		{line: `"a\"`, wantErr: `Invalid arguments when processing: unterminated " quote.`},
	}
	for _, tt := range tests {
		got, err := Split(tt.line)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Split(%q) error = %v, want %q", tt.line, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}

// quote renders s as one word Split reads back unchanged: single quotes
// around everything; each single quote inside closes the quotes, adds an
// escaped quote and opens them again.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"", "a b c", `"a b" 'c d'`, `a\ b`, `"esc \" \\ \d"`, `x"y"z`, `"" ''`,
		`"open`, `'open`, `end\`, "tab\there", "\xff\xfe", `'\'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := Split(line)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Invalid arguments when processing: ") {
				t.Fatalf("Split(%q): error without the generic prefix: %v", line, err)
			}
			return
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quote(w)
		}
		again, err := Split(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("Split of re-quoted %q: %v", quoted, err)
		}
		if len(words) != len(again) || (len(words) > 0 && !reflect.DeepEqual(words, again)) {
			t.Fatalf("Split(%q) = %q, but re-quoted it gives %q", line, words, again)
		}
	})
}
