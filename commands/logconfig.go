package commands

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store"
)

const logconfigHelp = `logconfig

Configure log subscriptions. The main screen lists the logs and
offers:
  NEW        - create a log: type, name, level, retrieval method (manual
               download, FTP push, SCP push, syslog push) and its settings,
               and optional time-based rollover
  EDIT       - change a log, chosen by its number
  DELETE     - remove a log, chosen by its number, after confirmation
  SETUP      - general settings: system metrics frequency and which message
               details mail logs record
  LOGHEADERS - the message headers mail logs record
An empty answer returns to the prompt. Each completed operation is a pending
change of this session until commit; Ctrl-C abandons the current operation.
Log files live in DATA/logs/<name>/.`

// noLevel lists the types whose files are records rather than leveled
// events, for which the appliance does not ask "Log level:" (ESA-CLI §5.2
// item 4: "archives, delivery logs").
var noLevel = map[string]bool{
	"qmail Format Mail Logs": true, "Delivery Logs": true, "Bounce Logs": true,
	"Domain Debug Logs": true, "Injection Debug Logs": true,
	"Anti-Spam Archive": true, "Anti-Virus Archive": true,
}

var retrievals = []struct{ key, menu, list string }{
	{store.RetrievalManual, "Download Manually: FTP/HTTP(S)/SCP", "Manual Download"},
	{store.RetrievalFTP, "FTP Push", "FTP Push"},
	{store.RetrievalSCP, "SCP Push", "SCP Push"},
	{store.RetrievalSyslog, "Syslog Push", "Syslog Push"},
}

// syslogFacilities are the store's list: what the menu offers is what a
// file may hold.
var syslogFacilities = store.SyslogFacilities

var levelNames = []string{"Critical", "Warning", "Information", "Debug", "Trace"}

var logconfigOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new log."},
	{Name: "EDIT", Desc: "Modify a log subscription."},
	{Name: "DELETE", Desc: "Remove a log subscription."},
	{Name: "SETUP", Desc: "General settings."},
	{Name: "LOGHEADERS", Desc: "Add or Remove headers to log."},
}

func logconfigCommand(env *Env) shell.Command {
	kw := make([]string, len(logconfigOps))
	for i, op := range logconfigOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "logconfig",
		Summary:  "Configure access to log files",
		Help:     logconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				logs := env.Session.Config().Logs
				io.Printf("\n")
				printLogs(io, logs.Subscriptions)
				op, err := io.Menu(logconfigOps)
				if err != nil || op == "" {
					return err
				}
				var change func(*store.Logs)
				switch op {
				case "NEW":
					change, err = logNew(io, logs)
				case "EDIT":
					change, err = logEdit(io, logs)
				case "DELETE":
					change, err = logDelete(io, logs)
				case "SETUP":
					change, err = logSetup(io, logs)
				case "LOGHEADERS":
					change, err = logHeaders(io, logs)
				}
				if err != nil {
					return err
				}
				if change == nil {
					continue
				}
				// The operation's answers are all in: apply them to the
				// pending configuration in one step, so an abandoned wizard
				// leaves nothing behind.
				if err := env.Session.Update(func(c *store.Config) error {
					change(&c.Logs)
					return nil
				}); err != nil {
					io.Printf("%v\n", err)
					io.Fail()
				}
			}
		},
	}
}

// printLogs prints the appliance's numbered list of log subscriptions
// (ESA-CLI §5.1), shared by logconfig, grep and tail.
func printLogs(io *shell.IO, subs []store.LogSubscription) {
	io.Printf("Currently configured logs:\n")
	for i, s := range subs {
		io.Printf("%d. %q Type: %q Retrieval: %s\n", i+1, s.Name, s.Type, retrievalName(s.Retrieval))
	}
}

func retrievalName(key string) string {
	for _, r := range retrievals {
		if r.key == key {
			return r.list
		}
	}
	return key
}

// maskedPassphrase stands for a stored passphrase at an EDIT question.
const maskedPassphrase = "*****"

