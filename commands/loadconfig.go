package commands

import (
	"context"
	"errors"
	"fmt"
	goio "io"
	"io/fs"
	"reflect"
	"strings"

	"esa/shell"
	"esa/store"
)

const loadconfigHelp = `loadconfig [FILE]

Load a whole configuration, as written by saveconfig, into this session as a
pending change (use commit to apply it). Without an argument the command asks
whether to paste the file (end with a line holding only "." or Ctrl-D) or to
load it from the configuration directory (DATA/configuration/). With FILE it
loads that file. FILE is the plain name of a regular file in that directory:
no directory part, no "..", no symbolic links. The file must hold the whole
configuration, every table, as saveconfig writes it. Pending changes of this
session are discarded after confirmation. A file with an error is refused
whole: the line and reason are shown and nothing changes. Ctrl-C stops the
loading.`

func loadconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "loadconfig",
		Summary: "Load a configuration file",
		Help:    loadconfigHelp,
		Run: func(io *shell.IO, args []string) error {
			if len(args) > 1 {
				io.Printf("Invalid arguments when processing: loadconfig takes at most one file name.\n")
				io.Fail()
				return nil
			}
			if env.Session.Pending() {
				ok, err := io.YesNo("You have uncommitted changes. Loading a configuration will discard them. Do you want to continue?", false)
				if err != nil || !ok {
					return err
				}
			}
			var (
				c   store.Config
				err error
			)
			if len(args) == 1 {
				c, err = env.Store.ReadConfigFile(io.Ctx, args[0])
			} else {
				how, cerr := io.Choose("How do you want to load the configuration?", []string{"Paste via CLI", "Load from file"}, 1)
				if cerr != nil {
					return cerr
				}
				if how == 1 {
					text, perr := pasteConfig(io, store.MaxConfigSize)
					if errors.Is(perr, errPasteTooLarge) {
						io.Printf("\nError: the pasted configuration is larger than %d bytes, too large for a configuration file; nothing was loaded.\n", store.MaxConfigSize)
						io.Fail()
						return nil
					}
					if perr != nil {
						return perr
					}
					if strings.TrimSpace(text) == "" {
						io.Printf("\nNo data to load.\n")
						return nil
					}
					c, err = env.Store.UnmarshalConfig([]byte(text))
				} else {
					name, aerr := io.Ask("Enter the name of the file to import:", "", configFileName)
					if aerr != nil {
						return aerr
					}
					args = []string{name}
					c, err = env.Store.ReadConfigFile(io.Ctx, name)
				}
			}
			if err == nil {
				if reflect.DeepEqual(c, env.Session.Config()) {
					io.Printf("\nNo changes detected.\n")
					return nil
				}
				err = env.Session.Load(c)
			}
			var (
				perr *store.ParseError
				verr *store.ValidationError
				ferr *store.FileError
			)
			switch {
			case err == nil:
				io.Printf("\nValues have been loaded.\n")
				return nil
			case errors.Is(err, context.Canceled) || errors.Is(err, shell.ErrInterrupt):
				// Ctrl-C while the file was read: the shell says so.
				return err
			case errors.As(err, &ferr):
				// The name or the file is refused (not a plain name, a
				// link, a FIFO...): say why, never what the file holds.
				io.Printf("\nError: %v.\n", ferr)
			case errors.Is(err, fs.ErrNotExist) && len(args) == 1:
				io.Printf("\nError: the file %q does not exist.\n", args[0])
			case errors.As(err, &perr):
				io.Printf("\nParsing failed.\nLine %d: %s\n", perr.Line, perr.Reason)
			case errors.As(err, &verr):
				io.Printf("\nParsing failed.\n%v\n", verr)
			default:
				// Any other reason (the session cannot take the file) in
				// the same form as the file errors above.
				io.Printf("\nError: %v.\n", err)
			}
			// A refused file is a failed command: a batch script that
			// loads a configuration must not go on as if it had.
			io.Fail()
			return nil
		},
	}
}

// errPasteTooLarge: the pasted text passed store.MaxConfigSize.
var errPasteTooLarge = errors.New("paste too large")

// pasteConfig reads pasted lines until a line holding only "." or the end
// of input (Ctrl-D), keeping at most limit bytes (issue 12 item 18): past
// that it keeps reading to the end of the paste, so the rest is not run as
// commands, but stores nothing more and returns errPasteTooLarge. Memory
// stays bounded by limit whatever the size of the paste.
func pasteConfig(io *shell.IO, limit int) (string, error) {
	io.Printf("\nPaste the configuration file now. Enter \".\" on a line by itself or press CTRL-D to end.\n")
	var b strings.Builder
	tooLarge := false
	for {
		line, err := io.ReadLine("")
		if errors.Is(err, goio.EOF) {
			break
		}
		if errors.Is(err, shell.ErrLineTooLong) {
			// No configuration line is that long: the paste is not a
			// configuration file. Drain it all the same.
			tooLarge = true
			continue
		}
		if err != nil {
			return "", err
		}
		if err := io.Ctx.Err(); err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "." {
			break
		}
		if tooLarge || b.Len()+len(line)+1 > limit {
			tooLarge = true
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if tooLarge {
		return "", errPasteTooLarge
	}
	return b.String(), nil
}

// configFileName refuses, at the question, a name the configuration
// directory rules refuse (store.CheckConfigFileName), with the reason.
func configFileName(a string) (string, error) {
	a, err := shell.NonEmpty(a)
	if err != nil {
		return "", err
	}
	if err := store.CheckConfigFileName(a); err != nil {
		return "", fmt.Errorf("The file %s.", strings.TrimPrefix(err.Error(), "the file "))
	}
	return a, nil
}
