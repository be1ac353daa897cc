package shell

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// scriptEditor answers from a fixed list and records what each read offered
// to tab completion; after the list it returns end (io.EOF by default).
type scriptEditor struct {
	answers []string
	end     error
	comp    *completion
	offered [][]string
}

func (e *scriptEditor) ReadLine(string) (string, error) {
	if e.comp != nil {
		w, _ := e.comp.get()
		e.offered = append(e.offered, w)
	}
	if len(e.answers) == 0 {
		if e.end != nil {
			return "", e.end
		}
		return "", io.EOF
	}
	a := e.answers[0]
	e.answers = e.answers[1:]
	return a, nil
}

func (e *scriptEditor) Close() error { return nil }

// plainIO returns an IO over a plain editor reading input, and its screen.
func plainIO(input string) (*IO, *bytes.Buffer) {
	var out bytes.Buffer
	return NewIO(context.Background(), NewPlainEditor(strings.NewReader(input), &out), &out), &out
}

var testOps = []Op{{"NEW", "Create a new entry."}, {"EDIT", "Modify an entry."}}

func TestWidgets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		ask     func(io *IO) (any, error)
		want    any
		reasons []string // the reason lines printed, in order
	}{
		{"menu lower", "new\n", func(io *IO) (any, error) { return io.Menu(testOps) }, "NEW", nil},
		{"menu mixed", "eDiT\n", func(io *IO) (any, error) { return io.Menu(testOps) }, "EDIT", nil},
		{"menu empty climbs", "\n", func(io *IO) (any, error) { return io.Menu(testOps) }, "", nil},
		{"menu unknown", "del\nnew\n", func(io *IO) (any, error) { return io.Menu(testOps) }, "NEW", []string{`Unknown option "del".`}},
		{"menu prefix is not a keyword", "ne\n\n", func(io *IO) (any, error) { return io.Menu(testOps) }, "", []string{`Unknown option "ne".`}},

		{"ask default", "\n", func(io *IO) (any, error) { return io.Ask("Q", "25", IntRange(1, 65535)) }, "25", nil},
		{"ask normalizes", " Example.COM \n", func(io *IO) (any, error) { return io.Ask("Q", "", Hostname) }, "example.com", nil},
		{"ask required", "\n  \nx\n", func(io *IO) (any, error) { return io.Ask("Q", "", nil) }, "x", []string{"You must enter a value.", "You must enter a value."}},
		{"ask invalid", "a_b\nab\n", func(io *IO) (any, error) { return io.Ask("Q", "", Hostname) }, "ab",
			[]string{`Invalid hostname format "a_b": labels may only contain letters, digits and hyphens.`}},
		{"ask invalid default", "\n2\n", func(io *IO) (any, error) { return io.Ask("Q", "0", IntRange(1, 2)) }, "2",
			[]string{"Value must be an integer from 1 to 2."}},

		{"optional empty", "\n", func(io *IO) (any, error) { return io.AskOptional("Q", "", Email) }, "", nil},
		{"optional default", "\n", func(io *IO) (any, error) { return io.AskOptional("Q", "a@b.example", Email) }, "a@b.example", nil},
		{"optional invalid then empty", "nope\n\n", func(io *IO) (any, error) { return io.AskOptional("Q", "", Email) }, "",
			[]string{`An email address is a localname, an "@" and a domain, such as admin@example.com.`}},

		{"yes", "Yes\n", func(io *IO) (any, error) { return io.YesNo("Q?", false) }, true, nil},
		{"y", "y\n", func(io *IO) (any, error) { return io.YesNo("Q?", false) }, true, nil},
		{"NO", "NO\n", func(io *IO) (any, error) { return io.YesNo("Q?", true) }, false, nil},
		{"n", "n\n", func(io *IO) (any, error) { return io.YesNo("Q?", true) }, false, nil},
		{"yes default", "\n", func(io *IO) (any, error) { return io.YesNo("Q?", true) }, true, nil},
		{"no default", "\n", func(io *IO) (any, error) { return io.YesNo("Q?", false) }, false, nil},
		{"yes invalid", "yep\n1\ny\n", func(io *IO) (any, error) { return io.YesNo("Q?", false) }, true,
			[]string{"Please answer yes or no.", "Please answer yes or no."}},

		{"choose", "2\n", func(io *IO) (any, error) { return io.Choose("Q", []string{"A", "B", "C"}, 1) }, 2, nil},
		{"choose default", "\n", func(io *IO) (any, error) { return io.Choose("Q", []string{"A", "B", "C"}, 3) }, 3, nil},
		{"choose no default", "\n1\n", func(io *IO) (any, error) { return io.Choose("Q", []string{"A", "B"}, 0) }, 1,
			[]string{"You must enter a value."}},
		{"choose range", "0\n4\nB\n 3 \n", func(io *IO) (any, error) { return io.Choose("Q", []string{"A", "B", "C"}, 1) }, 3,
			[]string{"Value must be an integer from 1 to 3.", "Value must be an integer from 1 to 3.", "Value must be an integer from 1 to 3."}},

		{"int", "42\n", func(io *IO) (any, error) { return io.Int("Q", 500, 1, 1000) }, 42, nil},
		{"int default", "\n", func(io *IO) (any, error) { return io.Int("Q", 500, 1, 1000) }, 500, nil},
		{"int range", "1001\n-1\n1000\n", func(io *IO) (any, error) { return io.Int("Q", 500, 1, 1000) }, 1000,
			[]string{"Value must be an integer from 1 to 1000.", "Value must be an integer from 1 to 1000."}},

		{"select number", "2\n", func(io *IO) (any, error) { return io.Select("Q", []string{"a", "b"}) }, 1, nil},
		{"select name", "b\n", func(io *IO) (any, error) { return io.Select("Q", []string{"a", "b"}) }, 1, nil},
		{"select name any case", "B\n", func(io *IO) (any, error) { return io.Select("Q", []string{"a", "b"}) }, 1, nil},
		{"select exact case wins", "Ab\n", func(io *IO) (any, error) { return io.Select("Q", []string{"AB", "Ab"}) }, 1, nil},
		{"select ambiguous", "ab\n1\n", func(io *IO) (any, error) { return io.Select("Q", []string{"AB", "Ab"}) }, 0,
			[]string{"Value must be an integer from 1 to 2 or one of the names listed."}},
		{"select empty", "\n", func(io *IO) (any, error) { return io.Select("Q", []string{"a"}) }, -1, nil},
		{"select bad", "3\nz\n1\n", func(io *IO) (any, error) { return io.Select("Q", []string{"a", "b"}) }, 0,
			[]string{"Value must be an integer from 1 to 2 or one of the names listed.", "Value must be an integer from 1 to 2 or one of the names listed."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			io, out := plainIO(tt.input)
			got, err := tt.ask(io)
			if err != nil || got != tt.want {
				t.Fatalf("got (%v, %v), want %v\nscreen:\n%s", got, err, tt.want, out)
			}
			// Every screen line that is neither a question, a prompt, a
			// menu nor an empty line is a reason line.
			var reasons []string
			for _, l := range strings.Split(out.String(), "\n") {
				if l == "" || l == "Q" || strings.Contains(l, "> ") || strings.HasPrefix(l, "- ") ||
					strings.HasPrefix(l, "Choose the operation") || len(l) > 1 && l[1] == '.' {
					continue
				}
				reasons = append(reasons, l)
			}
			if !reflect.DeepEqual(reasons, tt.reasons) {
				t.Errorf("reason lines %q, want %q\nscreen:\n%s", reasons, tt.reasons, out)
			}
		})
	}
}

