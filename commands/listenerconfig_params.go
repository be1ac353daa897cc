package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"esa/shell"
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
}

// askParams asks the DEFAULT questions of ESA-CLI §3.4 for the parameters
// the listeners know, in the appliance's order, with cur's values as
// defaults, and returns the answers.
func askParams(io *shell.IO, cur mailflow.Limits) (mailflow.Limits, error) {
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

	// Block D: the DKIM verification (ESA-CLI §3.4 item 20), SPF/SIDF
	// (item 21) and DMARC verification (item 22) questions go here, in
	// that order, when the issues that add those checks to the listeners
	// (15–17) give the policies their parameters.
	return l, nil
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

// limitParams writes l as the table's parameters, in the PRINT order;
// texts left empty are not written (they fall back to the defaults).
func limitParams(l mailflow.Limits) []mailflow.Param {
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
	}
	out := all[:0]
	for _, p := range all {
		if p.Value != "" {
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
	for _, p := range limitParams(h.Effective("")) {
		def[p.Key] = p.Value
	}
	var out []mailflow.Param
	for _, p := range limitParams(l) {
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
	// The "DKIM Verification Enabled", "SPF/SIDF Verification Enabled"
	// (with its indented block, ESA-CLI §3.5) and "DMARC Verification
	// Enabled" lines join here with their parameters (issues 15–17).
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
