package mailflow

import (
	"fmt"
	"strconv"
	"strings"
)

// kind is how a parameter's value is written and checked.
type kind int

const (
	kindInt     kind = iota // a whole number in [min, max]
	kindOnOff               // "on" or "off"
	kindEnum                // one of choices
	kindText                // free text without control characters
	kindResults             // a set of SPF results, written as a comma list
)

type paramSpec struct {
	key     string
	kind    kind
	min     int64
	max     int64
	choices []string
	label   string // the "Default Policy Parameters" label
}

// paramSpecs lists the parameters in the order PRINT writes them (the
// appliance's order, ESA-CLI.md §3.3). max_rcpts_per_hour -1 is unlimited.
var paramSpecs = []paramSpec{
	{key: "spam_check", kind: kindOnOff, label: "Spam Detection Enabled"},
	{key: "max_msgs_per_session", kind: kindInt, min: 1, max: 1 << 30, label: "Maximum Number Of Messages Per Connection"},
	{key: "max_concurrency", kind: kindInt, min: 1, max: 1000, label: "Maximum Number Of Concurrent Connections From A Single IP"},
	{key: "max_rcpts_per_msg", kind: kindInt, min: 1, max: 100000, label: "Maximum Number Of Recipients Per Message"},
	{key: "max_rcpts_per_hour", kind: kindInt, min: -1, max: 1 << 30, label: "Maximum Number Of Recipients Per Hour"},
	{key: "dhap_limit", kind: kindInt, min: 0, max: 1 << 30, label: "Maximum Number Of Invalid Recipients Per Hour"},
	{key: "virus_check", kind: kindOnOff, label: "Virus Detection Enabled"},
	{key: "max_message_size", kind: kindInt, min: 1024, max: 1 << 30, label: "Maximum Message Size"},
	{key: "use_sb", kind: kindOnOff, label: "Use SenderBase for Flow Control"},
	{key: "tls", kind: kindEnum, choices: []string{"off", "preferred", "required"}, label: "Allow TLS Connections"},
	{key: "smtp_banner_code", kind: kindInt, min: 200, max: 299, label: "SMTP Banner Code"},
	{key: "smtp_banner_text", kind: kindText, label: "SMTP Banner Text"},
	{key: "smtp_banner_host", kind: kindText, label: "SMTP Banner Hostname"},
	{key: "reject_banner_code", kind: kindInt, min: 400, max: 599, label: "SMTP Rejection Code"},
	{key: "reject_banner_text", kind: kindText, label: "SMTP Rejection Text"},
	// SPF/SIDF verification (ESA-CLI.md §3.4 item 21, §3.5). The
	// *_reject keys list the results whose SMTP action is REJECT; the
	// others are accepted, as the appliance accepts every result of an
	// identity whose actions were not changed.
	{key: "spf_verify", kind: kindOnOff, label: "SPF/SIDF Verification Enabled"},
	{key: "spf_conformance", kind: kindEnum, choices: SPFLevels, label: "Conformance Level"},
	{key: "spf_helo_check", kind: kindOnOff, label: "Do HELO test"},
	{key: "spf_pra_downgrade", kind: kindOnOff, label: "Downgrade PRA verification result"},
	{key: "spf_helo_reject", kind: kindResults, label: "For HELO Identity"},
	{key: "spf_mailfrom_reject", kind: kindResults, label: "For MAIL FROM Identity"},
	{key: "spf_pra_reject", kind: kindResults, label: "For PRA Identity"},
	{key: "spf_reject_code", kind: kindInt, min: 500, max: 599, label: "Reject code"},
	{key: "spf_reject_text", kind: kindText, label: "Reject text"},
	{key: "spf_publisher_text", kind: kindOnOff, label: "Get reject response text from publisher"},
	{key: "spf_defer_code", kind: kindInt, min: 400, max: 499, label: "Defer code"},
	{key: "spf_defer_text", kind: kindText, label: "Defer text"},
	{key: "spf_timeout", kind: kindInt, min: 1, max: 600, label: "Verification timeout"},
	// DKIM verification (ESA-CLI.md §3.4 item 20): on/off and the name of
	// the verification profile (domainkeysconfig, issue 16).
	{key: "dkim_verify", kind: kindOnOff, label: "DKIM Verification Enabled"},
	{key: "dkim_profile", kind: kindText, label: "Use DKIM Verification Profile"},
	// DKIM/DomainKeys signing (ESA-CLI.md §3.4 item 18): mail received
	// under the policy is signed on its way out.
	{key: "dkim_signing", kind: kindOnOff, label: "DKIM/DomainKeys Signing Enabled"},
	// DMARC verification (ESA-CLI.md §3.4 item 22, RFC 7489 §6.6): on/off,
	// the dmarcconfig profile ("" is DEFAULT) and whether the results feed
	// the aggregate reports (RFC 7489 §7.2).
	{key: "dmarc_verify", kind: kindOnOff, label: "DMARC Verification Enabled"},
	{key: "dmarc_profile", kind: kindText, label: "Use DMARC Verification Profile"},
	{key: "dmarc_reports", kind: kindOnOff, label: "Send Aggregate Reports"},
}

