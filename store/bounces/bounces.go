package bounces

import (
	"time"
)

// DefaultName is the name of the profile that is always present, used by
// every destination that names no other, and whose values the other
// profiles' "Default" settings take.
const DefaultName = "Default"

// Table is the bounceconfig table: the global setting of SETUP and the
// profiles, Default first.
type Table struct {
	// BounceUnknownHosts bounces at once every message queued for a domain
	// DNS says does not exist (NXDOMAIN, or neither MX nor address records:
	// RFC 5321 §5.1 makes that a permanent failure), instead of retrying it
	// as a temporary failure until the profile gives up.
	BounceUnknownHosts bool       `xml:"bounce_unknown_hosts"`
	Profiles           []Settings `xml:"profile"`
}

// Choice is an on/off setting of a profile: Yes, No, or (in a profile
// other than Default) Default, which takes the Default profile's value.
type Choice string

// The values of a Choice.
const (
	Yes     Choice = "yes"
	No      Choice = "no"
	Inherit Choice = "default"
)

// Settings is one bounce profile as configured. Times are in seconds, as
// bounceconfig asks them (and as the appliance's batch form names them:
// max_retries, max_queue_lifetime, ...).
type Settings struct {
	Name string `xml:"name"`
	// MaxRetries and MaxQueueLifetime: a message still undelivered after
	// this many retries, or this long in the queue, is hard bounced.
	MaxRetries       int `xml:"max_retries"`
	MaxQueueLifetime int `xml:"max_queue_lifetime"`
	// InitialRetry is the first wait before retrying a message; each
	// further wait doubles, up to MaxRetryTimeout.
	InitialRetry    int `xml:"initial_retry"`
	MaxRetryTimeout int `xml:"max_retry_timeout"`

	// SendBounces: send a message to the sender (or BounceAddress) for each
	// hard bounce.
	SendBounces Choice `xml:"send_bounces"`
	// UseDSN writes bounces as RFC 3464 delivery status notifications
	// (multipart/report), with BounceSubject as their subject.
	UseDSN        Choice `xml:"use_dsn_bounce_format"`
	BounceSubject string `xml:"bounce_subject"`
	// UseResponseCode takes the Status field of the generated DSN from the
	// remote server's enhanced status code (RFC 3463) instead of the
	// appliance's own classification.
	UseResponseCode Choice `xml:"use_bounce_response_code"`

	// SendWarnings sends a delay warning (RFC 3464 Action: delayed) every
	// WarningInterval seconds a message waits, at most MaxWarnings per
	// recipient.
	SendWarnings    Choice `xml:"send_warnings"`
	DelaySubject    string `xml:"delay_subject"`
	WarningInterval int    `xml:"send_warnings_interval"`
	MaxWarnings     int    `xml:"send_warnings_count"`

	// BounceAddress receives hard bounce and delay warning messages instead
	// of the envelope sender; "" means the sender.
	BounceAddress string `xml:"bounce_address,omitempty"`
	// From is the From: address of bounce and delay warning messages; ""
	// means MAILER-DAEMON at the appliance's host name, so that it follows
	// sethostname. (Their envelope sender is always null, RFC 5321 §4.5.5.)
	From string `xml:"from,omitempty"`
	// Sign signs bounce and delay messages with the domain's DKIM profile.
	Sign Choice `xml:"sign_bounce_messages"`

	// Default profile only (zero in the others, which take them from it):
	// the back-off for a host that cannot be reached at all, and how many
	// bytes of the original message a bounce quotes.
	HostInitialRetry    int `xml:"host_initial_retry,omitempty"`
	HostMaxRetryTimeout int `xml:"host_max_retry_timeout,omitempty"`
	MaxBounceCopy       int `xml:"max_bounce_copy,omitempty"`
}

// Factory values of the Default profile, the appliance's (ESA-CLI.md §10.2).
const (
	DefaultBounceSubject = "Delivery Status Notification (Failure)"
	DefaultDelaySubject  = "Delivery Status Notification (Delay)"
)

// DefaultProfile is the factory Default profile.
func DefaultProfile() Settings {
	return Settings{
		Name:                DefaultName,
		MaxRetries:          100,
		MaxQueueLifetime:    259200,
		InitialRetry:        60,
		MaxRetryTimeout:     3600,
		SendBounces:         Yes,
		UseDSN:              Yes,
		BounceSubject:       DefaultBounceSubject,
		UseResponseCode:     No,
		SendWarnings:        No,
		DelaySubject:        DefaultDelaySubject,
		WarningInterval:     14400,
		MaxWarnings:         1,
		Sign:                No,
		HostInitialRetry:    60,
		HostMaxRetryTimeout: 3600,
		MaxBounceCopy:       50000,
	}
}

// Defaults is the factory table: only the Default profile.
func Defaults() Table {
	return Table{BounceUnknownHosts: true, Profiles: []Settings{DefaultProfile()}}
}

