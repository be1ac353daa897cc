package commands

import (
	"esa/shell"
)

// ForgedCount is how many received messages had a From: display name
// matching one dictionary term.
type ForgedCount struct {
	Dictionary, Term string
	Count            int64
}

const forgedemailreportHelp = `forgedemailreport

Show the forged email detection matches: for each content dictionary term,
how many received messages had a From: display name that a message filter's
forged-email-detection rule matched against it, most matched first (the
appliance's "Forged Email Matches" report). The counts are kept by the
running gateway ("esa serve") across restarts.`

// forgedemailreportCommand shows the forged email detection counts (SPEC.md
// §4: "matches are counted for a report"; seed 004 "偽装メールの一致").
func forgedemailreportCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "forgedemailreport",
		Summary: "Show forged email detection matches per dictionary term",
		Help:    forgedemailreportHelp,
		Run: func(io *shell.IO, args []string) error {
			if env.Forged == nil {
				io.Printf("The gateway is not running: forgedemailreport shows the matches counted by a running \"esa serve\".\n")
				io.Fail()
				return nil
			}
			counts := env.Forged()
			io.Printf("\nForged Email Matches\n\n")
			if len(counts) == 0 {
				io.Printf("No forged email detection matches have been recorded.\n")
				return nil
			}
			dw, tw := len("Dictionary"), len("Term")
			for _, c := range counts {
				dw, tw = max(dw, len(c.Dictionary)), max(tw, len(c.Term))
			}
			io.Printf("%-*s  %-*s  %8s\n", dw, "Dictionary", tw, "Term", "Matches")
			var total int64
			for _, c := range counts {
				io.Printf("%-*s  %-*s  %8d\n", dw, c.Dictionary, tw, c.Term, c.Count)
				total += c.Count
			}
			io.Printf("%-*s  %-*s  %8d\n", dw, "Total", tw, "", total)
			return nil
		},
	}
}