func logNew(io *shell.IO, logs store.Logs) (func(*store.Logs), error) {
	t, err := io.Choose("Choose the log file type for this subscription:", store.LogTypes, 1)
	if err != nil {
		return nil, err
	}
	typ := store.LogTypes[t-1]
	s := store.LogSubscription{Type: typ, Level: store.LevelInfo, MaxSize: 10485760, MaxFiles: 10}
	if err := askLog(io, logs, &s, -1); err != nil {
		return nil, err
	}
	return func(l *store.Logs) { l.Subscriptions = append(l.Subscriptions, s) }, nil
}

func logEdit(io *shell.IO, logs store.Logs) (func(*store.Logs), error) {
	i, err := pickLog(io, logs, "Enter the number of the log you wish to edit.")
	if err != nil || i < 0 {
		return nil, err
	}
	s := logs.Subscriptions[i]
	if err := askLog(io, logs, &s, i); err != nil {
		return nil, err
	}
	return func(l *store.Logs) { l.Subscriptions[i] = s }, nil
}

func logDelete(io *shell.IO, logs store.Logs) (func(*store.Logs), error) {
	i, err := pickLog(io, logs, "Enter the number of the log you wish to delete.")
	if err != nil || i < 0 {
		return nil, err
	}
	name := logs.Subscriptions[i].Name
	sure, err := io.YesNo(fmt.Sprintf("Are you sure you want to delete the log %q?", name), false)
	if err != nil || !sure {
		return nil, err
	}
	return func(l *store.Logs) {
		l.Subscriptions = append(l.Subscriptions[:i:i], l.Subscriptions[i+1:]...)
	}, nil
}

// pickLog asks for a log by number only: the appliance refuses names at
// EDIT and DELETE (ESA-CLI §5.1). -1 means the user pressed Enter.
func pickLog(io *shell.IO, logs store.Logs, question string) (int, error) {
	n := len(logs.Subscriptions)
	if n == 0 {
		io.Printf("There are no logs configured.\n")
		return -1, nil
	}
	a, err := io.AskOptional(question, "", shell.IntRange(1, n))
	if err != nil || a == "" {
		return -1, err
	}
	i, _ := strconv.Atoi(a)
	return i - 1, nil
}

// askLog asks the NEW questions in the appliance's order (ESA-CLI §5.2),
// showing s's current values as defaults. self is s's index when editing.
func askLog(io *shell.IO, logs store.Logs, s *store.LogSubscription, self int) error {
	name, err := io.Ask("Please enter the name for the log:", s.Name, func(a string) (string, error) {
		if err := validLogName(a); err != nil {
			return "", err
		}
		for i, o := range logs.Subscriptions {
			// Case-insensitive: the name is also a directory name.
			if i != self && strings.EqualFold(o.Name, a) {
				return "", fmt.Errorf("Log name '%s' already in use", a)
			}
		}
		return a, nil
	})
	if err != nil {
		return err
	}
	renamed := s.Name != "" && s.Name != name
	s.Name = name
	if !noLevel[s.Type] {
		l, err := io.Choose("Log level:", levelNames, int(s.Level))
		if err != nil {
			return err
		}
		s.Level = store.LogLevel(l)
	}
	r, err := io.Choose("Choose the method to retrieve the logs.", retrievalMenu(), retrievalIndex(s.Retrieval))
	if err != nil {
		return err
	}
	s.Retrieval = retrievals[r-1].key
	if s.Filename == "" || renamed {
		// The appliance's default file name follows the log name (§5.2 item 7).
		s.Filename = s.Name + ".text"
	}
	switch s.Retrieval {
	case store.RetrievalManual:
		err = askManual(io, s)
	case store.RetrievalFTP, store.RetrievalSCP:
		err = askPush(io, s)
	case store.RetrievalSyslog:
		err = askSyslog(io, s)
	}
	if err != nil {
		return err
	}
	dropUnused(s)
	if s.Retrieval == store.RetrievalSyslog {
		// Syslog push sends lines as they are written: there is no file to
		// roll over.
		s.RolloverInterval = 0
		return nil
	}
	return askRollover(io, s)
}

func retrievalMenu() []string {
	m := make([]string, len(retrievals))
	for i, r := range retrievals {
		m[i] = r.menu
	}
	return m
}

func retrievalIndex(key string) int {
	for i, r := range retrievals {
		if r.key == key {
			return i + 1
		}
	}
	return 1
}

