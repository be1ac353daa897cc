package mailflow

// NewListener returns a listener of the given type with the factory host
// access table (ESA-CLI.md §3.3) and, for a public listener, an empty
// recipient access table that rejects everything until domains are added
// (ALL REJECT, as the appliance's RAT ends).
func NewListener(name, typ, address string, port int) Listener {
	l := Listener{Name: name, Type: typ, Interface: "Management", Address: address, Port: port, Certificate: "Demo"}
	if typ == Private {
		l.HAT = PrivateHAT()
	} else {
		l.HAT = PublicHAT()
		l.RAT = []RATEntry{{Pattern: "ALL", Action: ActReject}}
	}
	return l
}

// PublicHAT is the factory host access table of a public listener, as
// ESA-CLI.md §3.3 prints it.
func PublicHAT() HAT {
	return HAT{
		Default: DefaultParams(),
		Policies: []Policy{
			{Name: "ACCEPTED", Action: ActAccept},
			{Name: "THROTTLED", Action: ActAccept, Params: []Param{
				{"spam_check", "on"}, {"max_msgs_per_session", "10"}, {"max_concurrency", "10"},
				{"max_rcpts_per_msg", "25"}, {"max_rcpts_per_hour", "1"}, {"dhap_limit", "0"},
				{"virus_check", "on"}, {"max_message_size", "1048576"}, {"use_sb", "on"}, {"tls", "off"},
			}},
			{Name: "TRUSTED", Action: ActAccept, Params: []Param{
				{"spam_check", "off"}, {"max_msgs_per_session", "5000"}, {"max_concurrency", "600"},
				{"max_rcpts_per_msg", "5000"}, {"max_rcpts_per_hour", "-1"}, {"dhap_limit", "0"},
				{"virus_check", "on"}, {"max_message_size", "104857600"}, {"use_sb", "off"}, {"tls", "off"},
			}},
			{Name: "BLOCKED", Action: ActReject},
		},
		Entries: []Entry{
			{Group: "WHITELIST", Decision: "$TRUSTED", Comment: "My trusted senders have no anti-spam scanning or rate limiting"},
			{Group: "BLACKLIST", Decision: "$BLOCKED", Comment: "Spammers are rejected"},
			{Group: "SUSPECTLIST", Decision: "$THROTTLED", Comment: "Suspicious senders are throttled"},
			{Group: "UNKNOWNLIST", Decision: "$ACCEPTED", Comment: "Reviewed but undecided, continue normal acceptance"},
			{Members: []string{"ALL"}, Decision: "$ACCEPTED"},
		},
	}
}

// PrivateHAT is the factory host access table of a private listener: relay
// for the hosts in RELAYLIST, reject everyone else.
func PrivateHAT() HAT {
	return HAT{
		Default: DefaultParams(),
		Policies: []Policy{
			{Name: "RELAYED", Action: ActRelay, Params: []Param{
				{"spam_check", "off"}, {"max_msgs_per_session", "5000"}, {"max_concurrency", "600"},
				{"max_rcpts_per_msg", "5000"}, {"max_rcpts_per_hour", "-1"}, {"dhap_limit", "0"},
				{"virus_check", "on"}, {"max_message_size", "104857600"}, {"use_sb", "off"}, {"tls", "off"},
			}},
			{Name: "BLOCKED", Action: ActReject},
		},
		Entries: []Entry{
			{Group: "RELAYLIST", Decision: "$RELAYED", Comment: "Relayed mail"},
			{Members: []string{"ALL"}, Decision: "$BLOCKED"},
		},
	}
}
