package main

import (
	"crypto/rand"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/delivery/queue"
	"esa/store"
	"esa/store/bounces"
	"esa/store/destinations"
	"esa/store/domainkeys"
)

// The daemon's DKIM hooks read the committed domainkeysconfig table: the
// named verification profile (the built-in DEFAULT when it is gone), and
// the most specific DomainKeys and DKIM profiles for a signing identity,
// received mail signed only under a policy that signs (Envelope.Sign),
// system-generated mail only when SETUP says so.
func TestDomainKeysHooks(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := dkim.MarshalPrivateKeyPEM(key)
	s := st.NewSession("test")
	if err := s.Update(func(c *store.Config) error {
		t := &c.DomainKeys
		t.Keys = append(t.Keys, domainkeys.Key{Name: "k1", Key: domainkeys.PrivateKey(pemKey)})
		p := domainkeys.NewDKIMProfile("corp")
		p.Domain, p.Selector, p.KeyName, p.Users = "example.com", "s1", "k1", []string{"example.com"}
		t.Signing = append(t.Signing, p)
		strict := domainkeys.DefaultVerification()
		strict.Name, strict.MinKeyBits = "STRICT", 2048
		t.Verification = append(t.Verification, strict)
		t.SignSystemGenerated = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit("dkim", false); err != nil {
		t.Fatal(err)
	}
	prof := dkimProfileFor(st)
	if p := prof("STRICT"); p.MinKeyBits != 2048 {
		t.Fatalf("STRICT: %+v", p)
	}
	if p := prof(""); p.MinKeyBits != dkim.DefaultVerifyProfile().MinKeyBits {
		t.Fatalf("DEFAULT: %+v", p)
	}
	if p := prof("GONE"); p.MinKeyBits != dkim.DefaultVerifyProfile().MinKeyBits {
		t.Fatalf("a missing profile: %+v", p)
	}
	sign := signingFor(st)
	sigs, on := sign(queue.Envelope{ICID: 7, Relayed: true, Sign: true}, "joe@example.com")
	if !on || len(sigs) != 1 || sigs[0].Profile != "corp" || sigs[0].Match != "example.com" || sigs[0].DKIM == nil || sigs[0].DKIM.Selector != "s1" {
		t.Fatalf("signatures %+v %v", sigs, on)
	}
	if sigs, on := sign(queue.Envelope{ICID: 7, Relayed: true, Sign: true}, "joe@other.example"); !on || len(sigs) != 0 {
		t.Fatalf("an identity no profile matches: %+v %v (want none, and a 'cannot sign' line)", sigs, on)
	}
	// The policy's switch (HOSTACCESS "enable DKIM/DomainKeys signing")
	// is off: not signed, and nothing to log.
	if sigs, on := sign(queue.Envelope{ICID: 7, Relayed: true}, "joe@example.com"); on || len(sigs) != 0 {
		t.Fatalf("signed under a policy that does not sign: %+v %v", sigs, on)
	}
	// System-generated mail follows SETUP, whatever Envelope.Sign says.
	for _, env := range []queue.Envelope{{ICID: 0, Relayed: true, Sign: true}, {ICID: 0, Relayed: true, From: "dmarc@example.com"}} {
		if _, on := sign(env, "MAILER-DAEMON@example.com"); on {
			t.Fatalf("%+v signed although SETUP says not to", env)
		}
	}
	s = st.NewSession("test")
	if err := s.Update(func(c *store.Config) error { c.DomainKeys.SignSystemGenerated = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit("sign system mail", false); err != nil {
		t.Fatal(err)
	}
	if sigs, on := sign(queue.Envelope{ICID: 0, Relayed: true, From: "dmarc@example.com"}, "dmarc@example.com"); !on || len(sigs) != 1 {
		t.Fatalf("a DMARC report with SETUP on: %+v %v", sigs, on)
	}
	if signUseFrom(st)() {
		t.Fatal("use From: set by default")
	}
}

// bounceconfig's "Do you want bounce and delay messages to be signed?"
// reaches the delivery engine's bounce profile of every destination that
// uses the profile (Default's value where a profile says Default), which
// is what lets the engine sign the notices (outbound/sign.go).
func TestBounceSigningReachesEngine(t *testing.T) {
	c := &store.Config{}
	c.System.Hostname = "esa.example.com"
	c.Bounces = bounces.Defaults()
	if policyFrom(c, "example.net").Bounce.Sign {
		t.Fatal("the factory Default profile signs notices")
	}
	c.Bounces.Profiles[0].Sign = bounces.Yes
	signing := bounces.NewProfile("signing", c.Bounces.Profiles[0])
	quiet := bounces.NewProfile("quiet", c.Bounces.Profiles[0])
	quiet.Sign = bounces.No
	c.Bounces.Profiles = append(c.Bounces.Profiles, signing, quiet)
	c.Destinations = destinations.Factory()
	for name, want := range map[string]bool{"Default": true, "signing": true, "quiet": false} {
		c.Destinations.Default.BounceProfile = name
		if got := policyFrom(c, "example.net").Bounce.Sign; got != want {
			t.Errorf("bounce profile %q: Sign %v, want %v", name, got, want)
		}
	}
}
