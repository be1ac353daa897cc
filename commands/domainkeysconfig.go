package commands

import (
	"crypto"
	"crypto/rand"
	"errors"
	goio "io"
	"io/fs"
	"strconv"
	"strings"

	"esa/auth/dkim"
	"esa/shell"
	"esa/store"
	"esa/store/domainkeys"
)

const domainkeysconfigHelp = `domainkeysconfig

Configure DomainKeys (RFC 4870) and DKIM (RFC 6376) signing and DKIM
verification. The main screen shows the number of signing profiles, signing
keys and verification profiles and offers:
  PROFILES - SIGNING: NEW (the profile wizard: name, type, domain, selector,
             canonicalization, key, and for DKIM the header set, body length
             and tags), EDIT (users, name, domain, selector, key, a second
             key of the other algorithm for RSA + Ed25519 dual signing,
             canonicalization, headers, body length, expiration, tags),
             DELETE, PRINT, LIST, CLEAR, IMPORT, EXPORT,
             TEST (the published key, looked up through the validating
             resolver, matches the private key), DNSTXT (the TXT record to
             publish, split into strings of at most 255 characters);
             VERIFICATION: NEW, EDIT, DELETE, PRINT, LIST, CLEAR, IMPORT,
             EXPORT
  KEYS     - NEW (generate RSA 512 to 2048 bits or Ed25519 (RFC 8463), or
             paste a PEM key ended with a blank line or "."), PUBLICKEY,
             PRINT, LIST, DELETE, CLEAR, IMPORT and EXPORT (all keys as one
             file; an import replaces all keys)
  SETUP    - sign system-generated messages; use the From: header for DKIM
  SEARCH   - profiles and keys by name, domain, selector, user or key name
Private keys are secrets: masked by showconfig unless asked otherwise and
encrypted in config.db. A key a profile uses cannot be deleted. Each
completed operation is a pending change of this session until commit.`

var dkOps = []shell.Op{
	{Name: "PROFILES", Desc: "Manage domain profiles."},
	{Name: "KEYS", Desc: "Manage signing keys."},
	{Name: "SETUP", Desc: "Change global settings."},
	{Name: "SEARCH", Desc: "Search for domain profile or key."},
}

var dkProfileOps = []shell.Op{
	{Name: "SIGNING", Desc: "Manage signing profiles."},
	{Name: "VERIFICATION", Desc: "Manage verification profiles."},
}

var dkSigningOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new domain profile."},
	{Name: "EDIT", Desc: "Modify a domain profile."},
	{Name: "PRINT", Desc: "Display domain profiles."},
	{Name: "LIST", Desc: "List domain profiles."},
	{Name: "DELETE", Desc: "Delete a domain profile."},
	{Name: "CLEAR", Desc: "Delete all domain profiles."},
	{Name: "TEST", Desc: "Test if a domain profile is ready to sign."},
	{Name: "DNSTXT", Desc: "Generate a matching DNS TXT record."},
	{Name: "IMPORT", Desc: "Import domain profiles from a file (replaces all profiles)."},
	{Name: "EXPORT", Desc: "Export domain profiles to a file."},
}

var dkVerifyOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new verification profile."},
	{Name: "EDIT", Desc: "Modify a verification profile."},
	{Name: "PRINT", Desc: "Display verification profiles."},
	{Name: "LIST", Desc: "List verification profiles."},
	{Name: "DELETE", Desc: "Delete a verification profile."},
	{Name: "CLEAR", Desc: "Delete all verification profiles."},
	{Name: "IMPORT", Desc: "Import verification profiles from a file (replaces all profiles)."},
	{Name: "EXPORT", Desc: "Export verification profiles to a file."},
}

var dkKeyOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new signing key."},
	{Name: "EDIT", Desc: "Modify a signing key."},
	{Name: "PUBLICKEY", Desc: "Create a public key from a signing key."},
	{Name: "PRINT", Desc: "Display signing keys."},
	{Name: "LIST", Desc: "List signing keys."},
	{Name: "DELETE", Desc: "Delete a signing key."},
	{Name: "CLEAR", Desc: "Delete all signing keys."},
	{Name: "IMPORT", Desc: "Import signing keys from a file (replaces all keys)."},
	{Name: "EXPORT", Desc: "Export signing keys to a file."},
}

func domainkeysconfigCommand(env *Env) shell.Command {
	return shell.Command{
		Name:    "domainkeysconfig",
		Summary: "Configure DomainKeys/DKIM support",
		Help:    domainkeysconfigHelp,
		Run: func(io *shell.IO, args []string) error {
			for {
				t := env.Session.Config().DomainKeys
				io.Printf("\nNumber of DK/DKIM Signing Profiles: %d\nNumber of Signing Keys: %d\nNumber of DKIM Verification Profiles: %d\nSign System-Generated Messages: %s\n",
					len(t.Signing), len(t.Keys), len(t.Verification), yesNo(t.SignSystemGenerated))
				op, err := io.Menu(dkOps)
				if err != nil || op == "" {
					return err
				}
				switch op {
				case "PROFILES":
					err = dkProfiles(io, env)
				case "KEYS":
					err = dkKeys(io, env)
				case "SETUP":
					err = dkSetup(io, env)
				case "SEARCH":
					err = dkSearch(io, env)
				}
				if err != nil {
					return err
				}
			}
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// dkUpdate applies change to the session's domainkeys table; a refusal of
// the store's validator is printed and fails the command.
func dkUpdate(io *shell.IO, env *Env, change func(t *domainkeys.Table) error) bool {
	return certUpdate(io, env, func(c *store.Config) error { return change(&c.DomainKeys) })
}

func dkSetup(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	sys, err := io.YesNo("Would you like to sign system-generated messages (bounces, delay notices)?", t.SignSystemGenerated)
	if err != nil {
		return err
	}
	from, err := io.YesNo("Would you like to use the From: header for DKIM signing (instead of Sender: when present)?", t.FromHeader)
	if err != nil {
		return err
	}
	dkUpdate(io, env, func(t *domainkeys.Table) error {
		t.SignSystemGenerated, t.FromHeader = sys, from
		return nil
	})
	return nil
}

// dkSearch matches the answer, without regard to case, against profile
// names, domains, selectors, users and key names, and key names.
func dkSearch(io *shell.IO, env *Env) error {
	q, err := io.Ask("Enter the name or domain of the profile or key to search for:", "", nil)
	if err != nil {
		return err
	}
	q = strings.ToLower(q)
	t := env.Session.Config().DomainKeys
	found := 0
	for _, p := range t.Signing {
		fields := append([]string{p.Name, p.Domain, p.Selector, p.KeyName}, p.Users...)
		for _, f := range fields {
			if strings.Contains(strings.ToLower(f), q) {
				io.Printf("\nDomain profile %q (%s): domain %s, selector %s, key %s\n", p.Name, dkTypeName(p.Type), p.Domain, p.Selector, p.KeyName)
				found++
				break
			}
		}
	}
	for _, k := range t.Keys {
		if strings.Contains(strings.ToLower(k.Name), q) {
			io.Printf("\nSigning key %q: %s\n", k.Name, k.Describe())
			found++
		}
	}
	if found == 0 {
		io.Printf("\nNo domain profiles or signing keys match %q.\n", q)
	}
	return nil
}

func dkTypeName(typ string) string {
	if typ == domainkeys.TypeDK {
		return "DomainKeys"
	}
	return "DKIM"
}

func dkProfiles(io *shell.IO, env *Env) error {
	op, err := io.Menu(dkProfileOps)
	if err != nil || op == "" {
		return err
	}
	if op == "SIGNING" {
		return dkSigning(io, env)
	}
	return dkVerification(io, env)
}

// --- signing keys (ESA-CLI §2.6) ---

func dkKeys(io *shell.IO, env *Env) error {
	for {
		t := env.Session.Config().DomainKeys
		if len(t.Keys) == 0 {
			io.Printf("\nNo signing keys are defined.\n")
		} else {
			io.Printf("\nThere are currently %d signing keys.\n", len(t.Keys))
		}
		op, err := io.Menu(dkKeyOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			_, err = dkNewKey(io, env)
		case "EDIT":
			err = dkEditKey(io, env)
		case "PUBLICKEY":
			err = dkPublicKey(io, env)
		case "PRINT":
			dkPrintKeys(io, t, true)
		case "LIST":
			dkPrintKeys(io, t, false)
		case "DELETE":
			err = dkDeleteKey(io, env)
		case "CLEAR":
			var yes bool
			if yes, err = io.YesNo("Are you sure you want to delete all signing keys?", false); err == nil && yes {
				dkUpdate(io, env, func(t *domainkeys.Table) error { t.Keys = nil; return nil })
			}
		case "IMPORT":
			err = dkImport(io, env, "signing keys", func(t *domainkeys.Table, text string) error {
				keys, err := domainkeys.ParseKeys(text)
				t.Keys = keys
				return err
			})
		case "EXPORT":
			err = dkExport(io, env, "signing keys", domainkeys.FormatKeys(t.Keys))
		}
		if err != nil {
			return err
		}
	}
}

// dkKeyName asks a new key's name; an existing name is refused.
func dkKeyName(io *shell.IO, env *Env) (string, error) {
	t := env.Session.Config().DomainKeys
	return io.Ask("Enter a name for this signing key:", "", func(a string) (string, error) {
		if err := domainkeys.ValidName(a); err != nil {
			return "", err
		}
		if t.FindKey(a) >= 0 {
			return "", errors.New("That signing key already exists.")
		}
		return a, nil
	})
}

// dkKeySizes is the appliance's size menu plus Ed25519 (RFC 8463), which
// the appliance does not offer.
var dkKeySizes = []string{"512", "768", "1024", "1536", "2048", "Ed25519 (RFC 8463)"}

// dkNewKey runs KEYS NEW: name, then generate or paste. It returns the new
// key's name, "" when nothing was added.
func dkNewKey(io *shell.IO, env *Env) (string, error) {
	name, err := dkKeyName(io, env)
	if err != nil {
		return "", err
	}
	how, err := io.Choose("Select how to provide the key:", []string{"Generate a private key", "Enter an existing key"}, 1)
	if err != nil {
		return "", err
	}
	var pemText string
	if how == 1 {
		size, err := io.Choose("Enter the size (in bits) of this signing key:", dkKeySizes, 3)
		if err != nil {
			return "", err
		}
		if pemText, err = dkGenerate(size); err != nil {
			io.Printf("Failed to generate public key: %v.\n", err)
			io.Fail()
			return "", nil
		}
	} else if pemText, err = dkPasteKey(io); err != nil || pemText == "" {
		return "", err
	}
	if !dkUpdate(io, env, func(t *domainkeys.Table) error {
		t.Keys = append(t.Keys, domainkeys.Key{Name: name, Key: domainkeys.PrivateKey(pemText)})
		return nil
	}) {
		return "", nil
	}
	io.Printf("New key %q created.\n", name)
	return name, nil
}

// dkGenerate makes a key of the size menu's choice (1-based) as PEM.
func dkGenerate(choice int) (string, error) {
	var k crypto.Signer
	var err error
	if choice == len(dkKeySizes) {
		k, err = dkim.GenerateEd25519Key(rand.Reader)
	} else {
		bits, _ := strconv.Atoi(dkKeySizes[choice-1])
		k, err = dkim.GenerateRSAKey(rand.Reader, bits)
	}
	if err != nil {
		return "", err
	}
	b, err := dkim.MarshalPrivateKeyPEM(k)
	return string(b), err
}

// dkPasteKey reads a pasted PEM key (never echoed into the history) until
// a blank line, a line holding only "." or the end of input, and checks it
// is an RSA (RFC 8301 §3.2) or Ed25519 (RFC 8463) key. "" with a nil error
// means the paste was refused (already reported).
func dkPasteKey(io *shell.IO) (string, error) {
	io.Printf("Paste in key in PEM format. Enter a blank line or press CTRL-D to finish.\n")
	var b strings.Builder
	tooLarge := false
	for {
		line, err := io.ReadLine("")
		if errors.Is(err, goio.EOF) {
			break
		}
		if errors.Is(err, shell.ErrLineTooLong) {
			tooLarge = true
			continue
		}
		if err != nil {
			return "", err
		}
		if s := strings.TrimSpace(line); s == "" || s == "." {
			break
		}
		if b.Len()+len(line)+1 > maxPEM {
			tooLarge = true
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if tooLarge {
		io.Printf("Invalid key data: %v.\n", errPEMTooLarge)
		io.Fail()
		return "", nil
	}
	if _, err := dkim.ParsePrivateKeyPEM([]byte(b.String())); err != nil {
		io.Printf("Invalid key data: %v.\n", err)
		io.Fail()
		return "", nil
	}
	return b.String(), nil
}

// dkSelectKey lists the keys and asks one by name or number; -1 when
// there are none or the answer was empty.
func dkSelectKey(io *shell.IO, t domainkeys.Table, question string) (int, error) {
	if len(t.Keys) == 0 {
		io.Printf("\nNo signing keys are defined.\n")
		return -1, nil
	}
	names := make([]string, len(t.Keys))
	io.Printf("\n")
	for i, k := range t.Keys {
		names[i] = k.Name
		io.Printf("%d. %s (%s)\n", i+1, k.Name, k.Describe())
	}
	return io.Select(question, names)
}

func dkPublicKey(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectKey(io, t, "Enter the name or number of a signing key.")
	if err != nil || i < 0 {
		return err
	}
	s, err := t.Keys[i].Parse()
	var pub []byte
	if err == nil {
		pub, err = dkim.PublicKeyPEM(s)
	}
	if err != nil {
		io.Printf("Error: %v.\n", err)
		io.Fail()
		return nil
	}
	io.Printf("\n%s", pub)
	return nil
}

// dkPrintKeys prints every key: PRINT with its (secret) PEM, LIST one
// line each with its type and the profiles using it.
func dkPrintKeys(io *shell.IO, t domainkeys.Table, withPEM bool) {
	if len(t.Keys) == 0 {
		io.Printf("\nNo signing keys are defined.\n")
		return
	}
	for _, k := range t.Keys {
		var users []string
		for _, p := range t.Signing {
			if strings.EqualFold(p.KeyName, k.Name) {
				users = append(users, p.Name)
			}
		}
		u := "none"
		if len(users) > 0 {
			u = strings.Join(users, ", ")
		}
		io.Printf("\nName: %s\nType: %s\nDomain Profiles: %s\n", k.Name, k.Describe(), u)
		if withPEM {
			io.Printf("%s", strings.TrimRight(string(k.Key), "\n")+"\n")
		}
	}
}

func dkDeleteKey(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectKey(io, t, "Enter the name or number of a signing key to delete.")
	if err != nil || i < 0 {
		return err
	}
	yes, err := io.YesNo("Delete this signing key?", false)
	if err != nil || !yes {
		return err
	}
	name := t.Keys[i].Name
	for _, p := range t.Signing {
		if strings.EqualFold(p.KeyName, name) {
			io.Printf("Error: the signing key %q is used by domain profile %q.\n", name, p.Name)
			io.Fail()
			return nil
		}
	}
	if dkUpdate(io, env, func(t *domainkeys.Table) error {
		if j := t.FindKey(name); j >= 0 {
			t.Keys = append(t.Keys[:j], t.Keys[j+1:]...)
		}
		return nil
	}) {
		io.Printf("Signing key %q deleted.\n", name)
	}
	return nil
}

// dkImport reads a file of the configuration directory and replaces a
// list of the table with what it holds; a file that does not parse, or
// whose contents the table refuses (a profile naming a missing key), is
// refused whole and changes nothing.
func dkImport(io *shell.IO, env *Env, what string, replace func(t *domainkeys.Table, text string) error) error {
	host := env.Session.Config().System.Hostname
	file, err := io.Ask("Enter the name of the file on machine \""+host+"\" to import:", "", configFileName)
	if err != nil {
		return err
	}
	data, err := env.Store.ReadConfigDirFile(io.Ctx, file, domainkeys.MaxFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			io.Printf("\nError: the file %s does not exist.\n", file)
		} else {
			io.Printf("\nError: %v.\n", err)
		}
		io.Fail()
		return nil
	}
	var perr error
	ok := dkUpdate(io, env, func(t *domainkeys.Table) error {
		perr = replace(t, string(data))
		return perr
	})
	if ok {
		io.Printf("\nThe %s have been imported from %s.\n", what, file)
	}
	return nil
}

// dkExport writes text to a file of the configuration directory.
func dkExport(io *shell.IO, env *Env, what, text string) error {
	file, err := io.Ask("Enter a name for the exported file:", "", configFileName)
	if err != nil {
		return err
	}
	if err := env.Store.WriteConfigDirFile(file, []byte(text)); err != nil {
		io.Printf("\nError: Export failed: %v.\n", err)
		io.Fail()
		return nil
	}
	io.Printf("\nThe %s have been exported to the file %s in the configuration directory.\n", what, file)
	return nil
}

// dkEditKey is KEYS EDIT (ESA-CLI §2.6): RENAME, which renames the
// profiles' references too, or KEY, which replaces the key by a generated
// or pasted one (a DomainKeys profile refuses an Ed25519 replacement).
func dkEditKey(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectKey(io, t, "Enter the name or number of a signing key to edit.")
	if err != nil || i < 0 {
		return err
	}
	old := t.Keys[i].Name
	op, err := io.Menu([]shell.Op{{Name: "RENAME", Desc: "Rename the key."}, {Name: "KEY", Desc: "Replace the key."}})
	if err != nil || op == "" {
		return err
	}
	if op == "RENAME" {
		name, err := io.Ask("Enter the new name of this signing key:", old, func(a string) (string, error) {
			if err := domainkeys.ValidName(a); err != nil {
				return "", err
			}
			if j := t.FindKey(a); j >= 0 && j != i {
				return "", errors.New("That signing key already exists.")
			}
			return a, nil
		})
		if err != nil {
			return err
		}
		if dkUpdate(io, env, func(t *domainkeys.Table) error {
			t.Keys[i].Name = name
			for j := range t.Signing {
				if strings.EqualFold(t.Signing[j].KeyName, old) {
					t.Signing[j].KeyName = name
				}
			}
			return nil
		}) {
			io.Printf("Signing key %q renamed to %q.\n", old, name)
		}
		return nil
	}
	how, err := io.Choose("Select how to provide the key:", []string{"Generate a private key", "Enter an existing key"}, 1)
	if err != nil {
		return err
	}
	var pemText string
	if how == 1 {
		size, err := io.Choose("Enter the size (in bits) of this signing key:", dkKeySizes, 3)
		if err != nil {
			return err
		}
		if pemText, err = dkGenerate(size); err != nil {
			io.Printf("Failed to generate public key: %v.\n", err)
			io.Fail()
			return nil
		}
	} else if pemText, err = dkPasteKey(io); err != nil || pemText == "" {
		return err
	}
	if dkUpdate(io, env, func(t *domainkeys.Table) error {
		t.Keys[i].Key = domainkeys.PrivateKey(pemText)
		return nil
	}) {
		io.Printf("Signing key %q replaced.\n", old)
	}
	return nil
}
