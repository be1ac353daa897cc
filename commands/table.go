package commands

import (
	"time"

	"esa/shell"
)

// Table is the one explicit list of the appliance's commands: dispatch, help
// and completion all read it (STYLE.md §5). The shell adds help, quit and
// exit itself.
func Table(env *Env) []shell.Command {
	return []shell.Command{
		logconfigCommand(env),
		commitCommand(env),
		clearchangesCommand(env, "clearchanges"),
		clearchangesCommand(env, "clear"),
		rollbackconfigCommand(env),
		saveconfigCommand(env),
		showconfigCommand(env),
		loadconfigCommand(env),
		grepCommand(env),
		tailCommand(env),
		sethostnameCommand(env),
		versionCommand(env),
		statusCommand(env),
		dnsconfigCommand(env),
		daneverifyCommand(env),
		tlsverifyCommand(env),
	}
}

// Prompt is the appliance prompt: the committed host name, as on the
// appliance, where sethostname takes effect at commit (ESA-CLI §0.1).
func Prompt(env *Env) func() string {
	return func() string { return env.Store.Committed().System.Hostname + "> " }
}

// ctime is the appliance's timestamp form in commit, clearchanges and status
// ("Fri May 23 11:42:12 2014 GMT", ESA-CLI §7.1).
func ctime(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 2006 MST") }
