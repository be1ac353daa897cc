package commands

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

// paramBounds are the table's bounds of the numeric policy parameters
// (mailflow's parameter rules), so that a value the table refuses is
// refused at its question. TestListenerParamBounds keeps them in step.
var paramBounds = map[string][2]int{
	"max_message_size":     {1024, 1 << 30},
	"max_concurrency":      {1, 1000},
	"max_msgs_per_session": {1, 1 << 30},
	"max_rcpts_per_msg":    {1, 100000},
	"max_rcpts_per_hour":   {1, 1 << 30}, // -1 (unlimited) is the "no" answer
	"dhap_limit":           {1, 1 << 30}, // 0 (no prevention) is the "no" answer
	"smtp_banner_code":     {200, 299},
	"reject_banner_code":   {400, 599},
	"spf_reject_code":      {500, 599},
	"spf_defer_code":       {400, 499},
	"spf_timeout":          {1, 600},
}

// askParams asks the DEFAULT questions of ESA-CLI §3.4 for the parameters
// the listeners know, in the appliance's order, with cur's values as
// defaults, and returns the answers. profiles are the verification
// profiles a policy may name.
func askParams(io *shell.IO, cur mailflow.Limits, profiles profileChoices) (mailflow.Limits, error) {
	l := cur
	var err error
	bounded := func(key string) (int, int) { b := paramBounds[key]; return b[0], b[1] }

	// Block A: limits and banners.
	lo, hi := bounded("max_message_size")
	size, err := io.Ask("Enter the default maximum message size. Add a trailing k for kilobytes, M for megabytes, or no letter for bytes.",
		formatSize(cur.MaxMessageSize), messageSize(lo, hi))
	if err != nil {
		return l, err
	}
	l.MaxMessageSize, _ = strconv.ParseInt(size, 10, 64)
	lo, hi = bounded("max_concurrency")
	if l.MaxConcurrency, err = io.Int("Enter the maximum number of concurrent connections allowed from a single IP address.", cur.MaxConcurrency, lo, hi); err != nil {
		return l, err
	}
	lo, hi = bounded("max_msgs_per_session")
	if l.MaxMsgsPerConn, err = io.Int("Enter the maximum number of messages per connection.", cur.MaxMsgsPerConn, lo, hi); err != nil {
		return l, err
	}
	lo, hi = bounded("max_rcpts_per_msg")
	if l.MaxRcptsPerMsg, err = io.Int("Enter the maximum number of recipients per message.", cur.MaxRcptsPerMsg, lo, hi); err != nil {
		return l, err
	}
	override, err := io.YesNo("Do you want to override the hostname in the SMTP banner?", cur.BannerHost != "")
	if err != nil {
		return l, err
	}
	l.BannerHost = ""
	if override {
		if l.BannerHost, err = io.Ask("Enter the hostname to use in the SMTP banner.", cur.BannerHost, shell.Hostname); err != nil {
			return l, err
		}
	}
	if l.BannerCode, l.BannerText, err = askResponse(io, "acceptance", "smtp_banner_code", 220, cur.BannerCode, cur.BannerText); err != nil {
		return l, err
	}
	if l.RejectCode, l.RejectText, err = askResponse(io, "rejection", "reject_banner_code", 554, cur.RejectCode, cur.RejectText); err != nil {
		return l, err
	}

	// Block B: rate limiting and directory harvest attack prevention, the
	// parts the listeners enforce (no custom limit-exceeded reply, no
	// per-envelope-sender limit yet).
	on, err := io.YesNo("Do you want to enable rate limiting per host?", cur.MaxRcptsPerHour >= 0)
	if err != nil {
		return l, err
	}
	l.MaxRcptsPerHour = -1
	if on {
		def := ""
		if cur.MaxRcptsPerHour > 0 {
			def = strconv.Itoa(cur.MaxRcptsPerHour)
		}
		lo, hi = bounded("max_rcpts_per_hour")
		a, err := io.Ask("Enter the maximum number of recipients per hour from a remote host.", def, shell.IntRange(lo, hi))
		if err != nil {
			return l, err
		}
		l.MaxRcptsPerHour, _ = strconv.Atoi(a)
	}
	on, err = io.YesNo("Do you want to enable Directory Harvest Attack Prevention per host?", cur.DHAPLimit > 0)
	if err != nil {
		return l, err
	}
	l.DHAPLimit = 0
	if on {
		lo, hi = bounded("dhap_limit")
		if l.DHAPLimit, err = io.Int("Enter the maximum number of invalid recipients per hour from a remote host.", orDefault(cur.DHAPLimit, 25), lo, hi); err != nil {
			return l, err
		}
	}

	// Block C: SenderBase, scanning, TLS.
	if l.UseSenderBase, err = io.YesNo("Would you like to use SenderBase for flow control by default?", cur.UseSenderBase); err != nil {
		return l, err
	}
	if l.SpamCheck, err = io.YesNo("Would you like to enable anti-spam scanning?", cur.SpamCheck); err != nil {
		return l, err
	}
	if l.VirusCheck, err = io.YesNo("Would you like to enable anti-virus scanning?", cur.VirusCheck); err != nil {
		return l, err
	}
	if l.TLS, err = askTLS(io, cur.TLS); err != nil {
		return l, err
	}
	// Item 18 comes after SMTP Authentication (item 17, not offered here)
	// and before S/MIME (item 19, not offered) and Block D.
	if l.DKIMSigning, err = io.YesNo("Would you like to enable DKIM/DomainKeys signing?", cur.DKIMSigning); err != nil {
		return l, err
	}

	// Block D: DKIM verification (ESA-CLI §3.4 item 20), SPF/SIDF (item
	// 21) and DMARC verification (item 22), in that order.
	if l.DKIM, err = askDKIM(io, cur.DKIM, dkimProfileNames(profiles.DKIM, cur.DKIM)); err != nil {
		return l, err
	}
	if l.SPF, err = askSPF(io, cur.SPF); err != nil {
		return l, err
	}
	if l.DMARC, err = askDMARC(io, cur.DMARC, profiles.DMARC); err != nil {
		return l, err
	}
	return l, nil
}