// validLogName keeps log names usable as directory names under DATA/logs
// and as the LOG argument of grep and tail (the store's rule).
func validLogName(a string) error {
	if !store.ValidLogName(a) {
		return errors.New("Valid characters are letters, digits, \"_\" and \"-\"; the name is at most 64 characters long.")
	}
	return nil
}

func askManual(io *shell.IO, s *store.LogSubscription) error {
	var err error
	if s.Filename, err = io.Ask("Filename to use for log files:", s.Filename, logFilename); err != nil {
		return err
	}
	if s.MaxSize, err = askSize(io, "Please enter the maximum file size:", s.MaxSize); err != nil {
		return err
	}
	if s.MaxFiles, err = io.Int("Please enter the maximum number of files:", orDefault(s.MaxFiles, 10), 1, store.MaxLogFiles); err != nil {
		return err
	}
	s.AlertOnRemove, err = io.YesNo("Should an alert be sent when files are removed due to the maximum number of files allowed?", s.AlertOnRemove)
	return err
}

func askPush(io *shell.IO, s *store.LogSubscription) error {
	scp := s.Retrieval == store.RetrievalSCP
	var err error
	if s.Host, err = io.Ask("Hostname to deliver the logs:", s.Host, hostOrAddress); err != nil {
		return err
	}
	if scp {
		if s.Port, err = io.Int("Port to connect to on the remote host:", orDefault(s.Port, 22), 1, 65535); err != nil {
			return err
		}
	}
	if s.User, err = io.Ask("Username on the remote host:", s.User, singleLine); err != nil {
		return err
	}
	if !scp {
		// On EDIT the current passphrase is offered masked: Enter keeps it
		// rather than forcing the administrator to retype it each time.
		def := ""
		if s.Passphrase != "" {
			def = maskedPassphrase
		}
		p, err := io.AskSecret(fmt.Sprintf("Passphrase for %s:", s.User), def, shell.NonEmpty)
		if err != nil {
			return err
		}
		if p != maskedPassphrase {
			s.Passphrase = store.Secret(p)
		}
	}
	if s.Directory, err = io.Ask("Directory on remote host to place logs:", s.Directory, singleLine); err != nil {
		return err
	}
	if s.Filename, err = io.Ask("Filename to use for log files:", s.Filename, logFilename); err != nil {
		return err
	}
	if s.MaxWait, err = askDuration(io, "Maximum time to wait before transferring:", orDefault(s.MaxWait, 3600)); err != nil {
		return err
	}
	if s.MaxSize, err = askSize(io, "Maximum filesize before transferring:", s.MaxSize); err != nil {
		return err
	}
	if !scp {
		return nil
	}
	// SSH1 is long broken; the appliance still lists it, so we list it and
	// refuse it with a reason.
	if err := chooseOnly(io, "Protocol:", []string{"SSH1", "SSH2"}, 2, "SSH1 is not supported; choose SSH2."); err != nil {
		return err
	}
	s.Protocol = "SSH2"
	s.HostKeyCheck, err = io.YesNo("Do you want to enable host key checking?", s.HostKeyCheck)
	return err
}

func askSyslog(io *shell.IO, s *store.LogSubscription) error {
	var err error
	if s.Host, err = io.Ask("Hostname to deliver the logs:", s.Host, hostOrAddress); err != nil {
		return err
	}
	protos := []string{"UDP", "TCP"}
	def := 1
	if s.Protocol == "TCP" {
		def = 2
	}
	p, err := io.Choose("Which protocol do you want to use to transfer the log data?", protos, def)
	if err != nil {
		return err
	}
	s.Protocol = protos[p-1]
	def = 14 // mail
	for i, f := range syslogFacilities {
		if f == s.Facility {
			def = i + 1
		}
	}
	f, err := io.Choose("Which facility do you want the log data to be sent as?", syslogFacilities, def)
	if err != nil {
		return err
	}
	s.Facility = syslogFacilities[f-1]
	return nil
}

