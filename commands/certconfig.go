package commands

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	goio "io"
	"io/fs"
	"strconv"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/certs"
)

const certconfigHelp = `certconfig

Configure the certificates: the profiles offered with STARTTLS by the
listeners and to servers during outbound TLS, and the certificate
authorities the verify modes of destconfig trust. The demo certificate
("Demo") is made at the daemon's first start; being self-signed it cannot
offer a verifiable connection. The main screen offers:
  CERTIFICATE   - the list of profiles (name, common name, issuer, status,
                  days remaining) and:
      IMPORT  - a PEM file (certificate, chain and private key) or a PKCS#12
                file (asks its passphrase, not echoed) from DATA/configuration
      PASTE   - paste the PEM certificate, then the private key (unencrypted
                PEM), then any intermediate certificates, each ended with a
                line holding only "."
      NEW     - a self-signed certificate and its signing request (CSR):
                common name, organization, unit, locality, state, country,
                duration in days (3650) and key size (2048)
      EDIT    - view the CSR, replace the certificate by the signed one (the
                key must match), add or remove intermediates
      EXPORT  - write the certificate and chain, and the key only if asked,
                as PEM to a file in DATA/configuration
      DELETE  - remove a profile no listener and no outbound TLS uses
      PRINT   - the certificates assigned to the listeners and outbound TLS
  CERTAUTHORITY - SYSTEM: the system's trusted root list on or off; CUSTOM:
                  the custom list on or off, PASTE, IMPORT (PEM file), PRINT,
                  DELETE and EXPORT of custom authorities
  SETUP         - choose the certificate of each listener's STARTTLS and of
                  outbound TLS
Private keys are secrets: masked by showconfig unless asked otherwise and
encrypted in config.db. Each completed operation is a pending change of this
session until commit; Ctrl-C abandons the current operation.`

var certconfigOps = []shell.Op{
	{Name: "CERTIFICATE", Desc: "Import, Create a request, Edit or Remove Certificate Profiles"},
	{Name: "CERTAUTHORITY", Desc: "Manage System and Customized Authorities"},
	{Name: "SETUP", Desc: "Choose the certificates used by the listeners and outbound TLS"},
}

var certificateOps = []shell.Op{
	{Name: "IMPORT", Desc: "Import a certificate from a local PKCS#12 or PEM file"},
	{Name: "PASTE", Desc: "Paste a certificate into the CLI"},
	{Name: "NEW", Desc: "Create a self-signed certificate and CSR"},
	{Name: "EDIT", Desc: "Update certificate or view the signing request"},
	{Name: "EXPORT", Desc: "Export a certificate"},
	{Name: "DELETE", Desc: "Remove a certificate"},
	{Name: "PRINT", Desc: "View certificates assigned to services"},
}

func certconfigCommand(env *Env) shell.Command {
	var kw []string
	for _, ops := range [][]shell.Op{certconfigOps, certificateOps} {
		for _, op := range ops {
			kw = append(kw, op.Name)
		}
	}
	kw = append(kw, "SYSTEM", "CUSTOM", "ENABLE", "DISABLE")
	return shell.Command{
		Name:     "certconfig",
		Summary:  "Configure security certificates and keys",
		Help:     certconfigHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				op, err := io.Menu(certconfigOps)
				if err != nil || op == "" {
					return err
				}
				switch op {
				case "CERTIFICATE":
					err = certCertificate(io, env)
				case "CERTAUTHORITY":
					err = certAuthority(io, env)
				case "SETUP":
					err = certSetup(io, env)
				}
				if err != nil {
					return err
				}
			}
		},
	}
}

// certUpdate applies change to the session's certificate table (and, for
// SETUP, the listeners); a refusal is printed and fails the command.
func certUpdate(io *shell.IO, env *Env, change func(c *store.Config) error) bool {
	if err := env.Session.Update(change); err != nil {
		io.Printf("%s\n", certError(err))
		io.Fail()
		return false
	}
	return true
}