// askDMARC asks the DMARC verification questions of ESA-CLI §3.4 item 22:
// on/off, the dmarcconfig profile from the numbered list (the current one
// is the default; DEFAULT when the policy names none), and whether the
// results go into the aggregate reports (RFC 7489 §7.2). Turned off, the
// profile and reports keep their values for the next time.
func askDMARC(io *shell.IO, cur mailflow.DMARCSettings, profiles []string) (mailflow.DMARCSettings, error) {
	s := cur
	var err error
	if s.Enabled, err = io.YesNo("Would you like to enable DMARC verification?", cur.Enabled); err != nil || !s.Enabled {
		return s, err
	}
	if len(profiles) == 0 {
		profiles = []string{dmarcconf.DefaultProfile}
	}
	want := cur.Profile
	if want == "" {
		want = dmarcconf.DefaultProfile
	}
	def := 1
	for i, n := range profiles {
		if n == want {
			def = i + 1
		}
	}
	n, err := io.Choose("Select the DMARC verification profile to use:", profiles, def)
	if err != nil {
		return s, err
	}
	// The choice is stored by name, DEFAULT too (as the DKIM profile is):
	// a policy that picks DEFAULT over a DEFAULT policy parameters' other
	// profile must keep that choice as an override.
	s.Profile = profiles[n-1]
	s.Reports, err = io.YesNo("Would you like to send aggregate reports?", cur.Reports)
	return s, err
}

// profileChoices are the verification profiles the policy questions
// offer: domainkeysconfig's DKIM verification profiles and dmarcconfig's
// DMARC verification profiles.
type profileChoices struct{ DKIM, DMARC []string }

// policyProfiles reads the profile lists from the session's pending
// configuration, in their tables' order, so a profile made in this session
// can be chosen before it is committed.
func policyProfiles(env *Env) profileChoices {
	c := env.Session.Config()
	var pc profileChoices
	for _, v := range c.DomainKeys.Verification {
		pc.DKIM = append(pc.DKIM, v.Name)
	}
	for _, p := range c.DMARC.Profiles {
		pc.DMARC = append(pc.DMARC, p.Name)
	}
	return pc
}

