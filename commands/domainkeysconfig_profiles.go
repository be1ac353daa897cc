package commands

import (
	"errors"
	"strconv"
	"strings"

	"esa/auth/dkim"
	"esa/shell"
	"esa/store/domainkeys"
)

// --- signing profiles (ESA-CLI §2.4, §2.5) ---

func dkSigning(io *shell.IO, env *Env) error {
	for {
		t := env.Session.Config().DomainKeys
		io.Printf("\nThere are currently %d domain profiles.\n", len(t.Signing))
		op, err := io.Menu(dkSigningOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			err = dkNewSigning(io, env)
		case "EDIT":
			err = dkEditSigning(io, env)
		case "PRINT":
			dkPrintSigning(io, t, true)
		case "LIST":
			dkPrintSigning(io, t, false)
		case "DELETE":
			err = dkDeleteSigning(io, env)
		case "CLEAR":
			// SARF's signing CLEAR asks no confirmation (ESA-CLI §2.5).
			dkUpdate(io, env, func(t *domainkeys.Table) error { t.Signing = nil; return nil })
		case "DNSTXT":
			err = dkDNSTXT(io, env)
		case "TEST":
			err = dkTest(io, env)
		case "IMPORT":
			err = dkImport(io, env, "domain profiles", func(t *domainkeys.Table, text string) error {
				ps, err := domainkeys.ParseProfiles(text)
				t.Signing = ps
				return err
			})
		case "EXPORT":
			err = dkExport(io, env, "domain profiles", domainkeys.FormatProfiles(t.Signing))
		}
		if err != nil {
			return err
		}
	}
}

// dkSelectSigning lists the profiles and asks one; -1 when none or empty.
func dkSelectSigning(io *shell.IO, t domainkeys.Table, question string) (int, error) {
	if len(t.Signing) == 0 {
		io.Printf("\nNo domain profiles are defined.\n")
		return -1, nil
	}
	names := make([]string, len(t.Signing))
	io.Printf("\n")
	for i, p := range t.Signing {
		names[i] = p.Name
		io.Printf("%d. %s (%s, %s)\n", i+1, p.Name, dkTypeName(p.Type), p.Domain)
	}
	return io.Select(question, names)
}

func dkValidDomain(a string) (string, error) {
	a = strings.ToLower(strings.TrimSuffix(a, "."))
	if err := domainkeys.ValidDomain(a); err != nil {
		return "", errors.New(`A DomainKeys "domain" is a string of dot-separated labels of letters, digits and '-'.`)
	}
	return a, nil
}

func dkValidSelector(a string) (string, error) {
	if err := domainkeys.ValidDomain(a); err != nil {
		return "", errors.New(`A DKIM "selector" record is a string of dot-separated labels of letters, digits and '-'.`)
	}
	return a, nil
}

func dkNewSigning(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	name, err := io.Ask("Enter a name for this domain profile:", "", func(a string) (string, error) {
		if err := domainkeys.ValidName(a); err != nil {
			return "", errors.New("DomainKeys profile and key names must be 1 to 64 letters, digits, '-', '_' or '.'.")
		}
		if t.FindSigning(a) >= 0 {
			return "", errors.New("That domain profile already exists")
		}
		return a, nil
	})
	if err != nil {
		return err
	}
	typ, err := io.Choose("Select the domain profile type:", []string{"DomainKeys", "DKIM"}, 2)
	if err != nil {
		return err
	}
	p := domainkeys.NewDKIMProfile(name)
	if typ == 1 {
		p = domainkeys.NewDKProfile(name)
	}
	io.Printf("\nThe domain field forms the basis of the public-key query. The value in this field must be the name of the domain used to sign messages.\n")
	if p.Domain, err = io.Ask("Enter the domain name of the signing domain:", "", dkValidDomain); err != nil {
		return err
	}
	io.Printf("\nSelectors are arbitrary names below the \"_domainkey.\" namespace of the domain; a domain may publish several keys under different selectors.\n")
	if p.Selector, err = io.Ask("Enter selector:", "", dkValidSelector); err != nil {
		return err
	}
	if p.Type == domainkeys.TypeDK {
		c, err := io.Choose("Select the canonicalization algorithm:", []string{"simple", "nofws"}, 2)
		if err != nil {
			return err
		}
		p.HeaderCanon = []string{"simple", "nofws"}[c-1]
	}
	if p.KeyName, err = dkAssociateKey(io, env, p.Type); err != nil {
		return err
	}
	if p.KeyName == "" {
		io.Printf("No signing key is associated; the profile was not created.\n")
		io.Fail()
		return nil
	}
	if p.Type == domainkeys.TypeDKIM {
		if err := dkDKIMQuestions(io, &p); err != nil {
			return err
		}
	}
	if p.Users, err = dkAskUsers(io, p.Domain, nil); err != nil {
		return err
	}
	if dkUpdate(io, env, func(t *domainkeys.Table) error { t.Signing = append(t.Signing, p); return nil }) {
		io.Printf("Domain profile %q created.\n", name)
	}
	return nil
}