// certError is a store refusal in the words the shell shows.
func certError(err error) string {
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		return "Error: " + verr.Reason + "."
	}
	return "Error: " + err.Error() + "."
}

func certCertificate(io *shell.IO, env *Env) error {
	for {
		t := env.Session.Config().Certificates
		io.Printf("\n")
		printCertList(io, env, t)
		op, err := io.Menu(certificateOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "IMPORT":
			err = certImport(io, env)
		case "PASTE":
			err = certPaste(io, env)
		case "NEW":
			err = certNew(io, env)
		case "EDIT":
			err = certEdit(io, env)
		case "EXPORT":
			err = certExport(io, env)
		case "DELETE":
			err = certDelete(io, env)
		case "PRINT":
			certPrint(io, env)
		}
		if err != nil {
			return err
		}
	}
}

// printCertList prints the appliance's list of certificates (ESA-CLI §4.1):
// Name, Common Name, Issued By, Status and Remaining, each column as wide
// as its widest value (at least the appliance's widths).
func printCertList(io *shell.IO, env *Env, t certs.Table) {
	if len(t.Certificates) == 0 {
		io.Printf("No certificates are configured.\n")
		return
	}
	rows := [][]string{{"Name", "Common Name", "Issued By", "Status", "Remaining"}}
	for _, c := range t.Certificates {
		p, err := c.Parse()
		if err != nil {
			rows = append(rows, []string{c.Name, "(unreadable)", "", "Invalid", ""})
			continue
		}
		st, days := certs.Status(p.Leaf, env.Now())
		rows = append(rows, []string{c.Name, p.Leaf.Subject.CommonName, p.Leaf.Issuer.CommonName, st, certPlural(days, "day")})
	}
	width := []int{8, 33, 33, 7, 9}
	for _, r := range rows {
		for i, v := range r {
			width[i] = max(width[i], len(v))
		}
	}
	dashes := make([]string, len(width))
	for i, w := range width {
		dashes[i] = strings.Repeat("-", w)
	}
	rows = append(rows[:1], append([][]string{dashes}, rows[1:]...)...)
	io.Printf("List of Certificates\n")
	for _, r := range rows {
		var b strings.Builder
		for i, v := range r {
			if i == len(r)-1 {
				b.WriteString(v)
			} else {
				b.WriteString(v + strings.Repeat(" ", width[i]-len(v)+2))
			}
		}
		io.Printf("%s\n", b.String())
	}
}

func certPlural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ty") { // authority
		word = strings.TrimSuffix(word, "y") + "ie"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// certName asks the profile name of IMPORT, PASTE and NEW. An existing name
// is offered for overwriting (PASTE, IMPORT) or refused (NEW). ok is false
// when the administrator declined to overwrite.
func certName(io *shell.IO, env *Env, overwrite bool) (name string, ok bool, err error) {
	t := env.Session.Config().Certificates
	v := func(a string) (string, error) {
		if err := certs.ValidName(a); err != nil {
			return "", err
		}
		if !overwrite && t.Find(a) >= 0 {
			return "", errors.New("Certificate profile " + a + " already exists.")
		}
		return a, nil
	}
	name, err = io.Ask("Enter a name for this certificate profile:", "", v)
	if err != nil {
		return "", false, err
	}
	if overwrite && t.Find(name) >= 0 {
		yes, err := io.YesNo("Certificate profile \""+name+"\" already exists. Do you want to overwrite with this new one?", false)
		if err != nil || !yes {
			return "", false, err
		}
	}
	return name, true, nil
}

// storeCert puts c into the session's table, replacing a profile of the
// same name.
func storeCert(io *shell.IO, env *Env, c certs.Certificate) bool {
	return certUpdate(io, env, func(cfg *store.Config) error {
		t := &cfg.Certificates
		if i := t.Find(c.Name); i >= 0 {
			c.Name = t.Certificates[i].Name // a reference keeps its spelling
			t.Certificates[i] = c
		} else {
			t.Certificates = append(t.Certificates, c)
		}
		return nil
	})
}

