package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

const dmarcconfigHelp = `dmarcconfig

Configure DMARC verification (RFC 7489): the verification profiles the
mail-flow policies name (listenerconfig HOSTACCESS, "Would you like to
enable DMARC verification?") and the global settings. The main screen shows
the number of profiles and offers:
  PROFILES - NEW and EDIT (the message action when the domain owner's
             policy is reject: no action, quarantine or reject with an SMTP
             reply; when it is quarantine: no action or quarantine; the
             SMTP action on a temporary and on a permanent failure: accept
             or reject with a reply), DELETE, PRINT, CLEAR (confirmed; the
             DEFAULT profile stays, with its factory values), IMPORT and
             EXPORT (all profiles as one file of the configuration
             directory; an import replaces all profiles, and a bad file is
             refused whole with its line number)
  SETUP    - aggregate report settings (time of day HH:MM, error reports,
             the reporting entity, contact information, copies), the
             senders that bypass verification (addresses, @domain, domain
             or .domain and @.domain for subdomains, typed as a list:
             there are no address lists to pick from), header fields that
             bypass verification (ADD/REMOVE), the DMARC specification
             (RFC 7489 with the public suffix list, or DMARCbis with the DNS
             tree walk) and the reports' return address (default
             noreply-dmarc-support@ and the host name)
The DEFAULT profile cannot be deleted, nor can a profile a mail-flow policy
uses. Each completed operation is a pending change of this session until
commit.`

var dmarcOps = []shell.Op{
	{Name: "PROFILES", Desc: "Manage DMARC verification profiles."},
	{Name: "SETUP", Desc: "Change global settings."},
}

var dmarcProfileOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new DMARC verification profile."},
	{Name: "EDIT", Desc: "Modify a DMARC verification profile."},
	{Name: "DELETE", Desc: "Delete a DMARC verification profile."},
	{Name: "PRINT", Desc: "Display DMARC verification profiles."},
	{Name: "IMPORT", Desc: "Import DMARC verification profiles from a file (replaces all profiles)."},
	{Name: "EXPORT", Desc: "Export DMARC verification profiles to a file."},
	{Name: "CLEAR", Desc: "Delete all DMARC verification profiles."},
}

var dmarcHeaderOps = []shell.Op{
	{Name: "ADD", Desc: "Add header fields."},
	{Name: "REMOVE", Desc: "Remove a header field."},
}

// dmarcconfigCommand is dmarcconfig (ESA-CLI §8).
func dmarcconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "dmarcconfig",
		Summary: "Configure DMARC verification and reports",
		Help:    dmarcconfigHelp,
		Run: func(io *shell.IO, args []string) error {
			for {
				t := env.Session.Config().DMARC
				io.Printf("\nNumber of DMARC Verification Profiles: %d\n", len(t.Profiles))
				op, err := io.Menu(dmarcOps)
				if err != nil || op == "" {
					return err
				}
				switch op {
				case "PROFILES":
					err = dmarcProfiles(io, env)
				case "SETUP":
					err = dmarcSetup(io, env)
				}
				if err != nil {
					return err
				}
			}
		},
	}
}

// dmarcUpdate applies change to the session's dmarc table; a refusal of
// the store's validator is printed and fails the command.
func dmarcUpdate(io *shell.IO, env *Env, change func(t *dmarcconf.Table)) bool {
	return certUpdate(io, env, func(c *store.Config) error { change(&c.DMARC); return nil })
}

