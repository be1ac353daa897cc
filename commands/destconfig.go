package commands

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/bounces"
	"esa/store/certs"
	"esa/store/destinations"
)

const destconfigHelp = `destconfig

Configure destination controls: how the appliance delivers to each
destination domain. The main screen says how many entries there are and
offers:
  SETUP   - global settings: the certificate outbound TLS presents (the
            outbound certificate of certconfig) and whether to send an
            alert when a required TLS connection fails
  NEW     - add a destination: a domain (example.com), a partial domain
            (.example.com, every subdomain of example.com) or an IP address,
            and the settings it overrides: concurrency limit, messages per
            connection, recipient limit and its window in minutes, whether
            the limits count for the whole domain or each MX IP address,
            TLS support (1 No, 2 Preferred, 3 Required, 4 Preferred - Verify,
            5 Required - Verify, 6 Required - Verify Hosted Domains), DANE
            (No, Opportunistic, Mandatory; asked only when TLS is not No),
            bounce verification tagging, bounce profile, IP sort preference;
            a setting left unset takes the default's value
  EDIT    - change a destination: the same questions, its values as defaults
  DELETE  - remove a destination
  DEFAULT - change the settings of every domain without an entry
  LIST    - one line per destination, (Default) last
  DETAIL  - every setting of one destination, DEFAULT or ALL
  CLEAR   - remove every destination (the default stays)
  IMPORT  - replace the destinations and the default with a file of the
            configuration directory ([DEFAULT] and [domain] sections of
            key = value lines); a file with an error is refused whole,
            naming the line
  EXPORT  - write them to a file of the configuration directory
Mail to a domain gets the settings of its own entry, else of the partial
domain with the longest match, else the default. Each completed operation
is a pending change of this session until commit; Ctrl-C abandons the
current operation; an empty answer at the menu returns to the prompt.`

var destconfigOps = []shell.Op{
	{Name: "SETUP", Desc: "Change global settings."},
	{Name: "NEW", Desc: "Create a new entry."},
	{Name: "EDIT", Desc: "Modify an entry."},
	{Name: "DELETE", Desc: "Remove an entry."},
	{Name: "DEFAULT", Desc: "Change the default."},
	{Name: "LIST", Desc: "Display a summary list of all entries."},
	{Name: "DETAIL", Desc: "Display details for one destination or all entries."},
	{Name: "CLEAR", Desc: "Remove all entries."},
	{Name: "IMPORT", Desc: "Import tables from a file."},
	{Name: "EXPORT", Desc: "Export tables to a file."},
}

func destconfigCommand(env *Env) shell.Command {
	kw := make([]string, len(destconfigOps))
	for i, op := range destconfigOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "destconfig",
		Summary:  "Configure options for mail delivery to destination domains",
		Help:     destconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				t := env.Session.Config().Destinations
				io.Printf("\n%s\n", destEntriesConfigured(len(t.Entries)))
				op, err := io.Menu(destconfigOps)
				if err != nil || op == "" {
					return err
				}
				var change func(*destinations.Table)
				newProfile := ""
				switch op {
				case "SETUP":
					err = destSetup(io, env)
				case "NEW":
					change, newProfile, err = destNew(io, t, profileNames(env))
				case "EDIT":
					change, newProfile, err = destEdit(io, t, profileNames(env))
				case "DELETE":
					change, err = destDelete(io, t)
				case "DEFAULT":
					change, err = destDefault(io, t)
				case "LIST":
					destList(io, t)
				case "DETAIL":
					err = destDetail(io, t)
				case "CLEAR":
					change = func(t *destinations.Table) { t.Entries = nil }
				case "IMPORT":
					change, err = destImport(io, env, t)
				case "EXPORT":
					err = exportTable(io, env, func(b *bytes.Buffer) error { return destinations.Export(b, &t) })
				}
				if err != nil {
					return err
				}
				if change != nil {
					applyDestinations(io, env, change, newProfile)
				}
			}
		},
	}
}

