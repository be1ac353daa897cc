package destinations

import (
	"net/netip"
	"strings"
)

// Effective is the settings that apply to one recipient domain: the
// matching entry's own settings, the default destination's for the rest.
// Every field has a value.
type Effective struct {
	// Entry is the destination that matched ("example.com",
	// ".example.com", "192.0.2.1"), or "" when only the default applies.
	Entry string

	Concurrency           int
	MessagesPerConnection int
	// RecipientLimit recipients per RecipientMinutes; 0 means no limit.
	RecipientLimit   int
	RecipientMinutes int
	LimitType        LimitType
	LimitApply       LimitApply

	TLS  TLS
	DANE DANE

	BounceVerification bool
	BounceProfile      string
	IPSort             IPSort

	// AlertOnTLSFailure is the global setting (the outbound certificate
	// is certconfig's: certs.Table.Outbound).
	AlertOnTLSFailure bool
}

// Lookup returns the settings for mail to domain (the part of a recipient
// address after the @, or an address literal such as [192.0.2.1]). The
// most specific entry wins: the domain itself, then the partial domain
// with the longest suffix (.mail.example.com before .example.com); a
// partial domain does not match the bare domain it names. With no entry
// the default destination applies. Lookup is pure and does not change t.
func (t *Table) Lookup(domain string) Effective {
	key := lookupKey(domain)
	best, bestLen := -1, -1
	for i := range t.Entries {
		d := t.Entries[i].Domain
		switch {
		case d == key:
			return t.effective(i)
		case len(d) > bestLen && d[0] == '.' && len(key) > len(d) && strings.HasSuffix(key, d):
			best, bestLen = i, len(d)
		}
	}
	return t.effective(best)
}

// lookupKey puts a recipient domain in the form entries are kept in.
func lookupKey(domain string) string {
	if ip, ok := addressLiteral(domain); ok {
		return ip.String()
	}
	if a, err := netip.ParseAddr(domain); err == nil && a.Zone() == "" {
		return a.Unmap().String()
	}
	return strings.ToLower(strings.TrimSuffix(domain, "."))
}

// effective merges entry i (-1: none) over the default destination.
func (t *Table) effective(i int) Effective {
	d := t.Default
	e := Effective{
		Concurrency:           d.Concurrency,
		MessagesPerConnection: d.MessagesPerConnection,
		RecipientLimit:        d.RecipientLimit,
		RecipientMinutes:      d.RecipientMinutes,
		LimitType:             d.LimitType,
		LimitApply:            d.LimitApply,
		TLS:                   d.TLS,
		DANE:                  d.DANE,
		BounceVerification:    d.BounceVerification == On,
		BounceProfile:         d.BounceProfile,
		IPSort:                d.IPSort,
		AlertOnTLSFailure:     t.Global.AlertOnTLSFailure,
	}
	if i >= 0 {
		s := &t.Entries[i].Settings
		e.Entry = t.Entries[i].Domain
		if s.Concurrency != 0 {
			e.Concurrency = s.Concurrency
		}
		if s.MessagesPerConnection != 0 {
			e.MessagesPerConnection = s.MessagesPerConnection
		}
		if s.RecipientLimit != 0 {
			e.RecipientLimit, e.RecipientMinutes = s.RecipientLimit, s.RecipientMinutes
		}
		if s.LimitType != "" {
			e.LimitType, e.LimitApply = s.LimitType, s.LimitApply
		}
		if s.TLS != "" {
			e.TLS = s.TLS
			if s.DANE != "" {
				e.DANE = s.DANE
			}
		}
		if s.BounceVerification != "" {
			e.BounceVerification = s.BounceVerification == On
		}
		if s.BounceProfile != "" {
			e.BounceProfile = s.BounceProfile
		}
		if s.IPSort != "" {
			e.IPSort = s.IPSort
		}
	}
	// An entry choosing TLS No turns DANE off whatever the default says:
	// DANE authenticates TLS (RFC 7672 §2.2).
	if !e.TLS.Enabled() {
		e.DANE = DANENo
	}
	if e.BounceProfile == "" {
		e.BounceProfile = DefaultProfile
	}
	return e
}
