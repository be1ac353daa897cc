package store

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"unicode/utf8"

	"esa/store/names"
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
func ValidHostname(h string) bool { return names.Hostname(h) }

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

// FQDN reports whether h is a fully qualified host name, as the
// appliance's own name must be: a valid host name (ValidHostname) of at
// least two labels whose top label is not all-numeric, so neither a single
// label ("mail") nor an IPv4 address ("192.0.2.1") passes (RFC 1123 §2.1:
// a top-level domain is alphabetic; RFC 3696 §2).
func FQDN(h string) bool {
	if !ValidHostname(h) {
		return false
	}
	i := strings.LastIndexByte(h, '.')
	if i < 0 {
		return false
	}
	top := h[i+1:]
	return strings.TrimLeft(top, "0123456789") != ""
}

// ValidHost reports whether h names a remote host for log pushes: a host
// name (ValidHostname) or an IPv4 or IPv6 address without a zone.
func ValidHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	return ValidHostname(h)
}

// Limits of the log settings. The logconfig questions ask within them and
// validateLogs enforces them on every file and commit: one rule, whichever
// way a value arrives (issue 12 item 6).
const (
	MinLogSize          = 10 * 1024               // 10k
	MaxLogSize          = 10 * 1024 * 1024 * 1024 // 10240m
	MaxLogFiles         = 1000
	MaxLogInterval      = 366 * 86400 // seconds: rollover interval, wait before a push
	MaxMetricsFrequency = 86400       // seconds
	MaxResolverPriority = 1000
)

// SyslogFacilities are the facilities logconfig offers for syslog push, in
// its menu order.
var SyslogFacilities = []string{
	"auth", "authpriv", "console", "daemon", "ftp", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", "mail", "ntp", "security", "user",
}

// ValidLogFilename reports whether f can name a log's files: a plain name of
// letters, digits, '.', '-' and '_', not starting with '.' (no hidden files,
// no ".."), short enough for the rolled-file suffix (maxLogFilename).
func ValidLogFilename(f string) bool {
	if f == "" || f[0] == '.' || len(f) > MaxLogFilename {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidHeaderName reports whether h is a header field name: printable
// US-ASCII except ':' (RFC 5322 §3.6.8).
func ValidHeaderName(h string) bool {
	return h != "" && strings.IndexFunc(h, func(r rune) bool { return r < 33 || r > 126 || r == ':' }) < 0
}

// DuplicateHeader returns the index of the first header that repeats an
// earlier one (header names are case-insensitive, RFC 5322 §1.2.2), the
// index of that earlier one, or -1, -1.
func DuplicateHeader(hs []string) (dup, first int) {
	seen := map[string]int{}
	for i, h := range hs {
		if j, ok := seen[strings.ToLower(h)]; ok {
			return i, j
		}
		seen[strings.ToLower(h)] = i
	}
	return -1, -1
}

// ControlChar returns the first control character (C0, DEL or C1) in s, or
// -1. Single-line settings (user names, directories) must have none: they
// are shown on screens and in log lines, where a control character could
// drive the terminal.
func ControlChar(s string) rune {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return r
		}
	}
	return -1
}

// SameResolver reports whether two resolver addresses name the same server
// (192.0.2.53 and 192.0.2.53:53 do).
func SameResolver(a, b string) bool {
	x, err1 := ResolverAddr(a)
	y, err2 := ResolverAddr(b)
	return err1 == nil && err2 == nil && x == y
}

func validateSystem(c *Config) error {
	h := c.System.Hostname
	if !ValidHostname(h) {
		return &ValidationError{"system", "hostname", fmt.Sprintf("%q is not a valid host name", h)}
	}
	if !FQDN(h) {
		return &ValidationError{"system", "hostname", fmt.Sprintf("%q is not a fully qualified host name (a name with a domain, such as mail.example.com; not an IP address)", h)}
	}
	return nil
}

var retrievals = []string{RetrievalManual, RetrievalFTP, RetrievalSCP, RetrievalSyslog}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MaxLogFilename leaves room for ".@20060102T150405_999999999.c" in a
// 255-byte file name.
const MaxLogFilename = 255 - len(".@20060102T150405_999999999.c")