// dropUnused clears the settings the chosen retrieval method does not use,
// so that EDIT from one method to another (a push log back to manual
// download, say) leaves no stale host, user or passphrase behind in the
// configuration, in showconfig or in saved files.
func dropUnused(s *store.LogSubscription) {
	keep := *s
	*s = store.LogSubscription{
		Name: keep.Name, Type: keep.Type, Level: keep.Level, Retrieval: keep.Retrieval,
		Filename: keep.Filename, MaxSize: keep.MaxSize, MaxFiles: keep.MaxFiles,
		AlertOnRemove: keep.AlertOnRemove, RolloverInterval: keep.RolloverInterval,
	}
	switch keep.Retrieval {
	case store.RetrievalFTP:
		s.Host, s.User, s.Passphrase, s.Directory, s.MaxWait = keep.Host, keep.User, keep.Passphrase, keep.Directory, keep.MaxWait
	case store.RetrievalSCP:
		// SCP authenticates with the appliance's SSH key, not a passphrase.
		s.Host, s.Port, s.User, s.Directory, s.MaxWait = keep.Host, keep.Port, keep.User, keep.Directory, keep.MaxWait
		s.Protocol, s.HostKeyCheck = keep.Protocol, keep.HostKeyCheck
	case store.RetrievalSyslog:
		s.Host, s.Protocol, s.Facility = keep.Host, keep.Protocol, keep.Facility
	}
}

// askRollover asks for time-based rollover (ESA-CLI §5.2 item 10). Only a
// custom interval is offered by the files engine; weekly schedules are
// refused with a reason.
func askRollover(io *shell.IO, s *store.LogSubscription) error {
	on, err := io.YesNo("Do you want to configure time-based log files rollover?", s.RolloverInterval > 0)
	if err != nil {
		return err
	}
	if !on {
		s.RolloverInterval = 0
		return nil
	}
	if err := chooseOnly(io, "Configure log rollover settings:", []string{"Custom time interval.", "Weekly rollover."}, 1,
		"Weekly rollover is not supported; choose a custom time interval."); err != nil {
		return err
	}
	s.RolloverInterval, err = askDuration(io,
		"Enter an interval (seconds, or a number followed by s, m, h or d) after which the log files roll over:",
		orDefault(s.RolloverInterval, 3600))
	return err
}

// chooseOnly shows the appliance's whole menu but accepts only choice
// supported (also the default): any other gets refusal and the menu again.
func chooseOnly(io *shell.IO, question string, choices []string, supported int, refusal string) error {
	for {
		c, err := io.Choose(question, choices, supported)
		if err != nil || c == supported {
			return err
		}
		io.Printf("%s\n", refusal)
	}
}

func logSetup(io *shell.IO, logs store.Logs) (func(*store.Logs), error) {
	freq, err := io.Int("Enter the system metrics frequency (Seconds):", orDefault(logs.MetricsFrequency, 60), 1, store.MaxMetricsFrequency)
	if err != nil {
		return nil, err
	}
	mid, err := io.YesNo("Would you like to log the Message-ID headers?", logs.LogMessageID)
	if err != nil {
		return nil, err
	}
	subj, err := io.YesNo("Would you like to log the original subject header of each message?", logs.LogSubject)
	if err != nil {
		return nil, err
	}
	reply, err := io.YesNo("Would you like to record the remote response text?", logs.LogRemoteReply)
	if err != nil {
		return nil, err
	}
	return func(l *store.Logs) {
		l.MetricsFrequency, l.LogMessageID, l.LogSubject, l.LogRemoteReply = freq, mid, subj, reply
	}, nil
}

func logHeaders(io *shell.IO, logs store.Logs) (func(*store.Logs), error) {
	if len(logs.Headers) > 0 {
		io.Printf("\nCurrently logged headers: %s\n", strings.Join(logs.Headers, ", "))
	}
	a, err := io.AskOptional("Please enter the list of headers you wish to record in the log files. Separate multiple headers with commas. Enter \"none\" to record no headers.",
		strings.Join(logs.Headers, ", "), headerList)
	if err != nil {
		return nil, err
	}
	var hs []string
	if a != "" && !strings.EqualFold(a, "none") {
		hs = strings.Split(a, ", ")
	}
	return func(l *store.Logs) { l.Headers = hs }, nil
}

