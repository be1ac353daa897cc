package destinations

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The IMPORT/EXPORT file (ESA-CLI.md §1.8, UG-9.1.2 p.655) is INI-like: a
// [DEFAULT] section with every setting but recipient_minutes,
// recipient_limit and bounce_profile, then one [domain] section per entry
// with the settings it overrides, as "key = value" lines. Lines starting
// with # or ; are comments. Export writes [DEFAULT] first and the entries
// in table order with the keys in one fixed order, so Import of an export
// gives the identical table.

// Keys of the file; Export writes them in this order.
const (
	keyIPSort      = "ip_sort_pref"
	keyConcurrency = "max_host_concurrency"
	keyMessages    = "max_messages_per_connection"
	keyMinutes     = "recipient_minutes"
	keyRecipients  = "recipient_limit"
	keyLimitType   = "limit_type"
	keyLimitApply  = "limit_apply"
	keyBounceVerif = "bounce_validation"
	keyProfile     = "bounce_profile"
	keyTLS         = "tls"
	keyDANE        = "dane"
)

// ipSortWords are the file's words for the IP sort preferences, in
// IPSorts order, with the guide's casing (it prints REQUIRE_v4).
var ipSortWords = []string{"PREFER_V4", "PREFER_V6", "REQUIRE_v4", "REQUIRE_v6"}

// tlsWords are the words SARF's keyword docstring uses for the TLS
// settings (ESA-CLI.md §1.5), accepted besides the numbers 0–5.
var tlsWords = []string{"off", "on", "require", "on_verify", "require_verify", "require_verify_hosted"}

// Export writes t (but its global settings, which certconfig and SETUP
// own) in the file format.
func Export(w io.Writer, t *Table) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[DEFAULT]\n")
	writeSettings(bw, &t.Default)
	for _, e := range t.Entries {
		fmt.Fprintf(bw, "\n[%s]\n", e.Domain)
		writeSettings(bw, &e.Settings)
	}
	return bw.Flush()
}

func writeSettings(w *bufio.Writer, s *Settings) {
	kv := func(k, v string) { fmt.Fprintf(w, "%s = %s\n", k, v) }
	num := func(k string, n int) {
		if n != 0 {
			kv(k, strconv.Itoa(n))
		}
	}
	if n := s.IPSort.Number(); n > 0 {
		kv(keyIPSort, ipSortWords[n-1])
	}
	num(keyConcurrency, s.Concurrency)
	num(keyMessages, s.MessagesPerConnection)
	num(keyMinutes, s.RecipientMinutes)
	num(keyRecipients, s.RecipientLimit)
	switch s.LimitType {
	case PerDomain:
		kv(keyLimitType, "host")
	case PerMXIP:
		kv(keyLimitType, "MXIP")
	}
	switch s.LimitApply {
	case SystemWide:
		kv(keyLimitApply, "system")
	case PerVirtualGateway:
		kv(keyLimitApply, "VG")
	}
	switch s.BounceVerification {
	case Off:
		kv(keyBounceVerif, "0")
	case On:
		kv(keyBounceVerif, "1")
	}
	if s.BounceProfile != "" {
		kv(keyProfile, s.BounceProfile)
	}
	if n := s.TLS.Number(); n > 0 {
		kv(keyTLS, strconv.Itoa(n-1))
	}
	if n := s.DANE.Number(); n > 0 {
		kv(keyDANE, strconv.Itoa(n-1))
	}
}

// ParseError is a refusal of an import file. Line is the line at fault,
// 0 when the fault is the file as a whole.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// MaxImportBytes bounds an import file; longer files are refused, never
// read whole first.
const MaxImportBytes = 16 << 20

// maxLine bounds one line of an import file.
const maxLine = 64 << 10

// section is one [name] of the file being read.
type section struct {
	name string
	line int
	s    Settings
	keys map[string]int // key -> line it was set on
}

