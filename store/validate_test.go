package store

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	if err := Validate(Defaults()); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if err := Validate(richConfig()); err != nil {
		t.Fatalf("rich config invalid: %v", err)
	}
	push := func(c *Config) *LogSubscription {
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, LogSubscription{
			Name: "push", Type: LogTypeMail, Level: LevelInfo, Retrieval: RetrievalFTP,
			Filename: "m.log", MaxSize: 1, MaxFiles: 1, Host: "ftp.example.com",
		})
		return &c.Logs.Subscriptions[len(c.Logs.Subscriptions)-1]
	}
	cases := []struct {
		name, table, key, reason string
		edit                     func(c *Config)
	}{
		{"empty hostname", "system", "hostname", "is not a valid host name", func(c *Config) { c.System.Hostname = "" }},
		{"hyphen label", "system", "hostname", "is not a valid host name", func(c *Config) { c.System.Hostname = "-a.example.com" }},
		{"long label", "system", "hostname", "is not a valid host name", func(c *Config) { c.System.Hostname = strings.Repeat("a", 64) + ".com" }},
		{"empty label", "system", "hostname", "is not a valid host name", func(c *Config) { c.System.Hostname = "a..com" }},
		{"metrics", "logs", "metrics_frequency", "must be a positive", func(c *Config) { c.Logs.MetricsFrequency = 0 }},
		{"header colon", "logs", "header[1]", "is not a header field name", func(c *Config) { c.Logs.Headers = []string{"X:Y"} }},
		{"header dup", "logs", "header[2]", "already listed as header[1]", func(c *Config) { c.Logs.Headers = []string{"Subject", "subject"} }},
		{"log name", "logs", "log[1].name", "not a valid log name", func(c *Config) { c.Logs.Subscriptions[0].Name = "a/b" }},
		{"log name empty", "logs", "log[2].name", "not a valid log name", func(c *Config) { c.Logs.Subscriptions[1].Name = "" }},
		{"dup name", "logs", "log[3].name", `duplicate log name "cli_logs" (also log[1])`, func(c *Config) { c.Logs.Subscriptions[2].Name = "cli_logs" }},
		{"type", "logs", "log[1].type", "unknown log type", func(c *Config) { c.Logs.Subscriptions[0].Type = "Bounce Logz" }},
		{"level low", "logs", "log[1].level", "got 0", func(c *Config) { c.Logs.Subscriptions[0].Level = 0 }},
		{"level high", "logs", "log[1].level", "got 6", func(c *Config) { c.Logs.Subscriptions[0].Level = 6 }},
		{"retrieval", "logs", "log[1].retrieval", "unknown retrieval", func(c *Config) { c.Logs.Subscriptions[0].Retrieval = "http" }},
		{"filename", "logs", "log[1].filename", "not a plain file name", func(c *Config) { c.Logs.Subscriptions[0].Filename = "../x" }},
		{"filename dotdot", "logs", "log[1].filename", "not a plain file name", func(c *Config) { c.Logs.Subscriptions[0].Filename = ".." }},
		{"filename backslash", "logs", "log[1].filename", "not a plain file name", func(c *Config) { c.Logs.Subscriptions[0].Filename = `..\x` }},
		{"filename too long", "logs", "log[1].filename", "longer than 226 bytes", func(c *Config) { c.Logs.Subscriptions[0].Filename = strings.Repeat("a", 227) }},
		{"max size", "logs", "log[4].max_size", "must be a positive", func(c *Config) { c.Logs.Subscriptions[3].MaxSize = -1 }},
		{"max files", "logs", "log[1].max_files", "must be a positive", func(c *Config) { c.Logs.Subscriptions[0].MaxFiles = 0 }},
		{"rollover", "logs", "log[1].rollover_interval", "negative", func(c *Config) { c.Logs.Subscriptions[0].RolloverInterval = -1 }},
		{"port", "logs", "log[5].port", "0 to 65535", func(c *Config) { push(c).Port = 70000 }},
		{"push host", "logs", "log[5].host", "needed for ftp retrieval", func(c *Config) { push(c).Host = "" }},
		{"protocol", "logs", "log[5].protocol", "unknown protocol", func(c *Config) { push(c).Protocol = "SCTP" }},
		{"facility", "logs", "log[5].facility", "unknown syslog facility", func(c *Config) { push(c).Facility = "local9" }},
		{"max wait", "logs", "log[5].max_wait", "negative", func(c *Config) { push(c).MaxWait = -5 }},
		{"control char", "logs", "log[5].passphrase", "control character U+0000", func(c *Config) { push(c).Passphrase = "a\x00b" }},
		{"bad utf8", "dns", "trust_anchor", "not valid UTF-8", func(c *Config) { c.DNS.TrustAnchor = "\xff" }},
		{"resolver name", "dns", "resolver[1].address", "not an IP address", func(c *Config) { c.DNS.Resolvers = []DNSResolver{{Address: "dns.example"}} }},
		{"resolver port 0", "dns", "resolver[1].address", "port 0", func(c *Config) { c.DNS.Resolvers = []DNSResolver{{Address: "192.0.2.1:0"}} }},
		{"resolver zone", "dns", "resolver[1].address", "not an IP address", func(c *Config) { c.DNS.Resolvers = []DNSResolver{{Address: "fe80::1%eth0"}} }},
		{"priority", "dns", "resolver[2].priority", "negative", func(c *Config) {
			c.DNS.Resolvers = []DNSResolver{{Address: "::1"}, {Address: "192.0.2.1:53", Priority: -1}}
		}},
		{"timeout 0", "dns", "timeout", "got 0", func(c *Config) { c.DNS.Timeout = 0 }},
		{"timeout 61", "dns", "timeout", "got 61", func(c *Config) { c.DNS.Timeout = 61 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c)
			err := Validate(c)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want *ValidationError", err)
			}
			if ve.Table != tc.table || ve.Key != tc.key || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("got %s / %s / %q, want %s / %s / ...%q...", ve.Table, ve.Key, ve.Reason, tc.table, tc.key, tc.reason)
			}
			if !strings.HasPrefix(err.Error(), tc.table+": "+tc.key+": ") {
				t.Fatalf("message %q does not name table and key", err)
			}
		})
	}
}

func TestResolverAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":          "192.0.2.1:53",
		"192.0.2.1:5353":     "192.0.2.1:5353",
		"2001:db8::1":        "[2001:db8::1]:53",
		"[2001:db8::1]:5300": "[2001:db8::1]:5300",
	} {
		got, err := ResolverAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("ResolverAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}
