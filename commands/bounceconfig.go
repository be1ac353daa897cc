package commands

import (
	"errors"
	"fmt"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/bounces"
)

const bounceconfigHelp = `bounceconfig

Configure bounce profiles: how a message that cannot be delivered is
retried and what is sent about it. Destination controls (destconfig) name
the profile each domain uses; the profile "Default" applies to every other
domain, is always present and may be edited but not deleted. The main
screen lists the profiles and offers:
  NEW    - create a profile: its name (starting with a letter or "_"), the
           maximum number of retries and time in the queue before a message
           is hard bounced, the initial and maximum wait between retries
           (each wait doubles the previous one), whether a message is sent
           for each hard bounce (in the RFC 3464 DSN format, with its
           subject; the Status field taken from the remote reply or not),
           whether delay warnings are sent (subject, interval, how many per
           recipient), an alternate address that receives them instead of
           the sender, their From: address, and whether they are signed.
           In a profile other than Default each yes/no setting may be
           "Default": the Default profile's value applies
  EDIT   - change a profile, chosen by name or number; the Default profile
           also holds the wait before retrying a host that cannot be
           reached and how much of the original message a bounce quotes
  DELETE - remove a profile no destination uses
  SETUP  - whether messages for a domain that does not exist are bounced
           at once
Each completed operation is a pending change of this session until commit;
an empty answer at the menu returns to the prompt.`

var bounceconfigOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new profile."},
	{Name: "EDIT", Desc: "Modify a profile."},
	{Name: "DELETE", Desc: "Remove a profile."},
	{Name: "SETUP", Desc: "Configure global bounce settings."},
}

func bounceconfigCommand(env *Env) shell.Command {
	kw := make([]string, len(bounceconfigOps))
	for i, op := range bounceconfigOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "bounceconfig",
		Summary:  "Configure the behavior of bounces",
		Help:     bounceconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				c := env.Session.Config()
				t := c.Bounces
				// The list SARF parses: "1. Default", "2. name"...
				io.Printf("\nCurrent bounce profiles:\n")
				for i, p := range t.Profiles {
					io.Printf("%d. %s\n", i+1, p.Name)
				}
				op, err := io.Menu(bounceconfigOps)
				if err != nil || op == "" {
					return err
				}
				var next *bounces.Table
				switch op {
				case "NEW":
					next, err = bounceNew(io, c)
				case "EDIT":
					next, err = bounceEdit(io, c)
				case "DELETE":
					next, err = bounceDelete(io, c)
				case "SETUP":
					var on bool
					on, err = io.YesNo("Do you want to bounce all enqueued messages bound for a domain if the host does not exist?", t.BounceUnknownHosts)
					if err == nil {
						t.BounceUnknownHosts = on
						next = &t
					}
				}
				if err != nil {
					return err
				}
				if next != nil {
					nt := *next
					if err := env.Session.Update(func(c *store.Config) error {
						c.Bounces = nt
						return nil
					}); err != nil {
						io.Printf("%v\n", err)
						io.Fail()
					}
				}
			}
		},
	}
}