// TestWidgetScreens pins the exact rendering of each widget (ESA-CLI.md §0.1).
func TestWidgetScreens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, screen string
		ask                 func(io *IO) error
	}{
		{"menu", "x\n\n", "\nChoose the operation you want to perform:\n- NEW - Create a new entry.\n- EDIT - Modify an entry.\n[]> x\n" +
			"Unknown option \"x\".\n" +
			"\nChoose the operation you want to perform:\n- NEW - Create a new entry.\n- EDIT - Modify an entry.\n[]> \n",
			func(io *IO) error { _, err := io.Menu(testOps); return err }},
		{"ask", "\n", "\nEnter the port.\n[25]> \n",
			func(io *IO) error { _, err := io.Ask("Enter the port.", "25", nil); return err }},
		{"yesno", "maybe\nn\n", "\nDo you wish to continue? [N]> maybe\nPlease answer yes or no.\n\nDo you wish to continue? [N]> n\n",
			func(io *IO) error { _, err := io.YesNo("Do you wish to continue?", false); return err }},
		{"choose", "\n", "\nSelect one:\n1. System Wide\n2. Per Virtual Gateway(tm)\n[1]> \n",
			func(io *IO) error {
				_, err := io.Choose("Select one:", []string{"System Wide", "Per Virtual Gateway(tm)"}, 1)
				return err
			}},
		{"select", "1\n", "\nEnter the name or number.\n[]> 1\n",
			func(io *IO) error { _, err := io.Select("Enter the name or number.", []string{"a"}); return err }},
	}
	for _, tt := range tests {
		io, out := plainIO(tt.input)
		if err := tt.ask(io); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.String() != tt.screen {
			t.Errorf("%s: screen %q, want %q", tt.name, out.String(), tt.screen)
		}
	}
}

