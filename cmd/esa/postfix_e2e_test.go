package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// postfixPeer is a private Postfix instance of one test: its own main.cf
// and master.cf in a temporary directory, two smtpd services on loopback
// ports (one offering STARTTLS with a self-signed certificate, one
// offering no TLS at all), delivery by virtual(8) into one maildir, and
// its log in a file of the same directory. The system's Postfix (if any)
// and its configuration are not touched.
type postfixPeer struct {
	dir       string
	tlsPort   int // smtpd with STARTTLS
	clearPort int // smtpd without STARTTLS
}

// startPostfix starts the instance, or skips the test when Postfix cannot
// run here (not installed, or not root: master(8) must start as root to
// drop to mail_owner).
func startPostfix(t *testing.T) *postfixPeer {
	t.Helper()
	postfix, err := exec.LookPath("postfix")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postfix"); serr != nil {
			t.Skip("postfix is not installed (make deps installs it); skipping the test with a real Postfix peer")
		}
		postfix = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		t.Skip("Postfix's master must be started as root; skipping the test with a real Postfix peer")
	}
	owner, err := osuser.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix user (the Debian package creates it); skipping the test with a real Postfix peer")
	}
	if _, err := osuser.LookupGroup("postdrop"); err != nil {
		t.Skip("no postdrop group (the Debian package creates it); skipping the test with a real Postfix peer")
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)

	// Not t.TempDir: its parent is 0700 root's, and Postfix's daemons run
	// as the postfix user and must reach the queue and maildir below it.
	dir, err := os.MkdirTemp("", "esa-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"", "conf", "spool", "data", "mail"} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"data", "mail"} {
		if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	certFile, keyFile := filepath.Join(dir, "conf", "cert.pem"), filepath.Join(dir, "conf", "key.pem")
	writeSelfSigned(t, certFile, keyFile, "postfix.test")

	p := &postfixPeer{dir: dir, tlsPort: freePort(t), clearPort: freePort(t)}
	mainCf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = test
myorigin = postfix.test
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP Postfix
virtual_mailbox_domains = example.com example.net
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = static:maildir/
virtual_uid_maps = static:%[2]d
virtual_gid_maps = static:%[3]d
virtual_minimum_uid = 1
alias_maps =
alias_database =
biff = no
smtpd_tls_cert_file = %[4]s
smtpd_tls_key_file = %[5]s
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
`, dir, uid, gid, certFile, keyFile)
	// chroot off everywhere: the instance lives in a temporary directory,
	// not in a prepared chroot jail.
	masterCf := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
127.0.0.1:%d inet n - n - - smtpd
  -o smtpd_tls_security_level=none
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`, p.tlsPort, p.clearPort)
	if err := os.WriteFile(filepath.Join(dir, "conf", "main.cf"), []byte(mainCf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "master.cf"), []byte(masterCf), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "conf")
	// postfix(1) reports to syslog (or a terminal), not to a pipe: on
	// failure its own log file says why.
	if out, err := exec.Command(postfix, "-c", conf, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix -c %s start: %v\n%s\nmaillog:\n%s", conf, err, out, p.log())
	}
	t.Cleanup(func() {
		if out, err := exec.Command(postfix, "-c", conf, "stop").CombinedOutput(); err != nil {
			t.Errorf("postfix stop: %v\n%s\nmaillog:\n%s", err, out, p.log())
		}
	})
	// master(8) detaches before its smtpd services listen.
	for _, port := range []int{p.tlsPort, p.clearPort} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := smtp.Dial("127.0.0.1:" + strconv.Itoa(port))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Postfix smtpd on port %d not answering: %v\nmaillog:\n%s", port, err, p.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return p
}