func validateLogs(c *Config) error {
	l := &c.Logs
	bad := func(key, format string, a ...any) error {
		return &ValidationError{"logs", key, fmt.Sprintf(format, a...)}
	}
	if l.MetricsFrequency < 1 || l.MetricsFrequency > MaxMetricsFrequency {
		return bad("metrics_frequency", "must be 1 to %d seconds, got %d", MaxMetricsFrequency, l.MetricsFrequency)
	}
	for i, h := range l.Headers {
		if !ValidHeaderName(h) {
			return bad(fmt.Sprintf("header[%d]", i+1), "%q is not a header field name", h)
		}
	}
	if i, j := DuplicateHeader(l.Headers); i >= 0 {
		return bad(fmt.Sprintf("header[%d]", i+1), "header %q is already listed as header[%d]", l.Headers[i], j+1)
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
		if strings.ContainsAny(s.Filename, "/\\") || s.Filename == "." || s.Filename == ".." {
			return bad(p+"filename", "%q is not a plain file name", s.Filename)
		}
		// The files are "<Filename>.@<stamp>[_seq].c": the longest suffix
		// must still fit a 255-byte file name (NAME_MAX), or every file
		// of the log would fail to open.
		if len(s.Filename) > MaxLogFilename {
			return bad(p+"filename", "is longer than %d bytes", MaxLogFilename)
		}
		if !ValidLogFilename(s.Filename) {
			return bad(p+"filename", "%q is not a valid file name (letters, digits, '.', '-' and '_', not starting with '.')", s.Filename)
		}
		if s.MaxSize < MinLogSize || s.MaxSize > MaxLogSize {
			return bad(p+"max_size", "must be %d to %d bytes (10k to 10240m), got %d", MinLogSize, int64(MaxLogSize), s.MaxSize)
		}
		if s.MaxFiles < 1 || s.MaxFiles > MaxLogFiles {
			return bad(p+"max_files", "must be 1 to %d files, got %d", MaxLogFiles, s.MaxFiles)
		}
		if s.RolloverInterval < 0 || s.RolloverInterval > MaxLogInterval {
			return bad(p+"rollover_interval", "must be 0 (off) or 1 to %d seconds, got %d", MaxLogInterval, s.RolloverInterval)
		}
		if err := validatePush(s, func(key, format string, a ...any) error { return bad(p+key, format, a...) }); err != nil {
			return err
		}
	}
	return nil
}

// validatePush checks the settings of a log's retrieval method as the
// logconfig questions of that method accept them.
func validatePush(s LogSubscription, bad func(key, format string, a ...any) error) error {
	if s.Retrieval != RetrievalManual && !ValidHost(s.Host) {
		return bad("host", "%q is not a host name or IP address (needed for %s retrieval)", s.Host, s.Retrieval)
	}
	if s.Port < 0 || s.Port > 65535 {
		return bad("port", "must be 0 to 65535, got %d", s.Port)
	}
	if s.MaxWait < 0 || s.MaxWait > MaxLogInterval {
		return bad("max_wait", "must be 1 to %d seconds, got %d", MaxLogInterval, s.MaxWait)
	}
	for _, f := range []struct{ key, val string }{{"user", s.User}, {"directory", s.Directory}} {
		if r := ControlChar(f.val); r >= 0 {
			return bad(f.key, "contains the control character %U", r)
		}
	}
	switch s.Retrieval {
	case RetrievalFTP, RetrievalSCP:
		if strings.TrimSpace(s.User) == "" {
			return bad("user", "is needed for %s retrieval", s.Retrieval)
		}
		if strings.TrimSpace(s.Directory) == "" {
			return bad("directory", "is needed for %s retrieval", s.Retrieval)
		}
		if s.MaxWait < 1 {
			return bad("max_wait", "must be 1 to %d seconds, got %d", MaxLogInterval, s.MaxWait)
		}
	}
	switch s.Retrieval {
	case RetrievalFTP:
		if s.Passphrase == "" {
			return bad("passphrase", "is needed for ftp retrieval")
		}
	case RetrievalSCP:
		if s.Port < 1 {
			return bad("port", "must be 1 to 65535, got %d", s.Port)
		}
		// The appliance lists SSH1 but it is long broken; logconfig
		// refuses it and so does the file.
		if s.Protocol != "SSH2" {
			return bad("protocol", "must be SSH2 for scp retrieval, got %q", s.Protocol)
		}
	case RetrievalSyslog:
		if s.Protocol != "UDP" && s.Protocol != "TCP" {
			return bad("protocol", "must be UDP or TCP for syslog retrieval, got %q", s.Protocol)
		}
		if !contains(SyslogFacilities, s.Facility) {
			return bad("facility", "unknown syslog facility %q", s.Facility)
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
		for j := range i {
			if SameResolver(d.Resolvers[j].Address, r.Address) {
				return &ValidationError{"dns", p + "address", fmt.Sprintf("%q is the same resolver as resolver[%d] (%q)", r.Address, j+1, d.Resolvers[j].Address)}
			}
		}
		if r.Priority < 0 || r.Priority > MaxResolverPriority {
			return &ValidationError{"dns", p + "priority", fmt.Sprintf("must be 0 to %d, got %d", MaxResolverPriority, r.Priority)}
		}
	}
	if d.Timeout < 1 || d.Timeout > 60 {
		return &ValidationError{"dns", "timeout", fmt.Sprintf("must be 1 to 60 seconds, got %d", d.Timeout)}
	}
	return nil
}
