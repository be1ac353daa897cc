package destinations

// Table is the destination controls table.
type Table struct {
	// Global holds the SETUP settings, which apply to every destination.
	Global Global `xml:"global"`
	// Default is the default destination: every setting has a value, and
	// an entry's unset (Default) setting takes it.
	Default Settings `xml:"default"`
	// Entries are the destinations in the order they were added.
	Entries []Destination `xml:"entries>destination"`
}

// Global is destconfig SETUP (ESA-CLI.md §1.6): UG-9.1.2 p.653 says the
// outbound certificate and the TLS failure alert are global, not
// per-domain settings. The certificate SETUP chooses is certconfig's
// outbound certificate and lives in its table, not here, so the two
// commands never disagree on it.
type Global struct {
	// AlertOnTLSFailure sends a Warning system alert when a connection
	// whose TLS setting requires TLS fails to negotiate it.
	AlertOnTLSFailure bool `xml:"alert_on_tls_failure"`
}

// Destination is one entry: a domain and the settings it overrides.
type Destination struct {
	// Domain is a domain (example.com), a partial domain (.example.com,
	// which matches every subdomain of example.com but not example.com
	// itself) or an IP address (192.0.2.1, 2001:db8::1) that matches mail
	// to that address literal. It is kept in its canonical form (Domain).
	Domain   string `xml:"domain"`
	Settings `xml:"settings"`
}

// Settings are the delivery settings of a destination. In an entry a zero
// value means Default: the default destination's value applies. In the
// default destination every setting but the recipient limit and the
// bounce profile must have a value.
type Settings struct {
	// Concurrency is the maximum number of simultaneous connections
	// (RFC 5321 §4.5.4.1 leaves the sender's concurrency to it), 1 to
	// MaxConcurrency.
	Concurrency int `xml:"concurrency,omitempty"`
	// MessagesPerConnection is how many messages are sent over one
	// connection before it is closed and a new one opened.
	MessagesPerConnection int `xml:"messages_per_connection,omitempty"`
	// RecipientLimit is the maximum number of recipients delivered per
	// RecipientMinutes minutes (1 to 60). Both are set or both zero; in the
	// default destination zero means no recipient limit.
	RecipientLimit   int `xml:"recipient_limit,omitempty"`
	RecipientMinutes int `xml:"recipient_minutes,omitempty"`
	// LimitType says whether the concurrency and recipient limits count for
	// the whole domain or separately for each mail exchanger IP address;
	// LimitApply whether they count system-wide or per virtual gateway
	// address. Both are set exactly when the entry sets a concurrency or
	// recipient limit.
	LimitType  LimitType  `xml:"limit_type,omitempty"`
	LimitApply LimitApply `xml:"limit_apply,omitempty"`
	// TLS is the TLS setting 1–6 of seed 003.
	TLS TLS `xml:"tls,omitempty"`
	// DANE is the DANE support (SPEC.md §2); it is set only with a TLS
	// setting other than No.
	DANE DANE `xml:"dane,omitempty"`
	// BounceVerification says whether the envelope sender is tagged for
	// bounce verification.
	BounceVerification Toggle `xml:"bounce_verification,omitempty"`
	// BounceProfile names the bounce profile; empty is the profile named
	// DefaultProfile.
	BounceProfile string `xml:"bounce_profile,omitempty"`
	// IPSort orders the A and AAAA addresses of each MX preference level.
	IPSort IPSort `xml:"ip_sort,omitempty"`
}

// TLS is a TLS setting for delivery (seed 003, ESA-CLI.md §1.5).
type TLS string

// The TLS settings, in the order of the destconfig menu (1–6).
const (
	// TLSNo never negotiates TLS.
	TLSNo TLS = "No"
	// TLSPreferred tries STARTTLS; a failure before the 220 reply to
	// STARTTLS continues in clear, one after it does not fall back. The
	// certificate is not verified.
	TLSPreferred TLS = "Preferred"
	// TLSRequired sends only over TLS; the certificate is not verified.
	TLSRequired TLS = "Required"
	// TLSPreferredVerify negotiates TLS and tries to verify: unverified is
	// still sent encrypted, no TLS is sent in clear.
	TLSPreferredVerify TLS = "Preferred-Verify"
	// TLSRequiredVerify sends only when the chain verifies against the
	// trusted CAs and the name matches.
	TLSRequiredVerify TLS = "Required-Verify"
	// TLSRequiredVerifyHosted is TLSRequiredVerify with the presented
	// identity taken from the subjectAltName dNSName, the subject CN only
	// when there is no dNSName (RFC 6125 §6.4.4).
	TLSRequiredVerifyHosted TLS = "Required-Verify-Hosted-Domains"
)

