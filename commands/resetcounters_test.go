package commands

import (
	"strings"
	"testing"
	"time"

	"esa/delivery/counters"
	"esa/delivery/smtpd"
)

func init() {
	for name, tc := range map[string]transcript{
		// status over totals an earlier run kept, resetcounters, status.
		"resetcounters":      {setup: withEarlierRun, check: resetAt(true)},
		"resetcounters_args": {setup: withDaemon, check: resetAt(false)},
		// Without a daemon the kept totals are reset for the next one.
		"resetcounters_offline": {check: resetAt(true)},
	} {
		transcripts[name] = tc
	}
}

// earlierRun is what an earlier "esa serve" on the data directory counted
// and kept: 40 messages received, 2 rejected recipients.
var earlierRun = counters.Values{counters.InjMsg: 40, counters.InjRcp: 50, counters.RejRcp: 2}

// withEarlierRun is withDaemon over totals an earlier run kept (it
// flushed them and stopped).
func withEarlierRun(t *testing.T, env *Env) {
	t.Helper()
	withDaemon(t, env)
	k, err := counters.Start(env.Store, counters.ProcessID(1, env.Started.Add(-time.Hour)),
		func() counters.Values { return earlierRun }, env.Started.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(env.Started.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// resetAt checks whether a reset was kept, at the env's clock.
func resetAt(want bool) func(t *testing.T, env *Env) {
	return func(t *testing.T, env *Env) {
		t.Helper()
		v, err := counters.Load(env.Store, statusProcess(env), counters.Values{}, env.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := !v.ResetAt.IsZero(); got != want {
			t.Fatalf("reset kept: %v, want %v", got, want)
		}
		if want && !v.ResetAt.Equal(env.Now()) {
			t.Errorf("reset at %v, want %v", v.ResetAt, env.Now())
		}
	}
}

// TestResetCountersColumns: after resetcounters the Reset column is zero,
// Uptime and Lifetime are unchanged, and counts after the reset show in
// all three columns.
func TestResetCountersColumns(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withEarlierRun(t, env)
	stats := fixedStats
	env.Listeners = func() smtpd.Stats { return stats }
	row := func(out, label string) []string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "    "+label+" ") {
				return strings.Fields(strings.TrimPrefix(l, "    "+label))
			}
		}
		t.Fatalf("no %q row in:\n%s", label, out)
		return nil
	}
	check := func(out, label string, want ...string) {
		t.Helper()
		if got := row(out, label); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %v, want %v", label, got, want)
		}
	}
	out := script(env, "status\n")
	check(out, "Messages Received", "43", "3", "43")
	check(out, "Rejected Recipients", "1,236", "1,234", "1,236")
	if !strings.Contains(out, "Last counter reset:            Never\n") {
		t.Errorf("before any reset:\n%s", out)
	}
	out = script(env, "resetcounters\nstatus\n")
	check(out, "Messages Received", "0", "3", "43")
	check(out, "Rejected Recipients", "0", "1,234", "1,236")
	if !strings.Contains(out, "Last counter reset:            "+ctime(env.Now())+"\n") {
		t.Errorf("after the reset:\n%s", out)
	}
	stats.Messages += 2
	out = script(env, "status\n")
	check(out, "Messages Received", "2", "5", "45")
}

// TestStatusDamagedTotals: unreadable kept totals are said, not shown as
// zeros, and the command fails.
func TestStatusDamagedTotals(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withDaemon(t, env)
	if err := env.Store.PutState(counters.StateKey, []byte("{damaged")); err != nil {
		t.Fatal(err)
	}
	out := script(env, "status\n")
	if !strings.Contains(out, "Couldn't obtain mail stats") || strings.Contains(out, "Messages Received") {
		t.Errorf("status over damaged totals:\n%s", out)
	}
}

// TestStatusDetailRates: status detail's Rates (Events Per Hour) are the
// kept samples' rates: a daemon two minutes up that received 3 messages
// and 7 recipients and delivered 1 shows 90, 210 and 30 an hour in every
// window.
func TestStatusDetailRates(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withDaemon(t, env)
	if _, err := counters.Start(env.Store, statusProcess(env), func() counters.Values { return liveCounters(env) },
		env.Now().Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	out := script(env, "status detail\n")
	_, rates, ok := strings.Cut(out, "Rates (Events Per Hour):")
	if !ok {
		t.Fatalf("no rates:\n%s", out)
	}
	rates, _, _ = strings.Cut(rates, "Gauges:")
	for _, want := range []string{
		"    Messages Received              90            90            90\n",
		"    Recipients Received           210           210           210\n",
		"    Delivered Recipients           30            30            30\n",
		"    Hard Bounced Recipients         0             0             0\n",
	} {
		if !strings.Contains(rates, want) {
			t.Errorf("rates lack %q:\n%s", want, rates)
		}
	}
}
