package store

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/badconfig/*.err from the current errors")

// richConfig exercises every field kind, secrets and awkward text.
func richConfig() Config {
	c := Defaults()
	c.System.Hostname = "mail1.example.com"
	c.Logs.Headers = []string{"X-Mailer", "Subject"}
	c.Logs.Subscriptions = append(c.Logs.Subscriptions, LogSubscription{
		Name: "pushed-scp", Type: LogTypeMail, Level: LevelTrace, Retrieval: RetrievalSCP,
		Filename: "mail.log", MaxSize: 1 << 20, MaxFiles: 3, AlertOnRemove: true,
		RolloverInterval: 3600, Host: "logs.example.com", Port: 22, User: "esa",
		Passphrase: "p&ss<wo>rd\r\n\"'", Directory: "/var/log/esa", MaxWait: 60,
		Protocol: "SSH2", HostKeyCheck: true,
	}, LogSubscription{
		Name: "syslog", Type: LogTypeSystem, Level: LevelWarning, Retrieval: RetrievalSyslog,
		Filename: "sys.log", MaxSize: 10240, MaxFiles: 1, Host: "192.0.2.9", Protocol: "UDP", Facility: "local3",
	})
	c.DNS.Resolvers = []DNSResolver{{Address: "192.0.2.53", Priority: 0}, {Address: "[2001:db8::53]:5353", Priority: 1}}
	c.DNS.Timeout = 3
	c.DNS.TrustAnchor = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n\t; second line\n"
	return c
}

func TestMarshalRoundTrip(t *testing.T) {
	s := openTest(t)
	c := richConfig()
	for _, m := range []SecretMode{EncryptSecrets, PlainSecrets} {
		b, err := s.MarshalConfig(c, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.UnmarshalConfig(b)
		if err != nil {
			t.Fatalf("mode %d: %v\n%s", m, err, b)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("mode %d: read back\n%+v\nwant\n%+v", m, got, c)
		}
		b2, _ := s.MarshalConfig(got, m)
		if !bytes.Equal(b, b2) {
			t.Errorf("mode %d: second marshal differs:\n%s\n---\n%s", m, b, b2)
		}
	}
}

func TestMarshalShape(t *testing.T) {
	s := openTest(t)
	c := richConfig()
	plain, _ := s.MarshalConfig(c, PlainSecrets)
	masked, _ := s.MarshalConfig(c, MaskSecrets)
	enc, _ := s.MarshalConfig(c, EncryptSecrets)
	for _, want := range []string{
		// ESA-CLI.md §9.1 [V]: the appliance's declaration, and "Current
		// Time:" on a line of its own that backup tools strip.
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!--\n  Current Time: Sat May 23 11:42:12 2026 UTC\n-->\n<config>\n  <system>\n    <hostname>mail1.example.com</hostname>\n  </system>\n  <logs>\n",
		"<passphrase>p&amp;ss&lt;wo&gt;rd&#xD;\n\"'</passphrase>",
		"</dns>\n  <listeners>\n",
		"  <users/>\n  <certificates>\n",
	} {
		if !strings.Contains(string(plain), want) {
			t.Errorf("plain file lacks %q:\n%s", want, plain)
		}
	}
	if !strings.Contains(string(masked), "<passphrase>*****</passphrase>") || strings.Contains(string(masked), "p&amp;ss") {
		t.Errorf("masked file:\n%s", masked)
	}
	if !strings.Contains(string(enc), "<passphrase>{ENC}") || strings.Contains(string(enc), "p&amp;ss") {
		t.Errorf("encrypted file:\n%s", enc)
	}
	// Only non-empty secrets are masked: the default logs have none.
	d, _ := s.MarshalConfig(Defaults(), MaskSecrets)
	if _, err := s.UnmarshalConfig(d); err != nil {
		t.Errorf("masked file without secrets refused: %v", err)
	}
	if _, err := s.MarshalConfig(c, SecretMode(9)); err == nil {
		t.Error("unknown secret mode accepted")
	}
}

func TestUnmarshalLatin1(t *testing.T) {
	s := openTest(t)
	plain, err := s.MarshalConfig(Defaults(), PlainSecrets)
	if err != nil {
		t.Fatal(err)
	}
	// A UTF-8 byte order mark is allowed.
	if _, err := s.UnmarshalConfig(append([]byte("\xef\xbb\xbf"), plain...)); err != nil {
		t.Fatalf("BOM: %v", err)
	}
	// Latin-1 bytes are read as Latin-1.
	latin := bytes.Replace(plain, []byte("<timeout>5</timeout>"), []byte("<timeout>5</timeout><trust_anchor>caf\xe9</trust_anchor>"), 1)
	c, err := s.UnmarshalConfig(latin)
	if err != nil || c.DNS.TrustAnchor != "café" {
		t.Fatalf("latin-1: %v %q", err, c.DNS.TrustAnchor)
	}
	// Characters beyond Latin-1 are written as references, so the file is
	// ASCII and its ISO-8859-1 declaration true, and they read back.
	c.DNS.TrustAnchor = "café ☃ 𝄞"
	out, err := s.MarshalConfig(c, PlainSecrets)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range out {
		if b >= 0x80 {
			t.Fatalf("non-ASCII byte %#x in the file:\n%s", b, out)
		}
	}
	if !bytes.Contains(out, []byte("caf&#xE9; &#x2603; &#x1D11E;")) {
		t.Errorf("references not written:\n%s", out)
	}
	back, err := s.UnmarshalConfig(out)
	if err != nil || back.DNS.TrustAnchor != c.DNS.TrustAnchor {
		t.Fatalf("read back %q, %v", back.DNS.TrustAnchor, err)
	}
}

// TestUnmarshalIncomplete (issue 12 item 5): the file is the whole
// configuration. Leaving out a table or a setting is refused, naming what
// is missing, instead of silently resetting it to its default.
func TestUnmarshalIncomplete(t *testing.T) {
	s := openTest(t)
	full, err := s.MarshalConfig(richConfig(), PlainSecrets)
	if err != nil {
		t.Fatal(err)
	}
	cut := func(from, to string) []byte {
		i := bytes.Index(full, []byte(from))
		j := bytes.Index(full[i:], []byte(to))
		if i < 0 || j < 0 {
			t.Fatalf("no %q..%q", from, to)
		}
		return append(append([]byte(nil), full[:i]...), full[i+j+len(to):]...)
	}
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"bare config", []byte("<config/>"), "line 1: the file is incomplete: <config> has no <system>, <logs>, <dns>, <listeners>, <destinations>, <bounces>, <routes>, <users>, <certificates>, <domainkeys>, <dmarc>, <dictionaries>, <filters> and <quarantines>; a configuration file holds the whole configuration, as saveconfig writes it"},
		{"hostname only", []byte("<config>\n<system><hostname>m.example.com</hostname></system>\n</config>\n"), "line 1: the file is incomplete: <config> has no <logs>, <dns>, <listeners>, <destinations>, <bounces>, <routes>, <users>, <certificates>, <domainkeys>, <dmarc>, <dictionaries>, <filters> and <quarantines>; a configuration file holds the whole configuration, as saveconfig writes it"},
		{"no dns", cut("  <dns>", "</dns>\n"), "line 5: the file is incomplete: <config> has no <dns>; a configuration file holds the whole configuration, as saveconfig writes it"},
		{"no subscriptions", cut("    <subscriptions>", "</subscriptions>\n"), "line 9: <logs> is incomplete: it has no <subscriptions>"},
		{"no resolvers", cut("    <resolvers>", "</resolvers>\n"), "line 94: <dns> is incomplete: it has no <resolvers>"},
		{"log without max_files", cut("        <max_files>10</max_files>", "\n"), "line 19: <log> is incomplete: it has no <max_files>"},
		{"empty system", []byte("<config><system/><logs/><dns/></config>"), "line 1: <system> is incomplete: it has no <hostname>"},
		{"empty log", []byte("<config><logs><metrics_frequency>60</metrics_frequency><log_message_id>true</log_message_id><log_subject>true</log_subject><log_remote_response>true</log_remote_response><headers/><subscriptions><log/></subscriptions></logs></config>"),
			"line 1: <log> is incomplete: it has no <name>, <type>, <level>, <retrieval>, <filename>, <max_size>, <max_files> and <alert_on_remove>"},
	} {
		_, err := s.UnmarshalConfig(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v\nwant %s", c.name, err, c.want)
		}
	}
	// Settings written only when set (omitempty) may be left out: an empty
	// trust anchor means the built-in one.
	if _, err := s.UnmarshalConfig(cut("    <trust_anchor>", "</trust_anchor>\n")); err != nil {
		t.Errorf("file without the optional trust anchor: %v", err)
	}
}

// TestBadConfigCorpus reads every testdata/badconfig/NAME.xml and checks the
// exact error against NAME.err.
func TestBadConfigCorpus(t *testing.T) {
	s := openTest(t)
	files, _ := filepath.Glob("testdata/badconfig/*.xml")
	if len(files) < 20 {
		t.Fatalf("only %d corpus files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.UnmarshalConfig(data)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want *ParseError", err, err)
			}
			errFile := strings.TrimSuffix(f, ".xml") + ".err"
			if *update {
				os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644)
				return
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatalf("no expected error: %v", rerr)
			}
			if got := err.Error(); got != strings.TrimSuffix(string(want), "\n") {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestSaveAndReadConfigFile(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := richConfig()
	name, err := s.SaveConfigFile(c, EncryptSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if name != "mail1.example.com-20260523T114212.xml" {
		t.Errorf("name %q", name)
	}
	fi, err := os.Stat(filepath.Join(s.ConfigDir(), name))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v %v", fi, err)
	}
	got, err := s.ReadConfigFile(ctx, name)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("read back: %v", err)
	}
	// Only plain names: not even an absolute path to the same file.
	var fe *FileError
	if _, err := s.ReadConfigFile(ctx, filepath.Join(s.ConfigDir(), name)); !errors.As(err, &fe) {
		t.Fatalf("absolute path: %v", err)
	}
	// Same second: a new name, never an overwrite.
	name2, err := s.SaveConfigFile(c, PlainSecrets)
	if err != nil || name2 != "mail1.example.com-20260523T114212-2.xml" {
		t.Fatalf("second save %q %v", name2, err)
	}
	if _, err := s.ReadConfigFile(ctx, "../config.db"); !errors.As(err, &fe) || !strings.Contains(err.Error(), "is not a plain file name") {
		t.Errorf("escaping path: %v", err)
	}
	if _, err := s.ReadConfigFile(ctx, "missing.xml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := c.Clone()
	bad.System.Hostname = "../../etc"
	if _, err := s.SaveConfigFile(bad, PlainSecrets); err == nil {
		t.Error("saved an invalid configuration")
	}
	// Masked files save but cannot be read back.
	name3, _ := s.SaveConfigFile(c, MaskSecrets)
	var pe *ParseError
	if _, err := s.ReadConfigFile(ctx, name3); !errors.As(err, &pe) || pe.Reason != "passphrase is masked; files with masked passphrases cannot be loaded" {
		t.Errorf("masked file: %v", err)
	}
}

// TestConfigFileTooLarge: a file past MaxConfigSize is refused after
// reading at most MaxConfigSize+1 bytes, instead of eating memory.
func TestConfigFileTooLarge(t *testing.T) {
	s := openTest(t)
	want := "line 1: the file is larger than 16777216 bytes, too large for a configuration file"
	big := append([]byte("<config>\n<!-- "), bytes.Repeat([]byte("x"), MaxConfigSize)...)
	big = append(big, " -->\n</config>\n"...)
	if _, err := s.UnmarshalConfig(big); err == nil || err.Error() != want {
		t.Fatalf("UnmarshalConfig: got %v, want %q", err, want)
	}
	// A sparse file of 1 GiB: read only up to the bound.
	f, err := os.Create(filepath.Join(s.ConfigDir(), "huge.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Skipf("no sparse file: %v", err)
	}
	f.Close()
	if _, err := s.ReadConfigFile(context.Background(), "huge.xml"); err == nil || err.Error() != want {
		t.Fatalf("ReadConfigFile(huge.xml): got %v, want %q", err, want)
	}
}

// TestUnmarshalAnyOrder: elements of a table may come in any order, as a
// hand-edited file has them; only their names matter.
func TestUnmarshalAnyOrder(t *testing.T) {
	s := openTest(t)
	in := `<config>
  <dns>
    <timeout>7</timeout>
    <resolvers><resolver><priority>2</priority><address>192.0.2.1</address></resolver></resolvers>
  </dns>
  <logs><subscriptions/><headers/><log_remote_response>false</log_remote_response>
    <log_subject>false</log_subject><log_message_id>false</log_message_id><metrics_frequency>9</metrics_frequency></logs>
  <system><hostname>b.example.com</hostname></system>
  <users/>
  <listeners><max_connections>10</max_connections><data_timeout>60</data_timeout><command_timeout>30</command_timeout></listeners>
  <destinations><entries/><default><tls>No</tls><concurrency>5</concurrency><messages_per_connection>5</messages_per_connection>
    <limit_type>Domain</limit_type><limit_apply>System</limit_apply><dane>No</dane><bounce_verification>Off</bounce_verification>
    <ip_sort>Prefer IPv4</ip_sort></default><global><alert_on_tls_failure>false</alert_on_tls_failure></global></destinations>
  <routes/>
  <bounces><bounce_unknown_hosts>true</bounce_unknown_hosts><profile><name>Default</name><max_retries>100</max_retries>
    <max_queue_lifetime>259200</max_queue_lifetime><initial_retry>60</initial_retry><max_retry_timeout>3600</max_retry_timeout>
    <send_bounces>yes</send_bounces><use_dsn_bounce_format>yes</use_dsn_bounce_format><bounce_subject>Failed</bounce_subject>
    <use_bounce_response_code>no</use_bounce_response_code><send_warnings>no</send_warnings><delay_subject>Delayed</delay_subject>
    <send_warnings_interval>14400</send_warnings_interval><send_warnings_count>1</send_warnings_count>
    <sign_bounce_messages>no</sign_bounce_messages><host_initial_retry>60</host_initial_retry>
    <host_max_retry_timeout>3600</host_max_retry_timeout></profile></bounces>
  <certificates><outbound>Demo</outbound><demo_made>false</demo_made><system_cas>true</system_cas><custom_cas>false</custom_cas><authorities/></certificates>
  <domainkeys><use_from_header>false</use_from_header><sign_system_generated>true</sign_system_generated><keys/><signing/><verification/></domainkeys>
  <dmarc><profile><name>DEFAULT</name><reject_action>reject</reject_action><reject_code>550</reject_code><reject_text>#5.7.1 DMARC unauthenticated mail is prohibited</reject_text>
    <quarantine_action>none</quarantine_action><tempfail_action>accept</tempfail_action><tempfail_code>451</tempfail_code><tempfail_text>#4.7.1 Unable to perform DMARC verification</tempfail_text>
    <permfail_action>accept</permfail_action><permfail_code>550</permfail_code><permfail_text>#5.7.1 DMARC verification failed</permfail_text></profile>
    <settings><report_time>00:00</report_time><error_reports>false</error_reports><entity></entity><rules>rfc7489</rules></settings></dmarc>
  <dictionaries/>
  <filters/>
  <quarantines><quarantine><name>Policy</name><retention_hours>240</retention_hours><default_action>delete</default_action></quarantine></quarantines>
</config>`
	c, err := s.UnmarshalConfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if c.DNS.Timeout != 7 || len(c.DNS.Resolvers) != 1 || c.DNS.Resolvers[0] != (DNSResolver{"192.0.2.1", 2}) || c.System.Hostname != "b.example.com" {
		t.Fatalf("got %+v %+v", c.DNS, c.System)
	}
}

// TestCurrentTimeLine (issue 12 item 14): "Current Time:" is a line of its
// own, as on the appliance (ESA-CLI.md §9.1), so that backup tools that drop
// lines matching ^\s*Current Time: .* (Netshot) see two saves of an
// unchanged configuration as the same file, and the file without that
// line still loads.
func TestCurrentTimeLine(t *testing.T) {
	s := openTest(t)
	c := richConfig()
	a, err := s.MarshalConfig(c, EncryptSecrets)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testTime.Add(49 * time.Hour) }
	b, err := s.MarshalConfig(c, EncryptSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("the time is not in the file")
	}
	strip := regexp.MustCompile(`(?m)^\s*Current Time: .*\n`)
	sa, sb := strip.ReplaceAll(a, nil), strip.ReplaceAll(b, nil)
	if !bytes.Equal(sa, sb) {
		t.Fatalf("files differ beyond the Current Time line:\n%s\n---\n%s", sa, sb)
	}
	if len(sa) == len(a) {
		t.Fatal("no Current Time line to strip")
	}
	got, err := s.UnmarshalConfig(sa)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("stripped file: %v", err)
	}
}
