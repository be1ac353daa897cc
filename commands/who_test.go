package commands

import (
	"testing"
	"time"

	"esa/store/logins"
	"esa/store/users"
)

func init() {
	transcripts["who_sessions"] = transcript{setup: func(t *testing.T, env *Env) {
		env.SessionID = 7
		env.Sessions = func() []SessionInfo {
			return []SessionInfo{
				{ID: 7, User: "admin", RemoteAddr: "127.0.0.1", Since: clock.Add(-5 * time.Minute)},
				{ID: 3, User: "ops", RemoteAddr: "::1", Since: clock.Add(-2 * time.Hour), Idle: 73 * time.Minute},
				{ID: 9, User: "admin", RemoteAddr: "", Since: clock.Add(-30 * time.Second), Idle: 12 * time.Second},
			}
		}
	}}
	transcripts["who_console"] = transcript{}
	transcripts["whoami"] = transcript{setup: as("ops", users.Operator)}
	transcripts["whoami_console"] = transcript{}
	transcripts["last"] = transcript{setup: func(t *testing.T, env *Env) {
		l, err := logins.Open(t.TempDir(), 100)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		env.Logins = LoginHistory(l)
		for _, r := range []Login{
			{User: "admin", RemoteAddr: "127.0.0.1", In: clock.Add(-50 * time.Hour), Out: clock.Add(-49 * time.Hour)},
			{User: "ops", RemoteAddr: "::1", In: clock.Add(-3 * time.Hour)},
			{User: "admin", RemoteAddr: "local", In: clock.Add(-10 * time.Minute)},
		} {
			if err := env.Logins.Record(r); err != nil {
				t.Fatal(err)
			}
		}
		// ops logs out.
		if err := env.Logins.Record(Login{User: "ops", RemoteAddr: "::1", In: clock.Add(-3 * time.Hour), Out: clock.Add(-3*time.Hour + 42*time.Second)}); err != nil {
			t.Fatal(err)
		}
	}}
	transcripts["last_empty"] = transcript{setup: func(t *testing.T, env *Env) {
		l, err := logins.Open(t.TempDir(), 100)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		env.Logins = LoginHistory(l)
	}}
	transcripts["last_no_daemon"] = transcript{}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 59 * time.Second: "59s", time.Minute: "1m",
		59*time.Minute + 59*time.Second: "59m", time.Hour + 3*time.Minute: "1h03m",
		49 * time.Hour: "2d01h",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}
