package shelltest

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFormat(t *testing.T) {
	t.Parallel()
	text := "# a comment\n# another\nhelp\n\n# not a comment: typed\n----\n> help\nx\n> \n"
	tr, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	want := &Transcript{
		Comments: []string{"# a comment", "# another"},
		Input:    "help\n\n# not a comment: typed\n",
		Screen:   "> help\nx\n> \n",
	}
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("Parse = %#v, want %#v", tr, want)
	}
	if got := tr.Format(); got != text {
		t.Errorf("Format = %q, want %q", got, text)
	}
	if _, err := Parse("help\n"); err == nil {
		t.Error("a transcript without a separator parsed")
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	got := Diff("a\nb\nc\n", "a\nB\nc\nd\n")
	want := "  \"a\\n\"\n- \"b\\n\"\n+ \"B\\n\"\n  \"c\\n\"\n+ \"d\\n\"\n"
	if got != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
	if d := Diff("[]> \n", "[]>\n"); !strings.Contains(d, `"[]> \n"`) {
		t.Errorf("trailing blank not visible in %q", d)
	}
}

// echoRun is a stand-in session: it copies its input to the screen.
func echoRun(in io.Reader, out io.Writer) { io.Copy(out, in) }

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte("# c\nhello\n----\nhello\n"), 0o644)
	Check(t, good, echoRun)

	// A mismatch must fail the test it runs in; run it in a fake T.
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("hello\n----\nbye\n"), 0o644)
	ft := &testing.T{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(ft, bad, echoRun)
	}()
	<-done
	if !ft.Failed() && !Updating() {
		t.Error("Check passed a transcript whose screen differs")
	}
}
