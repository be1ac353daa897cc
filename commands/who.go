package commands

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"esa/shell"
	"esa/store/logins"
	"esa/store/users"
)

const whoHelp = `who

List the sessions logged in now: user, session name (ssh/N over SSH,
local/N through the daemon's local socket, console for a shell that opened
the data directory itself), remote address, login time and idle time.`

const whoamiHelp = `whoami

Show the user name, full name and role of this session.`

const lastHelp = `last [N]

List the most recent logins, newest first (N of them, 1 to 1000; 20 by
default): user, remote address, login time, logout time or "still logged
in", and the session's length. The history is kept by the gateway daemon
(esa serve) in the data directory, bounded to its most recent 1000 sessions.`

func whoCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "who",
		Summary: "List who is logged in",
		Help:    whoHelp,
		Run: func(io *shell.IO, args []string) error {
			var ss []SessionInfo
			if env.Sessions != nil {
				ss = env.Sessions()
			} else {
				// No daemon: this shell is the only session it knows.
				ss = []SessionInfo{{ID: env.SessionID, User: env.User, RemoteAddr: env.RemoteAddr, Since: env.Started}}
			}
			sort.Slice(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
			rows := make([][]string, len(ss))
			for i, s := range ss {
				rows[i] = []string{s.User, sessionName(s), ctime(s.Since), duration(s.Idle), remoteName(s.RemoteAddr)}
			}
			io.Printf("\n")
			printColumns(io, []string{"Username", "Session", "Login Time", "Idle Time", "Remote Host"}, rows)
			return nil
		},
	}
}

// sessionName is who's tty-like name of a session: ssh/N over SSH,
// local/N through the daemon's control socket (no remote address, or
// "local"), console for a shell without a daemon (session 0).
func sessionName(s SessionInfo) string {
	switch {
	case s.RemoteAddr == "" && s.ID == 0:
		return "console"
	case s.RemoteAddr == "" || s.RemoteAddr == "local":
		return "local/" + strconv.FormatUint(s.ID, 10)
	}
	return "ssh/" + strconv.FormatUint(s.ID, 10)
}

func remoteName(a string) string {
	if a == "" {
		return "-"
	}
	return shell.Escape(a)
}

// duration is the appliance's short form of an interval: 42s, 5m, 2h03m,
// 3d04h.
func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// printColumns prints a table with a row of '=' under the header, columns
// two spaces apart, as the appliance's who and last do.
func printColumns(io *shell.IO, header []string, rows [][]string) {
	w := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", w[i]-len([]rune(c))+2))
		}
		io.Printf("%s\n", strings.TrimRight(b.String(), " "))
	}
	line(header)
	under := make([]string, len(header))
	for i, h := range header {
		under[i] = strings.Repeat("=", len(h))
	}
	line(under)
	for _, r := range rows {
		line(r)
	}
}

func whoamiCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "whoami",
		Summary: "Display your user name, full name and role",
		Help:    whoamiHelp,
		Run: func(io *shell.IO, args []string) error {
			full := ""
			if u, ok := users.Find(env.Store.Committed().Users.Users, env.User); ok {
				full = u.FullName
			}
			role := sessionRole(env)
			if role == "" {
				role = "none"
			}
			if full == "" {
				full = "-"
			}
			io.Printf("\nUsername: %s\nFull Name: %s\nRole: %s\n", env.User, shell.Escape(full), role)
			return nil
		},
	}
}

func lastCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "last",
		Summary: "List the most recent logins",
		Help:    lastHelp,
		Run: func(io *shell.IO, args []string) error {
			n := 20
			if len(args) > 1 {
				return fmt.Errorf("Invalid arguments when processing: last takes at most one argument, the number of logins to list.")
			}
			if len(args) == 1 {
				v, err := strconv.Atoi(args[0])
				if err != nil || v < 1 || v > 1000 {
					return fmt.Errorf("Invalid arguments when processing: the number of logins must be from 1 to 1000.")
				}
				n = v
			}
			if env.Logins == nil {
				io.Printf("\nThe login history is kept by the gateway daemon (esa serve); this shell has none.\n")
				io.Fail()
				return nil
			}
			ls, err := env.Logins.Recent(n)
			if err != nil {
				return fmt.Errorf("The login history could not be read: %v", err)
			}
			io.Printf("\n")
			if len(ls) == 0 {
				io.Printf("No logins recorded.\n")
				return nil
			}
			now := env.Now()
			rows := make([][]string, len(ls))
			for i, l := range ls {
				out, end := "still logged in", now
				if !l.Out.IsZero() {
					out, end = ctime(l.Out), l.Out
				}
				rows[i] = []string{shell.Escape(l.User), remoteName(l.RemoteAddr), ctime(l.In), out, duration(end.Sub(l.In))}
			}
			printColumns(io, []string{"Username", "Remote Host", "Login Time", "Logout Time", "Total Time"}, rows)
			return nil
		},
	}
}

// LoginHistory makes a store/logins history the daemon's Env.Logins.
func LoginHistory(l *logins.Log) LoginLog { return loginHistory{l} }

type loginHistory struct{ l *logins.Log }

func (h loginHistory) Record(l Login) error {
	return h.l.Record(logins.Login{User: l.User, RemoteAddr: l.RemoteAddr, In: l.In, Out: l.Out})
}

func (h loginHistory) Recent(n int) ([]Login, error) {
	ls, err := h.l.Recent(n)
	out := make([]Login, len(ls))
	for i, l := range ls {
		out[i] = Login{User: l.User, RemoteAddr: l.RemoteAddr, In: l.In, Out: l.Out}
	}
	return out, err
}