// dkAssociateKey runs the key-association menu (ESA-CLI §2.4 question 6):
// a new key, a pasted key, or an existing one (offered only when keys
// exist). "Enter key at later time" is not offered: a profile without a
// key could not sign, and the table requires one.
func dkAssociateKey(io *shell.IO, env *Env, typ string) (string, error) {
	t := env.Session.Config().DomainKeys
	choices := []string{"Create new key", "Paste in key"}
	def := 1
	if len(t.Keys) > 0 {
		choices = append(choices, "Select existing key")
		def = 3
	}
	c, err := io.Choose("Choose the key-association method:", choices, def)
	if err != nil {
		return "", err
	}
	switch c {
	case 1:
		return dkNewKeyInline(io, env, true)
	case 2:
		return dkNewKeyInline(io, env, false)
	}
	i, err := dkSelectKey(io, t, "Enter the name or number of a signing key.")
	if err != nil || i < 0 {
		return "", err
	}
	return t.Keys[i].Name, nil
}

// dkNewKeyInline makes a key inside the profile wizard: generate or paste.
func dkNewKeyInline(io *shell.IO, env *Env, generate bool) (string, error) {
	name, err := dkKeyName(io, env)
	if err != nil {
		return "", err
	}
	var pemText string
	if generate {
		size, err := io.Choose("Enter the size (in bits) of this signing key:", dkKeySizes, 3)
		if err != nil {
			return "", err
		}
		pemText, err = dkGenerate(size)
		if err != nil {
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
	return name, nil
}

// dkDKIMQuestions asks the DKIM-only questions 7 to 11 of the wizard.
func dkDKIMQuestions(io *shell.IO, p *domainkeys.SigningProfile) error {
	canons := []string{"simple", "relaxed"}
	h, err := io.Choose("Select canonicalization algorithm for headers:", canons, 2)
	if err != nil {
		return err
	}
	b, err := io.Choose("Select canonicalization algorithm for body:", canons, 1)
	if err != nil {
		return err
	}
	p.HeaderCanon, p.BodyCanon = canons[h-1], canons[b-1]
	if err := dkHeaderSelect(io, p); err != nil {
		return err
	}
	if err := dkBodyLength(io, p); err != nil {
		return err
	}
	return dkTags(io, p)
}

// dkHeaderSelect asks the header set (question 9; EDIT HEADERSELECT).
func dkHeaderSelect(io *shell.IO, p *domainkeys.SigningProfile) error {
	def := 2
	if p.Headers == domainkeys.HeadersAll {
		def = 1
	} else if len(p.ExtraHeaders) > 0 {
		def = 3
	}
	hs, err := io.Choose("Select how you want to sign headers:", []string{
		"Sign all existing, non-repeatable headers (except Return-Path header)",
		`Sign "well-known" headers (Date, Subject, From, To, Cc, Reply-To, Message-ID, Sender, MIME headers)`,
		`Sign "well-known" headers plus a custom list of headers`,
	}, def)
	if err != nil {
		return err
	}
	p.Headers, p.ExtraHeaders = domainkeys.HeadersStandard, nil
	switch hs {
	case 1:
		p.Headers = domainkeys.HeadersAll
	case 3:
		list, err := io.Ask("Enter a comma-separated list of custom headers to sign:", strings.Join(p.ExtraHeaders, ","), dkHeaderList)
		if err != nil {
			return err
		}
		p.ExtraHeaders = strings.Split(list, ",")
	}
	return nil
}

// dkBodyLength asks the body length option (question 10; EDIT BODYLENGTH).
func dkBodyLength(io *shell.IO, p *domainkeys.SigningProfile) error {
	def := map[string]int{domainkeys.BodyImplied: 1, domainkeys.BodyAuto: 2, domainkeys.BodyBytes: 3}[p.BodyLength]
	if def == 0 {
		def = 1
	}
	bl, err := io.Choose("Which body length option would you like to use?", []string{
		"Whole body implied. No further message modification is possible",
		"Whole body auto-determined. Appending content is possible",
		"Specify a body length",
	}, def)
	if err != nil {
		return err
	}
	p.BodyLength = []string{domainkeys.BodyImplied, domainkeys.BodyAuto, domainkeys.BodyBytes}[bl-1]
	if bl != 3 {
		p.BodyLengthBytes = 0
	} else {
		def := ""
		if p.BodyLengthBytes > 0 {
			def = strconv.FormatInt(p.BodyLengthBytes, 10)
		}
		n, err := io.Ask("Enter the body length:", def, func(a string) (string, error) {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil || v < 1 || v > 1<<30 {
				return "", errors.New("The body length must be a number of bytes from 1 to 1073741824.")
			}
			return a, nil
		})
		if err != nil {
			return err
		}
		p.BodyLengthBytes, _ = strconv.ParseInt(n, 10, 64)
	}
	return nil
}

// dkTags asks the tag fine-tuning (question 11; EDIT TAGS).
func dkTags(io *shell.IO, p *domainkeys.SigningProfile) error {
	tune, err := io.YesNo("Would you like to fine-tune which tags should be used in the DKIM Signature?", false)
	if err != nil || !tune {
		return err
	}
	i, err := io.YesNo(`Include the "i" tag into the signature?`, true)
	if err != nil {
		return err
	}
	p.Identity = ""
	if i {
		if p.Identity, err = io.Ask(`Enter the identity of the user or agent on whose behalf this message is signed (e.g. "@example.com"):`, "@"+p.Domain, dkIdentity(p.Domain)); err != nil {
			return err
		}
	}
	if p.TagQ, err = io.YesNo(`Include "q" tag into the signature?`, true); err != nil {
		return err
	}
	if p.TagT, err = io.YesNo(`Include "t" tag into the signature?`, true); err != nil {
		return err
	}
	x, err := io.YesNo(`Include "x" tag into the signature?`, true)
	if err != nil {
		return err
	}
	p.Expiration = 0
	if x {
		n, err := io.Int("Enter the expiration time in seconds:", int(dkim.DefaultExpiration.Seconds()), 1, 1<<31-1)
		if err != nil {
			return err
		}
		p.Expiration = int64(n)
	}
	p.TagZ, err = io.YesNo(`Include "z" tag into the signature?`, false)
	return err
}

// dkHeaderList checks a comma-separated list of header field names
// (RFC 5322 §3.6.8 ftext: printable ASCII but ':').
func dkHeaderList(a string) (string, error) {
	var out []string
	for _, h := range strings.Split(a, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		for _, r := range h {
			if r <= ' ' || r > '~' || r == ':' {
				return "", errors.New("A header name consists of printable characters other than ':'.")
			}
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return "", errors.New("You must enter a value.")
	}
	return strings.Join(out, ","), nil
}

// dkIdentity checks i=: its domain must be the signing domain or a
// subdomain of it (RFC 6376 §3.5, i=).
func dkIdentity(domain string) func(string) (string, error) {
	return func(a string) (string, error) {
		at := strings.LastIndexByte(a, '@')
		if at < 0 {
			return "", errors.New(`The identity must contain "@", e.g. "@` + domain + `".`)
		}
		d := strings.ToLower(a[at+1:])
		if d != domain && !strings.HasSuffix(d, "."+domain) {
			return "", errors.New("The identity's domain must be " + domain + " or a subdomain of it.")
		}
		return a, nil
	}
}

// dkAskUsers asks the profile users (questions 12 and 13); an entry must
// lie in the profile's domain ("User <u> does not match domain <d>").
func dkAskUsers(io *shell.IO, domain string, have []string) ([]string, error) {
	users := have
	q := "Enter the user (e-mail address, domain or subdomain) for this signing profile, or press Enter to sign for all users of the domain:"
	for {
		u, err := io.AskOptional(q, "", func(a string) (string, error) {
			a = strings.ToLower(strings.TrimSpace(a))
			if a == "" {
				return "", nil
			}
			if err := domainkeys.ValidUser(a); err != nil {
				return "", errors.New(`A DomainKeys "user" is an e-mail address, a domain or a subdomain (".example.com").`)
			}
			d := a[strings.LastIndexByte(a, '@')+1:]
			d = strings.TrimPrefix(d, ".")
			if d != domain && !strings.HasSuffix(d, "."+domain) {
				return "", errors.New("User " + a + " does not match domain " + domain)
			}
			for _, h := range users {
				if h == a {
					return "", errors.New("Error: " + a + " has already been added to domain profile")
				}
			}
			return a, nil
		})
		if err != nil || u == "" {
			return users, err
		}
		users = append(users, u)
		more, err := io.YesNo("Do you want to add another user?", false)
		if err != nil || !more {
			return users, err
		}
	}
}

// dkEditSigning offers the profile's sub-menu of ESA-CLI §2.1.
func dkEditSigning(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectSigning(io, t, "Enter the name or number of a domain profile to edit.")
	if err != nil || i < 0 {
		return err
	}
	name := t.Signing[i].Name
	for {
		t := env.Session.Config().DomainKeys
		j := t.FindSigning(name)
		if j < 0 {
			return nil
		}
		p := t.Signing[j]
		dkPrintProfile(io, p)
		ops := []shell.Op{
			{Name: "NEW", Desc: "Add a user."},
			{Name: "DELETE", Desc: "Remove a user."},
			{Name: "CLEAR", Desc: "Remove all users."},
			{Name: "RENAME", Desc: "Change the profile name."},
			{Name: "DOMAIN", Desc: "Change the domain."},
			{Name: "SELECTOR", Desc: "Change the selector."},
			{Name: "KEY", Desc: "Change the signing key."},
			{Name: "CANONICALIZATION", Desc: "Change the canonicalization."},
		}
		if p.Type == domainkeys.TypeDKIM {
			ops = append(ops,
				shell.Op{Name: "HEADERSELECT", Desc: "Change the headers to sign."},
				shell.Op{Name: "BODYLENGTH", Desc: "Change the body length to sign."},
				shell.Op{Name: "EXPIRATIONTIME", Desc: "Change the signature expiration time (x=)."},
				shell.Op{Name: "TAGS", Desc: "Change the tags used in the signature."},
				shell.Op{Name: "SECONDKEY", Desc: "Sign a second time with a key of the other algorithm (RSA + Ed25519)."})
		}
		ops = append(ops, shell.Op{Name: "PRINT", Desc: "Display the profile."})
		op, err := io.Menu(ops)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			p.Users, err = dkAskUsers(io, p.Domain, p.Users)
		case "DELETE":
			if len(p.Users) == 0 {
				io.Printf("\nThe profile has no users.\n")
				continue
			}
			io.Printf("\n")
			for k, u := range p.Users {
				io.Printf("%d. %s\n", k+1, u)
			}
			var k int
			if k, err = io.Select("Enter the name or number of a user to delete.", p.Users); err == nil && k >= 0 {
				p.Users = append(append([]string{}, p.Users[:k]...), p.Users[k+1:]...)
			}
		case "CLEAR":
			p.Users = nil
		case "RENAME":
			p.Name, err = io.Ask("Enter the new name of this domain profile:", p.Name, func(a string) (string, error) {
				if err := domainkeys.ValidName(a); err != nil {
					return "", err
				}
				if k := t.FindSigning(a); k >= 0 && k != j {
					return "", errors.New("That domain profile already exists")
				}
				return a, nil
			})
		case "DOMAIN":
			// A DKIM identity must stay within the domain (RFC 6376 §3.5
			// i=), so it is asked again with the new domain.
			if p.Domain, err = io.Ask("Enter the domain name of the signing domain:", p.Domain, dkValidDomain); err == nil && p.Type == domainkeys.TypeDKIM && p.Identity != "" {
				p.Identity, err = io.Ask(`Enter the identity of the user or agent on whose behalf this message is signed (e.g. "@example.com"):`, "@"+p.Domain, dkIdentity(p.Domain))
			}
		case "SELECTOR":
			p.Selector, err = io.Ask("Enter selector:", p.Selector, dkValidSelector)
		case "KEY":
			var k string
			if k, err = dkAssociateKey(io, env, p.Type); err == nil && k != "" {
				p.KeyName = k
			}
		case "CANONICALIZATION":
			if p.Type == domainkeys.TypeDK {
				var c int
				def := 1
				if p.HeaderCanon == string(dkim.NoFWS) {
					def = 2
				}
				if c, err = io.Choose("Select a new canonicalization algorithm:", []string{"simple", "nofws"}, def); err == nil {
					p.HeaderCanon = []string{"simple", "nofws"}[c-1]
				}
			} else {
				canons := []string{"simple", "relaxed"}
				var h, b int
				if h, err = io.Choose("Select canonicalization algorithm for headers:", canons, canonIndex(p.HeaderCanon)); err == nil {
					if b, err = io.Choose("Select canonicalization algorithm for body:", canons, canonIndex(p.BodyCanon)); err == nil {
						p.HeaderCanon, p.BodyCanon = canons[h-1], canons[b-1]
					}
				}
			}
		case "HEADERSELECT":
			err = dkHeaderSelect(io, &p)
		case "BODYLENGTH":
			err = dkBodyLength(io, &p)
		case "EXPIRATIONTIME":
			var n int
			if n, err = io.Int("Enter the expiration time in seconds (0 for no \"x\" tag):", int(p.Expiration), 0, 1<<31-1); err == nil {
				p.Expiration = int64(n)
			}
		case "TAGS":
			err = dkTags(io, &p)
		case "SECONDKEY":
			err = dkSecondKey(io, t, &p)
		case "PRINT":
			continue // the loop prints the profile
		}
		if err != nil {
			return err
		}
		if dkUpdate(io, env, func(t *domainkeys.Table) error { t.Signing[j] = p; return nil }) {
			name = p.Name
		}
	}
}

func canonIndex(c string) int {
	if c == string(dkim.Relaxed) {
		return 2
	}
	return 1
}

func dkPrintProfile(io *shell.IO, p domainkeys.SigningProfile) {
	io.Printf("\nDomain Profile: %s\nType: %s\nDomain: %s\nSelector: %s\nSigning Key: %s\n", p.Name, dkTypeName(p.Type), p.Domain, p.Selector, p.KeyName)
	if p.Type == domainkeys.TypeDK {
		io.Printf("Canonicalization: %s\n", p.HeaderCanon)
	} else {
		io.Printf("Canonicalization: %s/%s\n", p.HeaderCanon, p.BodyCanon)
		hs := "well-known headers"
		if p.Headers == domainkeys.HeadersAll {
			hs = "all headers"
		} else if len(p.ExtraHeaders) > 0 {
			hs += " plus " + strings.Join(p.ExtraHeaders, ", ")
		}
		io.Printf("Headers: %s\n", hs)
		bl := map[string]string{domainkeys.BodyImplied: "whole body implied", domainkeys.BodyAuto: "whole body auto-determined"}[p.BodyLength]
		if p.BodyLength == domainkeys.BodyBytes {
			bl = "first " + strconv.FormatInt(p.BodyLengthBytes, 10) + " bytes"
		}
		io.Printf("Body Length: %s\n", bl)
		var tags []string
		if p.Identity != "" {
			tags = append(tags, "i="+p.Identity)
		}
		if p.TagQ {
			tags = append(tags, "q")
		}
		if p.TagT {
			tags = append(tags, "t")
		}
		if p.Expiration > 0 {
			tags = append(tags, "x="+strconv.FormatInt(p.Expiration, 10))
		}
		if p.TagZ {
			tags = append(tags, "z")
		}
		io.Printf("Tags: %s\n", strings.Join(tags, ", "))
	}
	if p.SecondKey != "" {
		io.Printf("Second Signing Key: %s (selector %s)\n", p.SecondKey, p.SecondSelector)
	}
	u := "all users of " + p.Domain
	if len(p.Users) > 0 {
		u = strings.Join(p.Users, ", ")
	}
	io.Printf("Users: %s\n", u)
}

func dkPrintSigning(io *shell.IO, t domainkeys.Table, full bool) {
	if len(t.Signing) == 0 {
		io.Printf("\nNo domain profiles are defined.\n")
		return
	}
	for _, p := range t.Signing {
		if full {
			dkPrintProfile(io, p)
		} else {
			io.Printf("\n%s: %s, domain %s, selector %s, key %s\n", p.Name, dkTypeName(p.Type), p.Domain, p.Selector, p.KeyName)
		}
	}
}

func dkDeleteSigning(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectSigning(io, t, "Enter the name or number of a domain profile to delete.")
	if err != nil || i < 0 {
		return err
	}
	name := t.Signing[i].Name
	if dkUpdate(io, env, func(t *domainkeys.Table) error {
		if j := t.FindSigning(name); j >= 0 {
			t.Signing = append(t.Signing[:j], t.Signing[j+1:]...)
		}
		return nil
	}) {
		io.Printf("Domain profile %q deleted.\n", name)
	}
	return nil
}

// dkDNSTXT asks the record options and prints the TXT record, split into
// strings of at most 255 characters (RFC 7208 §3.3's limit of a DNS
// character-string, RFC 1035 §3.3).
func dkDNSTXT(io *shell.IO, env *Env) error {
	t := env.Session.Config().DomainKeys
	i, err := dkSelectSigning(io, t, "Enter the name or number of a domain profile.")
	if err != nil || i < 0 {
		return err
	}
	p := t.Signing[i]
	o := dkim.RecordOptions{DomainKeys: p.Type == domainkeys.TypeDK}
	q := `Do you wish to constrain the local part of the signing identities ("g=" tag)?`
	if o.DomainKeys {
		q = "Do you wish to constrain the local part of the sending address?"
	}
	yes, err := io.YesNo(q, false)
	if err != nil {
		return err
	}
	if yes {
		if o.Granularity, err = io.Ask("Enter the local part of a sending address (\"*\" matches any part):", "", dkTagValue); err != nil {
			return err
		}
	}
	if yes, err = io.YesNo(`Do you wish to include notes that may be of interest to a human ("n=" tag)?`, false); err != nil {
		return err
	}
	if yes {
		if o.Notes, err = io.Ask("Enter your note:", "", dkTagValue); err != nil {
			return err
		}
	}
	if o.Testing, err = io.YesNo(`Do you want to indicate the "testing mode"?`, false); err != nil {
		return err
	}
	if !o.DomainKeys {
		if o.Strict, err = io.YesNo(`Do you wish to disable signing by subdomains of this domain ("t=s")?`, false); err != nil {
			return err
		}
	}
	k := t.FindKey(p.KeyName)
	if k < 0 {
		io.Printf("Error: signing key %q is not configured.\n", p.KeyName)
		io.Fail()
		return nil
	}
	s, err := t.Keys[k].Parse()
	var rec string
	if err == nil {
		rec, err = dkim.KeyRecordText(s, o)
	}
	if err != nil {
		io.Printf("Error: %v.\n", err)
		io.Fail()
		return nil
	}
	kind := "DKIM"
	if o.DomainKeys {
		kind = "DomainKey"
	}
	io.Printf("\nThe %s DNS TXT record is:\n\n%s\n", kind, dkim.DNSTXT(p.Selector, p.Domain, rec))
	if k2 := t.FindKey(p.SecondKey); p.SecondKey != "" && k2 >= 0 {
		// The dual-signing key is published under its own selector.
		s2, err := t.Keys[k2].Parse()
		if err == nil {
			rec, err = dkim.KeyRecordText(s2, o)
		}
		if err != nil {
			io.Printf("Error: %v.\n", err)
			io.Fail()
			return nil
		}
		io.Printf("\nThe DKIM DNS TXT record of the second key is:\n\n%s\n", dkim.DNSTXT(p.SecondSelector, p.Domain, rec))
	}
	return nil
}

// dkTagValue refuses what would break the tag list of a key record
// (RFC 6376 §3.2: ';' separates tags) or the quoted TXT string.
func dkTagValue(a string) (string, error) {
	if strings.ContainsAny(a, ";\"\\") {
		return "", errors.New(`The value must not contain ';', '"' or '\'.`)
	}
	for _, r := range a {
		if r < ' ' || r > '~' {
			return "", errors.New("The value must be printable ASCII.")
		}
	}
	return a, nil
}

// --- verification profiles (ESA-CLI §2.7) ---

func dkVerification(io *shell.IO, env *Env) error {
	for {
		t := env.Session.Config().DomainKeys
		io.Printf("\nThere are currently %d DKIM verification profiles.\n", len(t.Verification))
		op, err := io.Menu(dkVerifyOps)
		if err != nil || op == "" {
			return err
		}
		switch op {
		case "NEW":
			err = dkVerifyWizard(io, env, -1)
		case "EDIT":
			var i int
			if i, err = dkSelectVerification(io, t, "Enter the name or number of a DKIM verification profile to edit."); err == nil && i >= 0 {
				err = dkVerifyWizard(io, env, i)
			}
		case "PRINT", "LIST":
			for _, v := range t.Verification {
				dkPrintVerification(io, v, op == "PRINT")
			}
		case "DELETE":
			var i int
			if i, err = dkSelectVerification(io, t, "Enter the name or number of a DKIM verification profile to delete."); err == nil && i >= 0 {
				name := t.Verification[i].Name
				if dkUpdate(io, env, func(t *domainkeys.Table) error {
					t.Verification = append(t.Verification[:i], t.Verification[i+1:]...)
					return nil
				}) {
					io.Printf("DKIM verification profile %q deleted.\n", name)
				}
			}
		case "CLEAR":
			var yes bool
			if yes, err = io.YesNo("Are you sure you want to delete all DKIM verification profiles?", false); err == nil && yes {
				dkUpdate(io, env, func(t *domainkeys.Table) error { t.Verification = nil; return nil })
			}
		case "IMPORT":
			err = dkImport(io, env, "DKIM verification profiles", func(t *domainkeys.Table, text string) error {
				vs, err := domainkeys.ParseVerification(text)
				t.Verification = vs
				return err
			})
		case "EXPORT":
			err = dkExport(io, env, "DKIM verification profiles", domainkeys.FormatVerification(t.Verification))
		}
		if err != nil {
			return err
		}
	}
}

func dkSelectVerification(io *shell.IO, t domainkeys.Table, question string) (int, error) {
	if len(t.Verification) == 0 {
		io.Printf("\nNo DKIM verification profiles are defined.\n")
		return -1, nil
	}
	names := make([]string, len(t.Verification))
	io.Printf("\n")
	for i, v := range t.Verification {
		names[i] = v.Name
		io.Printf("%d. %s\n", i+1, v.Name)
	}
	return io.Select(question, names)
}

func dkPrintVerification(io *shell.IO, v domainkeys.VerificationProfile, full bool) {
	io.Printf("\nDKIM Verification Profile: %s\n", v.Name)
	if !full {
		return
	}
	action := func(reject bool, code int, text string) string {
		if !reject {
			return "Accept"
		}
		return "Reject (" + strconv.Itoa(code) + " " + text + ")"
	}
	io.Printf("Key Sizes Accepted: %d to %d bits\nMaximum Signatures Verified: %d\nKey Query Timeout: %d seconds\nClock Skew Tolerated: %d seconds\nHonor Body Length (l=): %s\nTemporary Failure: %s\nPermanent Failure: %s\n",
		v.MinKeyBits, v.MaxKeyBits, v.MaxSignatures, v.KeyQueryTimeout, v.ClockSkew, yesNo(v.HonorBodyLength),
		action(v.TempFailReject, v.TempFailCode, v.TempFailText), action(v.PermFailReject, v.PermFailCode, v.PermFailText))
}

// dkVerifyWizard asks the verification questions of ESA-CLI §2.7 for a
// new profile (i < 0, the DEFAULT's values proposed) or profile i.
func dkVerifyWizard(io *shell.IO, env *Env, i int) error {
	t := env.Session.Config().DomainKeys
	v := domainkeys.DefaultVerification()
	v.Name = ""
	q := "Enter the name of the new DKIM verification profile:"
	if i >= 0 {
		v = t.Verification[i]
		q = "Enter the name of the DKIM verification profile:"
	}
	name, err := io.Ask(q, v.Name, func(a string) (string, error) {
		if err := domainkeys.ValidName(a); err != nil {
			return "", err
		}
		if k := t.FindVerification(a); k >= 0 && k != i {
			return "", errors.New("That DKIM verification profile already exists.")
		}
		return a, nil
	})
	if err != nil {
		return err
	}
	v.Name = name
	sizes := make([]string, len(domainkeys.VerifyKeySizes))
	for k, s := range domainkeys.VerifyKeySizes {
		sizes[k] = strconv.Itoa(s)
	}
	sizeIndex := func(bits int) int {
		for k, s := range domainkeys.VerifyKeySizes {
			if s == bits {
				return k + 1
			}
		}
		return 1
	}
	lo, err := io.Choose("Select the smallest key to be accepted:", sizes, sizeIndex(v.MinKeyBits))
	if err != nil {
		return err
	}
	for {
		hi, err := io.Choose("Select the largest key to be accepted:", sizes, sizeIndex(v.MaxKeyBits))
		if err != nil {
			return err
		}
		if hi >= lo {
			v.MinKeyBits, v.MaxKeyBits = domainkeys.VerifyKeySizes[lo-1], domainkeys.VerifyKeySizes[hi-1]
			break
		}
		io.Printf("The largest key must not be smaller than the smallest (%s bits).\n", sizes[lo-1])
		io.Fail()
	}
	if v.MaxSignatures, err = io.Int("Enter the maximum number of signatures in the message to verify:", v.MaxSignatures, 1, 100); err != nil {
		return err
	}
	if v.KeyQueryTimeout, err = io.Int("Enter the number of seconds before the key query is timed out:", v.KeyQueryTimeout, 1, 600); err != nil {
		return err
	}
	if v.ClockSkew, err = io.Int("Enter the number of seconds to tolerate wall clock asynchronization between sender and verifier:", v.ClockSkew, 0, 86400); err != nil {
		return err
	}
	if v.HonorBodyLength, err = io.YesNo("Do you want to use a body length parameter?", v.HonorBodyLength); err != nil {
		return err
	}
	if err := dkAction(io, "temporary", &v.TempFailReject, &v.TempFailCode, &v.TempFailText, 400); err != nil {
		return err
	}
	if err := dkAction(io, "permanent", &v.PermFailReject, &v.PermFailCode, &v.PermFailText, 500); err != nil {
		return err
	}
	if dkUpdate(io, env, func(t *domainkeys.Table) error {
		if i >= 0 {
			t.Verification[i] = v
		} else {
			t.Verification = append(t.Verification, v)
		}
		return nil
	}) {
		io.Printf("DKIM verification profile %q saved.\n", v.Name)
	}
	return nil
}

// dkAction asks the SMTP action of a failure class: accept, or reject
// with a code of the class (4xx temporary, 5xx permanent) and a text.
func dkAction(io *shell.IO, kind string, reject *bool, code *int, text *string, class int) error {
	def := 1
	if *reject {
		def = 2
	}
	c, err := io.Choose("Select the SMTP action to be taken in case of "+kind+" failure:", []string{"Accept", "Reject"}, def)
	if err != nil {
		return err
	}
	*reject = c == 2
	if !*reject {
		return nil
	}
	if *code, err = io.Int("Enter the SMTP response code for rejected messages:", *code, class, class+99); err != nil {
		return err
	}
	*text, err = io.Ask("Enter the SMTP response text for rejected messages:", *text, func(a string) (string, error) {
		for _, r := range a {
			if r < ' ' || r > '~' {
				return "", errors.New("The text must be printable ASCII.")
			}
		}
		return a, nil
	})
	return err
}

// dkSecondKey sets or removes the second key of a DKIM profile: an
// existing key of the other algorithm and the selector it is published
// under (RFC 8463 dual signing).
func dkSecondKey(io *shell.IO, t domainkeys.Table, p *domainkeys.SigningProfile) error {
	use, err := io.YesNo("Do you want to sign a second time with a key of the other algorithm?", p.SecondKey != "")
	if err != nil {
		return err
	}
	if !use {
		p.SecondKey, p.SecondSelector = "", ""
		return nil
	}
	i, err := dkSelectKey(io, t, "Enter the name or number of the second signing key.")
	if err != nil || i < 0 {
		return err
	}
	sel, err := io.Ask("Enter the selector of the second key:", p.SecondSelector, dkValidSelector)
	if err != nil {
		return err
	}
	p.SecondKey, p.SecondSelector = t.Keys[i].Name, sel
	return nil
}