func dmarcProfiles(io *shell.IO, env *Env) error {
	for {
		t := env.Session.Config().DMARC
		io.Printf("\nThere are currently %d DMARC verification profiles.\n", len(t.Profiles))
		op, err := io.Menu(dmarcProfileOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			err = dmarcWizard(io, env, -1)
		case "EDIT":
			var i int
			if i, err = dmarcSelect(io, t, "Enter the name or number of the DMARC verification profile to edit."); err == nil && i >= 0 {
				err = dmarcWizard(io, env, i)
			}
		case "DELETE":
			err = dmarcDelete(io, env)
		case "PRINT":
			for _, p := range t.Profiles {
				dmarcPrint(io, p)
			}
		case "CLEAR":
			var yes bool
			if yes, err = io.YesNo("Are you sure you want to delete all DMARC verification profiles? The DEFAULT profile is kept with its factory values.", false); err == nil && yes {
				if used := dmarcUses(env.Session.Config(), ""); len(used) > 0 {
					io.Printf("The DMARC verification profiles cannot be deleted: %s.\n", usedBy(used))
					io.Fail()
				} else if dmarcUpdate(io, env, func(t *dmarcconf.Table) { t.Profiles = dmarcconf.Factory().Profiles }) {
					io.Printf("All DMARC verification profiles have been deleted.\n")
				}
			}
		case "IMPORT":
			err = dmarcImport(io, env)
		case "EXPORT":
			err = dkExport(io, env, "DMARC verification profiles", dmarcconf.Format(t.Profiles))
		}
		if err != nil {
			return err
		}
	}
}

// dmarcSelect lists the profiles and picks one by name or number.
func dmarcSelect(io *shell.IO, t dmarcconf.Table, question string) (int, error) {
	names := make([]string, len(t.Profiles))
	io.Printf("\n")
	for i, p := range t.Profiles {
		names[i] = p.Name
		io.Printf("%d. %s\n", i+1, p.Name)
	}
	return io.Select(question, names)
}

// dmarcUse is one mail-flow policy's use of a profile.
type dmarcUse struct{ profile, where string }

// dmarcUses lists the mail-flow policies that use profile name (any
// profile but DEFAULT when name is "") as "the mail-flow policy $P of
// listener L" or "the default policy parameters of listener L".
func dmarcUses(c store.Config, name string) []dmarcUse {
	var out []dmarcUse
	for _, l := range c.Listeners.Listeners {
		uses := func(where string, ps []mailflow.Param) {
			for _, p := range ps {
				if p.Key != "dmarc_profile" || p.Value == "" {
					continue
				}
				if (name == "" && p.Value != dmarcconf.DefaultProfile) || p.Value == name {
					out = append(out, dmarcUse{p.Value, where + " of listener " + l.Name})
				}
			}
		}
		uses("the default policy parameters", l.HAT.Default)
		for _, p := range l.HAT.Policies {
			uses("the mail-flow policy $"+p.Name, p.Params)
		}
	}
	return out
}

// usedBy writes uses as "PROFILE is used by WHERE; ...".
func usedBy(uses []dmarcUse) string {
	parts := make([]string, len(uses))
	for i, u := range uses {
		parts[i] = u.profile + " is used by " + u.where
	}
	return strings.Join(parts, "; ")
}

// dmarcDelete is PROFILES DELETE: DEFAULT cannot go, nor a profile a
// mail-flow policy uses (the store refuses both too; the message here
// names the policy).
func dmarcDelete(io *shell.IO, env *Env) error {
	t := env.Session.Config().DMARC
	i, err := dmarcSelect(io, t, "Enter the name or number of the DMARC verification profile to delete.")
	if err != nil || i < 0 {
		return err
	}
	name := t.Profiles[i].Name
	if name == dmarcconf.DefaultProfile {
		io.Printf("The DEFAULT DMARC verification profile cannot be deleted.\n")
		io.Fail()
		return nil
	}
	if used := dmarcUses(env.Session.Config(), name); len(used) > 0 {
		io.Printf("The DMARC verification profile %s cannot be deleted: %s.\n", name, usedBy(used))
		io.Fail()
		return nil
	}
	if dmarcUpdate(io, env, func(t *dmarcconf.Table) { t.Profiles = append(t.Profiles[:i:i], t.Profiles[i+1:]...) }) {
		io.Printf("DMARC verification profile %q deleted.\n", name)
	}
	return nil
}