// maxPEM bounds one pasted PEM object: a certificate chain of a few
// certificates with 4096-bit keys is far below it.
const maxPEM = 64 << 10

var errPEMTooLarge = errors.New("the pasted text is larger than 64 KiB")

// pastePEM reads pasted lines until one holding only "." (or the end of
// input) through the data path: never echoed into the history, never
// completed. It keeps at most maxPEM bytes but reads to the end.
func pastePEM(io *shell.IO, what string) (string, error) {
	io.Printf("Paste %s in PEM format (end with '.'):\n", what)
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
		if err := io.Ctx.Err(); err != nil {
			return "", err
		}
		if strings.TrimSpace(line) == "." {
			break
		}
		if tooLarge || b.Len()+len(line)+1 > maxPEM {
			tooLarge = true
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if tooLarge {
		return "", errPEMTooLarge
	}
	return b.String(), nil
}

// discard reports a refused paste in the appliance's words (ESA-CLI §4.3:
// "Invalid certificate...discarding") with the reason.
func certDiscard(io *shell.IO, what string, err error) {
	io.Printf("Invalid %s...discarding (%v).\n", what, err)
	io.Fail()
}

func certPaste(io *shell.IO, env *Env) error {
	name, ok, err := certName(io, env, true)
	if err != nil || !ok {
		return err
	}
	io.Printf("\n")
	text, err := pastePEM(io, "public certificate")
	if err != nil && !errors.Is(err, errPEMTooLarge) {
		return err
	}
	var leaf []*x509.Certificate
	if err == nil {
		leaf, err = parseLeaf(text)
	}
	if err != nil {
		certDiscard(io, "certificate", err)
		return nil
	}
	io.Printf("\n")
	ktext, err := pastePEM(io, "private key")
	if err != nil && !errors.Is(err, errPEMTooLarge) {
		return err
	}
	c := certs.Certificate{Name: name, Cert: certs.EncodeCertificates(leaf...), Key: certs.PrivateKey(ktext)}
	if err == nil {
		_, err = certs.ParsePrivateKey(ktext)
	}
	if err != nil {
		certDiscard(io, "private key", err)
		return nil
	}
	if _, err := c.Parse(); err != nil {
		io.Printf("Error: %v...discarding.\n", err)
		io.Fail()
		return nil
	}
	c, err = addIntermediates(io, c)
	if err != nil {
		return err
	}
	storeCert(io, env, c)
	return nil
}

// addIntermediates runs the appliance's intermediate loop: "Do you want to
// add an intermediate certificate?", then "another" until No.
func addIntermediates(io *shell.IO, c certs.Certificate) (certs.Certificate, error) {
	q := "Do you want to add an intermediate certificate?"
	for {
		yes, err := io.YesNo(q, false)
		if err != nil || !yes {
			return c, err
		}
		io.Printf("\n")
		text, err := pastePEM(io, "intermediate certificate")
		if err != nil && !errors.Is(err, errPEMTooLarge) {
			return c, err
		}
		if err == nil {
			var cs []*x509.Certificate
			if cs, err = certs.ParseCertificates(text); err == nil {
				c.Chain += certs.EncodeCertificates(cs...)
				q = "Do you want to add another intermediate certificate?"
				continue
			}
		}
		certDiscard(io, "certificate", err)
	}
}

func parseLeaf(text string) ([]*x509.Certificate, error) {
	cs, err := certs.ParseCertificates(text)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, errors.New("paste one certificate; add intermediates after the key")
	}
	return cs, nil
}

