// Package dmarcconf is the dmarcconfig table (ESA-CLI.md §8, SPEC.md §4):
// DMARC verification profiles, which the mail-flow policies name, and the
// global DMARC settings (aggregate reports, bypass lists).
package dmarcconf

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

// Validate checks the table.
func (t Table) Validate() error { return nil }
