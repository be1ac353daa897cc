package commands

import (
	"context"
	"strings"
	"testing"

	"esa/shell"
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

// TestCompletionOffersWhatIsAccepted: the words Tab offers after a command
// name (Keywords) are arguments the command accepts: running it with each
// is not refused. logconfig and dnsconfig take no arguments, so their menu
// keywords are offered only at their menus.
func TestCompletionOffersWhatIsAccepted(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	for _, c := range Table(env) {
		for _, kw := range c.Keywords {
			var out strings.Builder
			io := shell.NewIO(context.Background(), shell.NewPlainEditor(strings.NewReader(""), &out), &out)
			err := c.Run(io, []string{kw})
			if err != nil && strings.Contains(err.Error(), "Invalid arguments") || strings.Contains(out.String(), "Invalid arguments") {
				t.Errorf("Tab offers %q after %s, which refuses it: %v %s", kw, c.Name, err, out.String())
			}
		}
		if (c.Name == "logconfig" || c.Name == "dnsconfig") && len(c.Keywords) > 0 {
			t.Errorf("%s offers %q after its name but takes no arguments", c.Name, c.Keywords)
		}
	}
}
