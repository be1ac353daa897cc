package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/dnssec/dnstest"

	"github.com/miekg/dns"
)

// The interop drivers of auth/dkim's tests, reused: dkimpy verifies with
// keys from a JSON file (its dnsfunc hook), Mail::DKIM asks a DNS server
// on loopback.
const interopDrivers = "../../auth/dkim/testdata/interop"

// e2eProfile is one signing profile the test configures through the shell
// and the message it relays through it.
type e2eProfile struct {
	name, domain, selector, key string
	typ                         string // dkim or domainkeys
	canon                       string // "header/body" for DKIM, simple|nofws for DomainKeys
	bodyLength                  string // implied | auto
}

var e2eProfiles = []e2eProfile{
	{name: "rr", domain: "rr.test", selector: "s1", key: "rsa1", typ: "dkim", canon: "relaxed/relaxed", bodyLength: "implied"},
	{name: "ss", domain: "ss.test", selector: "s1", key: "rsa1", typ: "dkim", canon: "simple/simple", bodyLength: "implied"},
	{name: "rs", domain: "rs.test", selector: "s1", key: "rsa1", typ: "dkim", canon: "relaxed/simple", bodyLength: "implied"},
	{name: "lauto", domain: "l.test", selector: "s1", key: "rsa1", typ: "dkim", canon: "relaxed/relaxed", bodyLength: "auto"},
	{name: "ed", domain: "ed.test", selector: "e1", key: "ed1", typ: "dkim", canon: "relaxed/relaxed", bodyLength: "implied"},
	{name: "dk", domain: "dk.test", selector: "d1", key: "rsa1", typ: "domainkeys", canon: "nofws"},
}

// profilesFile is the PROFILES SIGNING IMPORT file for e2eProfiles
// (store/domainkeys/file.go's format).
func profilesFile() string {
	var b strings.Builder
	b.WriteString("# dkim interop end-to-end test\n")
	for _, p := range e2eProfiles {
		hc, bc, _ := strings.Cut(p.canon, "/")
		fmt.Fprintf(&b, "\nname=%s\ntype=%s\ndomain=%s\nselector=%s\nkey_name=%s\nheader_canonicalization=%s\n", p.name, p.typ, p.domain, p.selector, p.key, hc)
		if p.typ == "dkim" {
			fmt.Fprintf(&b, "body_canonicalization=%s\nheaders=standard\nextra_headers=\nbody_length=%s\nbody_length_bytes=0\nidentity=\ntags=t\nexpiration=31536000\n", bc, p.bodyLength)
		}
		fmt.Fprintf(&b, "users=%s\n", p.domain)
	}
	return b.String()
}

// e2eMessage is the message relayed for profile p: trailing blanks and
// empty lines at the end, which the canonicalizations treat differently.
func e2eMessage(from, subject string) string {
	return "From: Alice <" + from + ">\r\nTo: bob@dest.test\r\nSubject: " + subject + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + subject + "@e2e.test>\r\n\r\n" +
		"Hello,  this\tline has  runs of blanks \r\n\r\nand a second paragraph.\r\n\r\n\r\n"
}

