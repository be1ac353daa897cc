package commands

import (
	"errors"
	goio "io"
	"net/netip"
	"strings"

	"esa/delivery/smtpd"
	"esa/shell"
	"esa/store/mailflow"
)

const traceHelp = `trace

Trace the flow of a message through the system: a simulated connection from
a source address to a listener, with its HELO name, envelope sender,
recipients and message, runs through the host access table, the recipient
access table, SPF/SIDF, DKIM, DMARC and the message filters of the running
gateway exactly as real mail would, and every verdict is shown. Nothing is
queued, logged, counted, reported or bounced. The committed configuration is
used; DNS lookups are real.`

// traceMaxMessage bounds a pasted or loaded message.
const traceMaxMessage = 10 << 20

// traceCommand is ESA-CLI §10.8: the question order of the appliance's
// trace, then the processing report, then the resulting message. The
// SenderBase questions are left out (no SenderBase here) and so is the
// debug session.
func traceCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "trace",
		Summary: "Trace the flow of a message through the system",
		Help:    traceHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Trace == nil {
				io.Printf("The gateway is not running: trace runs a message through the listeners of a running \"esa serve\".\n")
				io.Fail()
				return nil
			}
			conf := env.Store.Committed()
			if len(conf.Listeners.Listeners) == 0 {
				io.Printf("No listeners are configured; add one with listenerconfig.\n")
				io.Fail()
				return nil
			}
			in := smtpd.TraceInput{Hostname: conf.System.Hostname}
			ip, err := io.Ask("Enter the source IP address of the remote host.", "", func(s string) (string, error) {
				a, err := netip.ParseAddr(strings.TrimSpace(s))
				if err != nil {
					return "", errors.New("Invalid IP address.")
				}
				return a.Unmap().String(), nil
			})
			if err != nil {
				return err
			}
			in.IP = netip.MustParseAddr(ip)
			if in.Host, err = io.AskOptional("Enter the fully qualified domain name of the source IP.", "", hostAnswer); err != nil {
				return err
			}
			names := make([]string, len(conf.Listeners.Listeners))
			for i, l := range conf.Listeners.Listeners {
				names[i] = l.Name
			}
			n, err := io.Choose("Select the listener you wish to trace.", names, 1)
			if err != nil {
				return err
			}
			in.Listener = conf.Listeners.Listeners[n-1]
			helo := in.Host
			if helo == "" {
				helo = "[" + ip + "]"
			}
			if in.HELO, err = io.Ask("Enter the SMTP HELO/EHLO hostname.", helo, heloAnswer); err != nil {
				return err
			}
			if in.From, err = io.AskOptional("Enter the envelope sender address:", "", addressAnswer); err != nil {
				return err
			}
			rcpts, err := io.Ask("Enter the envelope recipient addresses to trace (separate multiple addresses by commas):", "", func(s string) (string, error) {
				var out []string
				for _, a := range strings.Split(s, ",") {
					a = strings.TrimSpace(a)
					if a == "" {
						continue
					}
					if _, err := addressAnswer(a); err != nil {
						return "", err
					}
					out = append(out, a)
				}
				if len(out) == 0 {
					return "", errors.New("Enter at least one recipient.")
				}
				return strings.Join(out, ", "), nil
			})
			if err != nil {
				return err
			}
			in.Rcpts = strings.Split(rcpts, ", ")
			if in.Message, err = traceMessage(env, io); err != nil {
				return err
			}
			if in.Message == nil {
				return nil
			}
			rep := env.Trace(in)
			printTrace(io, in, rep)
			if !rep.Queued {
				return nil
			}
			if show, err := io.YesNo("Would you like to see the resulting message?", true); err != nil || !show {
				return err
			}
			io.Printf("\n%s\n", strings.ReplaceAll(string(rep.Result), "\r\n", "\n"))
			return nil
		},
	}
}

// hostAnswer accepts a host name (or nothing).
func hostAnswer(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return "", nil
	}
	if len(s) > 253 || strings.ContainsAny(s, " \t@<>") {
		return "", errors.New("Invalid host name.")
	}
	return strings.ToLower(s), nil
}

// heloAnswer accepts what a client may send with HELO: a name or an
// address literal, printable, no spaces.
func heloAnswer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 255 {
		return "", errors.New("Invalid HELO name.")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", errors.New("Invalid HELO name.")
		}
	}
	return s, nil
}