// destEntriesConfigured is the line above the menu (ESA-CLI.md §1.1).
func destEntriesConfigured(n int) string {
	switch n {
	case 0:
		return "There are currently no entries configured."
	case 1:
		return "There is currently 1 entry configured."
	}
	return fmt.Sprintf("There are currently %d entries configured.", n)
}

// applyDestinations makes one completed operation a pending change in one
// step, so an abandoned operation leaves nothing behind. The answers were
// checked at their questions by the table's rules; a refusal here would be
// a bug, shown rather than hidden.
//
// newProfile, when not empty, is a bounce profile the operation named with
// "New Profile": it is created in the bounceconfig table with the Default
// profile's values in the same change.
func applyDestinations(io *shell.IO, env *Env, change func(*destinations.Table), newProfile string) {
	if err := env.Session.Update(func(c *store.Config) error {
		change(&c.Destinations)
		if _, ok := c.Bounces.Find(newProfile); newProfile != "" && !ok {
			c.Bounces.Profiles = append(c.Bounces.Profiles, bounces.NewProfile(newProfile, c.Bounces.Default()))
		}
		return nil
	}); err != nil {
		io.Printf("%v\n", err)
		io.Fail()
	}
}

// destSetup asks the global settings (ESA-CLI.md §1.6): the certificate
// outbound TLS presents, which is certconfig's outbound certificate (one
// setting that certconfig SETUP changes too), and the TLS failure alert.
func destSetup(io *shell.IO, env *Env) error {
	c := env.Session.Config()
	var names []string
	for _, ct := range c.Certificates.Certificates {
		names = append(names, ct.Name)
	}
	cur := c.Certificates.Outbound
	if cur != "" && c.Certificates.Find(cur) < 0 {
		// The demo certificate before the daemon's first start makes it.
		names = append(names, cur)
	}
	if len(names) == 0 {
		names = []string{certs.DemoName}
	}
	def := 1
	for i, n := range names {
		if strings.EqualFold(n, cur) {
			def = i + 1
		}
	}
	n, err := io.Choose("Please choose the certificate to apply:", names, def)
	if err != nil {
		return err
	}
	alert, err := io.YesNo("Do you want to send an alert when a required TLS connection fails?", c.Destinations.Global.AlertOnTLSFailure)
	if err != nil {
		return err
	}
	if err := env.Session.Update(func(c *store.Config) error {
		c.Certificates.Outbound = names[n-1]
		c.Destinations.Global.AlertOnTLSFailure = alert
		return nil
	}); err != nil {
		io.Printf("%v\n", err)
		io.Fail()
	}
	return nil
}

// destFind is the index of the entry for domain (canonical), or -1.
func destFind(t destinations.Table, domain string) int {
	for i, e := range t.Entries {
		if e.Domain == domain {
			return i
		}
	}
	return -1
}

// destNotFound is the appliance's refusal of an unknown domain (ESA-CLI.md
// §1.2: "was not found in the destination").
func destNotFound(d string) error {
	return fmt.Errorf("Domain %q was not found in the destination control table.", d)
}

// destExisting accepts a domain of the table.
func destExisting(t destinations.Table) shell.Validator {
	return func(a string) (string, error) {
		d, err := destinations.CanonicalDomain(a)
		if err != nil {
			return "", err
		}
		if destFind(t, d) < 0 {
			return "", destNotFound(d)
		}
		return d, nil
	}
}

func destNew(io *shell.IO, t destinations.Table, profiles []string) (func(*destinations.Table), string, error) {
	d, err := io.AskOptional("Enter the domain you wish to configure.", "", func(a string) (string, error) {
		d, err := destinations.CanonicalDomain(a)
		if err != nil {
			return "", err
		}
		if destFind(t, d) >= 0 {
			return "", fmt.Errorf("Domain %q is already in the destination control table; use EDIT to change it.", d)
		}
		return d, nil
	})
	if err != nil || d == "" {
		return nil, "", err
	}
	s, np, err := destAskSettings(io, t, profiles, d, destinations.Settings{}, true)
	if err != nil {
		return nil, "", err
	}
	return func(t *destinations.Table) {
		t.Entries = append(t.Entries, destinations.Destination{Domain: d, Settings: s})
	}, np, nil
}

