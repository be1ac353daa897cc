package dmarcconf

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxFile bounds an import file (a few hundred bytes a profile).
const MaxFile = 1 << 20

// The export file (seed 004: all DMARC verification profiles in one text
// file of the configuration directory) holds one block of key=value lines
// per profile, blocks separated by blank lines; lines starting with '#'
// are comments. Each block starts with name= and from the values of a new
// profile, so a file may give only what differs.
var fileKeys = []string{
	"name", "reject_action", "reject_quarantine", "reject_code", "reject_text",
	"quarantine_action", "quarantine_quarantine",
	"tempfail_action", "tempfail_code", "tempfail_text",
	"permfail_action", "permfail_code", "permfail_text",
}

// Format writes the profiles in the export form; Parse reads it back to
// the same profiles.
func Format(ps []Profile) string {
	var b strings.Builder
	b.WriteString("# dmarcconfig DMARC verification profiles (an import replaces all profiles)\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "\nname=%s\nreject_action=%s\nreject_quarantine=%s\nreject_code=%d\nreject_text=%s\nquarantine_action=%s\nquarantine_quarantine=%s\ntempfail_action=%s\ntempfail_code=%d\ntempfail_text=%s\npermfail_action=%s\npermfail_code=%d\npermfail_text=%s\n",
			p.Name, p.RejectAction, p.RejectQuarantine, p.RejectCode, p.RejectText,
			p.QuarantineAction, p.QuarantineQuarantine,
			p.TempFailAction, p.TempFailCode, p.TempFailText,
			p.PermFailAction, p.PermFailCode, p.PermFailText)
	}
	return b.String()
}

// LineError is a refusal of an import file, naming its line.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads an export file. Every value is checked on its line with the
// checks Table.Validate uses; a profile as a whole on its name= line; the
// file must hold the DEFAULT profile and no name twice. Any error refuses
// the whole file.
func Parse(text string) ([]Profile, error) {
	if len(text) > MaxFile {
		return nil, &LineError{1, fmt.Sprintf("the file is larger than %d bytes", MaxFile)}
	}
	var (
		ps      []Profile
		starts  []int
		seen    map[string]int
		inBlock bool
	)
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		if strings.TrimSpace(line) == "" {
			inBlock = false
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, r := range line {
			if r < ' ' && r != '\t' || r == 0x7f {
				return nil, &LineError{n, "control character in the line"}
			}
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &LineError{n, fmt.Sprintf("expecting key=value, got %q", line)}
		}
		k = strings.TrimSpace(k)
		if !inBlock {
			if k != "name" {
				return nil, &LineError{n, fmt.Sprintf("a profile starts with name=, not %s=", k)}
			}
			ps = append(ps, NewProfile(""))
			starts = append(starts, n)
			seen = map[string]int{}
			inBlock = true
		}
		if l, dup := seen[k]; dup {
			return nil, &LineError{n, fmt.Sprintf("%s is already given on line %d", k, l)}
		}
		seen[k] = n
		if err := setField(&ps[len(ps)-1], k, v); err != nil {
			return nil, &LineError{n, err.Error()}
		}
	}
	if len(ps) == 0 {
		return nil, &LineError{1, "the file holds no profiles"}
	}
	names := map[string]int{}
	for i := range ps {
		if err := ps[i].Validate(); err != nil {
			return nil, &LineError{starts[i], fmt.Sprintf("profile %s: %v", ps[i].Name, err)}
		}
		key := strings.ToLower(ps[i].Name)
		if l, dup := names[key]; dup {
			return nil, &LineError{starts[i], fmt.Sprintf("profile %s is already defined on line %d", ps[i].Name, l)}
		}
		names[key] = starts[i]
	}
	if (&Table{Profiles: ps}).Profile(DefaultProfile) == nil {
		return nil, &LineError{1, "the file has no DEFAULT profile, which cannot be deleted"}
	}
	return ps, nil
}

// setField sets one key of p from the file, checked as its question
// checks the answer.
func setField(p *Profile, k, v string) error {
	code := func(dst *int, lo int) error {
		c, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s: expecting a number, got %q", k, v)
		}
		if err := CheckCode(c, lo); err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
		*dst = c
		return nil
	}
	text := func(dst *string) error {
		if err := CheckText(v); err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
		*dst = v
		return nil
	}
	action := func(dst *string, choices ...string) error {
		if !oneOf(v, choices...) {
			return fmt.Errorf("%s must be %s, not %q", k, strings.Join(choices, ", "), v)
		}
		*dst = v
		return nil
	}
	quarantine := func(dst *string) error {
		if CheckContact(v) != nil {
			return fmt.Errorf("%s: %q is not a quarantine name", k, v)
		}
		*dst = v
		return nil
	}
	switch k {
	case "name":
		if err := ValidName(v); err != nil {
			return fmt.Errorf("name: %v", err)
		}
		p.Name = v
		return nil
	case "reject_action":
		return action(&p.RejectAction, ActionNone, ActionQuarantine, ActionReject)
	case "reject_quarantine":
		return quarantine(&p.RejectQuarantine)
	case "reject_code":
		return code(&p.RejectCode, 500)
	case "reject_text":
		return text(&p.RejectText)
	case "quarantine_action":
		return action(&p.QuarantineAction, ActionNone, ActionQuarantine)
	case "quarantine_quarantine":
		return quarantine(&p.QuarantineQuarantine)
	case "tempfail_action":
		return action(&p.TempFailAction, ActionAccept, ActionReject)
	case "tempfail_code":
		return code(&p.TempFailCode, 400)
	case "tempfail_text":
		return text(&p.TempFailText)
	case "permfail_action":
		return action(&p.PermFailAction, ActionAccept, ActionReject)
	case "permfail_code":
		return code(&p.PermFailCode, 500)
	case "permfail_text":
		return text(&p.PermFailText)
	}
	return fmt.Errorf("unknown key %q (keys: %s)", k, strings.Join(fileKeys, ", "))
}
