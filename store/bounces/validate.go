package bounces

import (
	"fmt"
	"regexp"
	"strings"
)

// Bounds of the numeric settings. The appliance's own limits are not
// published; these keep every value meaningful (a retry at least a second
// apart, at most about a month in the queue) and every product of them
// far from overflowing a time.Duration.
const (
	MaxRetriesLimit  = 10000
	MaxSeconds       = 3000000 // about 34 days
	MaxWarningsLimit = 100
	MaxCopyLimit     = 10 << 20
	MaxSubjectLen    = 255
	MaxNameLen       = 64
	MaxProfiles      = 1000
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// CheckName validates a new profile's name, with the appliance's reasons
// (ESA-CLI.md §10.2).
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("You must enter a value.")
	case len(name) > MaxNameLen:
		return fmt.Errorf("The bounce profile name must be at most %d characters long.", MaxNameLen)
	case !nameRE.MatchString(name[:1]):
		return fmt.Errorf("The bounce profile name must start with a letter or underscore.")
	case !nameRE.MatchString(name):
		return fmt.Errorf("Valid characters are letters, digits, \"_\", \"-\" and \".\".")
	}
	return nil
}

// EntryError is a validation error of one profile: Index is its place in
// the table (from 0), so that a configuration file's reader can name the
// profile's line.
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string { return e.Err.Error() }
func (e *EntryError) Unwrap() error { return e.Err }

// Validate checks the whole table: the Default profile first and present,
// names unique without regard to case, every profile valid. An error about
// one profile is an *EntryError.
func (t *Table) Validate() error {
	if len(t.Profiles) == 0 || t.Profiles[0].Name != DefaultName {
		return fmt.Errorf("the first profile must be %s", DefaultName)
	}
	if len(t.Profiles) > MaxProfiles {
		return fmt.Errorf("there may be at most %d profiles", MaxProfiles)
	}
	seen := map[string]bool{}
	for i := range t.Profiles {
		p := &t.Profiles[i]
		key := strings.ToLower(p.Name)
		if seen[key] {
			return &EntryError{i, fmt.Errorf("profile %q: Profile name already in use", p.Name)}
		}
		seen[key] = true
		if err := p.Validate(); err != nil {
			return &EntryError{i, err}
		}
	}
	return nil
}

// Validate checks one profile.
func (p *Settings) Validate() error {
	if err := CheckName(p.Name); err != nil {
		return fmt.Errorf("profile name %q: %v", p.Name, strings.TrimSuffix(err.Error(), "."))
	}
	def := p.Name == DefaultName
	where := fmt.Sprintf("profile %q", p.Name)
	type bound struct {
		key    string
		v      int
		lo, hi int
	}
	ints := []bound{
		{"max_retries", p.MaxRetries, 0, MaxRetriesLimit},
		{"max_queue_lifetime", p.MaxQueueLifetime, 0, MaxSeconds},
		{"initial_retry", p.InitialRetry, 1, MaxSeconds},
		{"max_retry_timeout", p.MaxRetryTimeout, p.InitialRetry, MaxSeconds},
		{"send_warnings_interval", p.WarningInterval, 1, MaxSeconds},
		{"send_warnings_count", p.MaxWarnings, 1, MaxWarningsLimit},
	}
	if def {
		ints = append(ints,
			bound{"host_initial_retry", p.HostInitialRetry, 1, MaxSeconds},
			bound{"host_max_retry_timeout", p.HostMaxRetryTimeout, p.HostInitialRetry, MaxSeconds},
			bound{"max_bounce_copy", p.MaxBounceCopy, 0, MaxCopyLimit})
	} else if p.HostInitialRetry != 0 || p.HostMaxRetryTimeout != 0 || p.MaxBounceCopy != 0 {
		return fmt.Errorf("%s: host retry times and the bounce copy size belong to the %s profile only", where, DefaultName)
	}
	for _, c := range ints {
		if c.v < c.lo || c.v > c.hi {
			return fmt.Errorf("%s: %s must be %d to %d, got %d", where, c.key, c.lo, c.hi, c.v)
		}
	}
	for _, c := range []struct {
		key string
		v   Choice
	}{
		{"send_bounces", p.SendBounces}, {"use_dsn_bounce_format", p.UseDSN},
		{"use_bounce_response_code", p.UseResponseCode}, {"send_warnings", p.SendWarnings},
		{"sign_bounce_messages", p.Sign},
	} {
		switch {
		case c.v == Yes || c.v == No:
		case c.v == Inherit && !def:
		case def:
			return fmt.Errorf("%s: %s must be yes or no, not %q", where, c.key, c.v)
		default:
			return fmt.Errorf("%s: %s must be yes, no or default, not %q", where, c.key, c.v)
		}
	}
	for _, s := range []struct{ key, v string }{{"bounce_subject", p.BounceSubject}, {"delay_subject", p.DelaySubject}} {
		if err := CheckSubject(s.v); err != nil {
			return fmt.Errorf("%s: %s: %v", where, s.key, err)
		}
	}
	for _, a := range []struct{ key, v string }{{"bounce_address", p.BounceAddress}, {"from", p.From}} {
		if a.v != "" && !IsAddress(a.v) {
			return fmt.Errorf("%s: %s %q is not an email address", where, a.key, a.v)
		}
	}
	return nil
}

// CheckSubject accepts a subject for a notification: one line of printable
// text (RFC 5322 §2.2 header field body; non-ASCII text would need RFC 2047
// encoding, which the notification writer does), 1 to 255 characters.
func CheckSubject(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("the subject must not be empty")
	}
	if len(s) > MaxSubjectLen {
		return fmt.Errorf("the subject must be at most %d characters long", MaxSubjectLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("the subject must be one line without control characters")
		}
	}
	return nil
}

var (
	localRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+)*$`)
	labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// IsAddress reports whether a is local@domain with a dot-atom local part of
// at most 64 octets (RFC 5322 §3.4.1, RFC 5321 §4.5.3.1.1) and a lower-case
// host name as domain (RFC 1123 §2.1), the form the wizard normalises to.
func IsAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at > 64 || !localRE.MatchString(a[:at]) {
		return false
	}
	d := a[at+1:]
	if d == "" || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