func destEdit(io *shell.IO, t destinations.Table, profiles []string) (func(*destinations.Table), string, error) {
	if len(t.Entries) == 0 {
		io.Printf("\nThere are no entries to edit.\n")
		return nil, "", nil
	}
	d, err := io.AskOptional("Enter the domain you wish to edit.", "", destExisting(t))
	if err != nil || d == "" {
		return nil, "", err
	}
	i := destFind(t, d)
	s, np, err := destAskSettings(io, t, profiles, d, t.Entries[i].Settings, false)
	if err != nil {
		return nil, "", err
	}
	return func(t *destinations.Table) { t.Entries[i].Settings = s }, np, nil
}

func destDelete(io *shell.IO, t destinations.Table) (func(*destinations.Table), error) {
	if len(t.Entries) == 0 {
		io.Printf("\nThere are no entries to delete.\n")
		return nil, nil
	}
	d, err := io.AskOptional("Enter the domain you wish to delete.", "", destExisting(t))
	if err != nil || d == "" {
		return nil, err
	}
	i := destFind(t, d)
	return func(t *destinations.Table) { t.Entries = append(t.Entries[:i:i], t.Entries[i+1:]...) }, nil
}

// destOrDefault is cur when it is set, else def.
func destOrDefault(cur, def int) int {
	if cur != 0 {
		return cur
	}
	return def
}

// destAskSettings asks an entry's settings in the order of seed 003's
// transcript and ESA-CLI.md §1.3 (concurrency, messages per connection,
// recipient limit, how the limits apply, TLS, DANE, bounce verification,
// bounce profile, IP sort preference). Each "Do you wish to ..." question
// answered N leaves that setting at Default. cur holds the entry's values
// (EDIT) and gives every default; isNew uses the appliance's NEW defaults.
func destAskSettings(io *shell.IO, t destinations.Table, profiles []string, d string, cur destinations.Settings, isNew bool) (s destinations.Settings, newProfile string, err error) {
	def := t.Default
	var on bool
	on, err = io.YesNo(fmt.Sprintf("Do you wish to configure a concurrency limit for %s?", d), isNew || cur.Concurrency != 0)
	if err != nil {
		return s, "", err
	}
	if on {
		if s.Concurrency, err = io.Int(fmt.Sprintf("Enter the max concurrency limit for %q.", d),
			destOrDefault(cur.Concurrency, def.Concurrency), 1, destinations.MaxConcurrency); err != nil {
			return s, "", err
		}
	}
	if on, err = io.YesNo("Do you wish to apply a messages-per-connection limit to this domain?", cur.MessagesPerConnection != 0); err != nil {
		return s, "", err
	}
	if on {
		if s.MessagesPerConnection, err = io.Int(fmt.Sprintf("Enter the max number of messages per connection for %q.", d),
			destOrDefault(cur.MessagesPerConnection, def.MessagesPerConnection), 1, destinations.MaxMessagesPerConnection); err != nil {
			return s, "", err
		}
	}
	if on, err = io.YesNo("Do you wish to apply a recipient limit to this domain?", cur.RecipientLimit != 0); err != nil {
		return s, "", err
	}
	if on {
		if s.RecipientMinutes, s.RecipientLimit, err = destAskRecipientLimit(io,
			"Enter the number of minutes used to measure the recipient limit.",
			func(m int) string {
				return fmt.Sprintf("Enter the max number of recipients per %d minutes for %q.", m, d)
			},
			cur); err != nil {
			return s, "", err
		}
	}
	if s.Concurrency != 0 || s.RecipientLimit != 0 {
		if s.LimitType, s.LimitApply, err = destAskLimitApply(io, "Select how you want to apply the limits for "+d+":",
			"One limit applies to the entire domain "+d, cur); err != nil {
			return s, "", err
		}
	}
	if on, err = io.YesNo("Do you wish to apply a specific TLS setting for this domain?", cur.TLS != ""); err != nil {
		return s, "", err
	}
	if on {
		if s.TLS, err = destAskTLS(io, cur.TLS); err != nil {
			return s, "", err
		}
		if s.TLS.Enabled() {
			if on, err = io.YesNo("Do you wish to configure DANE Support for this domain?", cur.DANE != ""); err != nil {
				return s, "", err
			}
			if on {
				if s.DANE, err = destAskDANE(io, "Please choose a DANE option:", cur.DANE); err != nil {
					return s, "", err
				}
			}
			destCertReminder(io)
		}
	}
	if on, err = io.YesNo("Do you wish to apply a specific bounce verification address tagging setting for this domain?", cur.BounceVerification != ""); err != nil {
		return s, "", err
	}
	if on {
		tag, err := io.YesNo("Perform bounce verification address tagging?", cur.BounceVerification == destinations.On)
		if err != nil {
			return s, "", err
		}
		s.BounceVerification = destToggle(tag)
	}
	if on, err = io.YesNo("Do you wish to apply a specific bounce profile to this domain?", cur.BounceProfile != ""); err != nil {
		return s, "", err
	}
	if on {
		if s.BounceProfile, newProfile, err = destAskBounceProfile(io, profiles, cur.BounceProfile); err != nil {
			return s, "", err
		}
	}
	if on, err = io.YesNo("Do you wish to apply a specific IP sort preference to this domain?", cur.IPSort != ""); err != nil {
		return s, "", err
	}
	if on {
		if s.IPSort, err = destAskIPSort(io, cur.IPSort); err != nil {
			return s, "", err
		}
	}
	return s, newProfile, nil
}

