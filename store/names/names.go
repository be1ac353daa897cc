// Package names holds the name rules several tables share, so that a
// profile name or a host name is valid by one definition everywhere.
package names

import (
	"errors"
	"fmt"
	"strings"
)

// Profile checks a key or profile name: 1 to 64 letters, digits, '-', '_'
// or '.', so it reads unambiguously in lists, files and menus. The errors
// are the wizard's words.
func Profile(name string) error {
	if name == "" {
		return errors.New("You must enter a value.")
	}
	if len(name) > 64 {
		return errors.New("The value must be at most 64 characters long.")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return errors.New("Valid characters are letters, digits, '-', '_' and '.'.")
		}
	}
	return nil
}

// Hostname reports whether h is a host name (RFC 1123 §2.1: letters,
// digits and hyphens; labels of 1-63 octets that neither start nor end with
// a hyphen; at most 253 octets in all).
func Hostname(h string) bool {
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

// Quoted checks a name a message filter writes inside double quotes (a
// quarantine, a content dictionary): 1 to max ASCII letters, digits,
// spaces, '.', '_' and '-', starting with a letter or digit and not ending
// with a space, so quotes and backslashes are kept out.
func Quoted(name string, max int) error {
	if name == "" {
		return errors.New("the name is empty")
	}
	if len(name) > max {
		return fmt.Errorf("the name is longer than %d characters", max)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return errors.New("the name must start with a letter or a digit")
		}
		if !alnum && c != ' ' && c != '.' && c != '_' && c != '-' {
			return errors.New("the name may hold only letters, digits, spaces, '.', '_' and '-'")
		}
	}
	if name[len(name)-1] == ' ' {
		return errors.New("the name must not end with a space")
	}
	return nil
}