// SPFLevels are the spf_conformance values, in the menu's order (the
// x-conformance tokens of Received-SPF:).
var SPFLevels = []string{"spf_only", "sidf_compatible", "sidf_strict"}

// SPFResults are the results an SMTP action is chosen for, in the order
// the questions ask them (ESA-CLI.md §3.4 item 21). Pass is always
// accepted.
var SPFResults = []string{"None", "Neutral", "SoftFail", "Fail", "TempError", "PermError"}

// spfDefaults are the SPF parameters a table that never set them has: off,
// and when turned on the appliance's defaults (SIDF compatible, HELO test,
// every result accepted, the reject and defer replies of §3.5, 40 s). They
// are not written into a table's DEFAULT, so tables from before SPF
// existed read and print as before.
var spfDefaults = []Param{
	{"spf_verify", "off"},
	{"spf_conformance", "sidf_compatible"},
	{"spf_helo_check", "on"},
	{"spf_pra_downgrade", "off"},
	{"spf_helo_reject", ""},
	{"spf_mailfrom_reject", ""},
	{"spf_pra_reject", ""},
	{"spf_reject_code", "550"},
	{"spf_reject_text", "#5.7.1 SPF unauthorized mail is prohibited."},
	{"spf_publisher_text", "on"},
	{"spf_defer_code", "451"},
	{"spf_defer_text", "#4.4.3 Temporary error occurred during SPF verification."},
	{"spf_timeout", "40"},
	// DKIM verification is off by default; an empty profile name is the
	// appliance's DEFAULT verification profile (seed 004).
	{"dkim_verify", "off"},
	{"dkim_profile", ""},
	// Signing is off by default for every policy, $RELAYED included: on
	// the appliance the administrator turns "DKIM/DomainKeys Signing" on
	// for the relay policy (seed 004), it is not on out of the box.
	{"dkim_signing", "off"},
	// DMARC verification is off, with the DEFAULT profile ("") and no
	// aggregate reports, until a policy turns it on (seed 004, "メール フロー
	// ポリシーでの DMARC 検証の設定").
	{"dmarc_verify", "off"},
	{"dmarc_profile", ""},
	{"dmarc_reports", "off"},
}

// SPFDefault reports whether p is an SPF, DKIM or DMARC parameter at its
// built-in value: such parameters are not written into a table's DEFAULT,
// so tables from before they existed read and print as before.
func SPFDefault(p Param) bool {
	v, ok := lookup(spfDefaults, p.Key)
	return ok && v == p.Value
}

// canonResults reads a comma list of SPF results in any case and order and
// writes it in SPFResults order, lower case.
func canonResults(key, value string) (string, error) {
	var set [6]bool
	for _, w := range strings.Split(value, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		found := false
		for i, r := range SPFResults {
			if strings.EqualFold(w, r) {
				set[i], found = true, true
			}
		}
		if !found {
			return "", fmt.Errorf("%s lists results among none, neutral, softfail, fail, temperror, permerror, not %q", key, w)
		}
	}
	var out []string
	for i, on := range set {
		if on {
			out = append(out, strings.ToLower(SPFResults[i]))
		}
	}
	return strings.Join(out, ","), nil
}

