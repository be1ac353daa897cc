package users

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	if !CheckPasswordHash(h, "s3cret-pass") || CheckPasswordHash(h, "s3cret-pasS") || CheckPasswordHash(h, "") {
		t.Fatal("verification wrong")
	}
	h2, _ := HashPassword("s3cret-pass")
	if h2 == h {
		t.Fatal("no salt")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5"} {
		if CheckPasswordHash(bad, "x") {
			t.Fatalf("%q accepted", bad)
		}
		u := User{Name: "a", Role: Administrator, PasswordHash: bad}
		if bad != "" && u.Validate() == nil {
			t.Fatalf("Validate accepted hash %q", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	cases := map[string]string{
		"short1":           "at least 8",
		"onlyletters":      "letters and at least one digit",
		"12345678":         "letters and at least one digit",
		"admin123":         "",
		"Admin123":         "",
		"tab\there1":       "control characters",
		"Correct-Horse-42": "",
	}
	for pw, want := range cases {
		err := CheckPassword("someone", pw)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", pw, err, want)
		}
	}
	if err := CheckPassword("operator1", "OPERATOR1"); err == nil {
		t.Error("the user name accepted as password")
	}
	for i := 0; i < 20; i++ {
		if err := CheckPassword("admin", GeneratePassword()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValidate(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sp, _ := ssh.NewPublicKey(pub)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	good := []User{{Name: "admin", FullName: "Administrator", Role: Administrator, AuthorizedKeys: []string{key + " admin@laptop"}}, {Name: "ro", Role: ReadOnlyOperator}}
	if err := Validate(good); err != nil {
		t.Fatal(err)
	}
	if !good[0].AuthorizesKey(sp) || good[1].AuthorizesKey(sp) {
		t.Fatal("AuthorizesKey")
	}
	cases := []struct {
		us   []User
		want string
	}{
		{[]User{{Name: "Admin", Role: Administrator}}, "lower-case"},
		{[]User{{Name: "root", Role: Administrator}}, "reserved"},
		{[]User{{Name: "a", Role: "Boss"}}, `role must be one of Administrator, Operator, Read-Only Operator, Guest, not "Boss"`},
		{[]User{{Name: "a", Role: Administrator}, {Name: "a", Role: Guest}}, "defined twice"},
		{[]User{{Name: "a", Role: Guest}}, "at least one user must keep the Administrator role"},
		{[]User{{Name: "a", Role: Administrator, AuthorizedKeys: []string{"ssh-rsa AAAA"}}}, "authorized key 1"},
		{[]User{{Name: "a", Role: Administrator, FullName: "x\x1b[2J"}}, "full name"},
	}
	for _, c := range cases {
		if err := Validate(c.us); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.us, err, c.want)
		}
	}
	if !CanChangeConfig(Operator) || CanChangeConfig(ReadOnlyOperator) || CanChangeConfig(Guest) || CanManageUsers(Operator) {
		t.Fatal("role rights")
	}
}

func BenchmarkCheckPasswordHash(b *testing.B) {
	h, _ := HashPassword("s3cret-pass")
	for i := 0; i < b.N; i++ {
		CheckPasswordHash(h, "s3cret-pass")
	}
}
