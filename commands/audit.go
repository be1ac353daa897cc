package commands

import "esa/store"

// Audit is the shell's Config.Audit hook: it records each command line in
// the CLI Audit Logs subscriptions, in the appliance's form
//
//	Info: PID 4242: User admin entered 'commit'; prompt was 'esa.example.com> '
//
// so that `grep -e "User admin entered" cli_logs` finds every command
// (ESA-CLI §6.1 shows SARF running exactly that search).
func Audit(env *Env) func(prompt, line string) {
	return func(prompt, line string) {
		if env.Logs == nil {
			return
		}
		env.Logs.Logger(store.LogTypeCLI).Info("PID %d: User %s entered '%s'; prompt was '%s'", env.PID, env.User, line, prompt)
	}
}