// dkimProfileNames are the DKIM verification profiles a policy may use:
// domainkeysconfig's, with DEFAULT when the table has none, plus the
// profile the policy already names so an existing choice is kept.
func dkimProfileNames(have []string, cur mailflow.DKIMSettings) []string {
	names := append([]string(nil), have...)
	if len(names) == 0 {
		names = []string{"DEFAULT"}
	}
	if cur.Profile != "" && !slices.Contains(names, cur.Profile) {
		names = append(names, cur.Profile)
	}
	return names
}

// askDKIM asks the DKIM verification questions of the DEFAULT policy
// (ESA-CLI §3.4 item 20): on/off, then the verification profile.
func askDKIM(io *shell.IO, cur mailflow.DKIMSettings, profiles []string) (mailflow.DKIMSettings, error) {
	s := cur
	var err error
	if s.Enabled, err = io.YesNo("Would you like to enable DKIM verification?", cur.Enabled); err != nil || !s.Enabled {
		return s, err
	}
	def := 1
	for i, n := range profiles {
		if n == cur.Profile || (cur.Profile == "" && n == "DEFAULT") {
			def = i + 1
		}
	}
	n, err := io.Choose("Select the DKIM verification profile to use:", profiles, def)
	if err != nil {
		return s, err
	}
	s.Profile = profiles[n-1]
	return s, nil
}

// spfLevelNames are the conformance levels as the menu and the print-out
// name them, in mailflow.SPFLevels order.
var spfLevelNames = []string{"SPF only", "SIDF compatible", "SIDF strict"}

func spfLevelIndex(level string) int {
	for i, l := range mailflow.SPFLevels {
		if l == level {
			return i
		}
	}
	return 1
}

// askSPF asks the SPF/SIDF questions of ESA-CLI §3.4 item 21, verbatim
// where the reference shows them (the two first questions have two spaces
// before their default in the CLI reference). The levels branch as
// CLIREF-8.5.6 Tables 3-173/3-174 say: SPF only asks the HELO test and
// the HELO and MAIL FROM actions; SIDF compatible the HELO test, the PRA
// downgrade and the HELO, MAIL FROM and PRA actions; SIDF strict only the
// MAIL FROM and PRA actions (its HELO check is fixed). What is not asked
// keeps its current value.
func askSPF(io *shell.IO, cur mailflow.SPFSettings) (mailflow.SPFSettings, error) {
	s := cur
	change, err := io.YesNo("Would you like to change SPF/SIDF settings? ", false)
	if err != nil || !change {
		return s, err
	}
	if s.Enabled, err = io.YesNo("Would you like to perform SPF/SIDF Verification? ", cur.Enabled); err != nil || !s.Enabled {
		return s, err
	}
	n, err := io.Choose("What Conformance Level would you like to use?", spfLevelNames, spfLevelIndex(cur.Level)+1)
	if err != nil {
		return s, err
	}
	s.Level = mailflow.SPFLevels[n-1]
	if s.Level != "sidf_strict" {
		if s.HELOCheck, err = io.YesNo("Would you like to have the HELO check performed?", cur.HELOCheck); err != nil {
			return s, err
		}
	}
	if s.Level == "sidf_compatible" {
		if s.DowngradePRA, err = io.YesNo("Downgrade PRA verification result if 'Resent-Sender:' or 'Resent-From:' were used?", cur.DowngradePRA); err != nil {
			return s, err
		}
	}
	actions, err := io.YesNo("Would you like to change SMTP actions taken as result of the SPF verification?", false)
	if err != nil {
		return s, err
	}
	if actions {
		ids := []struct {
			name, check string
			set         *[]string
		}{
			{"HELO", "HELO", &s.HELOReject},
			{"MAIL FROM", "MAIL FROM", &s.MailFromReject},
			{"PRA", "PRA", &s.PRAReject},
		}
		for _, id := range ids {
			switch {
			case id.name == "HELO" && (s.Level == "sidf_strict" || !s.HELOCheck):
				continue
			case id.name == "PRA" && s.Level == "spf_only":
				continue
			}
			change, err := io.YesNo("Would you like to change SMTP actions taken for the "+id.name+" identity?", false)
			if err != nil {
				return s, err
			}
			if !change {
				continue
			}
			var set []string
			for _, r := range mailflow.SPFResults {
				def := 1
				if mailflow.Rejects(*id.set, r) {
					def = 2
				}
				a, err := io.Choose("What SMTP action should be taken if "+id.check+" check returns "+r+"?", []string{"Accept", "Reject"}, def)
				if err != nil {
					return s, err
				}
				if a == 2 {
					set = append(set, r)
				}
			}
			*id.set = set
		}
	}
	resp, err := io.YesNo("Would you like to change SMTP response settings for the REJECT action?", false)
	if err != nil {
		return s, err
	}
	if resp {
		b := paramBounds["spf_reject_code"]
		if s.RejectCode, err = io.Int("Enter the SMTP code to use in the SPF reject response.", cur.RejectCode, b[0], b[1]); err != nil {
			return s, err
		}
		if s.RejectText, err = io.Ask("Enter the SMTP text to use in the SPF reject response.", cur.RejectText, oneLine); err != nil {
			return s, err
		}
		if s.PublisherText, err = io.YesNo("Get reject response text from publisher?", cur.PublisherText); err != nil {
			return s, err
		}
		b = paramBounds["spf_defer_code"]
		if s.DeferCode, err = io.Int("Enter the SMTP code to use in the SPF defer response.", cur.DeferCode, b[0], b[1]); err != nil {
			return s, err
		}
		if s.DeferText, err = io.Ask("Enter the SMTP text to use in the SPF defer response.", cur.DeferText, oneLine); err != nil {
			return s, err
		}
	}
	b := paramBounds["spf_timeout"]
	s.Timeout, err = io.Int("Verification timeout (seconds)", cur.Timeout, b[0], b[1])
	return s, err
}

