package store

import (
	"time"

	"esa/store/bounces"
	"esa/store/certs"
	"esa/store/destinations"
	"esa/store/dictionaries"
	"esa/store/dmarcconf"
	"esa/store/domainkeys"
	"esa/store/filters"
	"esa/store/mailflow"
	"esa/store/quarantines"
	"esa/store/routes"
	"esa/store/users"
)

// Config is the whole appliance configuration. Each field is one table: it
// is versioned, conflict-checked and committed on its own, and it has one
// text form shared by saveconfig, showconfig, loadconfig and the per-table
// IMPORT/EXPORT of later commands.
//
// Values are plain data: copying a Config (with Clone) gives an independent
// pending copy for a shell session.
type Config struct {
	System    System    `xml:"system"`
	Logs      Logs      `xml:"logs"`
	DNS       DNS       `xml:"dns"`
	Listeners Listeners `xml:"listeners"`
	// Destinations is the destconfig table the delivery engine reads
	// through destinations.Table.Lookup.
	Destinations destinations.Table `xml:"destinations"`
	// Bounces is the bounceconfig table (bounces.Table.Lookup resolves a
	// profile for the engine) and Routes the smtproutes table
	// (routes.NewIndex(...).Lookup finds a domain's route).
	Bounces bounces.Table `xml:"bounces"`
	Routes  routes.Table  `xml:"routes"`
	Users   Users         `xml:"users"`
	// Certificates is the certconfig table (store/certs): the listeners'
	// STARTTLS and outbound TLS read it through certs.Table.TLSCertificate
	// and RootPool.
	Certificates certs.Table `xml:"certificates"`
	// DomainKeys is the domainkeysconfig table (store/domainkeys): signing
	// keys and profiles, verification profiles.
	DomainKeys domainkeys.Table `xml:"domainkeys"`
	// DMARC is the dmarcconfig table (store/dmarcconf): verification
	// profiles and the report settings.
	DMARC dmarcconf.Table `xml:"dmarc"`
	// Dictionaries are the content dictionaries of dictionaryconfig,
	// Filters the message filters in order, Quarantines the local
	// quarantines of quarantineconfig.
	Dictionaries dictionaries.Table `xml:"dictionaries"`
	Filters      filters.Table      `xml:"filters"`
	Quarantines  quarantines.Table  `xml:"quarantines"`
}

// Listeners is the table listenerconfig edits: the SMTP listeners, each
// with its host access and recipient access tables, and the global settings
// of listenerconfig SETUP.
type Listeners struct {
	// CommandTimeout is how long a client may take to send each command,
	// DataTimeout the whole DATA phase, in seconds (RFC 5321 §4.5.3.2:
	// 5 and 10 minutes).
	CommandTimeout int `xml:"command_timeout"`
	DataTimeout    int `xml:"data_timeout"`
	// MaxConnections bounds the inbound connections of all listeners.
	MaxConnections int                 `xml:"max_connections"`
	Listeners      []mailflow.Listener `xml:"listener"`
}

// Timeouts returns the SETUP timeouts as durations.
func (l Listeners) Timeouts() (command, data time.Duration) {
	return time.Duration(l.CommandTimeout) * time.Second, time.Duration(l.DataTimeout) * time.Second
}

// Users is the table userconfig edits: the administrator accounts.
type Users struct {
	Users []users.User `xml:"user"`
}

// System is the table of appliance-wide identity settings.
type System struct {
	Hostname string `xml:"hostname"`
}

// Secret is a passphrase or private key. The configuration file writer masks
// it unless asked to write it in plain or encrypted form.
type Secret string

// LogLevel orders log lines by importance: a subscription at level L receives
// every line whose level is L or more important.
type LogLevel int

const (
	LevelCritical LogLevel = 1 + iota
	LevelWarning
	LevelInfo
	LevelDebug
	LevelTrace
)

// String is the level's name as logconfig lists it ("Information").
func (l LogLevel) String() string {
	switch l {
	case LevelCritical:
		return "Critical"
	case LevelWarning:
		return "Warning"
	case LevelInfo:
		return "Information"
	case LevelDebug:
		return "Debug"
	case LevelTrace:
		return "Trace"
	}
	return "Unknown"
}

// Prefix is the level's word in a log line ("Info:").
func (l LogLevel) Prefix() string {
	if l == LevelInfo {
		return "Info"
	}
	return l.String()
}

// Retrieval methods of a log subscription (logconfig NEW step 6).
const (
	RetrievalManual = "manual" // Download Manually: FTP/HTTP(S)/SCP
	RetrievalFTP    = "ftp"    // FTP Push
	RetrievalSCP    = "scp"    // SCP Push
	RetrievalSyslog = "syslog" // Syslog Push
)

// Log types. The value is the name logconfig prints ("Type: ...").
const (
	LogTypeMail   = "IronPort Text Mail Logs"
	LogTypeCLI    = "CLI Audit Logs"
	LogTypeSystem = "System Logs"
	LogTypeConfig = "Configuration History Logs"
	// LogTypeAuth records logins, logouts and failed logins (the SSH
	// server's lines); esa serve's first start subscribes "authentication"
	// to it, as the appliance's factory configuration has.
	LogTypeAuth = "Authentication Logs"
)