// TestDKIMInteropEndToEnd: the real daemon signs what a policy with
// DKIM/DomainKeys signing on relays, with keys and profiles configured
// through the shell (KEYS IMPORT, PROFILES SIGNING IMPORT, listenerconfig's
// "Would you like to enable DKIM/DomainKeys signing?"); the copies a
// loopback SMTP sink receives verify with dkimpy, Mail::DKIM and OpenDKIM
// (each skipped with a message when missing) for RSA relaxed/relaxed,
// simple/simple, relaxed/simple, l= auto, Ed25519, and DomainKeys nofws.
// A listener whose policy does not sign relays the same sender unsigned,
// and an identity no profile matches is logged "cannot sign".
func TestDKIMInteropEndToEnd(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edKey, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]crypto.Signer{"rsa1": rsaKey, "ed1": edKey}
	records := map[string]string{}
	for _, p := range e2eProfiles {
		rec, err := dkim.KeyRecordText(keys[p.key], dkim.RecordOptions{DomainKeys: p.typ == "domainkeys"})
		if err != nil {
			t.Fatal(err)
		}
		records[p.selector+"._domainkey."+p.domain] = rec
	}

	sk := &sink{}
	sinkPort := serveSink(t, sk)
	dir := t.TempDir()
	conf := filepath.Join(dir, "configuration")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	var keyFile strings.Builder
	for _, name := range []string{"rsa1", "ed1"} {
		pem, err := dkim.MarshalPrivateKeyPEM(keys[name])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&keyFile, "\nname=%s\n%s", name, pem)
	}
	for name, text := range map[string]string{"e2e_keys.txt": keyFile.String(), "e2e_profiles.txt": profilesFile()} {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Mail signed upstream by up.test (DKIM Ed25519 and DomainKeys),
	// verified on the way in: its keys come from a signed loopback DNS
	// hierarchy through the daemon's validating resolver (--resolver,
	// --trust-anchor).
	zone := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	upstream := map[string]string{}
	for sel, k := range map[string]crypto.Signer{"u1": edKey, "ud": rsaKey} {
		rec, err := dkim.KeyRecordText(k, dkim.RecordOptions{DomainKeys: sel == "ud"})
		if err != nil {
			t.Fatal(err)
		}
		upstream[sel] = rec
		zone.H.Add(sel + `._domainkey.up.test. 300 IN TXT "` + strings.Join(dkim.SplitTXT(rec), `" "`) + `"`)
	}
	anchor := filepath.Join(dir, "anchor")
	if err := os.WriteFile(anchor, []byte(zone.H.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	startServe(t, dir, "--resolver", zone.DNS.Addr, "--trust-anchor", anchor)
	signedPort, plainPort := freePort(t), freePort(t)
	lines := []string{
		"domainkeysconfig", "keys", "import", "e2e_keys.txt", "",
		"profiles", "signing", "import", "e2e_profiles.txt", "", "", "",
		// A private listener whose default policy signs: 14 questions
		// answered with their defaults, then "enable DKIM/DomainKeys
		// signing?" yes, DKIM verification yes with the DEFAULT profile,
		// SPF and DMARC left alone.
		"listenerconfig", "new", "1", "SignedOut", "127.0.0.1", strconv.Itoa(signedPort), "127.0.0.1", "y",
	}
	lines = append(lines, make([]string, 14)...)
	lines = append(lines, "y", "y", "", "", "",
		// The same, with the factory policy: no signing.
		"new", "1", "PlainOut", "127.0.0.1", strconv.Itoa(plainPort), "127.0.0.1", "n", "",
		"smtproutes", "new", "dest.test", "127.0.0.1:"+strconv.Itoa(sinkPort), "",
		"commit", "dkim interop", "")
	out, errs, code := pipe(t, dir, strings.Join(lines, "\n")+"\n")
	if code != 0 || !strings.Contains(out, "Changes committed:") ||
		!strings.Contains(out, "The signing keys have been imported") || !strings.Contains(out, "imported from e2e_profiles.txt") ||
		!strings.Contains(out, "Would you like to enable DKIM/DomainKeys signing? [N]> y\n") {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}

	// Relay one message per profile through the signing listener, the
	// first one also through the plain listener, and one from a sender
	// no profile covers.
	type relayed struct{ subject, from string }
	var msgs []relayed
	for _, p := range e2eProfiles {
		msgs = append(msgs, relayed{"signed-" + p.name, "alice@" + p.domain})
	}
	send := func(port int, r relayed) {
		t.Helper()
		addr := "127.0.0.1:" + strconv.Itoa(port)
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := submit(addr, r.from, "bob@dest.test", e2eMessage(r.from, r.subject))
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("relaying %s: %v", r.subject, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, m := range msgs {
		send(signedPort, m)
	}
	send(plainPort, relayed{"unsigned-policy", "alice@rr.test"})
	send(signedPort, relayed{"no-profile", "nobody@other.test"})
	// Signed upstream with both; sent as is (send builds the message,
	// so this one goes through submit directly).
	upMsg := e2eMessage("carol@up.test", "upstream")
	dkField, err := dkim.SignDomainKeys(strings.NewReader(upMsg), &dkim.DKProfile{Domain: "up.test", Selector: "ud", Key: rsaKey, Canon: dkim.NoFWS})
	if err != nil {
		t.Fatal(err)
	}
	upMsg = dkField + upMsg
	upSigs, err := dkim.Sign(strings.NewReader(upMsg), time.Now(), &dkim.SignProfile{Domain: "up.test", Selector: "u1", Key: edKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := submit("127.0.0.1:"+strconv.Itoa(signedPort), "carol@up.test", "bob@dest.test", upSigs[0]+upMsg); err != nil {
		t.Fatalf("relaying the upstream-signed message: %v", err)
	}

	got := map[string]string{} // subject -> message as received
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < len(msgs)+3 {
		sk.mu.Lock()
		for _, m := range sk.msgs {
			if _, subject, ok := strings.Cut(m, "\r\nSubject: "); ok {
				subject, _, _ = strings.Cut(subject, "\r\n")
				got[subject] = m
			}
		}
		sk.mu.Unlock()
		if time.Now().After(deadline) {
			logs, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("the sink has %d of %d messages; mail_logs:\n%s", len(got), len(msgs)+3, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := got["unsigned-policy"]; strings.Contains(m, "DKIM-Signature:") || strings.Contains(m, "DomainKey-Signature:") {
		t.Errorf("a policy without signing signed:\n%s", m)
	}
	if m := got["no-profile"]; strings.Contains(m, "Signature:") {
		t.Errorf("an identity no profile matches was signed:\n%s", m)
	}
	// Verified on the way in: one Authentication-Results: field with both
	// verdicts, then relayed with the upstream signatures intact.
	up := got["upstream"]
	for _, want := range []string{
		"Authentication-Results: esa.example.com; dkim=pass (signature verified) header.d=up.test header.i=@up.test header.s=u1 header.a=ed25519-sha256 header.b=",
		";\r\n\tdomainkeys=pass (signature verified) header.d=up.test header.from=carol@up.test\r\n",
		upSigs[0] + dkField,
	} {
		if !strings.Contains(up, want) {
			t.Errorf("the upstream-signed copy lacks %q:\n%s", want, up)
		}
	}
	logs, _, _ := pipe(t, dir, "grep -e \"(DKIM|DomainKeys): \" mail_logs\n")
	for _, want := range []string{
		"DKIM: pass signature verified (d=up.test s=u1 i=@up.test)",
		"DomainKeys: pass signature verified (d=up.test s=ud)",
		"DomainKeys: no signature",
		"DKIM: cannot sign - no profile matches carol@up.test",
		"DKIM: cannot sign - no profile matches nobody@other.test",
		"DKIM: signing with rr - matches rr.test",
		"DKIM: signing with ed - matches ed.test",
		"DomainKeys: signing with dk - matches dk.test",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("mail_logs lacks %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "signing with"); n != len(e2eProfiles) {
		t.Errorf("%d signing lines, want %d (the unsigned policy's message must have none):\n%s", n, len(e2eProfiles), logs)
	}

	// The copies, on disk for the tools, and what each must see.
	files := map[string]string{} // profile name -> path
	for _, p := range e2eProfiles {
		m := got["signed-"+p.name]
		header := "DKIM-Signature:"
		if p.typ == "domainkeys" {
			header = "DomainKey-Signature:"
		}
		if !strings.HasPrefix(m, header) {
			t.Fatalf("%s: the copy does not start with its %s\n%s", p.name, header, m)
		}
		if p.bodyLength == "auto" && !strings.Contains(m, "l=") {
			t.Errorf("%s: no l= tag:\n%s", p.name, m)
		}
		path := filepath.Join(dir, p.name+".eml")
		if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
		files[p.name] = path
	}
	// Our own verifier agrees first, so a tool's refusal is the tool's.
	v := &dkim.Verifier{Resolver: memTXT(records), Profile: dkim.DefaultVerifyProfile()}
	for _, p := range e2eProfiles {
		verify := v.Verify
		if p.typ == "domainkeys" {
			verify = v.VerifyDomainKeys
		}
		res, err := verify(t.Context(), strings.NewReader(got["signed-"+p.name]))
		if err != nil || len(res) != 1 || res[0].Status != dkim.Pass {
			t.Errorf("%s: auth/dkim says %v %v", p.name, res, err)
		}
	}

	t.Run("dkimpy", func(t *testing.T) {
		t.Parallel()
		py := "/usr/bin/python3"
		if err := exec.Command(py, "-c", "import dkim").Run(); err != nil {
			t.Skipf("dkimpy not installed (apt-get install python3-dkim; make deps): %v", err)
		}
		driver, _ := filepath.Abs(filepath.Join(interopDrivers, "dkimpy_driver.py"))
		recs, _ := json.Marshal(records)
		recFile := filepath.Join(dir, "records.json")
		if err := os.WriteFile(recFile, recs, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{driver, "verify", recFile}
		var names []string
		for _, p := range e2eProfiles {
			if p.typ == "dkim" { // dkimpy has no DomainKeys
				args = append(args, files[p.name])
				names = append(names, p.name)
			}
		}
		out, err := exec.Command(py, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("dkimpy: %v\n%s", err, out)
		}
		res := toolLines(out)
		for _, n := range names {
			if res[n+".eml"] != "pass" {
				t.Errorf("%s: dkimpy says %q", n, res[n+".eml"])
			}
		}
	})
	t.Run("Mail::DKIM", func(t *testing.T) {
		t.Parallel()
		if err := exec.Command("perl", "-MMail::DKIM::Verifier", "-MNet::DNS::Resolver", "-e", "1").Run(); err != nil {
			t.Skipf("Mail::DKIM not installed (apt-get install libmail-dkim-perl; make deps): %v", err)
		}
		addr := serveKeys(t, "127.0.0.1:0", records)
		host, port, _ := net.SplitHostPort(addr)
		driver, _ := filepath.Abs(filepath.Join(interopDrivers, "maildkim_driver.pl"))
		args := []string{driver, "verify", host, port}
		var names []string
		for _, p := range e2eProfiles {
			// Debian's Mail::DKIM 1.20230212 has no ed25519-sha256.
			if p.key != "ed1" {
				args = append(args, files[p.name])
				names = append(names, p.name)
			}
		}
		out, err := exec.Command("perl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("Mail::DKIM: %v\n%s", err, out)
		}
		res := toolLines(out)
		for _, n := range names {
			if res[n+".eml"] != "pass" {
				t.Errorf("%s: Mail::DKIM says %q", n, res[n+".eml"])
			}
		}
	})
	t.Run("OpenDKIM", func(t *testing.T) {
		t.Parallel()
		bin, err := exec.LookPath("opendkim-testmsg")
		if err != nil {
			if _, err2 := os.Stat("/usr/sbin/opendkim-testmsg"); err2 != nil {
				t.Skipf("opendkim-testmsg not installed (apt-get install opendkim-tools; make deps): %v", err)
			}
			bin = "/usr/sbin/opendkim-testmsg"
		}
		if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
			t.Skipf("no private mount namespace for OpenDKIM's resolver (needs root): %v %s", err, out)
		}
		// opendkim-testmsg asks the libc resolver, which has no port
		// setting: it runs in a private mount namespace whose
		// /etc/resolv.conf names a DNS server on 127.53.x.y:53 (as in
		// auth/dkim's TestInteropOpenDKIM), so no query leaves loopback.
		addr := ""
		for i := 0; i < 20 && addr == ""; i++ {
			ip := fmt.Sprintf("127.53.%d.%d", (os.Getpid()+i)%250+1, (time.Now().Nanosecond()/1000+i)%250+1)
			addr = tryServeKeys(t, ip+":53", records)
		}
		if addr == "" {
			t.Skip("cannot serve DNS on a loopback port 53 for OpenDKIM (needs root)")
		}
		host, _, _ := net.SplitHostPort(addr)
		resolv := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(resolv, []byte("nameserver "+host+"\noptions timeout:2 attempts:1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, p := range e2eProfiles {
			if p.typ != "dkim" { // opendkim-testmsg verifies DKIM only
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command("unshare", "-m", "sh", "-c", `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`, "sh", resolv, bin)
				cmd.Stdin = strings.NewReader(got["signed-"+p.name])
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if out, err := cmd.Output(); err != nil || stderr.Len() > 0 {
					t.Errorf("%s: opendkim-testmsg: %v %s %s", p.name, err, out, stderr.String())
				}
			}()
		}
		wg.Wait()
		// It does refuse what it should: a changed body.
		cmd := exec.Command("unshare", "-m", "sh", "-c", `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`, "sh", resolv, bin)
		cmd.Stdin = strings.NewReader(strings.Replace(got["signed-ss"], "second paragraph", "Second paragraph", 1))
		if err := cmd.Run(); err == nil {
			t.Error("OpenDKIM accepted a changed body")
		}
	})
}

// toolLines reads the drivers' "<file> <result>..." lines.
func toolLines(out []byte) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, rest, _ := strings.Cut(strings.TrimSpace(l), " ")
		m[name] = rest
	}
	return m
}

// memTXT is a key resolver from the test's records.
type memTXT map[string]string

func (m memTXT) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := m[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return []string{v}, nil
	}
	return nil, dkim.ErrNotFound
}

// serveKeys serves records as TXT over UDP and TCP on addr for the test's
// life and returns the address; other names are NXDOMAIN.
func serveKeys(t *testing.T, addr string, records map[string]string) string {
	t.Helper()
	a := tryServeKeys(t, addr, records)
	if a == "" {
		t.Fatalf("cannot serve DNS on %s", addr)
	}
	return a
}

func tryServeKeys(t *testing.T, addr string, records map[string]string) string {
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		v, ok := records[strings.ToLower(strings.TrimSuffix(q.Name, "."))]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeTXT:
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: dkim.SplitTXT(v)})
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return ""
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return ""
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	<-started
	<-started
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return pc.LocalAddr().String()
}
