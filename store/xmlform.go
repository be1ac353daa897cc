package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"encoding/xml"
)

// The text form of a table is XML written and read by reflection over the
// table's Go type and its `xml` struct tags, so every table gets the same
// strict reader. encoding/xml's own Unmarshal is not used to read: it skips
// unknown elements silently, keeps the last of duplicate elements and gives
// no line numbers, and a file an administrator edited by hand deserves all
// three reported.

// secretType is the Go type whose values the file writer masks or encrypts.
var secretType = reflect.TypeOf(Secret(""))

// secretMarker: string types of leaf packages (certs.PrivateKey) that the
// store must treat as secrets have a ConfigSecret method; the leaves keep
// importing nothing of ours.
var secretMarker = reflect.TypeOf((*interface{ ConfigSecret() })(nil)).Elem()

// isSecret reports whether values of t are secrets.
func isSecret(t reflect.Type) bool { return t == secretType || t.Implements(secretMarker) }

// maskedSecret is what MaskSecrets writes instead of a secret.
const maskedSecret = "*****"

// encPrefix marks a secret encrypted with the appliance key.
const encPrefix = "{ENC}"

// parseTag returns the element name of a struct field, the wrapper element
// for "a>b" tags (b repeated inside a) and whether zero values are omitted.
func parseTag(f reflect.StructField) (name, wrapper string, omitEmpty bool) {
	tag := f.Tag.Get("xml")
	parts := strings.Split(tag, ",")
	name = parts[0]
	for _, p := range parts[1:] {
		if p == "omitempty" {
			omitEmpty = true
		}
	}
	if i := strings.Index(name, ">"); i >= 0 {
		wrapper, name = name[:i], name[i+1:]
	}
	if name == "" {
		name = f.Name
	}
	return name, wrapper, omitEmpty
}

// fieldMeta is a struct field's text-form metadata.
type fieldMeta struct {
	index     int
	name      string // element of the value (of each item for lists)
	wrapper   string // list wrapper element, "" if none
	omitEmpty bool
	list      bool // a slice written as repeated elements
}

var fieldsCache sync.Map // reflect.Type -> []fieldMeta

// fieldsOf lists the exported, non-skipped fields of struct type t; parsed
// once per type, since tables are written on every Update.
func fieldsOf(t reflect.Type) []fieldMeta {
	if f, ok := fieldsCache.Load(t); ok {
		return f.([]fieldMeta)
	}
	var out []fieldMeta
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("xml") == "-" {
			continue
		}
		name, wrapper, omit := parseTag(f)
		out = append(out, fieldMeta{index: i, name: name, wrapper: wrapper, omitEmpty: omit,
			list: f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.Uint8})
	}
	fieldsCache.Store(t, out)
	return out
}

// encoder writes the text form. secret turns a secret's plain value into the
// text to write (mask, encrypt or keep).
type encoder struct {
	buf    bytes.Buffer
	secret func(Secret) (string, error)
	ascii  bool // write non-ASCII characters as character references
}

func (e *encoder) indent(depth int) {
	for i := 0; i < depth; i++ {
		e.buf.WriteString("  ")
	}
}

// element writes <name>value</name> at depth.
func (e *encoder) element(depth int, name string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Struct:
		e.indent(depth)
		start := e.buf.Len()
		e.tag("<", name, ">\n")
		mark := e.buf.Len()
		for _, f := range fieldsOf(v.Type()) {
			fname, wrapper := f.name, f.wrapper
			fv := v.Field(f.index)
			if f.omitEmpty && fv.IsZero() {
				continue
			}
			if f.list {
				if wrapper != "" {
					if fv.Len() == 0 {
						e.indent(depth + 1)
						e.tag("<", wrapper, "/>\n")
						continue
					}
					e.indent(depth + 1)
					e.tag("<", wrapper, ">\n")
				}
				d := depth + 1
				if wrapper != "" {
					d++
				}
				for j := 0; j < fv.Len(); j++ {
					if err := e.element(d, fname, fv.Index(j)); err != nil {
						return err
					}
				}
				if wrapper != "" {
					e.indent(depth + 1)
					e.tag("</", wrapper, ">\n")
				}
				continue
			}
			if err := e.element(depth+1, fname, fv); err != nil {
				return err
			}
		}
		if e.buf.Len() == mark {
			// Nothing inside (an empty list without a wrapper): one
			// self-closing element, as empty lists are written.
			e.buf.Truncate(start)
			e.tag("<", name, "/>\n")
			return nil
		}
		e.indent(depth)
		e.tag("</", name, ">\n")
		return nil
	}
	text, err := e.scalar(v)
	if err != nil {
		return fmt.Errorf("<%s>: %w", name, err)
	}
	e.indent(depth)
	e.tag("<", name, ">")
	escape(&e.buf, text, e.ascii)
	e.tag("</", name, ">\n")
	return nil
}

func (e *encoder) scalar(v reflect.Value) (string, error) {
	switch v.Kind() {
	case reflect.String:
		if isSecret(v.Type()) && v.String() != "" {
			return e.secret(Secret(v.String()))
		}
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	}
	return "", fmt.Errorf("cannot write a %s", v.Type())
}

