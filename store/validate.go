package store

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"unicode/utf8"
)

// ValidationError names the table and key a configuration value breaks a rule
// in. Key is a path in the table's text form: "hostname", "log[2].max_size",
// "resolver[1].address" (list items are numbered from 1, as the file and the
// menus list them).
type ValidationError struct {
	Table, Key, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Table, e.Key, e.Reason)
}

// Validate checks every table of c and returns the first broken rule as a
// *ValidationError. It is the one place configuration rules live: sessions
// call it on every Update, Load and Commit, and UnmarshalConfig on every file.
func Validate(c Config) error {
	for _, t := range tables {
		if err := validateTable(t, &c); err != nil {
			return err
		}
	}
	return nil
}

// validateTable checks one table of c: its text, then its own rules.
func validateTable(t table, c *Config) error {
	if k, r := badText(t.value(c)); r != "" {
		return &ValidationError{t.name, k, r}
	}
	return t.validate(c)
}

// badText finds a string the XML text form cannot carry (invalid UTF-8 or a
// character outside the XML 1.0 Char production, XML 1.0 §2.2), so every
// valid configuration can be written to a file and read back unchanged. It
// returns the key of the bad value relative to v (built only on failure) and
// the reason; reason "" means v is fine.
func badText(v reflect.Value) (key, reason string) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			return "", "is not valid UTF-8"
		}
		for _, r := range s {
			if r < 0x20 && r != 0x09 && r != 0x0A && r != 0x0D || !isXMLChar(r) {
				return "", fmt.Sprintf("contains the control character %U", r)
			}
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()) {
			if k, r := badText(v.Field(f.index)); r != "" {
				return subKey(f.name, k), r
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if k, r := badText(v.Index(i)); r != "" {
				return subKey(fmt.Sprintf("[%d]", i+1), k), r
			}
		}
	}
	return "", ""
}

// subKey joins key parts: "log" + "[2]" + "name" -> "log[2].name".
func subKey(prefix, rest string) string {
	switch {
	case rest == "":
		return prefix
	case rest[0] == '[':
		return prefix + rest
	case prefix == "":
		return rest
	}
	return prefix + "." + rest
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// isXMLChar reports whether r is a Char of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// ValidHostname reports whether h is a host name per RFC 1123 §2.1 (letters,
// digits and hyphens; labels of 1-63 octets that neither start nor end with
// a hyphen; at most 253 octets in all).
func ValidHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ValidLogName reports whether n can name a log subscription: it becomes a
// directory name under DATA/logs and a word on the grep/tail command line,
// so only [A-Za-z0-9_-] are allowed.
func ValidLogName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ResolverAddr parses a resolver address, "IP" or "IP:port" ("[v6]:port"),
// and returns it with the default DNS port 53 filled in.
func ResolverAddr(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a, 53), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IP address or IP:port", s)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q has port 0", s)
	}
	return ap, nil
}

func validateSystem(c *Config) error {
	if !ValidHostname(c.System.Hostname) {
		return &ValidationError{"system", "hostname", fmt.Sprintf("%q is not a valid host name", c.System.Hostname)}
	}
	return nil
}

var retrievals = []string{RetrievalManual, RetrievalFTP, RetrievalSCP, RetrievalSyslog}

// syslogFacilities are the facility keywords of RFC 5424 §6.2.1 as syslog
// daemons name them.
var syslogFacilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr",
	"news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

