package mailflow

// Listener is one SMTP listener.
type Listener struct {
	Name string `xml:"name"`
	// Type is "Public" (accepts mail for the RAT's domains) or "Private"
	// (relays for the hosts its HAT allows).
	Type string `xml:"type"`
	// Interface is the interface's name as listed ("Management"); Address is
	// the IP address the listener binds.
	Interface     string `xml:"interface"`
	Address       string `xml:"address"`
	Port          int    `xml:"port"`
	DefaultDomain string `xml:"default_domain,omitempty"`
	// Certificate names the certificate offered with STARTTLS ("Demo" until
	// certconfig exists).
	Certificate string     `xml:"certificate"`
	HAT         HAT        `xml:"hat"`
	RAT         []RATEntry `xml:"rat>entry"`
}

// Listener types.
const (
	Public  = "Public"
	Private = "Private"
)

// HAT is a listener's host access table.
type HAT struct {
	// Default holds the DEFAULT policy parameters every policy inherits.
	Default []Param `xml:"default>param"`
	// Policies are the mail-flow policies, referenced as $NAME.
	Policies []Policy `xml:"policy"`
	// Entries are evaluated in order; the first that matches decides.
	Entries []Entry `xml:"entry"`
}

// Policy is a mail-flow policy: an action and the parameters it overrides.
type Policy struct {
	Name   string  `xml:"name"`
	Action string  `xml:"action"`
	Params []Param `xml:"param"`
}

// Param is one policy parameter as the PRINT form shows it
// (`max_rcpts_per_msg = 25`).
type Param struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// Entry is a line of the HAT: a named sender group, or (Group empty) a
// single host pattern with its own decision, as in
// `spamdomain.com REJECT (reject the domain)`.
type Entry struct {
	// Group is the sender group's name (WHITELIST, RELAYLIST, ...); empty for
	// an inline entry.
	Group string `xml:"group,omitempty"`
	// Members are the host patterns: IP addresses, CIDR blocks, ranges
	// (10.1.1.1-20), host names, partial host names (.example.com),
	// sbrs[lo:hi] / sbrs[none], and ALL.
	Members []string `xml:"member"`
	// Decision is "$POLICY" or an action keyword (ACCEPT, RELAY, REJECT,
	// TCPREFUSE, CONTINUE).
	Decision string `xml:"decision"`
	Comment  string `xml:"comment,omitempty"`
}

// RATEntry is a line of the recipient access table.
type RATEntry struct {
	// Pattern is a domain (example.com), a partial domain (.example.com), an
	// address (user@example.com), a local part (user@) or ALL.
	Pattern string `xml:"pattern"`
	// Action is ACCEPT or REJECT.
	Action string `xml:"action"`
	// Code and Text override the reply for REJECT (0/empty: the default
	// 550 #5.7.1 Recipient address rejected).
	Code int    `xml:"code,omitempty"`
	Text string `xml:"text,omitempty"`
	// BypassLimits skips the recipient rate limits for this entry.
	BypassLimits bool `xml:"bypass_limits,omitempty"`
}

// Actions of a policy or HAT entry.
const (
	ActAccept    = "ACCEPT"
	ActRelay     = "RELAY"
	ActReject    = "REJECT"
	ActTCPRefuse = "TCPREFUSE"
	ActContinue  = "CONTINUE"
)

var actions = []string{ActAccept, ActRelay, ActReject, ActTCPRefuse, ActContinue}