// escape writes s as XML character data. Newlines and tabs stay literal so
// multi-line values (trust anchors, keys) read naturally; '\r' is written as
// a character reference because XML parsers normalise literal line ends
// (XML 1.0 §2.11) and the value must come back unchanged. With ascii, every
// non-ASCII character is written as a character reference (XML 1.0 §4.1).
func escape(b *bytes.Buffer, s string, ascii bool) {
	last := 0
	for i := 0; i < len(s); {
		var ref string
		size := 1
		switch c := s[i]; {
		case c == '&':
			ref = "&amp;"
		case c == '<':
			ref = "&lt;"
		case c == '>':
			ref = "&gt;"
		case c == '\r':
			ref = "&#xD;"
		case c >= utf8.RuneSelf && ascii:
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			ref = fmt.Sprintf("&#x%X;", r)
		default:
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(ref)
		i += size
		last = i
	}
	b.WriteString(s[last:])
}

// tag writes <name>, </name> or <name/>.
func (e *encoder) tag(open, name, close string) {
	e.buf.WriteString(open)
	e.buf.WriteString(name)
	e.buf.WriteString(close)
}

// ParseError is a configuration text that cannot be loaded: the line it
// breaks on and why.
type ParseError struct {
	Line   int
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// decoder reads the text form strictly, remembering the line of every key so
// that validation errors found after parsing point at the right line.
type decoder struct {
	d      *xml.Decoder
	secret func(Secret) (Secret, error) // masked/encrypted text -> plain
	lines  map[string]int               // table + "/" + key -> line; nil: not kept
	start  int                          // line the last token started on
	// strict requires every element the writer always writes (fields
	// without omitempty, list wrappers): a whole-configuration file must
	// not reset settings by leaving them out.
	strict bool
}

func newDecoder(data []byte, secret func(Secret) (Secret, error)) *decoder {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	return &decoder{d: d, secret: secret}
}

// charsetReader accepts the ISO-8859-1 files the real appliance writes
// (ESA-CLI.md §9.1) besides UTF-8.
func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", charset)
}

// line is the line the last token started on.
func (p *decoder) line() int { return p.start }

// textFail reports unexpected text at the line its first non-blank
// character is on.
func (p *decoder) textFail(text []byte, format string, a ...any) error {
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	line := p.start + bytes.Count(text[:len(text)-len(trimmed)], []byte("\n"))
	return &ParseError{Line: line, Reason: fmt.Sprintf(format, a...)}
}

func (p *decoder) fail(format string, a ...any) error {
	return &ParseError{Line: p.line(), Reason: fmt.Sprintf(format, a...)}
}

// token returns the next token, turning syntax errors into *ParseError.
func (p *decoder) token() (xml.Token, error) {
	p.start, _ = p.d.InputPos()
	tok, err := p.d.Token()
	if err == nil {
		return tok, nil
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return nil, &ParseError{Line: se.Line, Reason: "malformed XML: " + se.Msg}
	}
	if err == io.EOF {
		return nil, err
	}
	return nil, &ParseError{Line: p.line(), Reason: "malformed XML: " + err.Error()}
}

func (p *decoder) noAttrs(se xml.StartElement) error {
	if len(se.Attr) > 0 {
		return p.fail("unexpected attribute %q on <%s>", se.Attr[0].Name.Local, se.Name.Local)
	}
	if se.Name.Space != "" {
		return p.fail("unexpected namespace %q on <%s>", se.Name.Space, se.Name.Local)
	}
	return nil
}

// structFields maps element names to field indexes of struct type t.
type fieldInfo struct {
	index   int
	item    string // element name of the value (or of each item)
	wrapper string
}

var structFieldsCache sync.Map // reflect.Type -> map[string]fieldInfo

func structFields(t reflect.Type) map[string]fieldInfo {
	if m, ok := structFieldsCache.Load(t); ok {
		return m.(map[string]fieldInfo)
	}
	m := map[string]fieldInfo{}
	for _, f := range fieldsOf(t) {
		outer := f.name
		if f.wrapper != "" {
			outer = f.wrapper
		}
		m[outer] = fieldInfo{index: f.index, item: f.name, wrapper: f.wrapper}
	}
	structFieldsCache.Store(t, m)
	return m
}

// nextChild skips comments and blank text inside <name> and returns its
// next child element; done is true at </name>. Anything else (text,
// processing instructions, directives, attributes) is refused with its line.
func (p *decoder) nextChild(name string) (t xml.StartElement, done bool, err error) {
	for {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return t, false, p.fail("unexpected end of file inside <%s>", name)
			}
			return t, false, err
		}
		switch x := tok.(type) {
		case xml.EndElement:
			return t, true, nil
		case xml.CharData:
			if len(bytes.TrimSpace(x)) > 0 {
				return t, false, p.textFail(x, "unexpected text %q inside <%s>", clip(string(bytes.TrimSpace(x))), name)
			}
		case xml.Comment:
		case xml.ProcInst, xml.Directive:
			return t, false, p.fail("unexpected markup inside <%s>", name)
		case xml.StartElement:
			return x, false, p.noAttrs(x)
		}
	}
}

