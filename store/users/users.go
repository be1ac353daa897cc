// Package users holds the appliance's administrator accounts: names, roles,
// password hashes and SSH authorized keys, with the validator userconfig
// and the configuration file share, and what each role may do. Passwords
// are kept only as argon2id hashes (RFC 9106), never in plain text.
//
// The package imports nothing of ours.
package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/ssh"
)

// User is one account.
type User struct {
	Name     string `xml:"name"`
	FullName string `xml:"full_name"`
	Role     string `xml:"role"`
	// PasswordHash is the PHC string of the argon2id hash; empty means no
	// password login (keys only).
	PasswordHash string `xml:"password_hash,omitempty"`
	// AuthorizedKeys are OpenSSH authorized_keys lines.
	AuthorizedKeys []string `xml:"authorized_keys>key"`
}

// The appliance's roles (userconfig).
const (
	Administrator    = "Administrator"
	Operator         = "Operator"
	ReadOnlyOperator = "Read-Only Operator"
	Guest            = "Guest"
)

// Roles lists the roles in the order userconfig offers them.
var Roles = []string{Administrator, Operator, ReadOnlyOperator, Guest}

// CanChangeConfig reports whether role may change and commit the
// configuration. Read-Only Operators and Guests may look, not change.
func CanChangeConfig(role string) bool {
	return role == Administrator || role == Operator
}

// CanManageUsers reports whether role may add, edit and delete accounts.
func CanManageUsers(role string) bool { return role == Administrator }

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)

// reserved names belong to the system and cannot be accounts.
var reserved = map[string]bool{"root": true, "daemon": true, "nobody": true, "operator": true, "guest": true}

// CheckName validates a user name as userconfig does: 1 to 32 characters,
// lower-case letters, digits, '_', '.', '-', starting with a letter or '_'.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("user names are 1 to 32 lower-case letters, digits, '_', '.' or '-', starting with a letter or '_'")
	}
	if reserved[name] {
		return fmt.Errorf("the name %q is reserved for the system", name)
	}
	return nil
}

// CheckPassword applies the password rules: at least 8 characters, at least
// one letter and one digit or other character, no control characters, not
// the user name.
func CheckPassword(user, pw string) error {
	if len([]rune(pw)) < 8 {
		return errors.New("the password must be at least 8 characters long")
	}
	if len(pw) > 256 {
		return errors.New("the password must be at most 256 bytes long")
	}
	var letter, other bool
	for _, r := range pw {
		switch {
		case unicode.IsControl(r):
			return errors.New("the password must not contain control characters")
		case unicode.IsLetter(r):
			letter = true
		default:
			other = true
		}
	}
	if !letter || !other {
		return errors.New("the password must contain letters and at least one digit or symbol")
	}
	if strings.EqualFold(pw, user) {
		return errors.New("the password must not be the user name")
	}
	return nil
}

// Validate checks one account.
func (u *User) Validate() error {
	if err := CheckName(u.Name); err != nil {
		return fmt.Errorf("user %q: %v", u.Name, err)
	}
	if len(u.FullName) > 128 || strings.IndexFunc(u.FullName, unicode.IsControl) >= 0 {
		return fmt.Errorf("user %s: the full name must be one line of at most 128 characters", u.Name)
	}
	ok := false
	for _, r := range Roles {
		ok = ok || u.Role == r
	}
	if !ok {
		return fmt.Errorf("user %s: role must be one of %s, not %q", u.Name, strings.Join(Roles, ", "), u.Role)
	}
	if u.PasswordHash != "" {
		if _, err := parseHash(u.PasswordHash); err != nil {
			return fmt.Errorf("user %s: %v", u.Name, err)
		}
	}
	for i, k := range u.AuthorizedKeys {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
			return fmt.Errorf("user %s: authorized key %d is not an OpenSSH public key", u.Name, i+1)
		}
	}
	return nil
}

// Validate checks the whole table: each account, unique names, and at
// least one Administrator so the appliance can still be managed.
func Validate(us []User) error {
	seen := map[string]bool{}
	admin := false
	for i := range us {
		if err := us[i].Validate(); err != nil {
			return err
		}
		if seen[us[i].Name] {
			return fmt.Errorf("user %s is defined twice", us[i].Name)
		}
		seen[us[i].Name] = true
		admin = admin || us[i].Role == Administrator
	}
	if len(us) > 0 && !admin {
		return errors.New("at least one user must keep the Administrator role")
	}
	return nil
}

// Find returns the named account.
func Find(us []User, name string) (*User, bool) {
	for i := range us {
		if us[i].Name == name {
			return &us[i], true
		}
	}
	return nil, false
}

// argon2id parameters: RFC 9106 §4's second recommended option scaled to
// an appliance with 2 cores (OWASP's 19 MiB, 2 passes, 1 lane minimum).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

type hashParams struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

// HashPassword returns the PHC string of a fresh argon2id hash of pw.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func parseHash(s string) (*hashParams, error) {
	bad := errors.New("the password hash is not an argon2id hash")
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, bad
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, bad
	}
	p := &hashParams{}
	var m, t, th uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil {
		return nil, bad
	}
	// Bounds keep a hand-edited file from making a login cost gigabytes.
	if m < 8 || m > 1<<20 || t < 1 || t > 16 || th < 1 || th > 16 {
		return nil, bad
	}
	p.memory, p.time, p.threads = m, t, uint8(th)
	enc := base64.RawStdEncoding
	var err error
	if p.salt, err = enc.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return nil, bad
	}
	if p.key, err = enc.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return nil, bad
	}
	return p, nil
}

// CheckPasswordHash reports whether pw matches the PHC hash, in constant
// time with respect to the key.
func CheckPasswordHash(hash, pw string) bool {
	p, err := parseHash(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// GeneratePassword returns a random password that passes CheckPassword
// (for the first start without ESA_ADMIN_PASSWORD).
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	for {
		b := make([]byte, 16)
		rand.Read(b)
		out := make([]byte, len(b))
		for i, c := range b {
			out[i] = alphabet[int(c)%len(alphabet)]
		}
		pw := string(out)
		if CheckPassword("", pw) == nil {
			return pw
		}
	}
}

// AuthorizesKey reports whether key is among u's authorized keys.
func (u *User) AuthorizesKey(key ssh.PublicKey) bool {
	want := key.Marshal()
	for _, line := range u.AuthorizedKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err == nil && subtle.ConstantTimeCompare(k.Marshal(), want) == 1 {
			return true
		}
	}
	return false
}
