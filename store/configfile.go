package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// declaration, a <config> root holding a comment with the writer's time and
// one element per table, in table order. Writing is deterministic for a given
// clock (encryption uses a synthetic nonce), so Marshal, Unmarshal, Marshal
// gives the same bytes.
func (s *Store) MarshalConfig(c Config, m SecretMode) ([]byte, error) {
	e := &encoder{}
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
	e.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<config>\n")
	e.buf.WriteString("  <!-- Current Time: " + s.now().Format(timeLayout) + " -->\n")
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
// naming the line. Tables the file leaves out keep their defaults.
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
	c := Defaults()
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
			if err := p.readTables(&c); err != nil {
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
	if err := Validate(c); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return Config{}, &ParseError{Line: p.keyLine(ve.Table, ve.Key, rootLine), Reason: err.Error()}
		}
		return Config{}, &ParseError{Line: rootLine, Reason: err.Error()}
	}
	return c, nil
}

// readTables reads the children of <config>.
func (p *decoder) readTables(c *Config) error {
	seen := map[string]int{}
	for {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return p.fail("unexpected end of file inside <config>")
			}
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return p.textFail(t, "unexpected text %q inside <config>", clip(string(bytes.TrimSpace(t))))
			}
		case xml.Comment:
		case xml.ProcInst, xml.Directive:
			return p.fail("unexpected markup inside <config>")
		case xml.StartElement:
			if err := p.noAttrs(t); err != nil {
				return err
			}
			name := t.Name.Local
			i := tableIndex(name)
			if i < 0 {
				return p.fail("unknown table <%s>", name)
			}
			if first, dup := seen[name]; dup {
				return p.fail("duplicate table <%s> (first at line %d)", name, first)
			}
			seen[name] = p.line()
			if err := p.decodeValue(name, "", name, tables[i].value(c)); err != nil {
				return err
			}
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
		return "", errors.New("encrypted passphrase cannot be decrypted with this appliance's key")
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
// the same second gets a "-2", "-3"... suffix rather than overwriting.
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
	base := c.System.Hostname + "-" + s.now().Format("20060102T150405")
	for n := 1; ; n++ {
		name := base + ".xml"
		if n > 1 {
			name = base + "-" + strconv.Itoa(n) + ".xml"
		}
		f, err := os.OpenFile(filepath.Join(s.ConfigDir(), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			return "", err
		}
		return name, nil
	}
}

// ReadConfigFile reads and parses a whole-configuration file: name is a file
// inside ConfigDir() or an absolute path. Relative names that climb out of
// ConfigDir() are refused; a missing file gives an error wrapping
// os.ErrNotExist.
func (s *Store) ReadConfigFile(name string) (Config, error) {
	path := name
	if !filepath.IsAbs(name) {
		if !filepath.IsLocal(name) {
			return Config{}, fmt.Errorf("file name %q is outside the configuration directory", name)
		}
		path = filepath.Join(s.ConfigDir(), name)
	}
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	// Read at most one byte past the bound: the file may be a device or
	// a pipe with no end.
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return Config{}, err
	}
	if len(data) > MaxConfigSize {
		return Config{}, tooBig()
	}
	return s.UnmarshalConfig(data)
}

// encodeTable is table t of c in its text form with secrets in plain: the
// form kept in bbolt and compared to detect changes.
func encodeTable(t table, c *Config) []byte {
	e := &encoder{secret: func(x Secret) (string, error) { return string(x), nil }}
	if err := e.element(0, t.name, t.value(c)); err != nil {
		// Only an unsupported field type fails; the table types are fixed
		// at compile time and TestTablesEncode covers each of them.
		panic(err)
	}
	return e.buf.Bytes()
}

// decodeTable reads table t's stored text form into c.
func decodeTable(t table, data []byte, c *Config) error {
	p := newDecoder(data, func(x Secret) (Secret, error) { return x, nil })
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