// decodeStruct reads the children of the element just opened into v. The
// fields v already holds are kept unless the text names them; a list named
// in the text replaces the whole list. In strict mode an element left out
// that the writer always writes is an error at the struct's opening line.
func (p *decoder) decodeStruct(tbl, key, name string, v reflect.Value) error {
	fields := structFields(v.Type())
	seen := map[string]int{}
	open := p.line()
	for {
		t, done, err := p.nextChild(name)
		if err != nil {
			return err
		}
		if done {
			if p.strict {
				return p.missing(open, name, v.Type(), seen)
			}
			return nil
		}
		el := t.Name.Local
		fi, ok := fields[el]
		if !ok {
			return p.fail("unknown element <%s> inside <%s>", el, name)
		}
		fv := v.Field(fi.index)
		repeated := fi.wrapper == "" && fv.Kind() == reflect.Slice
		first, dup := seen[el]
		if dup && !repeated {
			return p.fail("duplicate element <%s> inside <%s> (first at line %d)", el, name, first)
		}
		if !dup {
			seen[el] = p.line()
			if repeated {
				// The first of a run of repeated elements replaces the
				// list the table held; the rest append.
				fv.Set(reflect.Zero(fv.Type()))
			}
		}
		switch {
		case fi.wrapper != "":
			if err := p.decodeList(tbl, key, el, fi.item, fv); err != nil {
				return err
			}
		case repeated:
			if err := p.decodeItem(tbl, key, el, fv); err != nil {
				return err
			}
		default:
			if err := p.decodeValue(tbl, joinKey(key, el), el, fv); err != nil {
				return err
			}
		}
	}
}

// missing reports the required elements of struct type t that the element
// <name> opened at line open did not hold.
func (p *decoder) missing(open int, name string, t reflect.Type, seen map[string]int) error {
	var out []string
	for _, f := range fieldsOf(t) {
		outer := f.name
		if f.wrapper != "" {
			outer = f.wrapper
		}
		if f.omitEmpty || f.list && f.wrapper == "" {
			continue // optional, or a repeated element that may be absent
		}
		if _, ok := seen[outer]; !ok {
			out = append(out, "<"+outer+">")
		}
	}
	if out == nil {
		return nil
	}
	return &ParseError{Line: open, Reason: fmt.Sprintf("<%s> is incomplete: it has no %s", name, joinAnd(out))}
}

// decodeList reads <wrapper><item>..</item>...</wrapper> into slice v.
func (p *decoder) decodeList(tbl, key, wrapper, item string, v reflect.Value) error {
	v.Set(reflect.Zero(v.Type()))
	for {
		t, done, err := p.nextChild(wrapper)
		if err != nil || done {
			return err
		}
		if t.Name.Local != item {
			return p.fail("unknown element <%s> inside <%s> (expected <%s>)", t.Name.Local, wrapper, item)
		}
		if err := p.decodeItem(tbl, key, item, v); err != nil {
			return err
		}
	}
}

// decodeItem appends one list item, starting from the zero value.
func (p *decoder) decodeItem(tbl, key, item string, v reflect.Value) error {
	n := v.Len() + 1
	elem := reflect.New(v.Type().Elem()).Elem()
	if err := p.decodeValue(tbl, fmt.Sprintf("%s[%d]", joinKey(key, item), n), item, elem); err != nil {
		return err
	}
	v.Set(reflect.Append(v, elem))
	return nil
}

// decodeValue reads the element just opened (name) into v.
func (p *decoder) decodeValue(tbl, key, name string, v reflect.Value) error {
	if p.lines != nil {
		p.lines[tbl+"/"+key] = p.line()
	}
	if v.Kind() == reflect.Struct {
		return p.decodeStruct(tbl, key, name, v)
	}
	line := p.line()
	text, err := p.text(name)
	if err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		return &ParseError{Line: line, Reason: fmt.Sprintf(format, a...)}
	}
	switch v.Kind() {
	case reflect.String:
		if isSecret(v.Type()) && text != "" {
			s, err := p.secret(Secret(text))
			if err != nil {
				return bad("%v", err)
			}
			text = string(s)
		}
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return bad("<%s> must be true or false, got %q", name, clip(text))
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, v.Type().Bits())
		if err != nil {
			return bad("<%s> must be an integer, got %q", name, clip(text))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(text), 10, v.Type().Bits())
		if err != nil {
			return bad("<%s> must be a non-negative integer, got %q", name, clip(text))
		}
		v.SetUint(n)
	default:
		return bad("<%s> has unsupported type %s", name, v.Type())
	}
	return nil
}

// text reads the character data of a leaf element up to its end tag.
func (p *decoder) text(name string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return "", p.fail("unexpected end of file inside <%s>", name)
			}
			return "", err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return sb.String(), nil
		case xml.CharData:
			sb.Write(t)
		case xml.Comment:
		case xml.StartElement:
			return "", p.fail("unexpected element <%s> inside <%s>", t.Name.Local, name)
		default:
			return "", p.fail("unexpected markup inside <%s>", name)
		}
	}
}

// clip shortens a quoted value in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