// LogTypes is the appliance's list of log types in its logconfig order
// (ESA-CLI §5.2 item 1). Subscriptions of any of them may exist; a type only
// receives lines once a subsystem writes it.
var LogTypes = []string{
	LogTypeMail, "qmail Format Mail Logs", "Delivery Logs", "Bounce Logs",
	"Status Logs", "Domain Debug Logs", "Injection Debug Logs", "SMTP Conversation Logs",
	LogTypeSystem, LogTypeCLI, "FTP Server Logs", "HTTP Logs", "NTP logs",
	"LDAP Debug Logs", "Anti-Spam Logs", "Anti-Spam Archive", "Anti-Virus Logs",
	"Anti-Virus Archive", "Scanning Logs", "Encryption Logs", "Spam Quarantine Logs",
	"Spam Quarantine GUI Logs", "Reporting Logs", "Reporting Query Logs", "Updater Logs",
	"SNMP Logs", "Tracking Logs", "Safe/Block Lists Logs", LogTypeAuth,
	LogTypeConfig, "Reputation Engine Logs",
}

// LogSubscription is one log (logconfig). Files live under
// DATA/logs/<Name>/<Filename>.@<timestamp>.{c,s}.
type LogSubscription struct {
	Name      string   `xml:"name"`
	Type      string   `xml:"type"`
	Level     LogLevel `xml:"level"`
	Retrieval string   `xml:"retrieval"`

	// Manual download.
	Filename      string `xml:"filename"`
	MaxSize       int64  `xml:"max_size"`  // bytes; roll over when reached
	MaxFiles      int    `xml:"max_files"` // rolled files kept
	AlertOnRemove bool   `xml:"alert_on_remove"`

	// Time-based rollover: 0 means off.
	RolloverInterval int `xml:"rollover_interval,omitempty"` // seconds

	// FTP / SCP / syslog push.
	Host         string `xml:"host,omitempty"`
	Port         int    `xml:"port,omitempty"`
	User         string `xml:"user,omitempty"`
	Passphrase   Secret `xml:"passphrase,omitempty"`
	Directory    string `xml:"directory,omitempty"`
	MaxWait      int    `xml:"max_wait,omitempty"` // seconds before transferring
	Protocol     string `xml:"protocol,omitempty"` // SSH2, UDP, TCP
	Facility     string `xml:"facility,omitempty"` // syslog facility
	HostKeyCheck bool   `xml:"host_key_check,omitempty"`
}

// Logs is the logconfig table: general settings and the subscriptions.
type Logs struct {
	MetricsFrequency int               `xml:"metrics_frequency"` // seconds
	LogMessageID     bool              `xml:"log_message_id"`
	LogSubject       bool              `xml:"log_subject"`
	LogRemoteReply   bool              `xml:"log_remote_response"`
	Headers          []string          `xml:"headers>header"`
	Subscriptions    []LogSubscription `xml:"subscriptions>log"`
}

// DNSResolver is one recursive resolver the validating stub asks.
// Lower Priority is asked first; equal priorities are tried in list order.
type DNSResolver struct {
	Address  string `xml:"address"` // IP or IP:port (default port 53)
	Priority int    `xml:"priority"`
}

// DNS is the dnsconfig table.
type DNS struct {
	Resolvers []DNSResolver `xml:"resolvers>resolver"`
	// Timeout is the per-query wait, in seconds, before falling over to the
	// next resolver.
	Timeout int `xml:"timeout"`
	// TrustAnchor holds DS or DNSKEY records in zone-file text. Empty means
	// the built-in IANA root keys (KSK-2017 20326 and KSK-2024 38696).
	TrustAnchor string `xml:"trust_anchor,omitempty"`
}

// Defaults is a fresh appliance's configuration.
func Defaults() Config {
	return Config{
		System: System{Hostname: "esa.example.com"},
		Logs: Logs{
			MetricsFrequency: 60,
			LogMessageID:     true,
			LogSubject:       true,
			LogRemoteReply:   true,
			Subscriptions: []LogSubscription{
				defaultLog("cli_logs", LogTypeCLI, "cli.log"),
				defaultLog("mail_logs", LogTypeMail, "mail.log"),
				defaultLog("system_logs", LogTypeSystem, "system.log"),
				defaultLog("config_history", LogTypeConfig, "config_history.log"),
			},
		},
		DNS:          DNS{Timeout: 5},
		Listeners:    Listeners{CommandTimeout: 300, DataTimeout: 600, MaxConnections: 5000},
		Destinations: destinations.Factory(),
		Bounces:      bounces.Defaults(),
		Certificates: certs.Factory(),
		DomainKeys:   domainkeys.Factory(),
		DMARC:        dmarcconf.Factory(),
		Dictionaries: dictionaries.Factory(),
		Filters:      filters.Factory(),
		Quarantines:  quarantines.Factory(),
	}
}

// DefaultLog is a subscription with the factory settings (Information
// level, manual download, 10 files of 10 MB).
func DefaultLog(name, typ, file string) LogSubscription { return defaultLog(name, typ, file) }

func defaultLog(name, typ, file string) LogSubscription {
	return LogSubscription{
		Name:      name,
		Type:      typ,
		Level:     LevelInfo,
		Retrieval: RetrievalManual,
		Filename:  file,
		MaxSize:   10485760,
		MaxFiles:  10,
	}
}
