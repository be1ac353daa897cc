package commands

import (
	"errors"
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
load it from the configuration directory (DATA/configuration/; an absolute
path also works). With FILE it loads that file. Pending changes of this session
are discarded after confirmation. A file with an error is refused whole: the
line and reason are shown and nothing changes.`

func loadconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "loadconfig",
		Summary: "Load a configuration file",
		Help:    loadconfigHelp,
		Run: func(io *shell.IO, args []string) error {
			if len(args) > 1 {
				io.Printf("Invalid arguments when processing: loadconfig takes at most one file name.\n")
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
				c, err = readConfigFile(env, args[0])
			} else {
				how, cerr := io.Choose("How do you want to load the configuration?", []string{"Paste via CLI", "Load from file"}, 1)
				if cerr != nil {
					return cerr
				}
				if how == 1 {
					text, perr := pasteConfig(io)
					if perr != nil {
						return perr
					}
					if strings.TrimSpace(text) == "" {
						io.Printf("\nNo data to load.\n")
						return nil
					}
					c, err = env.Store.UnmarshalConfig([]byte(text))
				} else {
					name, aerr := io.Ask("Enter the name of the file to import:", "", shell.NonEmpty)
					if aerr != nil {
						return aerr
					}
					args = []string{name}
					c, err = readConfigFile(env, name)
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
			)
			switch {
			case err == nil:
				io.Printf("\nValues have been loaded.\n")
			case errors.Is(err, fs.ErrNotExist) && len(args) == 1:
				io.Printf("\nError: the file %q does not exist.\n", args[0])
			case errors.As(err, &perr):
				io.Printf("\nParsing failed.\nLine %d: %s\n", perr.Line, perr.Reason)
			case errors.As(err, &verr):
				io.Printf("\nParsing failed.\n%v\n", verr)
			default:
				// Any other reason the file cannot be read (outside the
				// configuration directory, a directory, no permission) in
				// the same form as the missing-file error above.
				io.Printf("\nError: %v.\n", err)
			}
			return nil
		},
	}
}

func readConfigFile(env *Env, name string) (store.Config, error) {
	return env.Store.ReadConfigFile(name)
}

// pasteConfig reads pasted lines until a line holding only "." or the end
// of input (Ctrl-D).
func pasteConfig(io *shell.IO) (string, error) {
	io.Printf("\nPaste the configuration file now. Enter \".\" on a line by itself or press CTRL-D to end.\n")
	var b strings.Builder
	for {
		line, err := io.ReadLine("")
		if errors.Is(err, goio.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "." {
			break
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}