func dmarcAction(action, quarantine string, code int, text string) string {
	switch action {
	case dmarcconf.ActionNone:
		return "No Action"
	case dmarcconf.ActionQuarantine:
		return "Quarantine (" + quarantine + ")"
	case dmarcconf.ActionAccept:
		return "Accept"
	}
	return "Reject (" + strconv.Itoa(code) + " " + text + ")"
}

// dmarcPrint shows one profile, in the layout of domainkeysconfig's
// verification PRINT.
func dmarcPrint(io *shell.IO, p dmarcconf.Profile) {
	io.Printf("\nDMARC Verification Profile: %s\nMessage Action When The Policy Is Reject: %s\nMessage Action When The Policy Is Quarantine: %s\nTemporary Failure: %s\nPermanent Failure: %s\n",
		p.Name,
		dmarcAction(p.RejectAction, p.RejectQuarantine, p.RejectCode, p.RejectText),
		dmarcAction(p.QuarantineAction, p.QuarantineQuarantine, 0, ""),
		dmarcAction(p.TempFailAction, "", p.TempFailCode, p.TempFailText),
		dmarcAction(p.PermFailAction, "", p.PermFailCode, p.PermFailText))
}

// validator adapts one of dmarcconf's checks to a question.
func validator(check func(string) error) shell.Validator {
	return func(a string) (string, error) {
		if err := check(a); err != nil {
			return "", err
		}
		return a, nil
	}
}

// dmarcWizard asks the profile questions of ESA-CLI §8 in order for a new
// profile (i < 0; the seed's defaults proposed) or profile i. The answers
// are checked by dmarcconf's validator, the one IMPORT uses.
func dmarcWizard(io *shell.IO, env *Env, i int) error {
	c := env.Session.Config()
	t := c.DMARC
	p := dmarcconf.NewProfile("")
	q := "Enter the name of the new DMARC verification profile:"
	if i >= 0 {
		p = t.Profiles[i]
		q = "Enter the name of DMARC verification profile:"
	}
	old := p.Name
	name, err := io.Ask(q, p.Name, func(a string) (string, error) {
		if err := dmarcconf.ValidName(a); err != nil {
			return "", err
		}
		if k := t.Find(a); k >= 0 && k != i {
			return "", errors.New("That DMARC verification profile already exists.")
		}
		if old != "" && a != old && (old == dmarcconf.DefaultProfile || len(dmarcUses(c, old)) > 0) {
			return "", fmt.Errorf("The profile %s cannot be renamed: %s.", old, dmarcRenameReason(c, old))
		}
		return a, nil
	})
	if err != nil {
		return err
	}
	p.Name = name
	quarantines := make([]string, len(c.Quarantines.Quarantines))
	for k, qu := range c.Quarantines.Quarantines {
		quarantines[k] = qu.Name
	}

	rejectActions := []string{dmarcconf.ActionNone, dmarcconf.ActionQuarantine, dmarcconf.ActionReject}
	if p.RejectAction, p.RejectQuarantine, err = dmarcAskAction(io, "What is the message action to be taken when the DMARC policy is reject?",
		[]string{"No Action", "Quarantine", "Reject"}, rejectActions, p.RejectAction, p.RejectQuarantine, "reject", quarantines); err != nil {
		return err
	}
	if p.RejectAction == dmarcconf.ActionReject {
		if p.RejectCode, p.RejectText, err = dmarcAskReply(io, "for rejected messages", p.RejectCode, p.RejectText, 500); err != nil {
			return err
		}
	}
	if p.QuarantineAction, p.QuarantineQuarantine, err = dmarcAskAction(io, "What is the message action to be taken when the DMARC policy is quarantine?",
		[]string{"No Action", "Quarantine"}, rejectActions[:2], p.QuarantineAction, p.QuarantineQuarantine, "quarantine", quarantines); err != nil {
		return err
	}
	for _, f := range []struct {
		kind   string
		action *string
		code   *int
		text   *string
		class  int
	}{
		{"temporary", &p.TempFailAction, &p.TempFailCode, &p.TempFailText, 400},
		{"permanent", &p.PermFailAction, &p.PermFailCode, &p.PermFailText, 500},
	} {
		def := 1
		if *f.action == dmarcconf.ActionReject {
			def = 2
		}
		n, err := io.Choose("What is the SMTP action to be taken in case of "+f.kind+" failure?", []string{"Accept", "Reject"}, def)
		if err != nil {
			return err
		}
		*f.action = []string{dmarcconf.ActionAccept, dmarcconf.ActionReject}[n-1]
		if n == 2 {
			if *f.code, *f.text, err = dmarcAskReply(io, "for rejected messages in case of "+f.kind+" failure", *f.code, *f.text, f.class); err != nil {
				return err
			}
		}
	}
	if dmarcUpdate(io, env, func(t *dmarcconf.Table) {
		if i >= 0 {
			t.Profiles[i] = p
		} else {
			t.Profiles = append(t.Profiles, p)
		}
	}) {
		io.Printf("DMARC verification profile %q saved.\n", p.Name)
	}
	return nil
}