func destToggle(on bool) destinations.Toggle {
	if on {
		return destinations.On
	}
	return destinations.Off
}

// destAskRecipientLimit asks the window (1–60 minutes, default 60) and then
// the number of recipients in it, whose question names the window.
func destAskRecipientLimit(io *shell.IO, minutesQ string, countQ func(int) string, cur destinations.Settings) (int, int, error) {
	m, err := io.Int(minutesQ, destOrDefault(cur.RecipientMinutes, 60), 1, destinations.MaxRecipientMinutes)
	if err != nil {
		return 0, 0, err
	}
	def := ""
	if cur.RecipientLimit != 0 {
		def = strconv.Itoa(cur.RecipientLimit)
	}
	a, err := io.Ask(countQ(m), def, shell.IntRange(1, destinations.MaxRecipientLimit))
	if err != nil {
		return 0, 0, err
	}
	n, _ := strconv.Atoi(a)
	return m, n, nil
}

// destAskLimitApply asks whether the limits count per domain or per MX IP and
// where they are enforced (ESA-CLI.md §1.1 [V]).
func destAskLimitApply(io *shell.IO, q, whole string, cur destinations.Settings) (destinations.LimitType, destinations.LimitApply, error) {
	d := 1
	if cur.LimitType == destinations.PerMXIP {
		d = 2
	}
	n, err := io.Choose(q, []string{whole, "Separate limit for each mail exchanger IP address"}, d)
	if err != nil {
		return "", "", err
	}
	typ := []destinations.LimitType{destinations.PerDomain, destinations.PerMXIP}[n-1]
	d = 1
	if cur.LimitApply == destinations.PerVirtualGateway {
		d = 2
	}
	if n, err = io.Choose("Select how the limits will be enforced:", []string{"System Wide", "Per Virtual Gateway(tm)"}, d); err != nil {
		return "", "", err
	}
	return typ, []destinations.LimitApply{destinations.SystemWide, destinations.PerVirtualGateway}[n-1], nil
}

func destAskTLS(io *shell.IO, cur destinations.TLS) (destinations.TLS, error) {
	n, err := io.Choose("Do you want to use TLS support?", destinations.TLSMenu(), max(cur.Number(), 1))
	if err != nil {
		return "", err
	}
	return destinations.TLSSettings[n-1], nil
}

