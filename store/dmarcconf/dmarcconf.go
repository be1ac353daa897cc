// Package dmarcconf is the dmarcconfig table (ESA-CLI.md §8, SPEC.md §4):
// DMARC verification profiles, which the mail-flow policies name, and the
// global DMARC settings (aggregate reports, bypass lists).
package dmarcconf

import (
	"errors"
	"fmt"
	"strings"
)

// Message actions of a profile for the domain owner's p=reject and
// p=quarantine, and SMTP actions for temporary and permanent failures.
const (
	ActionNone       = "none"
	ActionQuarantine = "quarantine"
	ActionReject     = "reject"
	ActionAccept     = "accept"
)

// DefaultProfile is the name of the profile a fresh appliance has and a
// policy uses when it names none.
const DefaultProfile = "DEFAULT"

// Table is the whole dmarcconfig configuration.
type Table struct {
	Profiles []Profile `xml:"profile"`
	Settings Settings  `xml:"settings"`
}

// Profile is one DMARC verification profile (seed 004, "DMARC 検証プロファイル").
type Profile struct {
	Name string `xml:"name"`
	// RejectAction is what to do when the domain owner's policy is
	// reject: ActionNone, ActionQuarantine or ActionReject.
	RejectAction     string `xml:"reject_action"`
	RejectQuarantine string `xml:"reject_quarantine,omitempty"`
	RejectCode       int    `xml:"reject_code"`
	RejectText       string `xml:"reject_text"`
	// QuarantineAction is what to do when the policy is quarantine:
	// ActionNone or ActionQuarantine.
	QuarantineAction     string `xml:"quarantine_action"`
	QuarantineQuarantine string `xml:"quarantine_quarantine,omitempty"`
	// TempFailAction and PermFailAction: ActionAccept or ActionReject.
	TempFailAction string `xml:"tempfail_action"`
	TempFailCode   int    `xml:"tempfail_code"`
	TempFailText   string `xml:"tempfail_text"`
	PermFailAction string `xml:"permfail_action"`
	PermFailCode   int    `xml:"permfail_code"`
	PermFailText   string `xml:"permfail_text"`
}

// Settings are dmarcconfig SETUP's global settings.
type Settings struct {
	// ReportTime is when the daily aggregate reports are generated,
	// "HH:MM" in the appliance's time zone (UTC).
	ReportTime   string `xml:"report_time"`
	ErrorReports bool   `xml:"error_reports"`
	// Entity is the reporting organisation (org_name) and Contact the
	// extra_contact_info of the reports.
	Entity  string `xml:"entity"`
	Contact string `xml:"contact,omitempty"`
	// ReturnAddress is the From: of the reports (seed: "DMARC
	// フィードバック レポートの返信アドレス").
	ReturnAddress string `xml:"return_address,omitempty"`
	// CopyTo receives a copy of every aggregate report.
	CopyTo []string `xml:"copy_to,omitempty"`
	// BypassAddresses are envelope senders (address, @domain or domain)
	// whose mail is not DMARC verified; BypassHeaders are header names
	// whose presence skips verification.
	BypassAddresses []string `xml:"bypass_address,omitempty"`
	BypassHeaders   []string `xml:"bypass_header,omitempty"`
	// Rules picks the DMARC specification: "rfc7489" (organizational
	// domain from the public suffix list) or "dmarcbis" (DNS tree walk).
	Rules string `xml:"rules"`
}

// Specifications Settings.Rules names.
const (
	RulesRFC7489  = "rfc7489"
	RulesDMARCbis = "dmarcbis"
)

// ReturnAddress is the From: of the reports: the configured one, else the
// appliance's default noreply-dmarc-support@<hostname> (seed 004, "DMARC
// フィードバック レポートの返信アドレスの設定").
func (s Settings) Return(hostname string) string {
	if s.ReturnAddress != "" {
		return s.ReturnAddress
	}
	return "noreply-dmarc-support@" + hostname
}

// Factory is a fresh appliance's table: the DEFAULT profile with the
// seed's defaults.
func Factory() Table {
	return Table{
		Profiles: []Profile{NewProfile(DefaultProfile)},
		Settings: Settings{ReportTime: "00:00", Rules: "rfc7489"},
	}
}

// NewProfile is a profile with the defaults of dmarcconfig NEW.
func NewProfile(name string) Profile {
	return Profile{
		Name:                 name,
		RejectAction:         ActionReject,
		RejectCode:           550,
		RejectText:           "#5.7.1 DMARC unauthenticated mail is prohibited",
		QuarantineAction:     ActionQuarantine,
		QuarantineQuarantine: "Policy",
		TempFailAction:       ActionAccept,
		TempFailCode:         451,
		TempFailText:         "#4.7.1 Unable to perform DMARC verification",
		PermFailAction:       ActionAccept,
		PermFailCode:         550,
		PermFailText:         "#5.7.1 DMARC verification failed",
	}
}

// Profile returns the named profile, or nil.
func (t *Table) Profile(name string) *Profile {
	for i := range t.Profiles {
		if t.Profiles[i].Name == name {
			return &t.Profiles[i]
		}
	}
	return nil
}

// Validate checks the table: every profile (names unique, ignoring case)
// and the global settings. The DEFAULT profile must be there: it is what a
// policy that names no profile uses, so it cannot be deleted. The same
// checks serve dmarcconfig's questions and its IMPORT.
func (t Table) Validate() error {
	seen := map[string]bool{}
	for i := range t.Profiles {
		p := &t.Profiles[i]
		if err := p.Validate(); err != nil {
			return fmt.Errorf("profile %q: %v", p.Name, err)
		}
		key := strings.ToLower(p.Name)
		if seen[key] {
			return fmt.Errorf("profile %q is defined twice", p.Name)
		}
		seen[key] = true
	}
	if t.Profile(DefaultProfile) == nil {
		return errors.New("the DEFAULT profile is missing; it cannot be deleted")
	}
	return t.Settings.Validate()
}

// Find returns the index of the named profile, ignoring case, or -1.
func (t *Table) Find(name string) int {
	for i := range t.Profiles {
		if strings.EqualFold(t.Profiles[i].Name, name) {
			return i
		}
	}
	return -1
}

// CheckQuarantines reports a profile that sends messages to a quarantine
// not among names (the quarantineconfig table's).
func (t Table) CheckQuarantines(names []string) error {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, p := range t.Profiles {
		for _, q := range p.Quarantines() {
			if !have[q] {
				return fmt.Errorf("DMARC verification profile %s sends messages to the quarantine %q, which does not exist", p.Name, q)
			}
		}
	}
	return nil
}

// CheckUses reports a profile name a mail-flow policy uses (dmarc_profile;
// "" is DEFAULT) that is not configured: a profile in use cannot be
// deleted or renamed away.
func (t Table) CheckUses(uses []string) error {
	for _, u := range uses {
		if u != "" && t.Profile(u) == nil {
			return fmt.Errorf("DMARC verification profile %q is used by a mail-flow policy and is not configured", u)
		}
	}
	return nil
}

// Quarantines are the quarantines the profile's actions send messages to.
func (p Profile) Quarantines() []string {
	var qs []string
	if p.RejectAction == ActionQuarantine {
		qs = append(qs, p.RejectQuarantine)
	}
	if p.QuarantineAction == ActionQuarantine {
		qs = append(qs, p.QuarantineQuarantine)
	}
	return qs
}
