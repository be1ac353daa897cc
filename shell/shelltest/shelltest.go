// Package shelltest replays golden shell transcripts (STYLE.md item 9).
//
// A transcript file holds, in order: comment lines starting with "#", the
// input lines exactly as typed (an empty line is a press of Enter), a line
// "----", and the exact screen the session must produce. Because the plain
// editor echoes every line it reads, the screen reads like a terminal:
//
//	# commit with nothing pending
//	commit
//	----
//	esa.example.com> commit
//	There is no data to commit.
//	esa.example.com>
//
// Run the tests with -update to rewrite the screen part of every transcript
// from what the code prints now; review the diff before committing it.
package shelltest

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// update is the -update flag. Packages that import shelltest share it for
// their own golden files through Updating, and must not define their own.
var update = flag.Bool("update", false, "rewrite the expected screen of golden transcripts")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Separator is the line between the input and the expected screen.
const Separator = "----"

// Transcript is a parsed transcript file.
type Transcript struct {
	Comments []string // the leading "#" lines, without their newline
	Input    string   // the input lines, each ended by "\n"
	Screen   string   // the expected screen, byte for byte
}

// Parse reads a transcript from its text.
func Parse(text string) (*Transcript, error) {
	tr := &Transcript{}
	rest := text
	inComments := true
	for {
		nl := strings.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("no %q line between the input and the expected screen", Separator)
		}
		line := rest[:nl]
		rest = rest[nl+1:]
		switch {
		case line == Separator:
			tr.Screen = rest
			return tr, nil
		case inComments && strings.HasPrefix(line, "#"):
			tr.Comments = append(tr.Comments, line)
		default:
			inComments = false
			tr.Input += line + "\n"
		}
	}
}

// Format renders tr back into the file format.
func (tr *Transcript) Format() string {
	var b strings.Builder
	for _, c := range tr.Comments {
		b.WriteString(c + "\n")
	}
	b.WriteString(tr.Input)
	b.WriteString(Separator + "\n")
	b.WriteString(tr.Screen)
	return b.String()
}

// Read parses the transcript file at path.
func Read(path string) (*Transcript, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tr, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}

// Check feeds the transcript's input to run, which must run one whole
// session reading input (normally through shell.NewPlainEditor) and writing
// its screen to out, and compares the screen with the expected one. With
// -update it rewrites the file's screen part instead.
func Check(t *testing.T, file string, run func(input io.Reader, out io.Writer)) {
	t.Helper()
	tr, err := Read(file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	run(strings.NewReader(tr.Input), &out)
	got := out.String()
	if got == tr.Screen {
		return
	}
	if *update {
		tr.Screen = got
		if err := os.WriteFile(file, []byte(tr.Format()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", file)
		return
	}
	t.Errorf("%s: screen differs (-want +got; run with -update to accept):\n%s", file, Diff(tr.Screen, got))
}

// CheckAll runs Check as a subtest for every file matching pattern (a
// filepath.Glob pattern such as "testdata/transcripts/shell_*.txt"), and
// fails when nothing matches, so a mistyped pattern cannot pass silently.
func CheckAll(t *testing.T, pattern string, run func(input io.Reader, out io.Writer)) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no transcript matches %s", pattern)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			Check(t, f, run)
		})
	}
}

// Diff returns a line diff of want and got: unchanged lines start with "  ",
// missing ones with "- ", extra ones with "+ ". Lines are quoted so trailing
// blanks (every "[]> " prompt has one) stay visible.
func Diff(want, got string) string {
	a := strings.SplitAfter(want, "\n")
	b := strings.SplitAfter(got, "\n")
	// Longest common subsequence table; transcripts are small.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	line := func(mark, s string) {
		if s != "" {
			out.WriteString(mark + strconv.Quote(s) + "\n")
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			line("  ", a[i])
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			line("- ", a[i])
			i++
		default:
			line("+ ", b[j])
			j++
		}
	}
	return out.String()
}
