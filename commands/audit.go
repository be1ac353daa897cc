package commands

import (
	"fmt"

	"esa/shell"
	"esa/store"
)

// Audit is the shell's Config.Audit hook: it records each command line in
// the CLI Audit Logs subscriptions, in the appliance's form
//
//	Info: PID 4242: User admin entered 'commit'; prompt was 'esa.example.com> '
//
// so that `grep -e "User admin entered" cli_logs` finds every command
// (ESA-CLI §6.1 shows SARF running exactly that search).
//
// In the daemon each session adds "; session N from ADDRESS".
//
// Both fields are quoted with shell.QuoteSingle: a ' or \ typed in the line
// is escaped (\', \\) and so are control characters (\x1b), so what a user
// types can neither end the field early and fake a "prompt was" of its own
// nor put terminal controls into the log. Ordinary lines read exactly as on
// the appliance.
func Audit(env *Env) func(prompt, line string) {
	return func(prompt, line string) {
		if env.Logs == nil {
			return
		}
		// A session of the daemon (SSH or the control socket) adds which
		// session it is and where it comes from after the appliance's
		// fields, so searches for "User admin entered" still match.
		suffix := ""
		if env.SessionID != 0 {
			from := env.RemoteAddr
			if from == "" {
				from = "the local console"
			}
			suffix = fmt.Sprintf("; session %d from %s", env.SessionID, from)
		}
		env.Logs.Logger(store.LogTypeCLI).Info("PID %d: User %s entered %s; prompt was %s%s", env.PID, env.User, shell.QuoteSingle(line), shell.QuoteSingle(prompt), suffix)
	}
}

// Notices is the shell's Config.Notices hook: after each command line it
// reports the log lines lost meanwhile (a full disk), per subscription, so
// that the session which caused them learns it at once, not only from a
// Warning line in the file once writing works again (issue 12, item 18).
func Notices(env *Env) func() []string {
	seen := map[string]int64{}
	if env.Logs != nil {
		for _, l := range env.Logs.Losses() {
			seen[l.Name] = l.Lines
		}
	}
	return func() []string {
		if env.Logs == nil {
			return nil
		}
		var out []string
		for _, l := range env.Logs.Losses() {
			if n := l.Lines - seen[l.Name]; n > 0 {
				out = append(out, fmt.Sprintf("Warning: %d lines of log %s could not be written: %v", n, l.Name, l.Err))
			}
			seen[l.Name] = l.Lines
		}
		return out
	}
}
