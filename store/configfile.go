package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SecretMode says how the whole-configuration file writes secrets
// (showconfig/saveconfig "Choose the passphrase option", ESA-CLI.md §9.1).
type SecretMode int

const (
	// MaskSecrets writes "*****"; such a file cannot be loaded.
	MaskSecrets SecretMode = iota
	// EncryptSecrets writes "{ENC}" and base64 AES-256-GCM ciphertext under
	// this appliance's key; only this appliance can load the file.
	EncryptSecrets
	// PlainSecrets writes secrets as they are.
	PlainSecrets
)

// timeLayout is the ctime-style time the appliance prints ("Current Time:"
// in showconfig, "Changes committed:" in commit).
const timeLayout = "Mon Jan _2 15:04:05 2006 MST"

// MarshalConfig writes c as the whole-configuration XML file: the XML
// declaration, a comment with the writer's time, and a <config> root with
// one element per table, in table order. Writing is deterministic for a given
// clock (encryption uses a synthetic nonce), so Marshal, Unmarshal, Marshal
// gives the same bytes.
func (s *Store) MarshalConfig(c Config, m SecretMode) ([]byte, error) {
	// The file is written in ASCII, every other character as a character
	// reference, so it reads the same whether a tool takes it as the
	// ISO-8859-1 the declaration names (the appliance's own files, ESA-CLI
	// §9.1) or as UTF-8.
	e := &encoder{ascii: true}
	switch m {
	case MaskSecrets:
		e.secret = func(Secret) (string, error) { return maskedSecret, nil }
	case EncryptSecrets:
		e.secret = s.sealSecret
	case PlainSecrets:
		e.secret = func(x Secret) (string, error) { return string(x), nil }
	default:
		return nil, fmt.Errorf("store: unknown secret mode %d", m)
	}
	// "Current Time:" has a line of its own, as on the appliance, so that
	// backup tools that drop lines matching ^\s*Current Time: (Netshot
	// does) see unchanged configurations as identical files.
	e.buf.WriteString(`<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n<!--\n")
	e.buf.WriteString("  Current Time: " + s.now().Format(timeLayout) + "\n-->\n<config>\n")
	for _, t := range tables {
		if err := e.element(1, t.name, t.value(&c)); err != nil {
			return nil, fmt.Errorf("store: table %s: %w", t.name, err)
		}
	}
	e.buf.WriteString("</config>\n")
	return e.buf.Bytes(), nil
}

// MaxConfigSize bounds a whole-configuration file. A full configuration is
// a few hundred KB (1,000 log subscriptions are about 300 KB); the bound
// keeps a wrong file (a disk image, /dev/zero) from being read into memory
// whole.
const MaxConfigSize = 16 << 20

func tooBig() error {
	return &ParseError{Line: 1, Reason: fmt.Sprintf("the file is larger than %d bytes, too large for a configuration file", MaxConfigSize)}
}

// UnmarshalConfig reads a whole-configuration file strictly. Malformed XML,
// a root other than <config>, unknown or duplicate elements, values of the
// wrong type, masked secrets and any Validate failure give a *ParseError
// naming the line. The file is the whole configuration (issue 12 item 5):
// a table, or a setting that saveconfig always writes, that the file leaves
// out is an error naming it, never a silent reset to the default.
func (s *Store) UnmarshalConfig(data []byte) (Config, error) {
	// Editors on Windows start UTF-8 files with a byte order mark.
	if len(data) > MaxConfigSize {
		return Config{}, tooBig()
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return Config{}, &ParseError{Line: 1, Reason: "no data: the file is empty"}
	}
	p := newDecoder(data, s.openSecret)
	p.lines = map[string]int{}
	p.strict = true
	var c Config
	var present map[string]int
	rootLine := 0
	for {
		tok, err := p.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Config{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootLine > 0 {
				return Config{}, p.fail("unexpected element <%s> after </config>", t.Name.Local)
			}
			if t.Name.Space != "" {
				return Config{}, p.fail("root element <%s> is in namespace %q; the root must be <config> without a namespace", t.Name.Local, t.Name.Space)
			}
			if t.Name.Local != "config" {
				return Config{}, p.fail("root element is <%s>, not <config>", t.Name.Local)
			}
			if err := p.noAttrs(t); err != nil {
				return Config{}, err
			}
			rootLine = p.line()
			if present, err = p.readTables(&c); err != nil {
				return Config{}, err
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return Config{}, p.textFail(t, "unexpected text %q outside <config>", clip(string(bytes.TrimSpace(t))))
			}
		case xml.Directive:
			return Config{}, p.fail("declarations such as DOCTYPE are not allowed")
		}
	}
	if rootLine == 0 {
		return Config{}, &ParseError{Line: p.line(), Reason: "no <config> element"}
	}
	// The tables present are checked first, so a file missing a table
	// still has its other mistakes reported at their lines.
	var missing []string
	for _, t := range tables {
		if _, ok := present[t.name]; !ok {
			missing = append(missing, "<"+t.name+">")
			continue
		}
		if err := validateTable(t, &c); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				return Config{}, &ParseError{Line: p.keyLine(ve.Table, ve.Key, rootLine), Reason: ve.Error()}
			}
			return Config{}, &ParseError{Line: rootLine, Reason: err.Error()}
		}
	}
	if missing != nil {
		return Config{}, &ParseError{Line: rootLine, Reason: fmt.Sprintf("the file is incomplete: <config> has no %s; a configuration file holds the whole configuration, as saveconfig writes it", joinAnd(missing))}
	}
	return c, nil
}

// joinAnd lists items as "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// readTables reads the children of <config> and returns the tables it
// found, with their lines.
func (p *decoder) readTables(c *Config) (map[string]int, error) {
	seen := map[string]int{}
	for {
		t, done, err := p.nextChild("config")
		if err != nil {
			return nil, err
		}
		if done {
			return seen, nil
		}
		name := t.Name.Local
		i := tableIndex(name)
		if i < 0 {
			return nil, p.fail("unknown table <%s>", name)
		}
		if first, dup := seen[name]; dup {
			return nil, p.fail("duplicate table <%s> (first at line %d)", name, first)
		}
		seen[name] = p.line()
		if err := p.decodeValue(name, "", name, tables[i].value(c)); err != nil {
			return nil, err
		}
	}
}

// keyLine finds the line of a validation error's key, falling back to the
// enclosing item, then the table, then def.
func (p *decoder) keyLine(tbl, key string, def int) int {
	for {
		if l, ok := p.lines[tbl+"/"+key]; ok {
			return l
		}
		if key == "" {
			return def
		}
		if i := strings.LastIndexAny(key, ".["); i >= 0 {
			key = key[:i]
		} else {
			key = ""
		}
	}
}

// sealSecret encrypts a secret with the appliance key. The GCM nonce is an
// HMAC of the plaintext (a synthetic IV, as in RFC 8452's SIV idea): the same
// secret always gives the same text, so writing a loaded file again gives the
// same bytes; it reveals only whether two secrets are equal.
func (s *Store) sealSecret(x Secret) (string, error) {
	aead, err := s.aead()
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("esa secret nonce\x00"))
	mac.Write([]byte(x))
	nonce := mac.Sum(nil)[:aead.NonceSize()]
	ct := aead.Seal(append([]byte(nil), nonce...), nonce, []byte(x), nil)
	return encPrefix + base64.StdEncoding.EncodeToString(ct), nil
}

// openSecret turns a secret as written in a file back into its value.
func (s *Store) openSecret(x Secret) (Secret, error) {
	if x == maskedSecret {
		return "", errors.New("passphrase is masked; files with masked passphrases cannot be loaded")
	}
	if !strings.HasPrefix(string(x), encPrefix) {
		return x, nil
	}
	ct, err := base64.StdEncoding.DecodeString(string(x)[len(encPrefix):])
	if err != nil {
		return "", errors.New("encrypted passphrase is not valid base64")
	}
	aead, err := s.aead()
	if err != nil {
		return "", err
	}
	if len(ct) < aead.NonceSize() {
		return "", errors.New("encrypted passphrase is too short")
	}
	pt, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("the encrypted passphrase cannot be decrypted with this appliance's key: the file was saved on another appliance; copy that appliance's %s into the data directory before loading it, or save the file there with plain passphrases", KeyFileName)
	}
	return Secret(pt), nil
}

func (s *Store) aead() (cipher.AEAD, error) {
	b, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// ConfigDir is the directory saveconfig writes to and loadconfig reads from.
func (s *Store) ConfigDir() string { return filepath.Join(s.dir, "configuration") }

// SaveConfigFile writes c into ConfigDir() as "<hostname>-<YYYYMMDDTHHMMSS>.xml"
// (mode 0600: it may hold secrets) and returns the file name. A second save in
// the same second gets a "-2", "-3"... suffix rather than overwriting. The
// file appears whole or not at all (WriteFileAtomic).
func (s *Store) SaveConfigFile(c Config, m SecretMode) (string, error) {
	// An invalid configuration would make a file loadconfig refuses, and
	// its host name becomes part of a path.
	if err := Validate(c); err != nil {
		return "", err
	}
	data, err := s.MarshalConfig(c, m)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.ConfigDir(), 0o700); err != nil {
		return "", err
	}
	removeStaleTemps(s.ConfigDir(), time.Now().Add(-staleTempAge))
	base := c.System.Hostname + "-" + s.now().Format("20060102T150405")
	for n := 1; ; n++ {
		name := base + ".xml"
		if n > 1 {
			name = base + "-" + strconv.Itoa(n) + ".xml"
		}
		err := WriteFileAtomic(filepath.Join(s.ConfigDir(), name), data, true)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, nil
	}
}

// ReadConfigFile reads and parses a whole-configuration file: name is a
// plain file name inside ConfigDir() (OpenConfigFile's rules). A missing file
// gives an error wrapping fs.ErrNotExist, a refused name or file a
// *FileError, a file that does not parse a *ParseError; ctx's error when ctx
// ends first.
func (s *Store) ReadConfigFile(ctx context.Context, name string) (Config, error) {
	f, err := s.OpenConfigFile(name)
	if err != nil {
		return Config{}, err
	}
	data, err := readBounded(ctx, f, MaxConfigSize)
	if errors.Is(err, errTooLarge) {
		return Config{}, tooBig()
	}
	if err != nil {
		if ctx.Err() != nil {
			return Config{}, ctx.Err()
		}
		return Config{}, &FileError{Name: name, Reason: "cannot be read"}
	}
	return s.UnmarshalConfig(data)
}

// encodeTable is table t of c in its stored text form: the form kept in
// bbolt and compared to detect changes. Secrets are sealed with the
// appliance key (deterministically, so equal tables give equal bytes): a copy
// of config.db or of a rollback point discloses no passphrase without the
// key file (issue 12 item 4).
func (s *Store) encodeTable(t table, c *Config) []byte {
	e := &encoder{secret: s.sealSecret}
	if err := e.element(0, t.name, t.value(c)); err != nil {
		// Only an unsupported field type fails (the key is always 32
		// bytes); the table types are fixed at compile time and
		// TestTablesEncode covers each of them.
		panic(err)
	}
	return e.buf.Bytes()
}

// decodeTable reads table t's stored text form into c. Secrets stored by
// versions before the key file are plain text and are read as they are.
func (s *Store) decodeTable(t table, data []byte, c *Config) error {
	return decodeTableWith(t, data, c, s.openStoredSecret)
}

// decodeTableWith is decodeTable with the secret opener as a parameter.
func decodeTableWith(t table, data []byte, c *Config, open func(Secret) (Secret, error)) error {
	p := newDecoder(data, open)
	for {
		tok, err := p.token()
		if err == io.EOF {
			return fmt.Errorf("table %s: no <%s> element", t.name, t.name)
		}
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != t.name {
				return fmt.Errorf("table %s: stored element is <%s>", t.name, se.Name.Local)
			}
			if err := p.decodeValue(t.name, "", t.name, t.value(c)); err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			return nil
		}
	}
}

// openStoredSecret opens a secret as config.db keeps it.
func (s *Store) openStoredSecret(x Secret) (Secret, error) {
	if !strings.HasPrefix(string(x), encPrefix) {
		return x, nil
	}
	v, err := s.openSecret(x)
	if err != nil {
		return "", fmt.Errorf("a passphrase in config.db cannot be decrypted with %s; restore the %s that was backed up with config.db", s.KeyFile(), KeyFileName)
	}
	return v, nil
}