// askResponse asks whether to give a custom SMTP acceptance or rejection
// response, and if so its code and one line of text. The code's bounds
// are the table's; std is the standard code the question names.
func askResponse(io *shell.IO, what, key string, std, code int, text string) (int, string, error) {
	custom, err := io.YesNo(fmt.Sprintf("Would you like to specify a custom SMTP %s response?", what), code != std || text != "")
	if err != nil || !custom {
		return std, "", err
	}
	b := paramBounds[key]
	code, err = io.Int(fmt.Sprintf("Enter the SMTP code to use in the response. %d is the standard code.", std), code, b[0], b[1])
	if err != nil {
		return 0, "", err
	}
	text, err = io.AskOptional("Enter your custom SMTP response.", text, oneLine)
	return code, text, err
}

// oneLine accepts text without control characters, at most 1000
// characters: it goes out on one SMTP reply line (RFC 5321 §4.5.3.1.5
// allows 512 octets for a reply line; longer texts are for the multi-line
// banner) and into log lines.
func oneLine(a string) (string, error) {
	if len(a) > 1000 {
		return "", errors.New("The value must be at most 1000 characters long.")
	}
	if r := controlRune(a); r >= 0 {
		return "", fmt.Errorf("The value must not contain control characters (it contains %U).", r)
	}
	return a, nil
}

func controlRune(s string) rune {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return r
		}
	}
	return -1
}

var tlsChoices = []string{"No", "Preferred", "Required", "Preferred - Verify", "Required - Verify"}

// askTLS asks the TLS question of ESA-CLI §3.4 item 16. The verify
// variants (client certificates) are listed, as on the appliance, and
// refused. With no certificate but the demo one the appliance asks
// whether to use it; no leaves TLS off.
func askTLS(io *shell.IO, cur string) (string, error) {
	def := map[string]int{"off": 1, "preferred": 2, "required": 3}[cur]
	for {
		n, err := io.Choose("Do you want to allow encrypted TLS connections?", tlsChoices, def)
		if err != nil {
			return "", err
		}
		if n > 3 {
			io.Printf("Client certificate verification is not supported; choose No, Preferred or Required.\n")
			io.Fail()
			continue
		}
		if n == 1 {
			return "off", nil
		}
		demo, err := io.YesNo("You have not entered a certificate. To assure privacy, run \"certconfig\" first. You may use the demo certificate to test TLS,but this will not be secure. Do you really wish to use a demo certificate?", true)
		if err != nil {
			return "", err
		}
		if !demo {
			return "off", nil
		}
		return []string{"", "off", "preferred", "required"}[n], nil
	}
}