var transferProtocols = []string{"SSH1", "SSH2", "UDP", "TCP"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// maxLogFilename leaves room for ".@20060102T150405_999999999.c" in a
// 255-byte file name.
const maxLogFilename = 255 - len(".@20060102T150405_999999999.c")

func validateLogs(c *Config) error {
	l := &c.Logs
	bad := func(key, format string, a ...any) error {
		return &ValidationError{"logs", key, fmt.Sprintf(format, a...)}
	}
	if l.MetricsFrequency <= 0 {
		return bad("metrics_frequency", "must be a positive number of seconds, got %d", l.MetricsFrequency)
	}
	seenHeader := map[string]int{}
	for i, h := range l.Headers {
		key := fmt.Sprintf("header[%d]", i+1)
		// RFC 5322 §3.6.8: a field name is printable US-ASCII except ':'.
		if h == "" || strings.IndexFunc(h, func(r rune) bool { return r < 33 || r > 126 || r == ':' }) >= 0 {
			return bad(key, "%q is not a header field name", h)
		}
		if j, ok := seenHeader[strings.ToLower(h)]; ok {
			return bad(key, "header %q is already listed as header[%d]", h, j)
		}
		seenHeader[strings.ToLower(h)] = i + 1
	}
	seen := map[string]int{}
	for i, s := range l.Subscriptions {
		p := fmt.Sprintf("log[%d].", i+1)
		if !ValidLogName(s.Name) {
			return bad(p+"name", "%q is not a valid log name (letters, digits, '_' and '-' only)", s.Name)
		}
		// Case-insensitive: the name is also a directory under DATA/logs.
		if j, ok := seen[strings.ToLower(s.Name)]; ok {
			return bad(p+"name", "duplicate log name %q (also log[%d])", s.Name, j)
		}
		seen[strings.ToLower(s.Name)] = i + 1
		if !contains(LogTypes, s.Type) {
			return bad(p+"type", "unknown log type %q", s.Type)
		}
		if s.Level < LevelCritical || s.Level > LevelTrace {
			return bad(p+"level", "must be %d (Critical) to %d (Trace), got %d", LevelCritical, LevelTrace, s.Level)
		}
		if !contains(retrievals, s.Retrieval) {
			return bad(p+"retrieval", "unknown retrieval method %q (manual, ftp, scp or syslog)", s.Retrieval)
		}
		if s.Filename == "" || s.Filename == "." || s.Filename == ".." || strings.ContainsAny(s.Filename, "/\\") {
			return bad(p+"filename", "%q is not a plain file name", s.Filename)
		}
		// The files are "<Filename>.@<stamp>[_seq].c": the longest suffix
		// must still fit a 255-byte file name (NAME_MAX), or every file
		// of the log would fail to open.
		if len(s.Filename) > maxLogFilename {
			return bad(p+"filename", "is longer than %d bytes", maxLogFilename)
		}
		if s.MaxSize <= 0 {
			return bad(p+"max_size", "must be a positive number of bytes, got %d", s.MaxSize)
		}
		if s.MaxFiles <= 0 {
			return bad(p+"max_files", "must be a positive number of files, got %d", s.MaxFiles)
		}
		if s.RolloverInterval < 0 {
			return bad(p+"rollover_interval", "must not be negative, got %d", s.RolloverInterval)
		}
		if s.Port < 0 || s.Port > 65535 {
			return bad(p+"port", "must be 0 to 65535, got %d", s.Port)
		}
		if s.MaxWait < 0 {
			return bad(p+"max_wait", "must not be negative, got %d", s.MaxWait)
		}
		if s.Retrieval != RetrievalManual && !ValidHostname(s.Host) && net.ParseIP(s.Host) == nil {
			return bad(p+"host", "%q is not a host name or IP address (needed for %s retrieval)", s.Host, s.Retrieval)
		}
		if s.Protocol != "" && !contains(transferProtocols, s.Protocol) {
			return bad(p+"protocol", "unknown protocol %q (SSH1, SSH2, UDP or TCP)", s.Protocol)
		}
		if s.Facility != "" && !contains(syslogFacilities, s.Facility) {
			return bad(p+"facility", "unknown syslog facility %q", s.Facility)
		}
	}
	return nil
}

func validateDNS(c *Config) error {
	d := &c.DNS
	for i, r := range d.Resolvers {
		p := fmt.Sprintf("resolver[%d].", i+1)
		if _, err := ResolverAddr(r.Address); err != nil {
			return &ValidationError{"dns", p + "address", err.Error()}
		}
		if r.Priority < 0 {
			return &ValidationError{"dns", p + "priority", fmt.Sprintf("must not be negative, got %d", r.Priority)}
		}
	}
	if d.Timeout < 1 || d.Timeout > 60 {
		return &ValidationError{"dns", "timeout", fmt.Sprintf("must be 1 to 60 seconds, got %d", d.Timeout)}
	}
	return nil
}
