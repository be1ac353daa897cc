package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/certs"
)

// certAuthority is CERTAUTHORITY (ESA-CLI §4.5): the system list and the
// custom list, each shown with its state first.
func certAuthority(io *shell.IO, env *Env) error {
	for {
		op, err := io.Menu([]shell.Op{
			{Name: "SYSTEM", Desc: "Manage the system trusted root certificate list"},
			{Name: "CUSTOM", Desc: "Manage custom certificate authorities"},
		})
		if err != nil || op == "" {
			return err
		}
		if op == "SYSTEM" {
			err = certSystemCAs(io, env)
		} else {
			err = certCustomCAs(io, env)
		}
		if err != nil {
			return err
		}
	}
}

func certEnabled(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

func certSystemCAs(io *shell.IO, env *Env) error {
	for {
		on := env.Session.Config().Certificates.SystemCAs
		io.Printf("\nSystem CA List: %s\n", certEnabled(on))
		op, err := io.Menu([]shell.Op{certEnableOp(on)})
		if err != nil || op == "" {
			return err
		}
		certUpdate(io, env, func(c *store.Config) error {
			c.Certificates.SystemCAs = op == "ENABLE"
			return nil
		})
	}
}

func certEnableOp(on bool) shell.Op {
	if on {
		return shell.Op{Name: "DISABLE", Desc: "Disable the list"}
	}
	return shell.Op{Name: "ENABLE", Desc: "Enable the list"}
}

func certCustomCAs(io *shell.IO, env *Env) error {
	for {
		t := env.Session.Config().Certificates
		io.Printf("\nCustom List: %s (%s)\n", certEnabled(t.CustomCAs), certPlural(len(t.Authorities), "certificate"))
		op, err := io.Menu([]shell.Op{
			certEnableOp(t.CustomCAs),
			{Name: "PASTE", Desc: "Paste a certificate authority into the CLI"},
			{Name: "IMPORT", Desc: "Import certificate authorities from a PEM file"},
			{Name: "PRINT", Desc: "List the custom certificate authorities"},
			{Name: "DELETE", Desc: "Remove a custom certificate authority"},
			{Name: "EXPORT", Desc: "Export the custom certificate authorities to a PEM file"},
		})
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "ENABLE", "DISABLE":
			certUpdate(io, env, func(c *store.Config) error {
				c.Certificates.CustomCAs = op == "ENABLE"
				return nil
			})
		case "PASTE":
			io.Printf("\n")
			text, err := pastePEM(io, "the certificate authority")
			if err != nil && !errors.Is(err, errPEMTooLarge) {
				return err
			}
			if err == nil {
				err = addAuthorities(io, env, text)
			}
			if err != nil {
				certDiscard(io, "certificate", err)
			}
		case "IMPORT":
			file, err := io.Ask("Enter the name of the file to import:", "", configFileName)
			if err != nil {
				return err
			}
			data, err := env.Store.ReadConfigDirFile(io.Ctx, file, 1<<20)
			if errors.Is(err, fs.ErrNotExist) {
				io.Printf("\nError: the file %q does not exist.\n", file)
				io.Fail()
				continue
			}
			if err == nil {
				err = addAuthorities(io, env, string(data))
			}
			if err != nil {
				io.Printf("\nCould not read PEM data from file (%v).\n", err)
				io.Fail()
			}
		case "PRINT":
			printAuthorities(io, env, t)
		case "DELETE":
			if len(t.Authorities) == 0 {
				io.Printf("\nThere are no custom certificate authorities.\n")
				continue
			}
			printAuthorities(io, env, t)
			n, err := io.Ask("Enter the number of the certificate authority you wish to delete:", "", shell.IntRange(1, len(t.Authorities)))
			if err != nil {
				return err
			}
			i := certAtoi(n)
			certUpdate(io, env, func(c *store.Config) error {
				a := c.Certificates.Authorities
				c.Certificates.Authorities = append(a[:i-1:i-1], a[i:]...)
				return nil
			})
		case "EXPORT":
			file, err := io.Ask("Enter a file name for the exported certificate authorities:", "", configFileName)
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, a := range t.Authorities {
				b.WriteString(a.Cert)
			}
			if err := env.Store.WriteConfigDirFile(file, []byte(b.String())); err != nil {
				io.Printf("\nError: %v.\n", err)
				io.Fail()
				continue
			}
			io.Printf("\nThe custom certificate authorities have been exported to the file %s in the configuration directory.\n", file)
		}
	}
}

func certAtoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// addAuthorities adds each PEM certificate of text as its own authority.
func addAuthorities(io *shell.IO, env *Env, text string) error {
	cs, err := certs.ParseCertificates(text)
	if err != nil {
		return err
	}
	ok := certUpdate(io, env, func(c *store.Config) error {
		for _, x := range cs {
			c.Certificates.Authorities = append(c.Certificates.Authorities, certs.Authority{Cert: certs.EncodeCertificates(x)})
		}
		return nil
	})
	if ok {
		io.Printf("\n%s added.\n", certPlural(len(cs), "certificate authority"))
	}
	return nil
}

func printAuthorities(io *shell.IO, env *Env, t certs.Table) {
	if len(t.Authorities) == 0 {
		io.Printf("\nThere are no custom certificate authorities.\n")
		return
	}
	io.Printf("\n")
	for i, a := range t.Authorities {
		cs, err := certs.ParseCertificates(a.Cert)
		if err != nil {
			continue // the store's validator refuses such a table
		}
		st, _ := certs.Status(cs[0], env.Now())
		io.Printf("%d. %s (expires %s, %s)\n", i+1, cs[0].Subject.String(), cs[0].NotAfter.UTC().Format("Jan _2 2006"), st)
	}
}

// certSetup chooses the certificate of each listener's STARTTLS and of
// outbound TLS (the per-service assignment of the legacy SETUP, §4.6).
func certSetup(io *shell.IO, env *Env) error {
	for {
		cfg := env.Session.Config()
		ls := cfg.Listeners.Listeners
		var services []string
		for _, l := range ls {
			services = append(services, fmt.Sprintf("Listener %q (STARTTLS): %s", l.Name, certOrNone(l.Certificate)))
		}
		services = append(services, "Outbound TLS: "+certOrNone(cfg.Certificates.Outbound))
		io.Printf("\nCurrently assigned certificates:\n")
		for i, s := range services {
			io.Printf("%d. %s\n", i+1, s)
		}
		n, err := io.AskOptional("Enter the number of the service whose certificate you want to change:", "", shell.IntRange(1, len(services)))
		if err != nil || n == "" {
			return err
		}
		svc := certAtoi(n) - 1
		names := certChoices(cfg.Certificates)
		cur := cfg.Certificates.Outbound
		if svc < len(ls) {
			cur = ls[svc].Certificate
		}
		def := 0
		for i, name := range names {
			if strings.EqualFold(name, cur) {
				def = i + 1
			}
		}
		k, err := io.Choose("Please choose the certificate:", names, def)
		if err != nil {
			return err
		}
		pick := names[k-1]
		certUpdate(io, env, func(c *store.Config) error {
			if svc < len(ls) {
				c.Listeners.Listeners[svc].Certificate = pick
			} else {
				c.Certificates.Outbound = pick
			}
			return nil
		})
	}
}

// certChoices lists the certificates a service may use: the profiles, and
// Demo while the daemon has not made it yet.
func certChoices(t certs.Table) []string {
	var out []string
	for _, c := range t.Certificates {
		out = append(out, c.Name)
	}
	if t.Find(certs.DemoName) < 0 && t.Resolves(certs.DemoName) {
		out = append([]string{certs.DemoName}, out...)
	}
	return out
}