func certImport(io *shell.IO, env *Env) error {
	name, ok, err := certName(io, env, true)
	if err != nil || !ok {
		return err
	}
	host := env.Session.Config().System.Hostname
	file, err := io.Ask("Enter the name of the file on machine \""+host+"\" to import:", "", configFileName)
	if err != nil {
		return err
	}
	data, err := env.Store.ReadConfigDirFile(io.Ctx, file, 1<<20)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			io.Printf("\nError: the file %q does not exist.\n", file)
		} else {
			io.Printf("\nError: %v.\n", err)
		}
		io.Fail()
		return nil
	}
	var c certs.Certificate
	if strings.Contains(string(data), "-----BEGIN ") {
		c, err = certs.FromPEM(string(data))
	} else {
		pass, aerr := io.AskSecret("Enter passphrase:", "", nil)
		if aerr != nil {
			return aerr
		}
		c, err = certs.FromPKCS12(data, pass)
		if errors.Is(err, certs.ErrNotPKCS12) {
			io.Printf("\nError: the file %q is neither a PEM file nor a PKCS#12 file; nothing was imported.\n", file)
			io.Fail()
			return nil
		}
		if errors.Is(err, certs.ErrPassphrase) {
			io.Printf("\nError: the passphrase is incorrect for the PKCS#12 file %q; nothing was imported.\n", file)
			io.Fail()
			return nil
		}
	}
	if err != nil {
		io.Printf("\nError: %q cannot be imported: %v.\n", file, err)
		io.Fail()
		return nil
	}
	c.Name = name
	if storeCert(io, env, c) {
		io.Printf("\nThe certificate profile %q has been imported.\n", name)
	}
	return nil
}

func certNew(io *shell.IO, env *Env) error {
	for {
		n, err := io.Choose("Do you want to create a self-signed certificate and certificate signing request (CSR)?",
			[]string{"Create a self-signed certificate and CSR", "Create a self-signed SMIME certificate and CSR"}, 1)
		if err != nil {
			return err
		}
		if n == 1 {
			break
		}
		io.Printf("S/MIME certificates are not supported.\n")
		io.Fail()
	}
	name, _, err := certName(io, env, false)
	if err != nil {
		return err
	}
	r := certs.Request{Name: name}
	for _, q := range []struct {
		dst  *string
		text string
	}{
		{&r.CommonName, "Enter Common Name (CN):"},
		{&r.Org, "Enter Organization (O):"},
		{&r.Unit, "Enter Organizational Unit (OU):"},
		{&r.Locality, "Enter Locality or City (L):"},
		{&r.State, "Enter State or Province (ST):"},
	} {
		if *q.dst, err = io.Ask(q.text, "", shell.NonEmpty); err != nil {
			return err
		}
	}
	if r.Country, err = io.Ask("Enter Country (2 letter code) (C):", "", func(a string) (string, error) {
		if len(a) != 2 || !certLetters(a) {
			return "", errors.New("Country should be a ISO two character country code")
		}
		return strings.ToUpper(a), nil
	}); err != nil {
		return err
	}
	if r.Days, err = io.Int("Duration before expiration (in days):", 3650, 1, 36500); err != nil {
		return err
	}
	bits, err := io.Choose("Select the size of private key:", []string{"1024", "2048"}, 2)
	if err != nil {
		return err
	}
	r.Bits = 1024 * bits
	c, err := certs.NewSelfSigned(r, rand.Reader, env.Now())
	if err != nil {
		io.Printf("Error: %v.\n", err)
		io.Fail()
		return nil
	}
	if !storeCert(io, env, c) {
		return nil
	}
	view, err := io.YesNo("Do you want to view the CSR?", true)
	if err != nil || !view {
		return err
	}
	io.Printf("%s", c.CSR)
	return nil
}