func (p *postfixPeer) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// delivered returns the messages virtual(8) has written to the maildir.
func (p *postfixPeer) delivered(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.dir, "mail", "maildir", "new", "*"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// writeSelfSigned writes a self-signed ECDSA certificate for name and its
// key as PEM files.
func writeSelfSigned(t *testing.T, certFile, keyFile, name string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPostfixPeer: a real Postfix (the Debian package, run by the test as
// a private instance on loopback) receives what the daemon relays. Both
// domains are routed by smtproutes and have TLS setting 3 (Required, seed
// 003: TLS or no delivery, the certificate not checked): example.com's
// host offers STARTTLS with a self-signed certificate, and every message
// arrives in Postfix's maildir, byte for byte, Postfix's Received: field
// saying it came over TLS; example.net's host offers no STARTTLS, and its
// message is held in the queue (mail_logs says TLS was required) and
// never reaches Postfix in clear.
func TestPostfixPeer(t *testing.T) {
	t.Parallel()
	pf := startPostfix(t)

	dir := t.TempDir()
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n", smtpPort) +
		fmt.Sprintf("smtproutes\nnew\nexample.com\n127.0.0.1:%d\nnew\nexample.net\n127.0.0.1:%d\n\n", pf.tlsPort, pf.clearPort) +
		// destconfig NEW: no concurrency, connection or recipient limit;
		// TLS 3 (Required); no DANE, bounce tagging, profile or IP sort.
		"destconfig\nnew\nexample.com\nN\nN\nN\nY\n3\nN\nN\nN\nN\n" +
		"new\nexample.net\nN\nN\nN\nY\n3\nN\nN\nN\nN\n\n" +
		"commit\nrelay to postfix\n\n"
	out, errs, code := pipe(t, dir, script)
	if code != 0 || !strings.Contains(out, "Changes committed:") {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out, "Please answer") || strings.Contains(out, "Value must") {
		t.Fatalf("the configuration script went out of step with the questions:\n%s", out)
	}
	startServe(t, dir)
	relay := "127.0.0.1:" + strconv.Itoa(smtpPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", relay)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("relay listener not running")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Five messages for example.com on one connection, unique bodies
	// with a line the client dot-stuffs; one for example.net.
	c, err := smtp.Dial(relay)
	if err != nil {
		t.Fatal(err)
	}
	send := func(to, token string) {
		t.Helper()
		body := fmt.Sprintf("From: alice@example.org\r\nTo: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n.leading dot\r\n", to, token, token)
		if err := c.Mail("alice@example.org", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(to, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%s: no 250 from the daemon: %v", token, err)
		}
	}
	var tokens []string
	for i := range 5 {
		tok := fmt.Sprintf("postfix-tls-%d", i)
		tokens = append(tokens, tok)
		send(fmt.Sprintf("user%d@example.com", i), tok)
	}
	send("held@example.net", "postfix-clear")
	c.Quit()

	deadline = time.Now().Add(60 * time.Second)
	for len(pf.delivered(t)) < len(tokens) {
		if time.Now().After(deadline) {
			logs, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("Postfix has %d of %d messages\nmail_logs:\n%s\nPostfix maillog:\n%s", len(pf.delivered(t)), len(tokens), logs, pf.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs := pf.delivered(t)
	for i, tok := range tokens {
		var got string
		for _, m := range msgs {
			if strings.Contains(m, "\nSubject: "+tok+"\n") {
				if got != "" {
					t.Errorf("%s delivered twice", tok)
				}
				got = m
			}
		}
		if got == "" {
			t.Errorf("%s not in Postfix's maildir", tok)
			continue
		}
		// virtual(8) writes LF line ends; the body arrived unstuffed.
		if !strings.Contains(got, "\n\nbody of "+tok+"\n.leading dot\n") {
			t.Errorf("%s: body changed on the way:\n%s", tok, got)
		}
		if !strings.Contains(got, fmt.Sprintf("Delivered-To: user%d@example.com\n", i)) {
			t.Errorf("%s: wrong recipient:\n%s", tok, got)
		}
		// Postfix's own Received: field (smtpd_tls_received_header) is
		// the peer's word that the message came over TLS.
		recv, _, _ := strings.Cut(got[strings.Index(got, "Received: from ")+1:], "\nReceived: ")
		if !strings.Contains(recv, "by postfix.test (Postfix) with ESMTPS") || !strings.Contains(recv, "(using TLSv1.") {
			t.Errorf("%s: Postfix's Received: field does not show TLS:\n%s", tok, recv)
		}
		// Our own Received: field is there too (the relay hop).
		if !strings.Contains(got, "by esa.example.com") {
			t.Errorf("%s: the gateway's Received: field is missing:\n%s", tok, got)
		}
	}

	// example.net: held, never in clear. The engine's TLS refusal is the
	// event to wait for; by then Postfix has accepted nothing for it.
	deadline = time.Now().Add(30 * time.Second)
	for {
		logs, _, _ := pipe(t, dir, "grep -e \"TLS was required\" mail_logs\n")
		if strings.Contains(logs, "TLS was required but could not be successfully negotiated") {
			break
		}
		if time.Now().After(deadline) {
			all, _, _ := pipe(t, dir, "grep -e \"DCID\" mail_logs\n")
			t.Fatalf("no TLS-required failure logged for example.net:\n%s", all)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range pf.delivered(t) {
		if strings.Contains(m, "postfix-clear") {
			t.Fatalf("example.net's message reached Postfix although it offers no STARTTLS:\n%s", m)
		}
	}
	if l := pf.log(); strings.Contains(l, "to=<held@example.net>") {
		t.Fatalf("Postfix took a message for held@example.net:\n%s", l)
	}
	// The daemon's side: one connection (DCID) carried the five messages
	// to example.com over TLS, each answered by Postfix's own 250.
	logs, _, _ := pipe(t, dir, "grep -e \"DCID\" mail_logs\n")
	if n := strings.Count(logs, "Message done DCID"); n != len(tokens) {
		t.Errorf("%d Message done lines, want %d:\n%s", n, len(tokens), logs)
	}
	if !strings.Contains(logs, "TLS success protocol TLSv1.") {
		t.Errorf("no TLS success line:\n%s", logs)
	}
	resp, _, _ := pipe(t, dir, "grep -e \"Response\" mail_logs\n")
	if n := strings.Count(resp, "Response '2.0.0 Ok: queued as "); n != len(tokens) {
		t.Errorf("%d responses carry Postfix's 250 text, want %d:\n%s", n, len(tokens), resp)
	}
}