func destAskDANE(io *shell.IO, q string, cur destinations.DANE) (destinations.DANE, error) {
	names := make([]string, len(destinations.DANEOptions))
	for i, o := range destinations.DANEOptions {
		names[i] = string(o)
	}
	n, err := io.Choose(q, names, max(cur.Number(), 1))
	if err != nil {
		return "", err
	}
	return destinations.DANEOptions[n-1], nil
}

func destAskIPSort(io *shell.IO, cur destinations.IPSort) (destinations.IPSort, error) {
	names := make([]string, len(destinations.IPSorts))
	for i, o := range destinations.IPSorts {
		names[i] = string(o)
	}
	n, err := io.Choose("How should the appliance sort IP addresses within an MX preference level?", names, max(cur.Number(), 1))
	if err != nil {
		return "", err
	}
	return destinations.IPSorts[n-1], nil
}

// destCertReminder is what the appliance says when TLS is chosen
// (seed 003; SPEC.md §3: choosing 2–6 reminds of certconfig).
func destCertReminder(io *shell.IO) {
	io.Printf("\nYou have chosen to enable TLS. Please use the 'certconfig' command to\nensure that there is a valid certificate configured.\n")
}

// profileNames lists the bounceconfig profiles of the session's
// configuration, Default first.
func profileNames(env *Env) []string {
	var names []string
	for _, p := range env.Session.Config().Bounces.Profiles {
		names = append(names, p.Name)
	}
	return names
}

// destAskBounceProfile offers Default, New Profile and the other
// bounceconfig profiles (ESA-CLI.md §1.3 #19); a profile the entry names
// that bounceconfig no longer has is offered too, so Enter keeps it. New
// Profile asks for a name bounceconfig does not have yet, and isNew says
// the profile is to be created.
func destAskBounceProfile(io *shell.IO, profiles []string, cur string) (name, newProfile string, err error) {
	choices := []string{bounces.DefaultName, "New Profile"}
	known := map[string]bool{}
	for _, p := range profiles {
		known[p] = true
		if p != bounces.DefaultName {
			choices = append(choices, p)
		}
	}
	if cur != "" && !known[cur] && cur != bounces.DefaultName {
		choices = append(choices, cur)
	}
	d := 1
	for i, c := range choices {
		if i != 1 && c == cur {
			d = i + 1
		}
	}
	n, err := io.Choose("Please choose a bounce profile to apply:", choices, d)
	if err != nil {
		return "", "", err
	}
	if n != 2 {
		return choices[n-1], "", nil
	}
	name, err = io.Ask("Please enter the name of a profile:", "", func(a string) (string, error) {
		if err := bounces.CheckName(a); err != nil {
			return "", err
		}
		if err := destinations.CheckProfileName(a); err != nil {
			return "", err
		}
		if known[a] {
			return "", fmt.Errorf("The bounce profile %q already exists; choose it from the list.", a)
		}
		return a, nil
	})
	if err != nil {
		return "", "", err
	}
	io.Printf("\nThe bounce profile %s will be created with the Default profile's values; use bounceconfig to change them.\n", name)
	return name, name, nil
}