func dmarcRenameReason(c store.Config, name string) string {
	if name == dmarcconf.DefaultProfile {
		return "it is the default profile"
	}
	return usedBy(dmarcUses(c, name))
}

// dmarcAskAction asks a message action; Quarantine then asks which
// quarantine (quarantineconfig's), and with none configured says so and
// asks the action again.
func dmarcAskAction(io *shell.IO, question string, menu, keys []string, cur, curQ, policy string, quarantines []string) (string, string, error) {
	def := 1
	for k, key := range keys {
		if key == cur {
			def = k + 1
		}
	}
	for {
		n, err := io.Choose(question, menu, def)
		if err != nil {
			return "", "", err
		}
		action := keys[n-1]
		if action != dmarcconf.ActionQuarantine {
			return action, "", nil
		}
		if len(quarantines) == 0 {
			io.Printf("No quarantines are defined; create one with quarantineconfig first.\n")
			io.Fail()
			continue
		}
		qdef := 1
		for k, qn := range quarantines {
			if qn == curQ {
				qdef = k + 1
			}
		}
		k, err := io.Choose("Select the quarantine for messages that fail DMARC verification when the policy action is "+policy+":", quarantines, qdef)
		if err != nil {
			return "", "", err
		}
		return action, quarantines[k-1], nil
	}
}

// dmarcAskReply asks an SMTP reply code of the class (4xx temporary, 5xx
// permanent, RFC 5321 §4.2.1) and its text.
func dmarcAskReply(io *shell.IO, what string, code int, text string, class int) (int, string, error) {
	a, err := io.Ask("Enter the SMTP response code "+what+":", strconv.Itoa(code), func(a string) (string, error) {
		n, err := strconv.Atoi(a)
		if err != nil {
			return "", fmt.Errorf("The value must be an SMTP code from %d to %d.", class, class+99)
		}
		return a, dmarcconf.CheckCode(n, class)
	})
	if err != nil {
		return 0, "", err
	}
	code, _ = strconv.Atoi(a)
	text, err = io.Ask("Enter the SMTP response text "+what+":", text, validator(dmarcconf.CheckText))
	return code, text, err
}

