package shell

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// The demo command table drives the golden transcripts: a small fake
// configuration command ("demoedit") that uses every widget of the wizard
// kit, plus commands showing tokenizing and error printing.

type demoEntry struct {
	host, domain, ip, network, admin string
	enabled                          bool
	mode, limit                      int
}

// demoSession is one session's pending state; a wizard only touches it after
// its last answer, so Ctrl-C or EOF in the middle leaves it unchanged.
type demoSession struct {
	entries []demoEntry
	export  string
}

var demoOps = []Op{
	{"NEW", "Create a new entry."},
	{"DELETE", "Remove an entry."},
	{"PRINT", "Display all entries."},
	{"SETUP", "Change global settings."},
}

func (s *demoSession) commands() []Command {
	keywords := make([]string, len(demoOps))
	for i, op := range demoOps {
		keywords[i] = op.Name
	}
	return []Command{
		{
			Name:     "demoedit",
			Summary:  "Edit the demo table.",
			Help:     "demoedit - walk the demo wizard: NEW, DELETE, PRINT, SETUP.",
			Keywords: keywords,
			Run:      s.demoedit,
		},
		{
			Name:    "echo",
			Summary: "Print each argument in brackets.",
			Run: func(io *IO, args []string) error {
				for _, a := range args {
					io.Printf("[%s]", a)
				}
				io.Printf("\n")
				return nil
			},
		},
		{
			Name:    "fail",
			Summary: "Fail with an error.",
			Run: func(*IO, []string) error {
				return fmt.Errorf("The demo command failed.")
			},
		},
		{
			Name:    "wait",
			Summary: "Wait until interrupted.",
			Run: func(io *IO, _ []string) error {
				io.Printf("Waiting.\n")
				<-io.Ctx.Done()
				return io.Ctx.Err()
			},
		},
		{
			Name:    "passwd",
			Summary: "Ask a passphrase and say how long it was.",
			Run: func(io *IO, _ []string) error {
				p, err := io.AskSecret("Enter the passphrase:", "", NonEmpty)
				if err != nil {
					return err
				}
				io.Printf("Got %d characters.\n", len(p))
				return nil
			},
		},
		{
			Name:    "boom",
			Summary: "Panic.",
			Run:     func(*IO, []string) error { panic("demo bug") },
		},
	}
}

func (s *demoSession) demoedit(io *IO, _ []string) error {
	for {
		io.Printf("There are currently %d entries configured.\n", len(s.entries))
		op, err := io.Menu(demoOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			err = s.newEntry(io)
		case "DELETE":
			err = s.deleteEntry(io)
		case "PRINT":
			for i, e := range s.entries {
				io.Printf("%d. %s %s %s %s admin=%q enabled=%v mode=%d limit=%d\n",
					i+1, e.host, e.domain, e.ip, e.network, e.admin, e.enabled, e.mode, e.limit)
			}
		case "SETUP":
			err = s.setup(io)
		}
		if err != nil {
			return err
		}
	}
}

func (s *demoSession) newEntry(io *IO) error {
	var e demoEntry
	var err error
	if e.host, err = io.Ask("Enter the hostname of the entry.", "", Hostname); err != nil {
		return err
	}
	if e.domain, err = io.Ask("Enter the domain it serves.", "", Domain); err != nil {
		return err
	}
	if e.ip, err = io.Ask("Enter the IP address of the host.", "", IPAddr); err != nil {
		return err
	}
	if e.network, err = io.Ask("Enter the network allowed to relay.", "192.0.2.0/24", CIDR); err != nil {
		return err
	}
	if e.admin, err = io.AskOptional("Enter the email address of the administrator.", "", Email); err != nil {
		return err
	}
	if e.enabled, err = io.YesNo(fmt.Sprintf("Do you wish to enable %s?", e.host), true); err != nil {
		return err
	}
	if e.mode, err = io.Choose(fmt.Sprintf("Select how you want to apply the limits for %s:", e.domain),
		[]string{"One limit applies to the entire domain " + e.domain, "Separate limit for each mail exchanger IP address"}, 1); err != nil {
		return err
	}
	if e.limit, err = io.Int(fmt.Sprintf("Enter the max concurrency limit for %q.", e.domain), 500, 1, 1000); err != nil {
		return err
	}
	s.entries = append(s.entries, e)
	return nil
}

func (s *demoSession) deleteEntry(io *IO) error {
	names := make([]string, len(s.entries))
	for i, e := range s.entries {
		names[i] = e.host
		io.Printf("%d. %s\n", i+1, e.host)
	}
	i, err := io.Select("Enter the name or number of the entry to delete.", names)
	if err != nil || i < 0 {
		return err
	}
	s.entries = append(s.entries[:i], s.entries[i+1:]...)
	return nil
}

func (s *demoSession) setup(io *IO) error {
	for {
		op, err := io.Menu([]Op{{"EXPORT", "Export the table to a file."}})
		if err != nil || op == "" {
			return err
		}
		name, err := io.Ask("Enter a name for the exported file.", "demo.txt", Filename)
		if err != nil {
			return err
		}
		comment, err := io.Ask("Enter a comment for the file.", "", NonEmpty)
		if err != nil {
			return err
		}
		s.export = name
		io.Printf("Exported %d entries to %s (%s).\n", len(s.entries), name, comment)
	}
}

// onExit asks before dropping entries, like the appliance warns about
// uncommitted changes.
func (s *demoSession) onExit(io *IO) bool {
	if len(s.entries) == 0 {
		return true
	}
	yes, err := io.YesNo("There are entries that will be lost. Do you want to exit anyway?", false)
	return err != nil || yes
}

func demoPrompt() string { return "esa.example.com> " }

// runDemo runs one demo session over a plain editor.
func runDemo(input io.Reader, out io.Writer) {
	s := &demoSession{}
	err := Run(context.Background(), Config{
		Editor:   NewPlainEditor(input, out),
		Out:      out,
		Prompt:   demoPrompt,
		Commands: s.commands(),
		OnExit:   s.onExit,
	})
	if err != nil {
		fmt.Fprintf(out, "Run returned %v\n", err)
	}
}

// lines joins input lines the way a pipe delivers them.
func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }
