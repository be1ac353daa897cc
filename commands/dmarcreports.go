package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"esa/shell"
	"esa/store"
)

// DMARCReporter is the daemon's DMARC aggregate report job, for
// dmarcreports (*dmarcreport.Job satisfies it). Env.DMARCReports is nil in
// a shell not attached to a running "esa serve".
type DMARCReporter interface {
	// List returns the data not reported yet, oldest period first, and
	// the newest reports (at most limit; 0: all kept), newest first.
	List(limit int) ([]store.DMARCPending, []store.DMARCReport, error)
	// GenerateNow builds and sends the reports of all data now (domain
	// "": every policy domain) and returns them.
	GenerateNow(ctx context.Context, domain string) ([]store.DMARCReport, error)
	// Report returns one report and its XML (nil when no longer kept).
	Report(id uint64) (store.DMARCReport, []byte, error)
}

const dmarcreportsHelp = `dmarcreports [generate [DOMAIN] | show [ID]]

List, send and show DMARC aggregate reports (RFC 7489). The gateway keeps
the report data of the messages whose mail-flow policy sends aggregate
reports, per reporting period: the day ending at the report time of
dmarcconfig SETUP (UTC). At that time it builds each policy domain's report,
checks that every external rua address agreed to receive it, and queues it
gzipped for each rua address and the copy addresses; a report larger than
10 MB or than every rua's size limit becomes an error report, when SETUP
sends them.

Without arguments the command lists the data not reported yet (period,
policy domain, messages) and the newest reports (ID, when generated, policy
domain, records, messages, gzipped size, status: queued with the MID of
the report message and, as the delivery engine finishes it, delivered or
bounced per rua domain; pending a retry; or skipped and why), each with the
rua addresses its policy record gave.

"generate" builds and sends the reports of all data now (of one policy
domain when DOMAIN is given); a report of a period not over yet ends now,
and the rest of the period goes into a report of its own. At a terminal it
asks for confirmation first. "show ID" prints one report's details and its
XML, while the gateway keeps it (the newest 100 reports); without ID it asks
for one.

The command needs a shell attached to a running "esa serve".`

// dmarcShownReports is how many reports the list shows.
const dmarcShownReports = 50

func dmarcreportsCommand(env *Env) shell.Command {
	return shell.Command{
		Name:     "dmarcreports",
		Summary:  "List and generate DMARC aggregate reports",
		Help:     dmarcreportsHelp,
		Keywords: []string{"generate", "show"},
		Run: func(io *shell.IO, args []string) error {
			op := ""
			if len(args) > 0 {
				op = strings.ToLower(args[0])
			}
			switch {
			case op == "":
			case op == "generate" && len(args) <= 2:
			case op == "show" && len(args) <= 2:
			case op == "show":
				return fmt.Errorf("Invalid arguments when processing: dmarcreports show takes one report ID.")
			case op == "generate":
				return fmt.Errorf("Invalid arguments when processing: dmarcreports generate takes at most one policy domain.")
			default:
				return fmt.Errorf("Invalid arguments when processing: dmarcreports takes GENERATE [DOMAIN] or SHOW ID, or nothing to list the reports.")
			}
			if env.DMARCReports == nil {
				io.Printf("The gateway is not running: dmarcreports works on the report data of a running \"esa serve\".\n")
				io.Fail()
				return nil
			}
			switch op {
			case "generate":
				domain := ""
				if len(args) == 2 {
					domain = strings.ToLower(strings.TrimSuffix(args[1], "."))
					if err := checkDomainArg(domain); err != nil {
						return fmt.Errorf("Invalid arguments when processing: %v", err)
					}
				}
				return dmarcGenerate(io, env, domain)
			case "show":
				var arg string
				if len(args) == 2 {
					arg = args[1]
					if _, err := reportID(arg); err != nil {
						return fmt.Errorf("Invalid arguments when processing: %v", err)
					}
				} else {
					var err error
					if arg, err = io.Ask("Enter the ID of the report to show.", "", reportID); err != nil {
						return err
					}
				}
				id, _ := strconv.ParseUint(arg, 10, 64)
				return dmarcShow(io, env, id)
			}
			return dmarcList(io, env)
		},
	}
}

// checkDomainArg accepts a policy domain: dot-separated labels of letters,
// digits, '-' and '_' (RFC 1035 §2.3.4 lengths).
func checkDomainArg(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("%q is not a domain name.", d)
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("%q is not a domain name.", d)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a domain name.", d)
			}
		}
	}
	return nil
}

// reportID checks a report ID: a number dmarcreports lists.
func reportID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseUint(s, 10, 64); err != nil || id == 0 {
		return "", fmt.Errorf("%q is not a report ID (the numbers dmarcreports lists).", s)
	}
	return s, nil
}

// shortTime is a time in the list's columns (UTC, the report time's zone).
func shortTime(t time.Time) string { return t.UTC().Format("Jan _2 15:04") }

