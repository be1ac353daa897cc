package commands

import (
	"runtime"

	"esa/shell"
)

func versionCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "version",
		Summary: "View system version information",
		Help: `version

Show the product name, the software version (set at build time) and the Go
release it was built with.`,
		Run: func(io *shell.IO, args []string) error {
			v := env.Version
			if v == "" {
				v = "dev"
			}
			io.Printf("\nCurrent Version\n===============\n")
			io.Printf("Product: ESA Email Security Gateway\n")
			io.Printf("Version: %s\n", v)
			io.Printf("Go Version: %s\n", runtime.Version())
			return nil
		},
	}
}