// dmarcImport is PROFILES IMPORT: a file of the configuration directory
// in the EXPORT form replaces all profiles after a confirmation (seed 004:
// the import warns that it replaces every existing profile). A file that
// does not parse is refused whole with its line; one whose profiles the
// configuration refuses (a missing quarantine, a profile a policy uses
// left out) is refused whole too.
func dmarcImport(io *shell.IO, env *Env) error {
	host := env.Session.Config().System.Hostname
	file, err := io.Ask("Enter the name of the file on machine \""+host+"\" to import:", "", configFileName)
	if err != nil {
		return err
	}
	data, err := env.Store.ReadConfigDirFile(io.Ctx, file, dmarcconf.MaxFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			io.Printf("\nError: the file %s does not exist.\n", file)
		} else {
			io.Printf("\nError: %v.\n", err)
		}
		io.Fail()
		return nil
	}
	ps, err := dmarcconf.Parse(string(data))
	if err == nil {
		// The configuration's own refusals (a missing quarantine, a
		// profile a policy uses left out), before the confirmation.
		err = dmarcImportable(env.Session.Config(), ps)
	}
	if err != nil {
		io.Printf("\nError: %s: %s.\nNothing was imported.\n", file, strings.TrimSuffix(err.Error(), "."))
		io.Fail()
		return nil
	}
	sure, err := io.YesNo("The import replaces all existing DMARC verification profiles. Do you want to continue?", false)
	if err != nil || !sure {
		return err
	}
	if dmarcUpdate(io, env, func(t *dmarcconf.Table) { t.Profiles = ps }) {
		io.Printf("\nThe DMARC verification profiles have been imported from %s.\n", file)
	}
	return nil
}

// dmarcImportable checks imported profiles against the rest of the
// configuration as the store will: their quarantines exist and every
// profile a mail-flow policy names is among them.
func dmarcImportable(c store.Config, ps []dmarcconf.Profile) error {
	t := dmarcconf.Table{Profiles: ps, Settings: c.DMARC.Settings}
	names := make([]string, len(c.Quarantines.Quarantines))
	for i, q := range c.Quarantines.Quarantines {
		names[i] = q.Name
	}
	if err := t.CheckQuarantines(names); err != nil {
		return err
	}
	for _, u := range dmarcUses(c, "") {
		if t.Profile(u.profile) == nil {
			return fmt.Errorf("the file has no profile %s, which %s uses", u.profile, u.where)
		}
	}
	return nil
}

var dmarcRules = []string{dmarcconf.RulesRFC7489, dmarcconf.RulesDMARCbis}

// dmarcSetup is SETUP, in ESA-CLI §8's order: the report settings, the
// bypass address list and header fields, then two questions beyond the
// appliance's dmarcconfig: the specification to apply and the reports'
// return address (on the appliance under System Administration > Return
// Addresses, seed 004). The appliance picks the bypass list from its
// address lists (addressconfig), which this product does not have: the
// entries are asked for here, comma-separated.
func dmarcSetup(io *shell.IO, env *Env) error {
	c := env.Session.Config()
	s := c.DMARC.Settings
	s.CopyTo = append([]string(nil), s.CopyTo...)
	s.BypassAddresses = append([]string(nil), s.BypassAddresses...)
	s.BypassHeaders = append([]string(nil), s.BypassHeaders...)
	host := c.System.Hostname

	report, err := io.YesNo("Would you like to modify DMARC report settings?", false)
	if err != nil {
		return err
	}
	if report {
		if s.ReportTime, err = io.Ask("Enter the time of day to generate aggregate feedback reports (HH:MM):", s.ReportTime, validator(dmarcconf.CheckTime)); err != nil {
			return err
		}
		if s.ErrorReports, err = io.YesNo("Would you like to send DMARC error reports?", s.ErrorReports); err != nil {
			return err
		}
		entity := s.Entity
		if entity == "" {
			entity = host
		}
		if s.Entity, err = io.Ask("Enter the entity name responsible for report generation:", entity, validator(dmarcconf.CheckDomain)); err != nil {
			return err
		}
		if s.Contact, err = io.AskOptional("Enter additional contact information to be added to the aggregate reports:", s.Contact, validator(dmarcconf.CheckContact)); err != nil {
			return err
		}
		copyTo, err := io.YesNo("Would you like to send a copy of all aggregate reports?", len(s.CopyTo) > 0)
		if err != nil {
			return err
		}
		s.CopyTo = nil
		if copyTo {
			a, err := io.Ask("Enter the list of email addresses to receive a copy of all aggregate reports, separated by commas:", strings.Join(c.DMARC.Settings.CopyTo, ", "), listOf(dmarcconf.CheckAddress))
			if err != nil {
				return err
			}
			s.CopyTo = splitList(a)
		}
	}
	bypass, err := io.YesNo("Would you like to bypass DMARC verification for an addresslist?", len(s.BypassAddresses) > 0)
	if err != nil {
		return err
	}
	s.BypassAddresses = nil
	if bypass {
		a, err := io.Ask("Enter the senders whose mail bypasses DMARC verification (user@example.com, @example.com, example.com, .example.com or @.example.com), separated by commas:",
			strings.Join(c.DMARC.Settings.BypassAddresses, ", "), listOf(dmarcconf.CheckBypass))
		if err != nil {
			return err
		}
		s.BypassAddresses = splitList(a)
	}
	headers, err := io.YesNo("Would you like to bypass DMARC verification for specific header fields?", len(s.BypassHeaders) > 0)
	if err != nil {
		return err
	}
	if !headers {
		s.BypassHeaders = nil
	} else if s.BypassHeaders, err = dmarcHeaders(io, s.BypassHeaders); err != nil {
		return err
	}
	def := 1
	if s.Rules == dmarcconf.RulesDMARCbis {
		def = 2
	}
	n, err := io.Choose("Which DMARC specification should be applied?", []string{
		"RFC 7489 (organizational domain from the public suffix list)",
		"DMARCbis (DNS tree walk)",
	}, def)
	if err != nil {
		return err
	}
	s.Rules = dmarcRules[n-1]
	ret, err := io.Ask("Enter the return address for DMARC reports:", s.Return(host), validator(dmarcconf.CheckAddress))
	if err != nil {
		return err
	}
	// The appliance's default follows the host name: it is stored only
	// when it differs.
	s.ReturnAddress = ret
	if ret == (dmarcconf.Settings{}).Return(host) {
		s.ReturnAddress = ""
	}
	dmarcUpdate(io, env, func(t *dmarcconf.Table) { t.Settings = s })
	return nil
}

