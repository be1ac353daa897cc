package shell

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlainEditor(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ed := NewPlainEditor(strings.NewReader("one\r\n\ntwo\nlast"), &out)
	var got []string
	for {
		line, err := ed.ReadLine("> ")
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if want := []string{"one", "", "two", "last"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", got, want)
	}
	// Each line is echoed after its prompt; the end of input ends the
	// prompt line.
	if want := "> one\n> \n> two\n> last\n> \n"; out.String() != want {
		t.Errorf("screen %q, want %q", out.String(), want)
	}
	if err := ed.Close(); err != nil {
		t.Error(err)
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is reported as a terminal")
	}
}
