// Command esa is the appliance: `esa [--data DIR]` opens the data directory
// and runs the appliance shell on the terminal (or over a pipe, reading each
// line as typed). It only wires the packages together (ARCHITECTURE.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"esa/commands"
	"esa/shell"
	"esa/store"
	"esa/store/logs"
	"esa/store/users"
)

// version is set at build time: go build -ldflags '-X main.version=...'.
var version = "dev"

// user names the local session in commit history. The appliance's
// administrator account is "admin"; there is no login on the local console.
const user = "admin"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// flags are esa's command-line options.
type flags struct {
	data        string
	resolver    string // lab: one recursive resolver HOST[:PORT] instead of the dnsconfig table
	trustAnchor string // lab: a file of DS/DNSKEY records instead of the built-in root anchors
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("esa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	fs.StringVar(&f.data, "data", "./data", "data directory (configuration store, logs, saved configuration files)")
	fs.StringVar(&f.resolver, "resolver", "", "lab: send DNS queries to this recursive resolver (HOST[:PORT])")
	fs.StringVar(&f.trustAnchor, "trust-anchor", "", "lab: read the DNSSEC trust anchor (DS or DNSKEY records) from FILE")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: esa [--data DIR] [--resolver HOST[:PORT]] [--trust-anchor FILE]\n       esa [--data DIR] ... serve [--ssh ADDR:PORT] [--grace DURATION]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	serving := false
	var sf serveFlags
	switch rest := fs.Args(); {
	case len(rest) >= 1 && rest[0] == "serve":
		var err error
		if sf, err = parseServe(rest[1:], stderr); err != nil {
			fmt.Fprintf(stderr, "esa serve: %v\n", err)
			return 2
		}
		serving = true
	case len(rest) > 0:
		fs.Usage()
		return 2
	}
	if f.resolver != "" {
		// Checked before anything is opened: a typo in a lab switch must
		// stop esa at once, not surface at the first DNS command.
		if err := checkResolverFlag(f.resolver); err != nil {
			fmt.Fprintf(stderr, "esa: %v\n", err)
			return 2
		}
	}

	if serving {
		return serve(f, sf, stderr)
	}
	// A running `esa serve` owns the directory: attach to it.
	if code, ok := attach(f.data, stdin, stdout, stderr); ok {
		return code
	}

	a, err := open(f, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "esa: %v\n", err)
		return 1
	}
	defer a.Close()

	var ed shell.Editor
	interactive := shell.IsTerminal(stdin)
	if interactive {
		ed, err = shell.NewTerminalEditor(stdin, stdout, nil, filepath.Join(a.store.Dir(), "cli_history"))
		if err != nil {
			fmt.Fprintf(stderr, "esa: %v\n", err)
			return 1
		}
	} else {
		ed = shell.NewPlainEditor(stdin, stdout)
	}
	defer ed.Close()

	// Ctrl-C while a command runs reaches us as SIGINT (the terminal is out
	// of raw mode then); the shell turns it into the command's cancellation.
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt)
	defer signal.Stop(intr)

	outcome, err := shell.RunOutcome(context.Background(), a.shellConfig(ed, stdout, intr))
	if err != nil {
		fmt.Fprintf(stderr, "esa: %v\n", err)
		return 1
	}
	if interactive {
		// A person saw every message; the status is for scripts.
		return 0
	}
	// Batch: scripts can trust the status (see shell.ExitFailed and the
	// codes next to it).
	return outcome.ExitCode()
}

// checkResolverFlag checks --resolver HOST[:PORT]: HOST an IP address (an
// IPv6 one in brackets when a port follows) or a host name of letters,
// digits and hyphens, PORT from 1 to 65535.
func checkResolverFlag(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("--resolver %q: %s; want HOST or HOST:PORT, e.g. 127.0.0.1:5353 or [::1]:5353", s, why)
	}
	if net.ParseIP(s) != nil {
		return nil
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if port == "" {
			return bad("the port is empty")
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("the port is not a number from 1 to 65535")
		}
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return bad("not an IPv6 address in brackets")
		}
		if net.ParseIP(host) != nil {
			return nil
		}
	} else if strings.Count(s, ":") > 0 {
		return bad("not an IP address or HOST:PORT")
	}
	if host == "" {
		return bad("the host is empty")
	}
	if !validHostName(host) {
		return bad("not an IP address or host name")
	}
	return nil
}

// validHostName: dot-separated labels of letters, digits and inner hyphens
// (RFC 1123 §2.1), at most 253 characters, the last label not all-numeric
// (so a mistyped address like 300.1.1.1 is not taken for a name).
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// appliance is everything one esa process holds open.
type appliance struct {
	store       *store.Store
	logs        *logs.Manager
	env         *commands.Env
	unsubscribe func()
}

// open opens the data directory, starts the log subscriptions of the
// committed configuration and keeps them in step with every commit.
func open(f flags, now func() time.Time) (*appliance, error) {
	if err := os.MkdirAll(f.data, 0o755); err != nil {
		return nil, err
	}
	st, err := store.Open(f.data, store.Options{Now: now})
	if err != nil {
		// A *store.LockedError already names the directory and the PID
		// that owns it: print it as is and stop, never wait.
		var locked *store.LockedError
		if errors.As(err, &locked) {
			return nil, locked
		}
		return nil, err
	}
	lm := logs.NewManager(filepath.Join(st.Dir(), "logs"), now)
	if err := lm.Apply(st.Committed().Logs); err != nil {
		lm.Close()
		st.Close()
		return nil, err
	}
	// OnCommit, not Subscribe: the log subscriptions a commit makes exist
	// when the session's next command runs. The commit path writes the
	// Configuration History line itself, whatever command commits.
	unsubscribe := st.OnCommit(func(c store.Change) {
		if !c.Changed("logs") {
			return
		}
		if err := lm.Apply(c.Config.Logs); err != nil {
			lm.Logger(store.LogTypeSystem).Critical("Log subscriptions not applied: %v", err)
		}
	})
	st.SetHistoryLog(lm.Logger(store.LogTypeConfig))
	resolver, err := buildResolver(st, lm, now, f.resolver, f.trustAnchor)
	if err != nil {
		unsubscribe()
		lm.Close()
		st.Close()
		return nil, err
	}
	var d net.Dialer
	env := &commands.Env{
		Store:    st,
		Session:  st.NewSession(user),
		Logs:     lm,
		Now:      now,
		Started:  now(),
		Version:  version,
		User:     user,
		Role:     users.Administrator, // the local console is the administrator's
		PID:      os.Getpid(),
		Resolver: resolver,
		Dial:     d.DialContext,
		SMTPPort: 25,
	}
	return &appliance{store: st, logs: lm, env: env, unsubscribe: unsubscribe}, nil
}

func (a *appliance) shellConfig(ed shell.Editor, out io.Writer, intr <-chan os.Signal) shell.Config {
	return shell.Config{
		Editor:     ed,
		Out:        out,
		Prompt:     commands.Prompt(a.env),
		Commands:   commands.Table(a.env),
		OnExit:     commands.OnExit(a.env),
		Interrupts: intr,
		Audit:      commands.Audit(a.env),
		Pending:    a.env.Session.Pending,
		Notices:    commands.Notices(a.env),
	}
}

func (a *appliance) Close() {
	a.unsubscribe()
	a.logs.Close()
	a.store.Close()
}
