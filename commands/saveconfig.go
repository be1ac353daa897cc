package commands

import (
	"errors"
	"io/fs"

	"esa/shell"
	"esa/store"
)

// askSecretMode asks the appliance's passphrase question (ESA-CLI §9.1).
func askSecretMode(io *shell.IO) (store.SecretMode, error) {
	n, err := io.Choose("Choose the passphrase option:", []string{
		"Mask passphrases (Files with masked passphrases cannot be loaded using loadconfig command)",
		"Encrypt passphrases",
		"Plain passphrases",
	}, 1)
	if err != nil {
		return 0, err
	}
	return []store.SecretMode{store.MaskSecrets, store.EncryptSecrets, store.PlainSecrets}[n-1], nil
}

func saveconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "saveconfig",
		Summary: "Saves the configuration to disk",
		Help: `saveconfig

Write the committed configuration, as one XML file, into the configuration
directory (DATA/configuration/). Passphrases are masked, encrypted or written
in plain text as you choose; a file with masked passphrases cannot be loaded
back with loadconfig, and one with encrypted passphrases only where the data
directory holds this appliance's secret.key. Uncommitted changes are not
saved. The file appears whole or not at all.`,
		Run: func(io *shell.IO, args []string) error {
			mode, err := askSecretMode(io)
			if err != nil {
				return err
			}
			name, err := env.Store.SaveConfigFile(env.Store.Committed(), mode)
			if err != nil {
				// The system's reason (no space, permissions), without the
				// path of the hidden temporary file.
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				io.Printf("\nError: the configuration could not be saved: %v.\n", err)
				io.Fail()
				return nil
			}
			io.Printf("\nThe file %s has been saved in the configuration directory.\n", name)
			return nil
		},
	}
}

func showconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "showconfig",
		Summary: "Display all configuration values",
		Help: `showconfig

Print the committed configuration in the same XML form saveconfig writes and
loadconfig reads. Uncommitted changes are not shown.`,
		Run: func(io *shell.IO, args []string) error {
			mode, err := askSecretMode(io)
			if err != nil {
				return err
			}
			text, err := env.Store.MarshalConfig(env.Store.Committed(), mode)
			if err != nil {
				return err
			}
			io.Printf("\n%s", text)
			if len(text) > 0 && text[len(text)-1] != '\n' {
				io.Printf("\n")
			}
			return nil
		},
	}
}