// destDefault asks the default destination's settings in the order of
// ESA-CLI.md §1.4: every setting has a value, so there are no "Do you
// wish to ..." gates but for the recipient limit.
func destDefault(io *shell.IO, t destinations.Table) (func(*destinations.Table), error) {
	cur := t.Default
	s := cur
	var err error
	if s.Concurrency, err = io.Int("Enter the default maximum concurrency limit.", cur.Concurrency, 1, destinations.MaxConcurrency); err != nil {
		return nil, err
	}
	on, err := io.YesNo("Do you wish to specify a default recipient limit?", cur.RecipientLimit != 0)
	if err != nil {
		return nil, err
	}
	s.RecipientMinutes, s.RecipientLimit = 0, 0
	if on {
		if s.RecipientMinutes, s.RecipientLimit, err = destAskRecipientLimit(io,
			"Enter the number of minutes used to measure recipient limit.",
			func(m int) string { return fmt.Sprintf("Enter number of recipients per %d minutes.", m) },
			cur); err != nil {
			return nil, err
		}
	}
	if s.LimitType, s.LimitApply, err = destAskLimitApply(io, "Select how you want to apply the limits for unspecified domains:",
		"One limit applies to the entire domain", cur); err != nil {
		return nil, err
	}
	if s.MessagesPerConnection, err = io.Int("Enter the default maximum number of messages to send per connection.",
		cur.MessagesPerConnection, 1, destinations.MaxMessagesPerConnection); err != nil {
		return nil, err
	}
	if s.TLS, err = destAskTLS(io, cur.TLS); err != nil {
		return nil, err
	}
	s.DANE = destinations.DANENo
	if s.TLS.Enabled() {
		if s.DANE, err = destAskDANE(io, "Do you want to use DANE Support?", cur.DANE); err != nil {
			return nil, err
		}
		destCertReminder(io)
	}
	tag, err := io.YesNo("Perform bounce verification address tagging?", cur.BounceVerification == destinations.On)
	if err != nil {
		return nil, err
	}
	s.BounceVerification = destToggle(tag)
	if s.IPSort, err = destAskIPSort(io, cur.IPSort); err != nil {
		return nil, err
	}
	return func(t *destinations.Table) { t.Default = s }, nil
}

// destList prints the summary table of seed 003: one row per entry, the
// default last as (Default). Columns are as wide as their widest cell,
// and at least as wide as in the seed.
func destList(io *shell.IO, t destinations.Table) {
	rows := [][]string{}
	for _, e := range t.Entries {
		s := e.Settings
		rate := "Default"
		if s.Concurrency != 0 || s.RecipientLimit != 0 {
			rate = "Custom"
		}
		rows = append(rows, []string{e.Domain, rate, destListTLS(s.TLS), destOrWord(string(s.BounceVerification)),
			destOrWord(s.BounceProfile), destOrWord(string(s.IPSort))})
	}
	d := t.Default
	profile := "(Default)"
	if d.BounceProfile != "" {
		profile = d.BounceProfile
	}
	rows = append(rows, []string{"(Default)", "On", destListTLS(d.TLS), string(d.BounceVerification), profile, string(d.IPSort)})
	top := []string{"", "Rate", "", "Bounce", "Bounce", "IP Version"}
	head := []string{"Domain", "Limiting", "TLS", "Verification", "Profile", "Preference"}
	width := []int{11, 8, 7, 12, 9, 12}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%-*s", width[i], c)
		}
		io.Printf("%s\n", strings.TrimRight(b.String(), " "))
	}
	io.Printf("\n")
	line(top)
	line(head)
	rule := make([]string, len(width))
	for i, w := range width {
		rule[i] = strings.Repeat("=", w)
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
}

// destListTLS is the LIST column: seed 003 shows On for a domain with a TLS
// setting that negotiates TLS and Off for No; DETAIL names the setting.
func destListTLS(t destinations.TLS) string {
	switch {
	case t == "":
		return "Default"
	case t.Enabled():
		return "On"
	}
	return "Off"
}

func destOrWord(s string) string {
	if s == "" {
		return "Default"
	}
	return s
}

// destDetail prints every setting of one destination, the default or all
// (ESA-CLI.md §1.7).
func destDetail(io *shell.IO, t destinations.Table) error {
	a, err := io.AskOptional("Enter the domain name to view, or enter DEFAULT to view details for the default, or\nenter ALL to view details for all:", "",
		func(a string) (string, error) {
			if strings.EqualFold(a, "all") || strings.EqualFold(a, "default") {
				return strings.ToUpper(a), nil
			}
			return destExisting(t)(a)
		})
	if err != nil || a == "" {
		return err
	}
	switch a {
	case "ALL":
		for _, e := range t.Entries {
			destPrintDetail(io, e.Domain, e.Settings, false)
		}
		destPrintDetail(io, "(Default)", t.Default, true)
	case "DEFAULT":
		destPrintDetail(io, "(Default)", t.Default, true)
	default:
		e := t.Entries[destFind(t, a)]
		destPrintDetail(io, e.Domain, e.Settings, false)
	}
	return nil
}