func certLetters(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// chooseCert lists the profiles by number and asks for one by name or
// number; -1 when there is none or the answer is empty.
func chooseCert(io *shell.IO, env *Env, question string) (int, error) {
	t := env.Session.Config().Certificates
	if len(t.Certificates) == 0 {
		io.Printf("\nNo certificates are configured.\n")
		return -1, nil
	}
	names := make([]string, len(t.Certificates))
	io.Printf("\n")
	for i, c := range t.Certificates {
		names[i] = c.Name
		io.Printf("%d. %s\n", i+1, c.Name)
	}
	return io.Select(question, names)
}

func certEdit(io *shell.IO, env *Env) error {
	i, err := chooseCert(io, env, "Enter the name or number of the certificate profile you wish to edit:")
	if err != nil || i < 0 {
		return err
	}
	c := env.Session.Config().Certificates.Certificates[i]
	if c.CSR != "" {
		view, err := io.YesNo("Do you want to view the CSR?", false)
		if err != nil {
			return err
		}
		if view {
			io.Printf("%s", c.CSR)
		}
	}
	upd, err := io.YesNo("Would you like to update the public certificate?", false)
	if err != nil {
		return err
	}
	if upd {
		io.Printf("\n")
		text, err := pastePEM(io, "public certificate")
		if err != nil && !errors.Is(err, errPEMTooLarge) {
			return err
		}
		var leaf []*x509.Certificate
		if err == nil {
			leaf, err = parseLeaf(text)
		}
		if err != nil {
			certDiscard(io, "certificate", err)
			return nil
		}
		next := c
		next.Cert, next.Chain, next.CSR = certs.EncodeCertificates(leaf...), "", ""
		if _, err := next.Parse(); err != nil {
			io.Printf("Error: %v...discarding.\n", err)
			io.Fail()
			return nil
		}
		c = next
	}
	if c.Chain != "" {
		rm, err := io.YesNo("Do you want to remove the intermediate certificates?", false)
		if err != nil {
			return err
		}
		if rm {
			c.Chain = ""
		}
	}
	if c, err = addIntermediates(io, c); err != nil {
		return err
	}
	storeCert(io, env, c)
	return nil
}

func certExport(io *shell.IO, env *Env) error {
	i, err := chooseCert(io, env, "Enter the name or number of the certificate profile you wish to export:")
	if err != nil || i < 0 {
		return err
	}
	c := env.Session.Config().Certificates.Certificates[i]
	file, err := io.Ask("Enter a file name for the exported certificate:", "", configFileName)
	if err != nil {
		return err
	}
	withKey, err := io.YesNo("Do you want to include the private key?", false)
	if err != nil {
		return err
	}
	out := c.Cert + c.Chain
	if withKey {
		out += string(c.Key)
	}
	if err := env.Store.WriteConfigDirFile(file, []byte(out)); err != nil {
		io.Printf("\nError: %v.\n", err)
		io.Fail()
		return nil
	}
	io.Printf("\nThe certificate %q has been exported to the file %s in the configuration directory.\n", c.Name, file)
	return nil
}

func certDelete(io *shell.IO, env *Env) error {
	i, err := chooseCert(io, env, "Enter the name or number of the certificate profile you wish to delete:")
	if err != nil || i < 0 {
		return err
	}
	cfg := env.Session.Config()
	name := cfg.Certificates.Certificates[i].Name
	lnames, lcerts := listenerCerts(cfg)
	if uses := certs.InUse(cfg.Certificates, name, lnames, lcerts); len(uses) > 0 {
		io.Printf("\nThe certificate profile %q is in use (%s) and cannot be deleted. Choose another certificate with SETUP first.\n",
			name, strings.Join(uses, ", "))
		io.Fail()
		return nil
	}
	yes, err := io.YesNo("Are you sure you want to delete \""+name+"\"?", false)
	if err != nil || !yes {
		return err
	}
	certUpdate(io, env, func(c *store.Config) error {
		t := &c.Certificates
		if j := t.Find(name); j >= 0 {
			t.Certificates = append(t.Certificates[:j], t.Certificates[j+1:]...)
		}
		return nil
	})
	return nil
}

func listenerCerts(c store.Config) (names, certNames []string) {
	for _, l := range c.Listeners.Listeners {
		names = append(names, l.Name)
		certNames = append(certNames, l.Certificate)
	}
	return names, certNames
}

// certPrint shows which certificate each service uses.
func certPrint(io *shell.IO, env *Env) {
	cfg := env.Session.Config()
	io.Printf("\nCertificates assigned to services:\n")
	for _, l := range cfg.Listeners.Listeners {
		io.Printf("Listener %q (STARTTLS): %s\n", l.Name, certOrNone(l.Certificate))
	}
	io.Printf("Outbound TLS: %s\n", certOrNone(cfg.Certificates.Outbound))
}

func certOrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
