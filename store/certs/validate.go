package certs

import (
	"errors"
	"fmt"
	"strings"

	"esa/store/names"
)

// ValidName checks a certificate profile name: 1 to 64 characters, letters,
// digits, '-', '_' and '.', so it reads unambiguously in lists, references
// and file names.
func ValidName(name string) error { return names.Profile(name) }

// Validate checks the whole table, and that every listener certificate named
// in uses (STARTTLS) resolves: a certificate in use cannot be deleted.
// Errors name the profile.
func Validate(t Table, uses []string) error {
	demos := 0
	for i, c := range t.Certificates {
		if err := ValidName(c.Name); err != nil {
			return fmt.Errorf("certificate %d name %q: %v", i+1, c.Name, err)
		}
		if j := t.Find(c.Name); j != i {
			return fmt.Errorf("certificate %q is listed twice", c.Name)
		}
		if _, err := c.Parse(); err != nil {
			return fmt.Errorf("certificate %q: %v", c.Name, err)
		}
		if c.Demo {
			demos++
		}
	}
	if demos > 0 && !t.DemoMade {
		return errors.New("a certificate is marked as the demo certificate but the demo was never made")
	}
	if demos > 1 {
		return errors.New("more than one certificate is marked as the demo certificate")
	}
	if t.Outbound != "" && !t.Resolves(t.Outbound) {
		return fmt.Errorf("outbound certificate %q is not configured", t.Outbound)
	}
	for _, u := range uses {
		if u != "" && !t.Resolves(u) {
			return fmt.Errorf("listener certificate %q is not configured", u)
		}
	}
	for i, a := range t.Authorities {
		if _, err := ParseCertificates(a.Cert); err != nil {
			return fmt.Errorf("custom certificate authority %d: %v", i+1, err)
		}
	}
	return nil
}

// InUse says what uses the named certificate ("outbound TLS", "listener
// IncomingMail"), given the listeners' names and certificates; nil when
// nothing does.
func InUse(t Table, name string, listeners, listenerCerts []string) []string {
	var out []string
	for i, c := range listenerCerts {
		if strings.EqualFold(c, name) {
			out = append(out, "listener "+listeners[i])
		}
	}
	if strings.EqualFold(t.Outbound, name) {
		out = append(out, "outbound TLS")
	}
	return out
}