// parseResults is canonResults' inverse for a checked value: the results
// by their SPFResults names.
func parseResults(value string) []string {
	var out []string
	for _, w := range strings.Split(value, ",") {
		for _, r := range SPFResults {
			if strings.EqualFold(w, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

func specFor(key string) (paramSpec, bool) {
	for _, s := range paramSpecs {
		if s.key == key {
			return s, true
		}
	}
	return paramSpec{}, false
}

// checkParam validates one parameter and returns its canonical value.
func checkParam(key, value string) (string, error) {
	s, ok := specFor(key)
	if !ok {
		return "", fmt.Errorf("unknown parameter %q", key)
	}
	switch s.kind {
	case kindInt:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s must be a whole number, not %q", key, value)
		}
		if n < s.min || n > s.max {
			return "", fmt.Errorf("%s must be from %d to %d, not %d", key, s.min, s.max, n)
		}
		return strconv.FormatInt(n, 10), nil
	case kindOnOff:
		if value != "on" && value != "off" {
			return "", fmt.Errorf(`%s must be "on" or "off", not %q`, key, value)
		}
	case kindEnum:
		v := value
		if key == "tls" && v == "on" {
			v = "preferred" // older exports write tls = "on" for Preferred
		}
		for _, c := range s.choices {
			if v == c {
				return v, nil
			}
		}
		return "", fmt.Errorf("%s must be one of %s, not %q", key, strings.Join(s.choices, ", "), value)
	case kindText:
		if err := checkText(value); err != nil {
			return "", fmt.Errorf("%s %v", key, err)
		}
	case kindResults:
		return canonResults(key, value)
	}
	return value, nil
}

func checkText(s string) error {
	if len(s) > 1000 {
		return fmt.Errorf("is longer than 1000 characters")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("must not contain control characters")
		}
	}
	return nil
}

// Limits are a policy's effective parameters: the DEFAULT values with the
// policy's own overrides applied.
type Limits struct {
	MaxMessageSize  int64
	MaxConcurrency  int
	MaxMsgsPerConn  int
	MaxRcptsPerMsg  int
	MaxRcptsPerHour int // -1: unlimited
	DHAPLimit       int
	TLS             string // off, preferred, required
	BannerCode      int
	BannerText      string
	BannerHost      string
	RejectCode      int
	RejectText      string
	SpamCheck       bool
	VirusCheck      bool
	UseSenderBase   bool
	SPF             SPFSettings
	DKIM            DKIMSettings
	// DKIMSigning is ESA-CLI.md §3.4 item 18 ("Would you like to enable
	// DKIM/DomainKeys signing?"): mail received under the policy may be
	// signed on its way out.
	DKIMSigning bool
	DMARC       DMARCSettings
}

// DMARCSettings are a policy's DMARC verification settings (ESA-CLI.md
// §3.4 item 22): whether inbound mail is verified, with which dmarcconfig
// profile, and whether its results feed the aggregate reports.
type DMARCSettings struct {
	Enabled bool
	Profile string // "" is the DEFAULT DMARC verification profile
	Reports bool
}

// DKIMSettings are a policy's DKIM verification settings (ESA-CLI.md §3.4
// item 20): whether inbound mail is verified and with which verification
// profile.
type DKIMSettings struct {
	Enabled bool
	Profile string // "" is the DEFAULT verification profile
}

// SPFSettings are a policy's SPF/SIDF verification settings (ESA-CLI.md
// §3.4 item 21). The reject sets name results by SPFResults.
type SPFSettings struct {
	Enabled bool
	// Level is one of SPFLevels.
	Level          string
	HELOCheck      bool
	DowngradePRA   bool
	HELOReject     []string
	MailFromReject []string
	PRAReject      []string
	RejectCode     int
	RejectText     string
	PublisherText  bool
	DeferCode      int
	DeferText      string
	// Timeout bounds each identity's check, in seconds.
	Timeout int
}

// Rejects reports whether set holds result.
func Rejects(set []string, result string) bool {
	for _, r := range set {
		if r == result {
			return true
		}
	}
	return false
}

// ResultsValue writes a reject set as its parameter value.
func ResultsValue(set []string) string {
	v, _ := canonResults("", strings.Join(set, ","))
	return v
}

// DefaultParams are the factory DEFAULT policy parameters (ESA-CLI.md §3.4
// defaults: 10M messages, 10 connections per host, 10 messages per
// connection, 50 recipients per message).
func DefaultParams() []Param {
	return []Param{
		{"spam_check", "on"},
		{"max_msgs_per_session", "10"},
		{"max_concurrency", "10"},
		{"max_rcpts_per_msg", "50"},
		{"max_rcpts_per_hour", "-1"},
		{"dhap_limit", "25"},
		{"virus_check", "on"},
		{"max_message_size", "10485760"},
		{"use_sb", "on"},
		{"tls", "off"},
		{"smtp_banner_code", "220"},
		{"reject_banner_code", "554"},
	}
}

func lookup(ps []Param, key string) (string, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Effective returns the limits of the named policy (without the $), or of
// the DEFAULT parameters alone when the policy does not exist.
func (h *HAT) Effective(policy string) Limits {
	get := func(key string) string {
		if p := h.Policy(policy); p != nil {
			if v, ok := lookup(p.Params, key); ok {
				return v
			}
		}
		if v, ok := lookup(h.Default, key); ok {
			return v
		}
		if v, ok := lookup(DefaultParams(), key); ok {
			return v
		}
		v, _ := lookup(spfDefaults, key)
		return v
	}
	num := func(key string) int64 { n, _ := strconv.ParseInt(get(key), 10, 64); return n }
	return Limits{
		MaxMessageSize:  num("max_message_size"),
		MaxConcurrency:  int(num("max_concurrency")),
		MaxMsgsPerConn:  int(num("max_msgs_per_session")),
		MaxRcptsPerMsg:  int(num("max_rcpts_per_msg")),
		MaxRcptsPerHour: int(num("max_rcpts_per_hour")),
		DHAPLimit:       int(num("dhap_limit")),
		TLS:             get("tls"),
		BannerCode:      int(num("smtp_banner_code")),
		BannerText:      get("smtp_banner_text"),
		BannerHost:      get("smtp_banner_host"),
		RejectCode:      int(num("reject_banner_code")),
		RejectText:      get("reject_banner_text"),
		SpamCheck:       get("spam_check") == "on",
		VirusCheck:      get("virus_check") == "on",
		UseSenderBase:   get("use_sb") == "on",
		SPF: SPFSettings{
			Enabled:        get("spf_verify") == "on",
			Level:          get("spf_conformance"),
			HELOCheck:      get("spf_helo_check") == "on",
			DowngradePRA:   get("spf_pra_downgrade") == "on",
			HELOReject:     parseResults(get("spf_helo_reject")),
			MailFromReject: parseResults(get("spf_mailfrom_reject")),
			PRAReject:      parseResults(get("spf_pra_reject")),
			RejectCode:     int(num("spf_reject_code")),
			RejectText:     get("spf_reject_text"),
			PublisherText:  get("spf_publisher_text") == "on",
			DeferCode:      int(num("spf_defer_code")),
			DeferText:      get("spf_defer_text"),
			Timeout:        int(num("spf_timeout")),
		},
		DKIM:        DKIMSettings{Enabled: get("dkim_verify") == "on", Profile: get("dkim_profile")},
		DKIMSigning: get("dkim_signing") == "on",
		DMARC: DMARCSettings{
			Enabled: get("dmarc_verify") == "on",
			Profile: get("dmarc_profile"),
			Reports: get("dmarc_reports") == "on",
		},
	}
}

// Policy returns the named policy (name without the $), or nil.
func (h *HAT) Policy(name string) *Policy {
	name = strings.TrimPrefix(name, "$")
	for i := range h.Policies {
		if h.Policies[i].Name == name {
			return &h.Policies[i]
		}
	}
	return nil
}