// TLSSettings lists the TLS settings in menu order.
var TLSSettings = []TLS{TLSNo, TLSPreferred, TLSRequired, TLSPreferredVerify, TLSRequiredVerify, TLSRequiredVerifyHosted}

// tlsMenu is the text of each setting in the destconfig menu (ESA-CLI.md
// §1.5 and the seed's transcript).
var tlsMenu = []string{"No", "Preferred", "Required", "Preferred - Verify", "Required - Verify", "Required - Verify Hosted Domains"}

// TLSMenu returns the destconfig menu texts of the TLS settings, in order.
func TLSMenu() []string { return append([]string(nil), tlsMenu...) }

// Number is the setting's menu number (1–6), 0 for Default.
func (t TLS) Number() int { return indexOf(TLSSettings, t) + 1 }

// Menu is the setting's menu text ("Preferred - Verify"); Default for the
// zero value.
func (t TLS) Menu() string {
	if n := t.Number(); n > 0 {
		return tlsMenu[n-1]
	}
	return "Default"
}

// Enabled reports whether the setting negotiates TLS at all.
func (t TLS) Enabled() bool { return t != "" && t != TLSNo }

// Required reports whether a message is held rather than sent in clear
// when TLS cannot be negotiated.
func (t TLS) Required() bool {
	return t == TLSRequired || t == TLSRequiredVerify || t == TLSRequiredVerifyHosted
}

// Verify reports whether the certificate is checked.
func (t TLS) Verify() bool {
	return t == TLSPreferredVerify || t == TLSRequiredVerify || t == TLSRequiredVerifyHosted
}

// DANE is the DANE support of a destination (SPEC.md §2, RFC 7672).
type DANE string

// The DANE options, in menu order.
const (
	DANENo            DANE = "No"
	DANEOpportunistic DANE = "Opportunistic"
	DANEMandatory     DANE = "Mandatory"
)

// DANEOptions lists the DANE options in menu order.
var DANEOptions = []DANE{DANENo, DANEOpportunistic, DANEMandatory}

// Number is the option's menu number (1–3), 0 for Default.
func (d DANE) Number() int { return indexOf(DANEOptions, d) + 1 }

// Toggle is an on/off setting that an entry may leave at Default.
type Toggle string

const (
	On  Toggle = "On"
	Off Toggle = "Off"
)

// IPSort is how the addresses of one MX preference level are ordered.
type IPSort string

// The IP sort preferences, in menu order (ESA-CLI.md §1.3 #22).
const (
	PreferIPv4  IPSort = "Prefer IPv4"
	PreferIPv6  IPSort = "Prefer IPv6"
	RequireIPv4 IPSort = "Require IPv4"
	RequireIPv6 IPSort = "Require IPv6"
)

// IPSorts lists the IP sort preferences in menu order.
var IPSorts = []IPSort{PreferIPv4, PreferIPv6, RequireIPv4, RequireIPv6}

// Number is the preference's menu number (1–4), 0 for Default.
func (s IPSort) Number() int { return indexOf(IPSorts, s) + 1 }

// LimitType is what a concurrency or recipient limit counts.
type LimitType string

const (
	// PerDomain: one limit for the whole domain.
	PerDomain LimitType = "Domain"
	// PerMXIP: a separate limit for each mail exchanger IP address.
	PerMXIP LimitType = "MXIP"
)

// LimitApply is where a limit is enforced.
type LimitApply string

const (
	// SystemWide: across all the appliance's delivery addresses.
	SystemWide LimitApply = "System"
	// PerVirtualGateway: separately for each virtual gateway address. With
	// one delivery address, as this appliance has, it is the same as
	// SystemWide.
	PerVirtualGateway LimitApply = "VirtualGateway"
)

// DefaultProfile is the bounce profile every appliance has.
const DefaultProfile = "Default"

// Bounds of the numeric settings (the appliance's GUI ranges).
const (
	MaxConcurrency           = 1000
	MaxMessagesPerConnection = 1000
	MaxRecipientLimit        = 1000000000
	MaxRecipientMinutes      = 60
)

// Factory is the factory table: no entries, no TLS failure alert, and the
// appliance's default destination (500 connections per domain, 50 messages
// per connection, no recipient limit, TLS No, bounce verification off, the
// Default bounce profile, IPv6 preferred as the seed's LIST shows it).
func Factory() Table {
	return Table{
		Default: Settings{
			Concurrency:           500,
			MessagesPerConnection: 50,
			LimitType:             PerDomain,
			LimitApply:            SystemWide,
			TLS:                   TLSNo,
			DANE:                  DANENo,
			BounceVerification:    Off,
			IPSort:                PreferIPv6,
		},
	}
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}