func dmarcList(io *shell.IO, env *Env) error {
	pend, reps, err := env.DMARCReports.List(0)
	if err != nil {
		return fmt.Errorf("The DMARC report data cannot be read: %v", err)
	}
	now := env.Now()
	rt := env.Store.Snapshot().DMARC.Settings.ReportTime
	io.Printf("\n%-31s%s\n", "Status as of:", ctime(now))
	io.Printf("%-31s%s UTC, daily\n", "Report time:", rt)
	io.Printf("\nData not reported yet:\n")
	if len(pend) == 0 {
		io.Printf("None.\n")
	} else {
		io.Printf("Period (UTC)                 Policy Domain                      Messages\n")
		for _, p := range pend {
			period := shortTime(p.Begin) + " - " + shortTime(p.End)
			if len(period) > 28 {
				period = period[:28]
			}
			io.Printf("%-29s%-31s%12s\n", period, p.Domain, thousands(p.Messages))
		}
	}
	io.Printf("\nReports:\n")
	if len(reps) == 0 {
		io.Printf("None.\n")
		return nil
	}
	io.Printf("   ID  Generated     Policy Domain           Records  Messages      Size  Status\n")
	for i, r := range reps {
		if i == dmarcShownReports {
			io.Printf("(%d older reports not shown; dmarcreports show ID shows any of them)\n", len(reps)-i)
			break
		}
		io.Printf("%5d  %-13s %-22s%9s%10s%10s  %s\n", r.ID, shortTime(r.Generated), r.Domain,
			thousands(r.Records), thousands(r.Messages), thousands(r.Size), r.Status)
		var rua []string
		for _, u := range r.RUA {
			rua = append(rua, u.URI)
		}
		io.Printf("       rua: %s\n", strings.Join(rua, ", "))
	}
	return nil
}

func dmarcGenerate(io *shell.IO, env *Env, domain string) error {
	pend, _, err := env.DMARCReports.List(1)
	if err != nil {
		return fmt.Errorf("The DMARC report data cannot be read: %v", err)
	}
	what, messages := "all policy domains", 0
	if domain != "" {
		what = domain
	}
	for _, p := range pend {
		if domain == "" || p.Domain == domain {
			messages += p.Messages
		}
	}
	if messages == 0 {
		io.Printf("No DMARC report data is pending for %s.\n", what)
		return nil
	}
	if io.Interactive() {
		sure, err := io.YesNo(fmt.Sprintf("Generate and send the DMARC aggregate reports for %s now (%s)?", what, plural(messages, "message")), false)
		if err != nil {
			return err
		}
		if !sure {
			io.Printf("No reports generated.\n")
			return nil
		}
	}
	reps, err := env.DMARCReports.GenerateNow(io.Ctx, domain)
	if err != nil {
		return fmt.Errorf("The DMARC reports were not generated: %v", err)
	}
	mailLog(env).Info("DMARC: aggregate reports generated now by %s for %s: %s", env.User, what, plural(len(reps), "report"))
	if len(reps) == 0 {
		io.Printf("No reports generated.\n")
		return nil
	}
	for _, r := range reps {
		io.Printf("Report %d for %s (%s, %s): %s\n", r.ID, r.Domain, plural(r.Records, "record"), plural(r.Messages, "message"), r.Status)
	}
	return nil
}

func dmarcShow(io *shell.IO, env *Env, id uint64) error {
	r, xml, err := env.DMARCReports.Report(id)
	if err == store.ErrNoDMARCReport {
		return fmt.Errorf("There is no DMARC report %d (dmarcreports lists them).", id)
	}
	if err != nil {
		return fmt.Errorf("DMARC report %d cannot be read: %v", id, err)
	}
	line := func(label, value string) { io.Printf("%-13s%s\n", label+":", value) }
	io.Printf("\n")
	line("Report", fmt.Sprintf("%d", r.ID))
	line("Domain", r.Domain)
	line("Period", ctime(r.Begin.UTC())+" to "+ctime(r.End.UTC()))
	line("Generated", ctime(r.Generated.UTC()))
	line("Report-ID", r.ReportID)
	line("File", r.FileName)
	line("Records", fmt.Sprintf("%s for %s", thousands(r.Records), plural(r.Messages, "message")))
	line("Size", fmt.Sprintf("%s bytes of XML, %s gzipped", thousands(r.XMLSize), thousands(r.Size)))
	var rua []string
	for _, u := range r.RUA {
		if u.MaxSize > 0 {
			// The record's size limit (RFC 7489 §6.2), in bytes.
			rua = append(rua, fmt.Sprintf("%s (at most %s bytes)", u.URI, thousands(int(min(u.MaxSize, 1<<62)))))
			continue
		}
		rua = append(rua, u.URI)
	}
	line("rua", strings.Join(rua, ", "))
	if len(r.To) > 0 {
		line("Sent to", strings.Join(r.To, ", "))
	}
	line("Status", r.Status)
	io.Printf("\n")
	if xml == nil {
		io.Printf("The report's XML is no longer kept (the newest %d reports keep theirs).\n", store.DMARCBodies)
		return nil
	}
	io.Printf("%s", xml)
	if len(xml) > 0 && xml[len(xml)-1] != '\n' {
		io.Printf("\n")
	}
	return nil
}
