package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store/logs"
)

const grepHelp = `grep [-e] REGEX [-i] [-c] [-C N] [-f PATTERN] [-p] [-t] LOG

Search the files of log subscription LOG (rolled files included, oldest
first) for lines matching the regular expression REGEX (Go RE2 syntax).
  -e REGEX    the expression (the first word that is not an option otherwise)
  -i          ignore case
  -c          print only the number of matching lines
  -C N        print N lines of context around each match
  -f PATTERN  search only the files whose names match the glob PATTERN
  -p          paginate (accepted; output is never paged)
  -t          search the end of the log and keep following new lines until
              Ctrl-C (on a terminal; in a script grep searches and returns)
Without arguments grep lists the logs and asks for the log, the expression,
case sensitivity, tail, pagination and file pattern.`

// grepArgs is a parsed grep command line (ESA-CLI §6.1).
type grepArgs struct {
	regex, log, files string
	haveRegex         bool
	ignoreCase, count bool
	follow            bool
	context           int
}

// parseGrep parses the batch form. Options may come in any order; the
// regular expression is -e's value or the first other word, the log name
// the last word.
func parseGrep(args []string) (grepArgs, error) {
	var g grepArgs
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("Invalid arguments when processing: %q needs a value.", a)
			}
			i++
			return args[i], nil
		}
		switch a {
		case "-e":
			v, err := value()
			if err != nil {
				return g, err
			}
			g.regex, g.haveRegex = v, true
		case "-i":
			g.ignoreCase = true
		case "-c":
			g.count = true
		case "-p":
		case "-t":
			g.follow = true
		case "-C":
			v, err := value()
			if err != nil {
				return g, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1000 {
				return g, fmt.Errorf("Invalid arguments when processing: -C needs a number from 0 to 1000, not %q.", v)
			}
			g.context = n
		case "-f":
			v, err := value()
			if err != nil {
				return g, err
			}
			g.files = v
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				return g, fmt.Errorf("Unknown option %q.", a)
			}
			words = append(words, a)
		}
	}
	if !g.haveRegex && len(words) > 0 {
		g.regex, g.haveRegex, words = words[0], true, words[1:]
	}
	switch len(words) {
	case 0:
	case 1:
		g.log = words[0]
	default:
		return g, fmt.Errorf("Invalid arguments when processing: unexpected %q.", strings.Join(words[1:], " "))
	}
	return g, nil
}

func grepCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "grep",
		Summary: "Searches for text in a log file",
		Help:    grepHelp,
		Run: func(io *shell.IO, args []string) error {
			g, err := parseGrep(args)
			if err != nil {
				return err
			}
			interactive := len(args) == 0
			if g.log == "" {
				name, err := chooseLog(io, env, "Enter the number of the log you wish to grep.")
				if err != nil || name == "" {
					return err
				}
				g.log = name
			}
			if !g.haveRegex {
				if g.regex, err = io.Ask("Enter the regular expression to grep.", "", compiles); err != nil {
					return err
				}
			}
			if interactive {
				if g.ignoreCase, err = io.YesNo("Do you want this search to be case insensitive?", true); err != nil {
					return err
				}
				if g.follow, err = io.YesNo("Do you want to tail the logs?", false); err != nil {
					return err
				}
				if _, err = io.YesNo("Do you want to paginate the output?", false); err != nil {
					return err
				}
				if g.files, err = io.Ask("Enter the file selection pattern (or press Enter for all files):", "*", nil); err != nil {
					return err
				}
				io.Printf("\n")
			}
			expr := g.regex
			if g.ignoreCase {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return regexError(err)
			}
			if g.files == "*" {
				g.files = ""
			}
			if g.follow && !io.Interactive() {
				// Following ends only with Ctrl-C, which a script cannot
				// press: in batch use grep -t searches what is there and
				// returns, so the rest of the script runs.
				g.follow = false
			}
			n, err := env.Logs.Grep(io.Ctx, g.log, logs.GrepOptions{
				Pattern: re, Follow: g.follow, FilePattern: g.files, Count: g.count, Context: g.context,
			}, io.Out)
			if errors.Is(err, logs.ErrNoSuchLog) {
				return fmt.Errorf("Unable to grep: there is no log named %q.", g.log)
			}
			if g.follow && errors.Is(err, context.Canceled) {
				// Ctrl-C is how grep -t ends.
				return err
			}
			if err != nil {
				return fmt.Errorf("Unable to grep: %w", err)
			}
			if n == 0 && !g.count && !g.follow {
				io.Printf("No results were found.\n")
			}
			return nil
		},
	}
}

// compiles accepts an answer that is a valid regular expression.
func compiles(a string) (string, error) {
	if _, err := regexp.Compile(a); err != nil {
		return "", regexError(err)
	}
	return a, nil
}

func regexError(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Errorf("Not a valid regular expression: %s: %q", se.Code, se.Expr)
	}
	return fmt.Errorf("Not a valid regular expression: %v", err)
}

// chooseLog lists the log subscriptions and asks for one by number or name
// (ESA-CLI §6.2, §6.3). "" means the user pressed Enter.
//
// The list is the committed one, as the log manager runs it: grep and tail
// read files, and a subscription this session added or renamed but has not
// committed has none yet (it would be listed and then not found).
func chooseLog(io *shell.IO, env *Env, question string) (string, error) {
	subs := env.Logs.Subscriptions()
	io.Printf("\n")
	printLogs(io, subs)
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	i, err := io.Select(question, names)
	if err != nil || i < 0 {
		return "", err
	}
	return names[i], nil
}