// addressAnswer accepts a mailbox as SMTP carries it (without brackets).
func addressAnswer(s string) (string, error) {
	s = strings.Trim(strings.TrimSpace(s), "<>")
	if s == "" {
		return "", nil
	}
	if len(s) > 254 || !strings.Contains(s, "@") || strings.ContainsAny(s, " \t<>,") {
		return "", errors.New("Invalid email address.")
	}
	return s, nil
}

// traceMessage reads the message from a file in the configuration
// directory or from the session (ESA-CLI §10.8), with CRLF line ends.
// It returns nil, nil when there is nothing to trace.
func traceMessage(env *Env, io *shell.IO) ([]byte, error) {
	load, err := io.YesNo("Load message from disk?", false)
	if err != nil {
		return nil, err
	}
	var text string
	if load {
		name, err := io.Ask("Enter the name of the file in the configuration directory:", "", nil)
		if err != nil {
			return nil, err
		}
		data, err := env.Store.ReadConfigDirFile(io.Ctx, name, traceMaxMessage)
		if err != nil {
			io.Printf("\n%v\n", err)
			io.Fail()
			return nil, nil
		}
		text = string(data)
	} else {
		io.Printf("\nEnter or paste the message body here.  Enter '.' on a blank line to end.\n")
		var b strings.Builder
		for {
			line, err := io.ReadLine("")
			if errors.Is(err, goio.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			if line == "." {
				break
			}
			if b.Len()+len(line) > traceMaxMessage {
				io.Printf("\nThe message is larger than %d MB.\n", traceMaxMessage>>20)
				io.Fail()
				return nil, nil
			}
			// Dot-stuffing as a client would undo it.
			b.WriteString(strings.TrimPrefix(line, "."))
			b.WriteByte('\n')
		}
		text = b.String()
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(text, "\r\n") {
		text += "\r\n"
	}
	return []byte(text), nil
}

// printTrace is the processing report.
func printTrace(io *shell.IO, in smtpd.TraceInput, rep smtpd.TraceReport) {
	d := rep.Decision
	group, policy := d.Group, d.Policy
	if group == "" {
		group = "(none)"
	}
	if policy == "" {
		policy = "(none: " + d.Action + ")"
	} else {
		policy = "$" + policy
	}
	io.Printf("\nMessage Processing Report\n\n")
	io.Printf("Host Access Table (HAT) Processing\n")
	io.Printf("  Listener:          %s\n", in.Listener.Name)
	io.Printf("  Source:            %s (%s)\n", in.IP, orNone(in.Host))
	io.Printf("  Sender group:      %s (matched %s)\n", group, orNone(d.Match))
	io.Printf("  Mail flow policy:  %s\n", policy)
	if d.Action == mailflow.ActAccept || d.Action == mailflow.ActRelay {
		l := d.Limits
		io.Printf("  SPF/SIDF:          %s\n", onOff(l.SPF.Enabled))
		io.Printf("  DKIM verification: %s\n", onOff(l.DKIM.Enabled))
		io.Printf("  DMARC:             %s\n", onOff(l.DMARC.Enabled))
		io.Printf("  DKIM signing:      %s\n", onOff(l.DKIMSigning))
	}
	io.Printf("\nSMTP conversation\n")
	for _, r := range rep.Replies {
		io.Printf("  %s\n", r)
	}
	io.Printf("\nProcessing log\n")
	for _, l := range rep.Lines {
		io.Printf("  %s\n", l)
	}
	io.Printf("\nVerdicts\n")
	shown := 0
	if rep.Queued {
		for _, k := range []string{"spf.helo", "spf.mailfrom", "spf.pra", "dkim", "domainkeys", "dmarc"} {
			if v, ok := rep.Envelope.Verdicts[k]; ok {
				io.Printf("  %-13s %s\n", k+":", v)
				shown++
			}
		}
	}
	if shown == 0 {
		io.Printf("  (no authentication checks ran)\n")
	}
	io.Printf("\nFinal result\n")
	switch {
	case rep.Queued && rep.Envelope.Quarantine != "":
		io.Printf("  Message accepted and held in quarantine %s (%s).\n", rep.Envelope.Quarantine, rep.Envelope.QuarantineReason)
	case rep.Queued:
		io.Printf("  Message accepted and queued for delivery to %s.\n", strings.Join(rep.Envelope.Recipients, ", "))
	case rep.Accepted:
		io.Printf("  Message accepted and dropped by a message filter.\n")
	default:
		io.Printf("  Message not accepted.\n")
	}
	io.Printf("\n")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
