package bounces

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultsValid(t *testing.T) {
	tb := Defaults()
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(tb.Profiles) != 1 || tb.Profiles[0].Name != DefaultName {
		t.Fatalf("factory profiles %+v", tb.Profiles)
	}
	p := NewProfile("strict", tb.Profiles[0])
	tb.Profiles = append(tb.Profiles, p)
	if err := tb.Validate(); err != nil {
		t.Fatalf("a new profile is refused: %v", err)
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	def := DefaultProfile()
	other := NewProfile("other", def)
	cases := []struct {
		name string
		edit func(tb *Table)
		want string
	}{
		{"no profiles", func(tb *Table) { tb.Profiles = nil }, "the first profile must be Default"},
		{"default not first", func(tb *Table) { tb.Profiles = []Settings{other, def} }, "the first profile must be Default"},
		{"duplicate in another case", func(tb *Table) {
			o := other
			o.Name = "OTHER"
			tb.Profiles = append(tb.Profiles, other, o)
		}, `profile "OTHER": Profile name already in use`},
		{"second default", func(tb *Table) {
			d := NewProfile("default", def)
			tb.Profiles = append(tb.Profiles, d)
		}, `profile "default": Profile name already in use`},
		{"name starts with a digit", func(tb *Table) {
			o := other
			o.Name = "1st"
			tb.Profiles = append(tb.Profiles, o)
		}, `profile name "1st": The bounce profile name must start with a letter or underscore`},
		{"name with a space", func(tb *Table) {
			o := other
			o.Name = "a b"
			tb.Profiles = append(tb.Profiles, o)
		}, `profile name "a b": Valid characters are`},
		{"inherit in Default", func(tb *Table) { tb.Profiles[0].Sign = Inherit }, `profile "Default": sign_bounce_messages must be yes or no, not "default"`},
		{"bad choice", func(tb *Table) {
			o := other
			o.UseDSN = "maybe"
			tb.Profiles = append(tb.Profiles, o)
		}, `profile "other": use_dsn_bounce_format must be yes, no or default, not "maybe"`},
		{"max retry below initial", func(tb *Table) { tb.Profiles[0].MaxRetryTimeout = 30 }, `profile "Default": max_retry_timeout must be 60 to 3000000, got 30`},
		{"negative retries", func(tb *Table) { tb.Profiles[0].MaxRetries = -1 }, `max_retries must be 0 to 10000, got -1`},
		{"zero warnings", func(tb *Table) { tb.Profiles[0].MaxWarnings = 0 }, `send_warnings_count must be 1 to 100, got 0`},
		{"host settings outside Default", func(tb *Table) {
			o := other
			o.HostInitialRetry = 5
			tb.Profiles = append(tb.Profiles, o)
		}, `profile "other": host retry times and the bounce copy size belong to the Default profile only`},
		{"subject with a newline", func(tb *Table) { tb.Profiles[0].BounceSubject = "a\r\nBcc: x@example.com" }, `bounce_subject: the subject must be one line without control characters`},
		{"empty subject", func(tb *Table) { tb.Profiles[0].DelaySubject = " " }, `delay_subject: the subject must not be empty`},
		{"bad alternate address", func(tb *Table) { tb.Profiles[0].BounceAddress = "postmaster" }, `bounce_address "postmaster" is not an email address`},
		{"upper-case domain in From", func(tb *Table) { tb.Profiles[0].From = "bounce@Example.com" }, `from "bounce@Example.com" is not an email address`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := Defaults()
			c.edit(&tb)
			err := tb.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestLookup: a profile's Default settings take the Default profile's
// values, its own settings win, the host back-off and bounce copy size
// always come from Default, and an unknown name gets Default.
func TestLookup(t *testing.T) {
	tb := Defaults()
	tb.Profiles[0].SendWarnings = Yes
	tb.Profiles[0].Sign = Yes
	tb.Profiles[0].HostInitialRetry = 30
	tb.Profiles[0].MaxBounceCopy = 1000
	p := NewProfile("quiet", tb.Profiles[0])
	p.SendBounces = No
	p.MaxRetries = 3
	p.MaxQueueLifetime = 600
	p.BounceAddress = "bounces@example.com"
	tb.Profiles = append(tb.Profiles, p)
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}

	q := tb.Lookup("quiet")
	want := Profile{
		Name: "quiet", MaxRetries: 3, MaxQueueLifetime: 10 * time.Minute,
		InitialRetry: time.Minute, MaxRetryInterval: time.Hour,
		HostInitialRetry: 30 * time.Second, HostMaxRetryInterval: time.Hour,
		HardBounces: false, DSN: true, BounceSubject: DefaultBounceSubject, UseResponseCode: false,
		MaxBounceCopy: 1000, DelayWarnings: true, DelaySubject: DefaultDelaySubject,
		WarningInterval: 4 * time.Hour, MaxDelayWarnings: 1,
		AlternateRecipient: "bounces@example.com", Sign: true,
	}
	if q != want {
		t.Errorf("Lookup(quiet):\n got %+v\nwant %+v", q, want)
	}
	if d := tb.Lookup("deleted-since"); d.Name != DefaultName || !d.HardBounces {
		t.Errorf("unknown profile resolved to %+v", d)
	}
	if d := tb.Lookup(DefaultName); d.Name != DefaultName || d.MaxRetries != 100 || d.AlternateRecipient != "" {
		t.Errorf("Lookup(Default) = %+v", d)
	}
}

func TestRetrySchedule(t *testing.T) {
	p := Defaults().Lookup(DefaultName)
	var got []time.Duration
	for n := 1; n <= 8; n++ {
		got = append(got, p.RetryDelay(n))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("retry delays %v, want %v", got, want)
		}
	}
	if d := p.RetryDelay(1 << 30); d != time.Hour {
		t.Errorf("retry %d waits %v", 1<<30, d)
	}
	p.HostInitialRetry, p.HostMaxRetryInterval = 10*time.Second, 25*time.Second
	if a, b, c := p.HostRetryDelay(1), p.HostRetryDelay(2), p.HostRetryDelay(3); a != 10*time.Second || b != 20*time.Second || c != 25*time.Second {
		t.Errorf("host delays %v %v %v", a, b, c)
	}
}

func TestGiveUpAndWarnings(t *testing.T) {
	p := Defaults().Lookup(DefaultName)
	for _, c := range []struct {
		retries int
		queued  time.Duration
		want    bool
	}{
		{0, 0, false}, {99, 71 * time.Hour, false}, {100, time.Minute, true}, {5, 72 * time.Hour, true},
	} {
		if got := p.GiveUp(c.retries, c.queued); got != c.want {
			t.Errorf("GiveUp(%d, %v) = %v", c.retries, c.queued, got)
		}
	}
	if p.WarningDue(5*time.Hour, 0) {
		t.Error("a warning is due although the factory profile sends none")
	}
	p.DelayWarnings, p.MaxDelayWarnings = true, 2
	for _, c := range []struct {
		queued time.Duration
		sent   int
		want   bool
	}{
		{3 * time.Hour, 0, false}, {4 * time.Hour, 0, true}, {5 * time.Hour, 1, false},
		{8 * time.Hour, 1, true}, {20 * time.Hour, 2, false},
	} {
		if got := p.WarningDue(c.queued, c.sent); got != c.want {
			t.Errorf("WarningDue(%v, %d) = %v", c.queued, c.sent, got)
		}
	}
}

func TestRecipientAndFrom(t *testing.T) {
	p := Defaults().Lookup(DefaultName)
	if a, ok := p.Recipient("joe@example.com"); !ok || a != "joe@example.com" {
		t.Errorf("Recipient = %q %v", a, ok)
	}
	if _, ok := p.Recipient(""); ok {
		t.Error("a notification about a null-sender message")
	}
	p.AlternateRecipient = "admin@example.net"
	if a, ok := p.Recipient("joe@example.com"); !ok || a != "admin@example.net" {
		t.Errorf("Recipient with alternate = %q %v", a, ok)
	}
	if _, ok := p.Recipient(""); ok {
		t.Error("a notification about a null-sender message went to the alternate address")
	}
	if f := p.FromAddress("mail.example.com"); f != "MAILER-DAEMON@mail.example.com" {
		t.Errorf("From = %q", f)
	}
	p.From = "bounces@example.com"
	if f := p.FromAddress("mail.example.com"); f != "bounces@example.com" {
		t.Errorf("From = %q", f)
	}
}

func TestIsAddress(t *testing.T) {
	for a, want := range map[string]bool{
		"joe@example.com": true, "o'hara+x@mail.example.co.uk": true, "a@b": true,
		"@example.com": false, "joe@": false, "joe@example..com": false, "jo e@example.com": false,
		"joe@-x.com": false, "joe@example.123": false, strings.Repeat("a", 65) + "@x.com": false,
		".joe@example.com": false,
	} {
		if got := IsAddress(a); got != want {
			t.Errorf("IsAddress(%q) = %v", a, got)
		}
	}
}
