package spf

import (
	"strings"
)

// ReceivedSPFValue renders the value of the Received-SPF: header field for
// v (RFC 7208 §9.1) with the keys the appliance stamps, in its order
// (seed 004, SPEC.md §4):
//
//	Pass identity=pra; receiver=box.example.com; client-ip=1.2.3.4;
//	envelope-from="alice@fooo.com"; x-sender="alice@company.com";
//	x-conformance=sidf_compatible
//
// A PRA Pass downgraded to None keeps the token and says so in a comment:
// x-conformance=sidf_compatible (PRA Pass downgraded to None). A comment is
// CFWS in RFC 5322, so parsers of the key-value list still read
// "sidf_compatible".
func (v Verdict) ReceivedSPFValue() string {
	receiver := v.Receiver
	if receiver == "" {
		receiver = "unknown"
	}
	var b strings.Builder
	b.WriteString(v.Result.String())
	b.WriteString(" identity=")
	b.WriteString(v.Identity.String())
	b.WriteString("; receiver=")
	b.WriteString(dotAtomOrQuoted(receiver))
	b.WriteString("; client-ip=")
	if v.ClientIP.IsValid() {
		b.WriteString(v.ClientIP.String())
	} else {
		b.WriteString(`""`)
	}
	b.WriteString("; envelope-from=")
	b.WriteString(quoted(v.EnvelopeFrom))
	b.WriteString("; x-sender=")
	b.WriteString(quoted(v.Sender))
	b.WriteString("; x-conformance=")
	b.WriteString(v.Conformance.String())
	if v.Downgraded {
		b.WriteString(" (PRA Pass downgraded to None)")
	}
	return b.String()
}

// ReceivedSPF renders the whole header field, folded before a key where a
// line would pass 78 characters (RFC 5322 §2.2.3), without the final CRLF.
func (v Verdict) ReceivedSPF() string {
	return fold("Received-SPF: " + v.ReceivedSPFValue())
}

func fold(s string) string {
	var b strings.Builder
	line := 0
	words := strings.SplitAfter(s, "; ")
	for i, w := range words {
		if i > 0 && line+len(strings.TrimRight(w, " ")) > 78 {
			// Drop the trailing space of the previous piece and continue
			// on a new line indented by a tab.
			out := strings.TrimRight(b.String(), " ")
			b.Reset()
			b.WriteString(out)
			b.WriteString("\r\n\t")
			line = 8
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// quoted renders s as an RFC 5322 quoted-string.
func quoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			// Control characters cannot appear in a header; drop them
			// rather than let a hostile sender break the field.
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// dotAtomOrQuoted keeps a plain host name as is and quotes anything else.
func dotAtomOrQuoted(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return quoted(s)
		}
	}
	return s
}

// LogText is the mail_logs form of the verdict after "MID n "
// (ESA-CLI.md §11.5): "SPF: mailfrom identity alice@example.com Pass".
// A message without a PRA has no address to name: "SPF: pra identity None".
func (v Verdict) LogText() string {
	if v.Sender == "" {
		return "SPF: " + v.Identity.String() + " identity " + v.Result.String()
	}
	return "SPF: " + v.Identity.String() + " identity " + v.Sender + " " + v.Result.String()
}

// maxExplanation bounds the publisher's text in an SMTP reply line (RFC
// 5321 §4.5.3.1.5: 512 octets per reply line, code included).
const maxExplanation = 400

// RejectText returns the text lines of the SMTP reply that rejects on v
// (the listener adds the code to each: "550-" on all but the last, "550 "
// on the last). text is the configured reply text ("#5.7.1 SPF
// unauthorized mail is prohibited."). With thirdParty, a Neutral, SoftFail
// or Fail that carries a publisher's explanation (RFC 7208 §6.2) adds it
// as the appliance does (seed 004):
//
//	550-#5.7.1 SPF unauthorized mail is prohibited.
//	550-The domain example.com explains:
//	550 <Response text from SPF domain publisher>
//
// The explanation is a stranger's text: anything outside printable ASCII is
// replaced by "?" and it is cut to a reply line's room.
func (v Verdict) RejectText(text string, thirdParty bool) []string {
	switch {
	case !thirdParty, v.Explanation == "", v.Domain == "":
		return []string{text}
	case v.Result != Neutral && v.Result != SoftFail && v.Result != Fail:
		return []string{text}
	}
	e := []byte(v.Explanation)
	for i, c := range e {
		if c < 0x20 || c > 0x7e {
			e[i] = '?'
		}
	}
	if len(e) > maxExplanation {
		e = e[:maxExplanation]
	}
	return []string{text, "The domain " + v.Domain + " explains:", string(e)}
}
