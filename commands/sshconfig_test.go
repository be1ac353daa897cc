package commands

import (
	"crypto/ed25519"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"esa/store/users"
)

// Fixed public keys, so fingerprints in transcripts do not change.
const (
	testEd25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPqnAjn0ZyMJnVHbub/XoV/kYuPnyAfb0X+a5HMBdZbq ops@laptop"
	testRSAKey     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDGxsGIRQ1E9gi1vgbvOU+k/sBwBm/o5izIzFvEeZXzTaFQpz/8Jy09+Kx+SWvvLvrPERvt/tQSxxNKdtWdqQLG/WuUc1JiC8kUYNo1gqdrDqJL8qwGiT7e6aC5uo0MDOY/FHPh3okcONmD8j5z51jSi1I/8dJ3tOcHrUMSlT6w1fdl7NQ1chkV8toA07PT3kbvj8iWzEGWbZl8GBBtxQVhWWNWW5N/nhoudVsXQiFfHAUHGZhrZPXUeGBvFp/xjKC8FNDhlcFt3fLFPtP289/ex1I4B6eNzBf7FN3mqCwzxpbQndbaP1iX5kmeODanRb5EcLo58XAYwALqc/oHqPXX"
)

// withSSHServer gives env a running SSH server's settings and host keys:
// an Ed25519 key from a fixed seed and the fixed RSA key.
func withSSHServer(t *testing.T, env *Env) {
	withUsers(t, env)
	ed, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		t.Fatal(err)
	}
	rsa, _, _, _, err := ssh.ParseAuthorizedKey([]byte(testRSAKey))
	if err != nil {
		t.Fatal(err)
	}
	env.HostKeys = func() ([]ssh.PublicKey, error) { return []ssh.PublicKey{ed, rsa}, nil }
	env.SSHServer = func() SSHSettings {
		return SSHSettings{Addr: "127.0.0.1:2222", Password: true, PublicKey: true, MaxAuthTries: 6,
			FailureLimit: 5, FailureWindow: 15 * time.Minute, IdleTimeout: 10 * time.Minute}
	}
}

func init() {
	transcripts["sshconfig_sshd"] = transcript{setup: withSSHServer}
	transcripts["sshconfig_no_server"] = transcript{setup: withUsers}
	transcripts["sshconfig_userkeys"] = transcript{setup: withUsers, check: func(t *testing.T, env *Env) {
		admin := committedUser(t, env, "admin")
		if len(admin.AuthorizedKeys) != 1 || admin.AuthorizedKeys[0] != testRSAKey+" admin@desk" {
			t.Errorf("admin's keys = %q", admin.AuthorizedKeys)
		}
		if ops := committedUser(t, env, "ops"); len(ops.AuthorizedKeys) != 0 {
			t.Errorf("ops's key was not deleted: %q", ops.AuthorizedKeys)
		}
		k, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(testRSAKey))
		if !admin.AuthorizesKey(k) {
			t.Errorf("the added key does not authorize admin")
		}
	}}
	transcripts["sshconfig_readonly"] = transcript{setup: func(t *testing.T, env *Env) {
		withUsers(t, env)
		commitUsers(t, env, append(env.Store.Committed().Users.Users,
			users.User{Name: "viewer", FullName: "Vic Viewer", Role: users.ReadOnlyOperator, AuthorizedKeys: []string{testEd25519Key}}))
		env.User, env.Role = "viewer", users.ReadOnlyOperator
	}}
}

func TestParseKeyLine(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"", "ssh-ed25519", "ssh-ed25519 AAAA", "not a key",
		`from="10.0.0.1" ` + testEd25519Key,
		testEd25519Key + "\n" + testRSAKey,
	} {
		if _, _, err := parseKeyLine(bad); err == nil {
			t.Errorf("parseKeyLine(%q) accepted", bad)
		}
	}
	line, k, err := parseKeyLine("  " + testEd25519Key + "  ")
	if err != nil || line != testEd25519Key || k.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("parseKeyLine = %q, %v, %v", line, k, err)
	}
}

func FuzzParseKeyLine(f *testing.F) {
	f.Add(testEd25519Key)
	f.Add(testRSAKey)
	f.Add(`command="x" ` + testEd25519Key)
	f.Add("ssh-ed25519 AAAA\x00")
	f.Fuzz(func(t *testing.T, s string) {
		line, k, err := parseKeyLine(s)
		if err != nil {
			return
		}
		// What is accepted is stored canonical, parses again to the same
		// key and passes the users table's validation.
		line2, k2, err := parseKeyLine(line)
		if err != nil || line2 != line || string(k2.Marshal()) != string(k.Marshal()) {
			t.Fatalf("%q: canonical %q reparsed to %q, %v", s, line, line2, err)
		}
		u := users.User{Name: "x", FullName: "x", Role: users.Guest, AuthorizedKeys: []string{line}}
		if err := u.Validate(); err != nil {
			t.Fatalf("%q accepted but the store refuses it: %v", s, err)
		}
	})
}