// Import reads the file format. The result has global as its global
// settings (the file does not carry them) and is a valid table, or Import
// returns a *ParseError naming the first line at fault and no table.
func Import(r io.Reader, global Global) (*Table, error) {
	cr := &countingReader{r: io.LimitReader(r, MaxImportBytes+1)}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 4096), maxLine)
	var (
		secs   []*section
		byName = map[string]*section{}
		cur    *section
		n      int
	)
	for sc.Scan() {
		n++
		if cr.n > MaxImportBytes {
			return nil, &ParseError{0, fmt.Sprintf("the file is larger than %d bytes", MaxImportBytes)}
		}
		raw := sc.Text()
		for _, c := range raw {
			if (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f {
				return nil, &ParseError{n, "control character in the line"}
			}
		}
		l := strings.TrimSpace(raw)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			if !strings.HasSuffix(l, "]") {
				return nil, &ParseError{n, fmt.Sprintf("%q: a section header must end with ]", clip(l))}
			}
			name := strings.TrimSpace(l[1 : len(l)-1])
			if strings.EqualFold(name, "DEFAULT") {
				name = "DEFAULT"
			} else {
				d, err := CanonicalDomain(name)
				if err != nil {
					return nil, &ParseError{n, strings.TrimSuffix(err.Error(), ".")}
				}
				name = d
			}
			if o, dup := byName[name]; dup {
				return nil, &ParseError{n, fmt.Sprintf("[%s] is already defined on line %d", name, o.line)}
			}
			cur = &section{name: name, line: n, keys: map[string]int{}}
			secs = append(secs, cur)
			byName[name] = cur
			continue
		}
		key, val, ok := strings.Cut(l, "=")
		if !ok {
			return nil, &ParseError{n, fmt.Sprintf("%q is not key = value", clip(l))}
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if cur == nil {
			return nil, &ParseError{n, fmt.Sprintf("%s is outside a section: the file starts with [DEFAULT]", clip(key))}
		}
		if first, dup := cur.keys[key]; dup {
			return nil, &ParseError{n, fmt.Sprintf("%s is already set on line %d", key, first)}
		}
		if err := setKey(&cur.s, key, val); err != nil {
			return nil, &ParseError{n, err.Error()}
		}
		cur.keys[key] = n
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{n + 1, fmt.Sprintf("the line is longer than %d bytes", maxLine)}
		}
		return nil, err
	}
	t := &Table{Global: global}
	var def *section
	for _, s := range secs {
		if s.name == "DEFAULT" {
			def = s
			continue
		}
		e := Destination{Domain: s.name, Settings: s.s}
		if err := e.Settings.validate(false); err != nil {
			return nil, &ParseError{s.line, fmt.Sprintf("[%s]: %v", s.name, err)}
		}
		t.Entries = append(t.Entries, e)
	}
	if def == nil {
		return nil, &ParseError{0, "the file has no [DEFAULT] section; it is required"}
	}
	if err := def.s.validate(true); err != nil {
		return nil, &ParseError{def.line, fmt.Sprintf("[DEFAULT]: %v", err)}
	}
	t.Default = def.s
	if err := t.Validate(); err != nil {
		// Every rule was checked above where a line can be named; this is
		// the table's last word.
		return nil, &ParseError{0, err.Error()}
	}
	return t, nil
}

// setKey reads one key of a section into s.
func setKey(s *Settings, key, val string) error {
	bad := func(what string) error { return fmt.Errorf("%s: %q is not %s", key, clip(val), what) }
	number := func(max int) (int, error) {
		v, err := strconv.Atoi(val)
		if err != nil || v < 1 || v > max || val[0] == '+' {
			return 0, bad(fmt.Sprintf("a number from 1 to %d", max))
		}
		return v, nil
	}
	word := func(words []string, numbered bool) int {
		for i, w := range words {
			if strings.EqualFold(val, w) || numbered && val == strconv.Itoa(i) {
				return i
			}
		}
		return -1
	}
	var err error
	switch key {
	case keyIPSort:
		i := word(ipSortWords, false)
		if i < 0 {
			return bad("PREFER_V4, PREFER_V6, REQUIRE_v4 or REQUIRE_v6")
		}
		s.IPSort = IPSorts[i]
	case keyConcurrency:
		s.Concurrency, err = number(MaxConcurrency)
	case keyMessages:
		s.MessagesPerConnection, err = number(MaxMessagesPerConnection)
	case keyMinutes:
		s.RecipientMinutes, err = number(MaxRecipientMinutes)
	case keyRecipients:
		s.RecipientLimit, err = number(MaxRecipientLimit)
	case keyLimitType:
		i := word([]string{"host", "MXIP"}, true)
		if i < 0 {
			return bad("0 (host) or 1 (MXIP)")
		}
		s.LimitType = []LimitType{PerDomain, PerMXIP}[i]
	case keyLimitApply:
		i := word([]string{"system", "VG"}, true)
		if i < 0 {
			return bad("0 (system) or 1 (VG)")
		}
		s.LimitApply = []LimitApply{SystemWide, PerVirtualGateway}[i]
	case keyBounceVerif:
		i := word([]string{"off", "on"}, true)
		if i < 0 {
			return bad("0 (off) or 1 (on)")
		}
		s.BounceVerification = []Toggle{Off, On}[i]
	case keyProfile:
		if e := CheckProfileName(val); e != nil {
			return fmt.Errorf("%s: %s", key, strings.TrimSuffix(e.Error(), "."))
		}
		s.BounceProfile = val
	case keyTLS:
		i := word(tlsWords, true)
		if i < 0 {
			return bad("a TLS setting from 0 (No) to 5 (Required - Verify Hosted Domains)")
		}
		s.TLS = TLSSettings[i]
	case keyDANE:
		i := word([]string{"no", "opportunistic", "mandatory"}, true)
		if i < 0 {
			return bad("0 (No), 1 (Opportunistic) or 2 (Mandatory)")
		}
		s.DANE = DANEOptions[i]
	default:
		return fmt.Errorf("unknown key %q", clip(key))
	}
	return err
}

// countingReader counts the bytes read, so a file past MaxImportBytes is
// refused as such rather than for its cut-off last line.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