// dmarcHeaders is the bypass header fields sub-menu (SARF
// dmarcconfigbypassheader): ADD and REMOVE until an empty answer.
func dmarcHeaders(io *shell.IO, hs []string) ([]string, error) {
	for {
		if len(hs) == 0 {
			io.Printf("\nNo header fields bypass DMARC verification.\n")
		} else {
			io.Printf("\nHeader fields that bypass DMARC verification:\n")
			for i, h := range hs {
				io.Printf("%d. %s\n", i+1, h)
			}
		}
		op, err := io.Menu(dmarcHeaderOps)
		if err != nil || op == "" {
			return hs, err
		}
		switch op {
		case "ADD":
			a, err := io.Ask("Enter the header field names, separated by commas:", "", func(a string) (string, error) {
				seen := map[string]bool{}
				for _, h := range hs {
					seen[strings.ToLower(h)] = true
				}
				for _, h := range splitList(a) {
					if err := dmarcconf.CheckHeaderName(h); err != nil {
						return "", err
					}
					if seen[strings.ToLower(h)] {
						return "", fmt.Errorf("The header field %s is already listed.", h)
					}
					seen[strings.ToLower(h)] = true
				}
				return a, nil
			})
			if err != nil {
				return hs, err
			}
			hs = append(hs, splitList(a)...)
		case "REMOVE":
			if len(hs) == 0 {
				continue
			}
			i, err := io.Select("Enter the name or number of the header field to remove.", hs)
			if err != nil {
				return hs, err
			}
			if i >= 0 {
				hs = append(hs[:i:i], hs[i+1:]...)
			}
		}
	}
}

// listOf accepts a comma-separated list whose every entry passes check.
func listOf(check func(string) error) shell.Validator {
	return func(a string) (string, error) {
		entries := splitList(a)
		if len(entries) == 0 {
			return "", errors.New("You must enter a value.")
		}
		for _, e := range entries {
			if err := check(e); err != nil {
				return "", err
			}
		}
		return strings.Join(entries, ", "), nil
	}
}
