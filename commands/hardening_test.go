package commands

import (
	"strings"
	"testing"
)

func init() {
	transcripts["commit_control_chars"] = transcript{check: func(t *testing.T, env *Env) {
		// Stored as typed; only the screen escapes it.
		if c := env.Store.Committed(); !strings.Contains(c.System.Hostname, "mail1") {
			t.Errorf("not committed: %+v", c.System)
		}
	}}
	transcripts["tail_lists_committed"] = transcript{check: func(t *testing.T, env *Env) {
		findLog(t, env.Session.Config(), "pending_logs")
	}}
}
