package commands

import (
	"fmt"
	"time"

	"esa/shell"
)

// Table is the one explicit list of the appliance's commands: dispatch, help
// and completion all read it (STYLE.md §5). The shell adds help, quit and
// exit itself.
func Table(env *Env) []shell.Command {
	return []shell.Command{
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
		noArgs(dnsconfigCommand(env)),
		noArgs(listenerconfigCommand(env)),
		daneverifyCommand(env),
		tlsverifyCommand(env),
	}
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