// TestWidgetsStop checks that Ctrl-C and the end of input reach the command
// from every widget, even after invalid answers.
func TestWidgetsStop(t *testing.T) {
	t.Parallel()
	widgets := map[string]func(io *IO) error{
		"menu":     func(io *IO) error { _, err := io.Menu(testOps); return err },
		"ask":      func(io *IO) error { _, err := io.Ask("Q", "", Hostname); return err },
		"optional": func(io *IO) error { _, err := io.AskOptional("Q", "", Hostname); return err },
		"yesno":    func(io *IO) error { _, err := io.YesNo("Q?", true); return err },
		"choose":   func(io *IO) error { _, err := io.Choose("Q", []string{"a"}, 1); return err },
		"int":      func(io *IO) error { _, err := io.Int("Q", 1, 1, 2); return err },
		"select":   func(io *IO) error { _, err := io.Select("Q", []string{"a"}); return err },
	}
	for name, w := range widgets {
		for _, end := range []error{ErrInterrupt, io.EOF} {
			ed := &scriptEditor{answers: []string{"!bad!"}, end: end}
			var out bytes.Buffer
			if err := w(NewIO(context.Background(), ed, &out)); !errors.Is(err, end) {
				t.Errorf("%s: got %v, want %v", name, err, end)
			}
		}
	}
}

// TestWidgetCompletion checks which words each widget offers tab completion
// while it waits, and that they are withdrawn afterwards.
func TestWidgetCompletion(t *testing.T) {
	t.Parallel()
	ed := &scriptEditor{answers: []string{"new", "y", "x", "b"}}
	io := NewIO(context.Background(), ed, &bytes.Buffer{})
	ed.comp = io.words
	io.Menu(testOps)
	io.YesNo("Q?", true)
	io.Ask("Q", "", nil)
	io.Select("Q", []string{"a", "b"})
	want := [][]string{{"NEW", "EDIT"}, {"yes", "no"}, nil, {"a", "b"}}
	if !reflect.DeepEqual(ed.offered, want) {
		t.Errorf("offered %q, want %q", ed.offered, want)
	}
	if w, wizard := io.words.get(); wizard || w != nil {
		t.Errorf("after the widgets completion still offers %q", w)
	}
}
