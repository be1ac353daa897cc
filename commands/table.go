package commands

import (
	"fmt"
	"time"

	"esa/shell"
	"esa/store/users"
)

// Table is the one explicit list of the appliance's commands: dispatch, help
// and completion all read it (STYLE.md §5). The shell adds help, quit and
// exit itself.
func Table(env *Env) []shell.Command {
	return guardAll(env, []shell.Command{
		noArgs(logconfigCommand(env)),
		noArgs(commitCommand(env)),
		noArgs(clearchangesCommand(env, "clearchanges")),
		noArgs(clearchangesCommand(env, "clear")),
		noArgs(rollbackconfigCommand(env)),
		noArgs(saveconfigCommand(env)),
		noArgs(showconfigCommand(env)),
		loadconfigCommand(env),
		grepCommand(env),
		tailCommand(env),
		sethostnameCommand(env),
		noArgs(versionCommand(env)),
		statusCommand(env),
		noArgs(resetcountersCommand(env)),
		noArgs(dnsconfigCommand(env)),
		noArgs(listenerconfigCommand(env)),
		noArgs(destconfigCommand(env)),
		daneverifyCommand(env),
		tlsverifyCommand(env),
		userconfigCommand(env),
		passwordCommand(env, "password"),
		passwordCommand(env, "passwd"),
		noArgs(whoCommand(env)),
		noArgs(whoamiCommand(env)),
		lastCommand(env),
		noArgs(sshconfigCommand(env)),
		workqueueCommand(env),
		showmessageCommand(env),
		noArgs(showrecipientsCommand(env)),
		noArgs(deleterecipientsCommand(env)),
		hoststatusCommand(env),
		noArgs(tophostsCommand(env)),
		noArgs(delivernowCommand(env)),
		noArgs(bouncerecipientsCommand(env)),
		noArgs(redirectrecipientsCommand(env)),
		noArgs(smtproutesCommand(env)),
		noArgs(bounceconfigCommand(env)),
		noArgs(certconfigCommand(env)),
		noArgs(domainkeysconfigCommand(env)),
		noArgs(dmarcconfigCommand(env)),
		dmarcreportsCommand(env),
		noArgs(dictionaryconfigCommand(env)),
		filtersCommand(env),
		noArgs(quarantineconfigCommand(env)),
		noArgs(traceCommand(env)),
		noArgs(forgedemailreportCommand(env)),
	})
}

// Access levels: which roles may run a command (store/users' roles).
const (
	// forAnyone: commands that only look, or that change nothing but the
	// user's own password (password commits at once, as the appliance's).
	forAnyone = iota
	// forViewers: commands that read the logs, which Guests may not
	// (Administrators, Operators, Read-Only Operators).
	forViewers
	// forChangers: commands that change, commit, load or reveal the
	// configuration: Administrators and Operators (users.CanChangeConfig).
	forChangers
	// forAdmins: account management (users.CanManageUsers).
	forAdmins
)

// access names the commands every role may run, those Guests may not and
// those only Administrators may. Every other command, including one added to the
// table later, is for the roles that may change the configuration:
// forgetting to list a new command refuses it to Read-Only Operators and
// Guests rather than opening it to them.
//
// clearchanges and clear are for anyone: they only discard the session's
// own pending changes, which a session that may not change anything never
// has. showconfig and saveconfig are not: they show or write the whole
// configuration, log push passphrases in plain text and password hashes
// included.
var access = map[string]int{
	"version": forAnyone, "status": forAnyone, "grep": forViewers, "tail": forViewers,
	"daneverify": forAnyone, "tlsverify": forAnyone,
	"clearchanges": forAnyone, "clear": forAnyone,
	"password": forAnyone, "passwd": forAnyone,
	"who": forAnyone, "whoami": forAnyone, "last": forAnyone,
	"sshconfig":  forAnyone, // looking is for anyone; its key changes check forAdmins themselves
	"userconfig": forAdmins,
	// The queue's commands: what is queued is for those who may read
	// the logs; changing it for those who may change the configuration.
	"showmessage": forViewers, "showrecipients": forViewers,
	"workqueue": forChangers, "deleterecipients": forChangers,
	// Delivery status is for those who may read the logs; delivernow,
	// bouncerecipients and redirectrecipients change the queue (the
	// default level).
	"hoststatus": forViewers, "tophosts": forViewers,
	// Forged email matches are a report of received mail, like the logs.
	"forgedemailreport": forViewers,
}

// accessOf is the access level of the command name.
func accessOf(name string) int {
	if l, ok := access[name]; ok {
		return l
	}
	return forChangers
}

// allowed reports whether role may run commands of access level l. An
// unknown role (or none) may only run what anyone may.
func allowed(role string, l int) bool {
	switch l {
	case forAnyone:
		return true
	case forViewers:
		return users.CanChangeConfig(role) || role == users.ReadOnlyOperator
	case forAdmins:
		return users.CanManageUsers(role)
	default:
		return users.CanChangeConfig(role)
	}
}

// guardAll makes every command refuse, before any question or argument
// check, the roles that may not run it. The refusal is the command's
// failure (a batch exit status), in the words of the appliance's access
// error ("You are not in the correct access group to use ...", ESA-CLI §0).
func guardAll(env *Env, cs []shell.Command) []shell.Command {
	for i := range cs {
		c := &cs[i]
		l := accessOf(c.Name)
		if l == forAnyone {
			continue
		}
		run, name := c.Run, c.Name
		c.Run = func(io *shell.IO, args []string) error {
			if !allowed(sessionRole(env), l) {
				return accessError(name, l)
			}
			return run(io, args)
		}
	}
	return cs
}

// sessionRole is the role the guard checks. For a remote session it is the
// role its user has in the committed configuration now, so that a demotion
// or deletion an Administrator commits applies to sessions already logged
// in from their next command (a deleted user keeps only what anyone may
// do). The local console (no remote address) is env.Role.
func sessionRole(env *Env) string {
	if env.RemoteAddr == "" || env.Store == nil {
		return env.Role
	}
	if u, ok := users.Find(env.Store.Committed().Users.Users, env.User); ok {
		return u.Role
	}
	return ""
}

// accessError is the refusal of command name to a role below level l.
func accessError(name string, l int) error {
	who := "the Administrator and Operator roles"
	switch l {
	case forViewers:
		who = "the Administrator, Operator and Read-Only Operator roles"
	case forAdmins:
		who = "the Administrator role"
	}
	return fmt.Errorf("You are not in the correct access group to use %q. This command is restricted to %s.", name, who)
}

// noArgs refuses arguments to a command that takes none, as sethostname,
// loadconfig and status refuse extra ones, instead of silently ignoring
// them (`rollbackconfig 2` must not look as if it rolled back to 2). The
// refusal is the command's failure (a batch exit status), and Tab offers
// nothing after the name: its menu keywords are offered at its menu.
func noArgs(c shell.Command) shell.Command {
	run := c.Run
	c.Keywords = nil
	c.Run = func(io *shell.IO, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("Invalid arguments when processing: %s takes no arguments.", c.Name)
		}
		return run(io, args)
	}
	return c
}

// Prompt is the appliance prompt: the committed host name, as on the
// appliance, where sethostname takes effect at commit (ESA-CLI §0.1).
func Prompt(env *Env) func() string {
	return func() string { return env.Store.Committed().System.Hostname + "> " }
}

// ctime is the appliance's timestamp form in commit, clearchanges and status
// ("Fri May 23 11:42:12 2014 GMT", ESA-CLI §7.1).
func ctime(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 2006 MST") }
