package outbound

import (
	"net/netip"
	"strings"
	"time"
)

// TLSMode is the destination's TLS setting (destconfig, seed 003).
type TLSMode int

const (
	// TLSNo never negotiates TLS (setting 1).
	TLSNo TLSMode = iota + 1
	// TLSPreferred tries STARTTLS; when it fails before the server's 220
	// reply to STARTTLS the transaction continues in clear on the same
	// connection; after the 220 there is no fall-back (setting 2).
	TLSPreferred
	// TLSRequired needs TLS, certificate not checked (setting 3).
	TLSRequired
	// TLSPreferredVerify is TLSPreferred that tries to verify the
	// certificate and delivers encrypted even when it does not verify
	// (setting 4).
	TLSPreferredVerify
	// TLSRequiredVerify needs TLS and a chain that verifies against the
	// CA pool, presenting the domain's or the MX host's name (setting 5).
	TLSRequiredVerify
	// TLSRequiredVerifyHosted is TLSRequiredVerify with the strict identity
	// rule: the subjectAltName dNSNames alone when there is one, the
	// subject CN only when there is none (setting 6, RFC 6125 §6.4.4).
	TLSRequiredVerifyHosted
)

var tlsModeNames = [...]string{"", "No", "Preferred", "Required", "Preferred - Verify", "Required - Verify", "Required - Verify Hosted Domains"}

func (m TLSMode) String() string {
	if m < TLSNo || m > TLSRequiredVerifyHosted {
		return "Default"
	}
	return tlsModeNames[m]
}

func (m TLSMode) required() bool {
	return m == TLSRequired || m == TLSRequiredVerify || m == TLSRequiredVerifyHosted
}

// DANEMode is the destination's DANE support (SPEC.md §2).
type DANEMode int

const (
	DANENo DANEMode = iota
	// DANEOpportunistic: DANE where the domain publishes it securely; an
	// insecure or absent TLSA falls back to the TLS setting, a bogus or
	// mismatching one holds the message.
	DANEOpportunistic
	// DANEMandatory: anything short of a secure MX, secure addresses and a
	// matching secure TLSA holds the message.
	DANEMandatory
)

func (d DANEMode) String() string {
	return [...]string{"No", "Opportunistic", "Mandatory"}[d]
}

// IPSort is the IP sort preference of a destination.
type IPSort int

const (
	IPv4Preferred IPSort = iota // IPv4 addresses first, then IPv6 (the default)
	IPv6Preferred               // IPv6 first, then IPv4
	IPv4Required                // IPv4 only
	IPv6Required                // IPv6 only
)

// sortAddrs orders (and filters) one host's addresses.
func (p IPSort) sortAddrs(in []netip.Addr) []netip.Addr {
	var v4, v6 []netip.Addr
	for _, a := range in {
		if a.Unmap().Is4() {
			v4 = append(v4, a.Unmap())
		} else {
			v6 = append(v6, a)
		}
	}
	switch p {
	case IPv6Preferred:
		return append(v6, v4...)
	case IPv4Required:
		return v4
	case IPv6Required:
		return v6
	}
	return append(v4, v6...)
}

// Bounce is a bounce profile (bounceconfig).
type Bounce struct {
	MaxRetries     int           // attempts before bouncing (0: no limit but MaxQueueTime)
	MaxQueueTime   time.Duration // time in queue before bouncing
	InitialRetry   time.Duration // first back-off
	MaxRetry       time.Duration // largest back-off
	HardBounce     bool          // send RFC 3464 bounces
	DelayWarning   bool          // send one delay notice on the first temporary failure
	BounceFrom     string        // the bounce's From: header address (default MAILER-DAEMON@HeloName)
	DelayRecipient string        // delay notices go here instead of the sender when set
	Sign           bool          // bounces and delay notices may be DKIM/DomainKeys signed (sign.go)
}

// DefaultBounce is the appliance's Default bounce profile.
var DefaultBounce = Bounce{
	MaxRetries:   100,
	MaxQueueTime: 72 * time.Hour,
	InitialRetry: 60 * time.Second,
	MaxRetry:     3600 * time.Second,
	HardBounce:   true,
}

// backoff is the wait after the n-th failed attempt (n ≥ 1): the initial
// interval doubled each time, capped at the maximum.
func (b Bounce) backoff(n int) time.Duration {
	d := b.InitialRetry
	if d <= 0 {
		d = time.Minute
	}
	for i := 1; i < n && (b.MaxRetry <= 0 || d < b.MaxRetry); i++ {
		d *= 2
	}
	if b.MaxRetry > 0 && d > b.MaxRetry {
		d = b.MaxRetry
	}
	return d
}

// Policy is one destination's controls (destconfig).
type Policy struct {
	// Concurrency is the number of simultaneous connections (default 500),
	// counted per domain or, with PerIP, per MX address.
	Concurrency int
	PerIP       bool
	// MessagesPerConn is how many messages one connection carries before
	// it is closed (default 50).
	MessagesPerConn int
	// RecipientLimit recipients per RecipientWindow (0: unlimited).
	RecipientLimit  int
	RecipientWindow time.Duration
	TLS             TLSMode
	DANE            DANEMode
	IPSort          IPSort
	Bounce          Bounce
}

func (p Policy) normalised() Policy {
	if p.Concurrency <= 0 {
		p.Concurrency = 500
	}
	if p.MessagesPerConn <= 0 {
		p.MessagesPerConn = 50
	}
	if p.TLS < TLSNo || p.TLS > TLSRequiredVerifyHosted {
		p.TLS = TLSNo
	}
	if p.RecipientWindow <= 0 {
		p.RecipientWindow = time.Hour
	}
	if p.Bounce == (Bounce{}) {
		p.Bounce = DefaultBounce
	}
	return p
}

// RouteHost is one smtproutes destination: a host name or IP literal, its
// priority (lower first, like MX preference) and port (0: the MX port).
type RouteHost struct {
	Host     string
	Priority int
	Port     int
}

// Route is an SMTP route (smtproutes) for a domain.
type Route struct {
	Hosts []RouteHost
	// UseDNS: deliver by MX lookup after all (USEDNS).
	UseDNS bool
	// DevNull: accept and discard (/dev/null).
	DevNull bool
}

// domainOf is the recipient domain, lower-cased, as the per-destination
// queues are keyed.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	}
	return ""
}