// NewProfile returns a profile named name that starts from def's numbers
// and subjects and leaves every on/off setting to the Default profile.
func NewProfile(name string, def Settings) Settings {
	return Settings{
		Name:             name,
		MaxRetries:       def.MaxRetries,
		MaxQueueLifetime: def.MaxQueueLifetime,
		InitialRetry:     def.InitialRetry,
		MaxRetryTimeout:  def.MaxRetryTimeout,
		SendBounces:      Inherit,
		UseDSN:           Inherit,
		BounceSubject:    def.BounceSubject,
		UseResponseCode:  Inherit,
		SendWarnings:     Inherit,
		DelaySubject:     def.DelaySubject,
		WarningInterval:  def.WarningInterval,
		MaxWarnings:      def.MaxWarnings,
		Sign:             Inherit,
	}
}

// Profile is a bounce profile resolved for the delivery engine: every
// Default setting replaced by the Default profile's value, times as
// durations.
type Profile struct {
	Name             string
	MaxRetries       int
	MaxQueueLifetime time.Duration
	InitialRetry     time.Duration
	MaxRetryInterval time.Duration
	// Host back-off (from the Default profile).
	HostInitialRetry     time.Duration
	HostMaxRetryInterval time.Duration

	HardBounces     bool
	DSN             bool
	BounceSubject   string
	UseResponseCode bool
	MaxBounceCopy   int // bytes of the original message a bounce quotes

	DelayWarnings    bool
	DelaySubject     string
	WarningInterval  time.Duration
	MaxDelayWarnings int

	AlternateRecipient string // "" = the envelope sender
	From               string // "" = MAILER-DAEMON@<host name>
	Sign               bool
}

// Find returns the profile named name (exactly, as destconfig stores it).
func (t Table) Find(name string) (Settings, bool) {
	for _, p := range t.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Settings{}, false
}

// Default returns the Default profile (the factory one if a table read
// from somewhere unvalidated lacks it).
func (t Table) Default() Settings {
	if p, ok := t.Find(DefaultName); ok {
		return p
	}
	return DefaultProfile()
}

// Lookup resolves the profile named name. An unknown name (a destination
// naming a profile deleted since) gets the Default profile, the appliance's
// choice for a destination without one.
func (t Table) Lookup(name string) Profile {
	def := t.Default()
	p, ok := t.Find(name)
	if !ok {
		p = def
	}
	on := func(c, d Choice) bool {
		if c == Inherit {
			c = d
		}
		return c == Yes
	}
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	return Profile{
		Name:                 p.Name,
		MaxRetries:           p.MaxRetries,
		MaxQueueLifetime:     sec(p.MaxQueueLifetime),
		InitialRetry:         sec(p.InitialRetry),
		MaxRetryInterval:     sec(p.MaxRetryTimeout),
		HostInitialRetry:     sec(def.HostInitialRetry),
		HostMaxRetryInterval: sec(def.HostMaxRetryTimeout),
		HardBounces:          on(p.SendBounces, def.SendBounces),
		DSN:                  on(p.UseDSN, def.UseDSN),
		BounceSubject:        p.BounceSubject,
		UseResponseCode:      on(p.UseResponseCode, def.UseResponseCode),
		MaxBounceCopy:        def.MaxBounceCopy,
		DelayWarnings:        on(p.SendWarnings, def.SendWarnings),
		DelaySubject:         p.DelaySubject,
		WarningInterval:      sec(p.WarningInterval),
		MaxDelayWarnings:     p.MaxWarnings,
		AlternateRecipient:   p.BounceAddress,
		From:                 p.From,
		Sign:                 on(p.Sign, def.Sign),
	}
}

// RetryDelay is the wait before retry number n (1 for the first retry): the
// initial interval doubled for each earlier retry, capped at the maximum.
func (p Profile) RetryDelay(n int) time.Duration {
	return backoff(p.InitialRetry, p.MaxRetryInterval, n)
}

// HostRetryDelay is RetryDelay for a host that could not be reached.
func (p Profile) HostRetryDelay(n int) time.Duration {
	return backoff(p.HostInitialRetry, p.HostMaxRetryInterval, n)
}

func backoff(initial, max time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// GiveUp reports whether a message that has been retried retries times and
// has waited queued since it was queued is to be hard bounced rather than
// retried again.
func (p Profile) GiveUp(retries int, queued time.Duration) bool {
	return retries >= p.MaxRetries || queued >= p.MaxQueueLifetime
}

// WarningDue reports whether a delay warning is due for a recipient that
// has waited queued and already had sent warnings: one each full warning
// interval, at most MaxDelayWarnings.
func (p Profile) WarningDue(queued time.Duration, sent int) bool {
	if !p.DelayWarnings || sent >= p.MaxDelayWarnings || p.WarningInterval <= 0 {
		return false
	}
	return queued >= time.Duration(sent+1)*p.WarningInterval
}

// Recipient is where a bounce or delay warning for a message from sender
// goes: the alternate address when set, else the sender. A message with
// the null reverse path is itself a notification and gets none, not even
// at the alternate address (RFC 5321 §4.5.5, RFC 3464 §2.3.1: no
// notification about a notification, so two systems never loop): ok is
// false.
func (p Profile) Recipient(sender string) (addr string, ok bool) {
	switch {
	case sender == "":
		return "", false
	case p.AlternateRecipient != "":
		return p.AlternateRecipient, true
	}
	return sender, true
}

// FromAddress is the From: address of notifications sent by the appliance
// named hostname.
func (p Profile) FromAddress(hostname string) string {
	if p.From != "" {
		return p.From
	}
	return "MAILER-DAEMON@" + hostname
}