// headerList accepts comma-separated header field names (RFC 5322 §3.6.8:
// printable ASCII except colon), each once (names are case-insensitive), and
// returns them joined by ", ". It applies the store's header rules, so a
// list refused at commit or in a file is refused here, at the question.
func headerList(a string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(a), "none") {
		return "none", nil
	}
	var out []string
	for _, h := range strings.Split(a, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !store.ValidHeaderName(h) {
			return "", fmt.Errorf("Not a valid header name: %q. A header name is printable ASCII without spaces or \":\".", h)
		}
		out = append(out, h)
	}
	if i, _ := store.DuplicateHeader(out); i >= 0 {
		return "", fmt.Errorf("The header %q is listed twice. Header names do not depend on case; list each once.", out[i])
	}
	if len(out) == 0 {
		return "none", nil
	}
	return strings.Join(out, ", "), nil
}

// logFilename accepts a log file name by the store's rule (letters,
// digits, '.', '-' and '_', not starting with '.', short enough for the
// rolled files' suffix).
func logFilename(a string) (string, error) {
	a = strings.TrimSpace(a)
	if !store.ValidLogFilename(a) {
		return "", fmt.Errorf("Valid characters are letters, digits, \".\", \"-\" and \"_\"; the name must not start with \".\" and is at most %d characters long.", store.MaxLogFilename)
	}
	return a, nil
}

// hostOrAddress accepts the host a log is pushed to: a host name, or an
// IPv4 or IPv6 address (RFC 4291 §2.2 text forms, without brackets).
func hostOrAddress(a string) (string, error) {
	a = strings.TrimSpace(a)
	if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
		return ip.String(), nil
	}
	h, err := shell.Hostname(a)
	if err != nil {
		return "", fmt.Errorf("Enter a host name (logs.example.com) or an IP address (192.0.2.10, 2001:db8::10); %q is neither.", a)
	}
	return h, nil
}

// singleLine accepts a non-empty answer without control characters: user
// names and directories are shown on screens and in log lines, where an
// escape sequence would drive the terminal (the store refuses them too).
func singleLine(a string) (string, error) {
	a, err := shell.NonEmpty(a)
	if err != nil {
		return "", err
	}
	if r := store.ControlChar(a); r >= 0 {
		return "", fmt.Errorf("The value must not contain control characters (it contains %U).", r)
	}
	return a, nil
}

// askSize asks for a byte count; k and m suffixes multiply by 1024 and
// 1024*1024, as on the appliance (ESA-CLI §5.2 item 7).
func askSize(io *shell.IO, question string, def int64) (int64, error) {
	if def <= 0 {
		def = 10485760
	}
	a, err := io.Ask(question, strconv.FormatInt(def, 10), parseSize)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(a, 10, 64)
}

func parseSize(a string) (string, error) {
	a = strings.ToLower(strings.TrimSpace(a))
	mult := int64(1)
	switch {
	case strings.HasSuffix(a, "k"):
		mult, a = 1024, strings.TrimSuffix(a, "k")
	case strings.HasSuffix(a, "m"):
		mult, a = 1024*1024, strings.TrimSuffix(a, "m")
	}
	n, err := strconv.ParseInt(a, 10, 64)
	const min, max = store.MinLogSize, store.MaxLogSize
	if err != nil || n <= 0 || n > max/mult || n*mult < min {
		return "", errors.New("The value must be a size from 10k to 10240m (a number of bytes, or a number followed by k or m).")
	}
	return strconv.FormatInt(n*mult, 10), nil
}

// askDuration asks for a number of seconds; s, m, h and d suffixes are
// accepted.
func askDuration(io *shell.IO, question string, def int) (int, error) {
	a, err := io.Ask(question, strconv.Itoa(def), parseDuration)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(a)
}

func parseDuration(a string) (string, error) {
	a = strings.ToLower(strings.TrimSpace(a))
	mult := 1
	if a != "" {
		switch a[len(a)-1] {
		case 's':
			a = a[:len(a)-1]
		case 'm':
			mult, a = 60, a[:len(a)-1]
		case 'h':
			mult, a = 3600, a[:len(a)-1]
		case 'd':
			mult, a = 86400, a[:len(a)-1]
		}
	}
	n, err := strconv.Atoi(a)
	const max = store.MaxLogInterval
	if err != nil || n <= 0 || n > max/mult {
		return "", errors.New("The value must be a time from 1 second to 366 days (seconds, or a number followed by s, m, h or d).")
	}
	return strconv.Itoa(n * mult), nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