// messageSize accepts a size in bytes, or with a k or M suffix (1024 and
// 1024*1024), from lo to hi bytes.
func messageSize(lo, hi int) shell.Validator {
	return func(a string) (string, error) {
		s := strings.TrimSpace(a)
		mult := int64(1)
		switch {
		case strings.HasSuffix(s, "k") || strings.HasSuffix(s, "K"):
			mult, s = 1024, s[:len(s)-1]
		case strings.HasSuffix(s, "M") || strings.HasSuffix(s, "m"):
			mult, s = 1024*1024, s[:len(s)-1]
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > int64(hi)/mult || n*mult < int64(lo) {
			return "", fmt.Errorf("The value must be a size from %s to %s (a number of bytes, or a number followed by k or M).", formatSize(int64(lo)), formatSize(int64(hi)))
		}
		return strconv.FormatInt(n*mult, 10), nil
	}
}

// formatSize writes a byte count as the appliance shows it: 10M, 64k or a
// plain number of bytes.
func formatSize(n int64) string {
	switch {
	case n > 0 && n%(1024*1024) == 0:
		return strconv.FormatInt(n/(1024*1024), 10) + "M"
	case n > 0 && n%1024 == 0:
		return strconv.FormatInt(n/1024, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// limitParams writes l as the DEFAULT parameters, in the PRINT order;
// texts left empty are not written (they fall back to the defaults), nor
// are SPF settings at the appliance's values, so a table whose SPF was
// never changed stays as it was before SPF existed.
func limitParams(l mailflow.Limits) []mailflow.Param {
	all := allParams(l)
	out := all[:0]
	for _, p := range all {
		if !mailflow.SPFDefault(p) {
			out = append(out, p)
		}
	}
	return out
}

// allParams writes every parameter of l; an empty SPF reject set is kept
// (a policy's "accept everything" overrides a DEFAULT that rejects).
func allParams(l mailflow.Limits) []mailflow.Param {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	all := []mailflow.Param{
		{Key: "spam_check", Value: onOff(l.SpamCheck)},
		{Key: "max_msgs_per_session", Value: strconv.Itoa(l.MaxMsgsPerConn)},
		{Key: "max_concurrency", Value: strconv.Itoa(l.MaxConcurrency)},
		{Key: "max_rcpts_per_msg", Value: strconv.Itoa(l.MaxRcptsPerMsg)},
		{Key: "max_rcpts_per_hour", Value: strconv.Itoa(l.MaxRcptsPerHour)},
		{Key: "dhap_limit", Value: strconv.Itoa(l.DHAPLimit)},
		{Key: "virus_check", Value: onOff(l.VirusCheck)},
		{Key: "max_message_size", Value: strconv.FormatInt(l.MaxMessageSize, 10)},
		{Key: "use_sb", Value: onOff(l.UseSenderBase)},
		{Key: "tls", Value: l.TLS},
		{Key: "smtp_banner_code", Value: strconv.Itoa(l.BannerCode)},
		{Key: "smtp_banner_text", Value: l.BannerText},
		{Key: "smtp_banner_host", Value: l.BannerHost},
		{Key: "reject_banner_code", Value: strconv.Itoa(l.RejectCode)},
		{Key: "reject_banner_text", Value: l.RejectText},
		{Key: "spf_verify", Value: onOff(l.SPF.Enabled)},
		{Key: "spf_conformance", Value: l.SPF.Level},
		{Key: "spf_helo_check", Value: onOff(l.SPF.HELOCheck)},
		{Key: "spf_pra_downgrade", Value: onOff(l.SPF.DowngradePRA)},
		{Key: "spf_helo_reject", Value: mailflow.ResultsValue(l.SPF.HELOReject)},
		{Key: "spf_mailfrom_reject", Value: mailflow.ResultsValue(l.SPF.MailFromReject)},
		{Key: "spf_pra_reject", Value: mailflow.ResultsValue(l.SPF.PRAReject)},
		{Key: "spf_reject_code", Value: strconv.Itoa(l.SPF.RejectCode)},
		{Key: "spf_reject_text", Value: l.SPF.RejectText},
		{Key: "spf_publisher_text", Value: onOff(l.SPF.PublisherText)},
		{Key: "spf_defer_code", Value: strconv.Itoa(l.SPF.DeferCode)},
		{Key: "spf_defer_text", Value: l.SPF.DeferText},
		{Key: "spf_timeout", Value: strconv.Itoa(l.SPF.Timeout)},
		{Key: "dkim_verify", Value: onOff(l.DKIM.Enabled)},
		{Key: "dkim_profile", Value: l.DKIM.Profile},
		{Key: "dkim_signing", Value: onOff(l.DKIMSigning)},
		{Key: "dmarc_verify", Value: onOff(l.DMARC.Enabled)},
		{Key: "dmarc_profile", Value: l.DMARC.Profile},
		{Key: "dmarc_reports", Value: onOff(l.DMARC.Reports)},
	}
	out := all[:0]
	for _, p := range all {
		if p.Value != "" || strings.HasSuffix(p.Key, "_reject") {
			out = append(out, p)
		}
	}
	return out
}

// policyParams is a policy's override list after its questions were
// answered with l: the parameters it overrode before keep their place in
// the list, and any answer that differs from DEFAULT becomes an override.
// A policy never loses an override by having it confirmed, so editing a
// factory policy changes only what the administrator changed.
func policyParams(h *mailflow.HAT, old []mailflow.Param, l mailflow.Limits) []mailflow.Param {
	had := map[string]bool{}
	for _, p := range old {
		had[p.Key] = true
	}
	def := map[string]string{}
	for _, p := range allParams(h.Effective("")) {
		def[p.Key] = p.Value
	}
	var out []mailflow.Param
	for _, p := range allParams(l) {
		if had[p.Key] || def[p.Key] != p.Value {
			out = append(out, p)
		}
	}
	return out
}

// printDefaultParams shows the "Default Policy Parameters" block in the
// appliance's "Label: value" style (ESA-CLI §3.5).
func printDefaultParams(io *shell.IO, l mailflow.Limits) {
	io.Printf("Default Policy Parameters\n==========================\n")
	printLimits(io, l)
}

func printLimits(io *shell.IO, l mailflow.Limits) {
	yes := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	io.Printf("Maximum Message Size: %s\n", formatSize(l.MaxMessageSize))
	io.Printf("Maximum Number Of Concurrent Connections From A Single IP: %s\n", thousands(l.MaxConcurrency))
	io.Printf("Maximum Number Of Messages Per Connection: %s\n", thousands(l.MaxMsgsPerConn))
	io.Printf("Maximum Number Of Recipients Per Message: %s\n", thousands(l.MaxRcptsPerMsg))
	if l.DHAPLimit > 0 {
		io.Printf("Directory Harvest Attack Prevention: Enabled\n")
		io.Printf("Maximum Number Of Invalid Recipients Per Hour: %s\n", thousands(l.DHAPLimit))
	} else {
		io.Printf("Directory Harvest Attack Prevention: Disabled\n")
	}
	if l.MaxRcptsPerHour < 0 {
		io.Printf("Maximum Number Of Recipients Per Hour: Unlimited\n")
	} else {
		io.Printf("Maximum Number Of Recipients Per Hour: %s\n", thousands(l.MaxRcptsPerHour))
	}
	io.Printf("Use SenderBase for Flow Control: %s\n", yes(l.UseSenderBase))
	io.Printf("Spam Detection Enabled: %s\n", yes(l.SpamCheck))
	io.Printf("Virus Detection Enabled: %s\n", yes(l.VirusCheck))
	io.Printf("Allow TLS Connections: %s\n", map[string]string{"off": "No", "preferred": "Preferred", "required": "Required"}[l.TLS])
	if l.BannerHost != "" {
		io.Printf("SMTP Banner Hostname: %s\n", l.BannerHost)
	}
	io.Printf("SMTP Banner Code: %d\n", l.BannerCode)
	if l.BannerText != "" {
		io.Printf("SMTP Banner Text: %s\n", l.BannerText)
	}
	io.Printf("SMTP Rejection Code: %d\n", l.RejectCode)
	if l.RejectText != "" {
		io.Printf("SMTP Rejection Text: %s\n", l.RejectText)
	}
	io.Printf("DKIM/DomainKeys Signing Enabled: %s\n", yes(l.DKIMSigning))
	if l.DKIM.Enabled {
		io.Printf("DKIM Verification Enabled: Yes\n")
		name := l.DKIM.Profile
		if name == "" {
			name = "DEFAULT"
		}
		io.Printf("  Use DKIM Verification Profile: %s\n", name)
	} else {
		io.Printf("DKIM Verification Enabled: No\n")
	}
	// ESA-CLI §3.5 lists "DMARC Verification Enabled" after the DKIM
	// line; the profile and the reports are shown like the DKIM profile.
	if l.DMARC.Enabled {
		name := l.DMARC.Profile
		if name == "" {
			name = dmarcconf.DefaultProfile
		}
		io.Printf("DMARC Verification Enabled: Yes\n  Use DMARC Verification Profile: %s\n  Send Aggregate Reports: %s\n", name, yes(l.DMARC.Reports))
	} else {
		io.Printf("DMARC Verification Enabled: No\n")
	}
	printSPF(io, l.SPF)
}

// printSPF writes the SPF/SIDF block of "Default Policy Parameters"
// (ESA-CLI §3.5, CLIREF-9.7 p.302), with two spaces per level. An
// identity's actions are one word when they are all the same, else the
// accepted and the rejected results on a line each.
func printSPF(io *shell.IO, s mailflow.SPFSettings) {
	if !s.Enabled {
		io.Printf("SPF/SIDF Verification Enabled: No\n")
		return
	}
	yes := map[bool]string{true: "Yes", false: "No"}
	io.Printf("SPF/SIDF Verification Enabled: Yes\n")
	io.Printf("  Conformance Level: %s\n", spfLevelNames[spfLevelIndex(s.Level)])
	if s.Level != "sidf_strict" {
		io.Printf("  Do HELO test: %s\n", yes[s.HELOCheck])
	}
	if s.Level == "sidf_compatible" {
		io.Printf("  Downgrade PRA verification result if 'Resent-Sender:' or 'Resent-From:' were used: %s\n", yes[s.DowngradePRA])
	}
	io.Printf("  SMTP actions:\n")
	identity := func(name string, set []string) {
		var acc, rej []string
		for _, r := range mailflow.SPFResults {
			if mailflow.Rejects(set, r) {
				rej = append(rej, r)
			} else {
				acc = append(acc, r)
			}
		}
		switch {
		case len(rej) == 0:
			io.Printf("    For %s Identity: Accept\n", name)
		case len(acc) == 0:
			io.Printf("    For %s Identity: Reject\n", name)
		default:
			io.Printf("    For %s Identity:\n      %s: Accept\n      %s: Reject\n", name, strings.Join(acc, ", "), strings.Join(rej, ", "))
		}
	}
	if s.Level != "sidf_strict" && s.HELOCheck {
		identity("HELO", s.HELOReject)
	}
	identity("MAIL FROM", s.MailFromReject)
	if s.Level != "spf_only" {
		identity("PRA", s.PRAReject)
	}
	io.Printf("  SMTP Response Settings:\n")
	io.Printf("    Reject code: %d\n", s.RejectCode)
	io.Printf("    Reject text: %s\n", s.RejectText)
	io.Printf("    Get reject response text from publisher: %s\n", yes[s.PublisherText])
	io.Printf("    Defer code: %d\n", s.DeferCode)
	io.Printf("    Defer text: %s\n", s.DeferText)
	io.Printf("  Verification timeout: %d\n", s.Timeout)
}

// thousands writes n with comma separators, as the appliance's displays do
// (1,000).
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