func bounceNew(io *shell.IO, c store.Config) (*bounces.Table, error) {
	t := c.Bounces
	if len(t.Profiles) >= bounces.MaxProfiles {
		io.Printf("\nThere may be at most %d bounce profiles.\n", bounces.MaxProfiles)
		io.Fail()
		return nil, nil
	}
	name, err := io.Ask("Please create a name for the profile:", "", func(a string) (string, error) {
		if err := bounces.CheckName(a); err != nil {
			return "", err
		}
		for _, p := range t.Profiles {
			if strings.EqualFold(p.Name, a) {
				return "", errors.New("Profile name already in use.")
			}
		}
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	p, err := askProfile(io, bounces.NewProfile(name, t.Default()), c.System.Hostname)
	if err != nil {
		return nil, err
	}
	t.Profiles = append(t.Profiles[:len(t.Profiles):len(t.Profiles)], p)
	return &t, nil
}

// pickProfile asks for a profile by name or number; -1 for Enter.
func pickProfile(io *shell.IO, t bounces.Table, verb string) (int, error) {
	names := make([]string, len(t.Profiles))
	for i, p := range t.Profiles {
		names[i] = p.Name
	}
	return io.Select("Enter the name or number of the profile you wish to "+verb+".", names)
}

func bounceEdit(io *shell.IO, c store.Config) (*bounces.Table, error) {
	t := c.Bounces
	i, err := pickProfile(io, t, "edit")
	if err != nil || i < 0 {
		return nil, err
	}
	p, err := askProfile(io, t.Profiles[i], c.System.Hostname)
	if err != nil {
		return nil, err
	}
	ps := append([]bounces.Settings(nil), t.Profiles...)
	ps[i] = p
	t.Profiles = ps
	return &t, nil
}

func bounceDelete(io *shell.IO, c store.Config) (*bounces.Table, error) {
	t := c.Bounces
	i, err := pickProfile(io, t, "delete")
	if err != nil || i < 0 {
		return nil, err
	}
	name := t.Profiles[i].Name
	if name == bounces.DefaultName {
		io.Printf("\nThe default profile may not be deleted.\n")
		io.Fail()
		return nil, nil
	}
	// A destination naming a deleted profile would silently fall back to
	// Default; the administrator changes it first.
	d := c.Destinations
	user := ""
	if d.Default.BounceProfile == name {
		user = "the default destination"
	}
	for _, e := range d.Entries {
		if user == "" && e.BounceProfile == name {
			user = e.Domain
		}
	}
	if user != "" {
		io.Printf("\nThe profile %s is used by the destination controls of %s: choose another profile there first (destconfig).\n", name, user)
		io.Fail()
		return nil, nil
	}
	t.Profiles = append(t.Profiles[:i:i], t.Profiles[i+1:]...)
	io.Printf("\nThe profile %s has been deleted.\n", name)
	return &t, nil
}

// askChoice asks an on/off setting: yes/no for the Default profile, and
// Yes/No/Default for the others, whose Default takes the Default
// profile's value.
func askChoice(io *shell.IO, question string, cur bounces.Choice, isDefault bool) (bounces.Choice, error) {
	if isDefault {
		on, err := io.YesNo(question, cur == bounces.Yes)
		if on {
			return bounces.Yes, err
		}
		return bounces.No, err
	}
	def := map[bounces.Choice]string{bounces.Yes: "Y", bounces.No: "N", bounces.Inherit: "D"}[cur]
	a, err := io.Ask(question+" (Yes/No/Default)", def, func(a string) (string, error) {
		switch strings.ToLower(a) {
		case "y", "yes":
			return string(bounces.Yes), nil
		case "n", "no":
			return string(bounces.No), nil
		case "d", "default":
			return string(bounces.Inherit), nil
		}
		return "", errors.New("Please answer yes, no or default.")
	})
	return bounces.Choice(a), err
}

// askProfile walks a profile's questions in the appliance's order
// (ESA-CLI.md §10.2), each offering the current value.
func askProfile(io *shell.IO, p bounces.Settings, hostname string) (bounces.Settings, error) {
	isDef := p.Name == bounces.DefaultName
	var err error
	ask := func(dst *int, q string, lo, hi int) {
		if err == nil {
			*dst, err = io.Int(q, *dst, lo, hi)
		}
	}
	choice := func(dst *bounces.Choice, q string) {
		if err == nil {
			*dst, err = askChoice(io, q, *dst, isDef)
		}
	}
	subject := func(dst *string) {
		if err == nil {
			*dst, err = io.Ask("Please enter the subject to use:", *dst, func(a string) (string, error) {
				if e := bounces.CheckSubject(a); e != nil {
					return "", sentence(e)
				}
				return a, nil
			})
		}
	}
	ask(&p.MaxRetries, "Please enter the maximum number of retries.", 0, bounces.MaxRetriesLimit)
	ask(&p.MaxQueueLifetime, "Please enter the maximum number of seconds a message may stay in the queue before being hard bounced.", 0, bounces.MaxSeconds)
	ask(&p.InitialRetry, "Please enter the initial number of seconds to wait before retrying a message.", 1, bounces.MaxSeconds)
	if err == nil && p.MaxRetryTimeout < p.InitialRetry {
		p.MaxRetryTimeout = p.InitialRetry
	}
	ask(&p.MaxRetryTimeout, "Please enter the maximum number of seconds to wait before retrying a message.", p.InitialRetry, bounces.MaxSeconds)
	if isDef {
		ask(&p.HostInitialRetry, "Please enter the initial number of seconds to wait before retrying a host that cannot be reached.", 1, bounces.MaxSeconds)
		if err == nil && p.HostMaxRetryTimeout < p.HostInitialRetry {
			p.HostMaxRetryTimeout = p.HostInitialRetry
		}
		ask(&p.HostMaxRetryTimeout, "Please enter the maximum number of seconds to wait before retrying a host that cannot be reached.", p.HostInitialRetry, bounces.MaxSeconds)
	}
	choice(&p.SendBounces, "Do you want a message sent for each hard bounce?")
	if p.SendBounces != bounces.No {
		choice(&p.UseDSN, "Do you want to use the DSN message format for bounce messages?")
		if p.UseDSN != bounces.No {
			subject(&p.BounceSubject)
		}
		choice(&p.UseResponseCode, "Do you want to parse the DSN \"Status\" field from the bounce response to include in the DSN generated by the appliance?")
		if isDef {
			ask(&p.MaxBounceCopy, "Please enter the maximum size of the original message (in bytes) to include in a bounce message.", 0, bounces.MaxCopyLimit)
		}
	}
	choice(&p.SendWarnings, "Do you want to send a delay warning message?")
	if p.SendWarnings != bounces.No {
		subject(&p.DelaySubject)
		ask(&p.WarningInterval, "Please enter the minimum number of seconds between delay warning messages.", 1, bounces.MaxSeconds)
		ask(&p.MaxWarnings, "Please enter the maximum number of delay warning messages to send per recipient.", 1, bounces.MaxWarningsLimit)
	}
	if err != nil {
		return p, err
	}
	alt, err := io.YesNo("Do you want hard bounce and delay warning messages sent to an alternate address, instead of the sender?", p.BounceAddress != "")
	if err != nil {
		return p, err
	}
	cur := p.BounceAddress
	p.BounceAddress = ""
	if alt {
		if p.BounceAddress, err = askAddress(io, "Please enter the email address to send hard bounce and delay warning messages to.", cur); err != nil {
			return p, err
		}
	}
	// The From: address: MAILER-DAEMON at the host name unless changed,
	// kept empty then so that it follows sethostname.
	daemon := "MAILER-DAEMON@" + hostname
	from := p.From
	if from == "" {
		from = daemon
	}
	if from, err = askAddress(io, "Please enter the From: address of hard bounce and delay warning messages.", from); err != nil {
		return p, err
	}
	p.From = from
	if strings.EqualFold(from, daemon) {
		p.From = ""
	}
	choice(&p.Sign, "Do you want bounce and delay messages to be signed?")
	return p, err
}

// askAddress asks for an email address, kept with its local part as typed
// and its domain in lower case.
func askAddress(io *shell.IO, q, cur string) (string, error) {
	return io.Ask(q, cur, func(a string) (string, error) {
		e, err := shell.Email(a)
		if err != nil {
			return "", err
		}
		if !bounces.IsAddress(e) {
			return "", fmt.Errorf("An email address is a localname, an \"@\" and a domain, such as admin@example.com.")
		}
		return e, nil
	})
}
