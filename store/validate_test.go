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
			Filename: "m.log", MaxSize: MinLogSize, MaxFiles: 1, Host: "ftp.example.com",
			User: "u", Passphrase: "p", Directory: "/d", MaxWait: 60,
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
		{"metrics", "logs", "metrics_frequency", "must be 1 to 86400 seconds, got 0", func(c *Config) { c.Logs.MetricsFrequency = 0 }},
		{"metrics high", "logs", "metrics_frequency", "got 86401", func(c *Config) { c.Logs.MetricsFrequency = 86401 }},
		// Issue 12 items 6 and 11: what the wizards refuse, the validator
		// refuses.
		{"single label", "system", "hostname", "is not a fully qualified host name", func(c *Config) { c.System.Hostname = "mail" }},
		{"ipv4 hostname", "system", "hostname", "is not a fully qualified host name", func(c *Config) { c.System.Hostname = "192.0.2.1" }},
		{"numeric top label", "system", "hostname", "is not a fully qualified host name", func(c *Config) { c.System.Hostname = "mail.example.123" }},
		{"ipv6 hostname", "system", "hostname", "is not a valid host name", func(c *Config) { c.System.Hostname = "2001:db8::1" }},
		{"max size 1", "logs", "log[1].max_size", "must be 10240 to 10737418240 bytes (10k to 10240m), got 1", func(c *Config) { c.Logs.Subscriptions[0].MaxSize = 1 }},
		{"max size huge", "logs", "log[1].max_size", "got 10737418241", func(c *Config) { c.Logs.Subscriptions[0].MaxSize = MaxLogSize + 1 }},
		{"max files 100000", "logs", "log[1].max_files", "must be 1 to 1000 files, got 100000", func(c *Config) { c.Logs.Subscriptions[0].MaxFiles = 100000 }},
		{"hidden filename", "logs", "log[1].filename", `".hidden" is not a valid file name`, func(c *Config) { c.Logs.Subscriptions[0].Filename = ".hidden" }},
		{"filename space", "logs", "log[1].filename", "is not a valid file name", func(c *Config) { c.Logs.Subscriptions[0].Filename = "a b" }},
		{"ssh1", "logs", "log[5].protocol", `must be SSH2 for scp retrieval, got "SSH1"`, func(c *Config) {
			p := push(c)
			p.Retrieval, p.Port, p.Protocol = RetrievalSCP, 22, "SSH1"
		}},
		{"syslog protocol", "logs", "log[5].protocol", `must be UDP or TCP`, func(c *Config) {
			p := push(c)
			p.Retrieval, p.Protocol, p.Facility = RetrievalSyslog, "SSH2", "mail"
		}},
		{"directory control", "logs", "log[5].directory", "control character U+001B", func(c *Config) { push(c).Directory = "/logs\x1b[2J" }},
		{"user tab", "logs", "log[5].user", "control character U+0009", func(c *Config) { push(c).User = "a\tb" }},
		{"ftp no passphrase", "logs", "log[5].passphrase", "needed for ftp", func(c *Config) { push(c).Passphrase = "" }},
		{"ftp no wait", "logs", "log[5].max_wait", "got 0", func(c *Config) { push(c).MaxWait = 0 }},
		{"priority 99999999", "dns", "resolver[1].priority", "must be 0 to 1000, got 99999999", func(c *Config) {
			c.DNS.Resolvers = []DNSResolver{{Address: "192.0.2.1", Priority: 99999999}}
		}},
		{"duplicate resolver", "dns", "resolver[2].address", `"127.0.10.53:53" is the same resolver as resolver[1] ("127.0.10.53")`, func(c *Config) {
			c.DNS.Resolvers = []DNSResolver{{Address: "127.0.10.53"}, {Address: "127.0.10.53:53"}}
		}},
		{"duplicate v6 resolver", "dns", "resolver[2].address", "same resolver", func(c *Config) {
			c.DNS.Resolvers = []DNSResolver{{Address: "[2001:db8::0:1]:53"}, {Address: "2001:db8::1"}}
		}},
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
		{"max size", "logs", "log[4].max_size", "got -1", func(c *Config) { c.Logs.Subscriptions[3].MaxSize = -1 }},
		{"max files", "logs", "log[1].max_files", "got 0", func(c *Config) { c.Logs.Subscriptions[0].MaxFiles = 0 }},
		{"rollover", "logs", "log[1].rollover_interval", "got -1", func(c *Config) { c.Logs.Subscriptions[0].RolloverInterval = -1 }},
		{"port", "logs", "log[5].port", "0 to 65535", func(c *Config) { push(c).Port = 70000 }},
		{"push host", "logs", "log[5].host", "needed for ftp retrieval", func(c *Config) { push(c).Host = "" }},
		{"protocol", "logs", "log[5].protocol", "must be UDP or TCP", func(c *Config) {
			p := push(c)
			p.Retrieval, p.Protocol, p.Facility = RetrievalSyslog, "SCTP", "mail"
		}},
		{"facility", "logs", "log[5].facility", "unknown syslog facility", func(c *Config) {
			p := push(c)
			p.Retrieval, p.Protocol, p.Facility = RetrievalSyslog, "UDP", "local9"
		}},
		{"max wait", "logs", "log[5].max_wait", "got -5", func(c *Config) { push(c).MaxWait = -5 }},
		{"control char", "logs", "log[5].passphrase", "control character U+0000", func(c *Config) { push(c).Passphrase = "a\x00b" }},
		{"bad utf8", "dns", "trust_anchor", "not valid UTF-8", func(c *Config) { c.DNS.TrustAnchor = "\xff" }},
		{"resolver name", "dns", "resolver[1].address", "not an IP address", func(c *Config) { c.DNS.Resolvers = []DNSResolver{{Address: "dns.example"}} }},
		{"resolver port 0", "dns", "resolver[1].address", "port 0", func(c *Config) { c.DNS.Resolvers = []DNSResolver{{Address: "192.0.2.1:0"}} }},
		{"resolver zone", "dns", "resolver[1].address", "not an IP address", func(c *Config) { c.DNS.Resolvers = []DNSResolver{{Address: "fe80::1%eth0"}} }},
		{"priority", "dns", "resolver[2].priority", "got -1", func(c *Config) {
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

// TestValidHosts: what the validators accept.
func TestValidHosts(t *testing.T) {
	for _, h := range []string{"mail.example.com", "a.b", "x1.example.co", "mail.xn--p1ai"} {
		if !FQDN(h) {
			t.Errorf("FQDN(%q) = false", h)
		}
	}
	for _, h := range []string{"logs.example.com", "loghost", "192.0.2.1", "2001:db8::1", "::1"} {
		if !ValidHost(h) {
			t.Errorf("ValidHost(%q) = false", h)
		}
	}
	for _, h := range []string{"", "fe80::1%eth0", "a_b.example", "[::1]"} {
		if ValidHost(h) {
			t.Errorf("ValidHost(%q) = true", h)
		}
	}
	c := Defaults()
	c.Logs.Subscriptions = append(c.Logs.Subscriptions, LogSubscription{
		Name: "v6", Type: LogTypeSystem, Level: LevelInfo, Retrieval: RetrievalSyslog, Filename: "v6.log",
		MaxSize: MinLogSize, MaxFiles: 1, Host: "2001:db8::514", Protocol: "TCP", Facility: "local0",
	})
	if err := Validate(c); err != nil {
		t.Errorf("syslog to an IPv6 literal: %v", err)
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