func destPrintDetail(io *shell.IO, name string, s destinations.Settings, def bool) {
	row := func(label, value string) { io.Printf("  %-38s %s\n", label+":", value) }
	num := func(n int) string {
		if n == 0 {
			return "Default"
		}
		return strconv.Itoa(n)
	}
	io.Printf("\n%s\n", name)
	row("IP Sort Preference", destOrWord(string(s.IPSort)))
	row("Maximum messages per connection", num(s.MessagesPerConnection))
	if s.Concurrency == 0 && s.RecipientLimit == 0 && !def {
		row("Rate Limiting", "Default")
	} else {
		io.Printf("  Rate Limiting:\n")
		if s.Concurrency != 0 {
			io.Printf("      %d concurrent connections\n", s.Concurrency)
		} else {
			io.Printf("      Default concurrent connections\n")
		}
		switch {
		case s.RecipientLimit != 0:
			io.Printf("      %d recipients per %d minutes\n", s.RecipientLimit, s.RecipientMinutes)
		case def:
			io.Printf("      No recipient limit\n")
		default:
			io.Printf("      Default recipient limit\n")
		}
		where := "entire domain"
		if s.LimitType == destinations.PerMXIP {
			where = "each mail exchanger IP address"
		}
		how := "across all virtual gateway addresses"
		if s.LimitApply == destinations.PerVirtualGateway {
			how = "separately for each virtual gateway address"
		}
		io.Printf("      Limits applied to %s, %s\n", where, how)
	}
	verify := "Default"
	if s.TLS != "" {
		verify = "Off"
		if s.TLS.Verify() {
			verify = "On"
		}
	}
	row("TLS", s.TLS.Menu())
	row("TLS Cert Verification", verify)
	dane := destOrWord(string(s.DANE))
	if s.TLS == destinations.TLSNo {
		dane = string(destinations.DANENo)
	}
	row("DANE Support", dane)
	row("Bounce Verification Tagging", destOrWord(string(s.BounceVerification)))
	row("Bounce Profile", destOrWord(s.BounceProfile))
}

// destImport replaces the default and the entries with a file of the
// configuration directory, or refuses it whole naming the line; the global
// settings, which the file does not carry, stay.
func destImport(io *shell.IO, env *Env, t destinations.Table) (func(*destinations.Table), error) {
	name, data, err := importFile(io, env)
	if err != nil || data == nil {
		return nil, err
	}
	nt, err := destinations.Import(bytes.NewReader(data), t.Global)
	if err != nil {
		var pe *destinations.ParseError
		if errors.As(err, &pe) && pe.Line > 0 {
			io.Printf("\nParsing failed; nothing was imported.\nLine %d: %s\n", pe.Line, pe.Msg)
		} else {
			io.Printf("\nParsing failed; nothing was imported.\n%v\n", err)
		}
		io.Fail()
		return nil, nil
	}
	io.Printf("\nImported the default and %d destinations from %s.\n", len(nt.Entries), name)
	// A file from another appliance may name bounce profiles this one does
	// not have: the import stands (bounces.Table.Lookup gives such a
	// destination the Default profile) and the administrator is told.
	known := map[string]bool{}
	for _, p := range profileNames(env) {
		known[p] = true
	}
	warn := func(domain, p string) {
		if p != "" && !known[p] {
			io.Printf("Warning: the bounce profile %q of %s does not exist; the Default profile applies until it is created with bounceconfig.\n", p, domain)
		}
	}
	warn("the default destination", nt.Default.BounceProfile)
	for _, e := range nt.Entries {
		warn(e.Domain, e.BounceProfile)
	}
	return func(t *destinations.Table) { *t = *nt }, nil
}
