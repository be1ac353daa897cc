package commands

import (
	"esa/delivery/counters"
	"esa/shell"
)

// resetcountersCommand is the appliance's resetcounters ("Reset all of the
// counters in the system"): it asks nothing, takes effect at once (it is
// not configuration: no commit) and answers "Counters reset: <date>". Only
// status's Reset column starts again; Uptime and Lifetime keep counting.
func resetcountersCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "resetcounters",
		Summary: "Reset all of the counters in the system",
		Help: `resetcounters

Start the Reset column of "status" again at zero, now, and show the time
("Counters reset: Wed Mar  4 10:20:30 2026 UTC"); status then shows it as
"Last counter reset". The Uptime column (since "esa serve" started) and the
Lifetime column (since the first "esa serve" on this data directory) are
left alone, as are the current IDs and the gauges. It takes effect at once,
without commit. In a shell not attached to a running "esa serve" it resets
the kept totals, which the next "esa serve" counts on from.`,
		Run: func(io *shell.IO, args []string) error {
			live := counters.Values{}
			if env.Queue != nil {
				live = liveCounters(env)
			}
			now := env.Now()
			if err := counters.Reset(env.Store, statusProcess(env), live, now); err != nil {
				io.Printf("Counters not reset: %v\n", err)
				io.Fail()
				return nil
			}
			io.Printf("Counters reset: %s\n", ctime(now))
			return nil
		},
	}
}
