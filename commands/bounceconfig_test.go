package commands

import (
	"testing"

	"esa/store"
	"esa/store/bounces"
)

// The bounceconfig transcripts and the profiles each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"bounceconfig_new":          {check: checkNewProfile},
		"bounceconfig_edit_default": {check: checkEditedDefault},
		"bounceconfig_delete":       {setup: profilesInUse, check: checkDeletedProfile},
	} {
		transcripts[name] = tc
	}
}

func checkNewProfile(t *testing.T, env *Env) {
	tb := env.Store.Committed().Bounces
	if len(tb.Profiles) != 2 {
		t.Fatalf("profiles %+v", tb.Profiles)
	}
	if tb.Profiles[0] != bounces.DefaultProfile() {
		t.Errorf("Default changed: %+v", tb.Profiles[0])
	}
	want := bounces.Settings{
		Name: "_strict", MaxRetries: 10, MaxQueueLifetime: 3600, InitialRetry: 120, MaxRetryTimeout: 600,
		SendBounces: bounces.Inherit, UseDSN: bounces.Yes, BounceSubject: "Urgent: delivery failed",
		UseResponseCode: bounces.No, SendWarnings: bounces.Yes, DelaySubject: bounces.DefaultDelaySubject,
		WarningInterval: 1800, MaxWarnings: 3, BounceAddress: "Postmaster@example.com",
		From: "bounces@example.com", Sign: bounces.Inherit,
	}
	if tb.Profiles[1] != want {
		t.Errorf("new profile\n got %+v\nwant %+v", tb.Profiles[1], want)
	}
	// What the delivery engine gets: Default's values where the profile
	// says Default.
	p := tb.Lookup("_strict")
	if !p.HardBounces || !p.DelayWarnings || p.Sign || p.AlternateRecipient != "Postmaster@example.com" {
		t.Errorf("resolved %+v", p)
	}
}

func checkEditedDefault(t *testing.T, env *Env) {
	got := env.Store.Committed().Bounces.Profiles[0]
	want := bounces.DefaultProfile()
	want.MaxRetries, want.MaxQueueLifetime, want.InitialRetry, want.MaxRetryTimeout = 50, 86400, 30, 120
	want.HostInitialRetry, want.HostMaxRetryTimeout = 20, 40
	want.SendBounces, want.SendWarnings, want.DelaySubject = bounces.No, bounces.Yes, "Delay on your message"
	want.WarningInterval, want.MaxWarnings, want.Sign = 7200, 2, bounces.Yes
	if got != want {
		t.Errorf("Default profile\n got %+v\nwant %+v", got, want)
	}
}

// profilesInUse commits two more profiles, one named by the default
// destination.
func profilesInUse(t *testing.T, env *Env) {
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		def := c.Bounces.Default()
		c.Bounces.Profiles = append(c.Bounces.Profiles, bounces.NewProfile("inuse", def), bounces.NewProfile("spare", def))
		c.Destinations.Default.BounceProfile = "inuse"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("profiles", false); err != nil {
		t.Fatal(err)
	}
}

func checkDeletedProfile(t *testing.T, env *Env) {
	tb := env.Session.Config().Bounces
	if len(tb.Profiles) != 2 || tb.Profiles[0].Name != bounces.DefaultName || tb.Profiles[1].Name != "inuse" {
		t.Errorf("profiles after DELETE: %+v", tb.Profiles)
	}
	if tb.BounceUnknownHosts {
		t.Error("SETUP did not turn bouncing unknown hosts off")
	}
}

func init() {
	transcripts["bounceconfig_edit"] = transcript{setup: customProfile, check: func(t *testing.T, env *Env) {
		if env.Session.Pending() {
			t.Errorf("taking every offered value changed %v", env.Session.Changed())
		}
	}}
}

// customProfile commits a profile with a value of its own everywhere.
func customProfile(t *testing.T, env *Env) {
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		p := bounces.NewProfile("custom", c.Bounces.Default())
		p.MaxRetries, p.MaxQueueLifetime, p.InitialRetry, p.MaxRetryTimeout = 7, 7200, 90, 900
		p.SendBounces, p.UseDSN, p.UseResponseCode, p.SendWarnings, p.Sign = bounces.Yes, bounces.Inherit, bounces.Yes, bounces.Yes, bounces.No
		p.BounceSubject, p.DelaySubject, p.WarningInterval, p.MaxWarnings = "Failed", "Waiting", 600, 4
		p.BounceAddress, p.From = "ops@example.com", "noreply@example.com"
		c.Bounces.Profiles = append(c.Bounces.Profiles, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("custom", false); err != nil {
		t.Fatal(err)
	}
}

func init() {
	transcripts["bounceconfig_eof"] = transcript{check: func(t *testing.T, env *Env) {
		if env.Session.Pending() {
			t.Errorf("an abandoned operation left pending changes in %v", env.Session.Changed())
		}
	}}
}
