package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"esa/dnssec/dnstest"

	"github.com/emersion/go-smtp"
)

const adminPassword = "Secret-pass1"

// lockedBuf collects a process's stderr while tests read it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// served is a running `esa serve` of a test.
type served struct {
	t    *testing.T
	dir  string
	port int // SSH
	cmd  *exec.Cmd
	errb *lockedBuf
	done chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServe starts the real daemon on dir with SSH on a free loopback port
// and waits until it accepts sessions. The test's end stops it with
// SIGTERM and expects a clean exit.
// global are esa's own switches before "serve" (--resolver, --trust-anchor).
func startServe(t *testing.T, dir string, global ...string) *served {
	t.Helper()
	return startServeArgs(t, dir, global)
}

// startServeArgs is startServe with switches of serve's own (--mx-port).
func startServeArgs(t *testing.T, dir string, global []string, serveArgs ...string) *served {
	t.Helper()
	s := &served{t: t, dir: dir, port: freePort(t), errb: &lockedBuf{}, done: make(chan error, 1)}
	args := append(append([]string{"--data", dir}, global...), "serve", "--ssh", "127.0.0.1:"+strconv.Itoa(s.port), "--grace", "5s")
	args = append(args, serveArgs...)
	s.cmd = exec.Command(esaBinary(t), args...)
	s.cmd.Env = append(os.Environ(), "ESA_ADMIN_PASSWORD="+adminPassword)
	s.cmd.Stderr = s.errb
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.errb.String(), "control socket") {
		select {
		case err := <-s.done:
			t.Fatalf("esa serve exited: %v\n%s", err, s.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("esa serve did not start:\n%s", s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// stop sends SIGTERM and checks the daemon ends cleanly and removes its
// control socket.
func (s *served) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("esa serve after SIGTERM: %v\n%s", err, s.errb.String())
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Errorf("esa serve did not stop on SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(s.dir, controlSocket)); err == nil {
		s.t.Errorf("control socket left behind")
	}
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it); skipping the end-to-end test that needs it", tool)
		}
	}
}

func (s *served) sshArgs(extra ...string) []string {
	args := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10", "-p", strconv.Itoa(s.port)}
	return append(args, extra...)
}

// ssh runs OpenSSH's client with a password (through sshpass) or a key.
func (s *served) ssh(stdin string, password string, args ...string) (string, int) {
	s.t.Helper()
	var cmd *exec.Cmd
	if password != "" {
		cmd = exec.Command("sshpass", append([]string{"-p", password, "ssh", "-o", "PubkeyAuthentication=no"}, s.sshArgs(args...)...)...)
	} else {
		cmd = exec.Command("ssh", append([]string{"-o", "BatchMode=yes", "-o", "PasswordAuthentication=no"}, s.sshArgs(args...)...)...)
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return string(out), code
}

// TestServeEndToEnd: an administrator logs in with OpenSSH, walks
// listenerconfig and commits; swaks then delivers to the new listener
// without a restart; `ssh host status` returns its output and exit status;
// a local esa attaches while the daemon runs; SIGTERM stops it cleanly.
func TestServeEndToEnd(t *testing.T) {
	needTools(t, "ssh", "sshpass", "swaks", "ssh-keygen")
	dir := t.TempDir()
	s := startServe(t, dir)
	smtpPort := freePort(t)

	out, code := s.ssh("", adminPassword, "admin@127.0.0.1", "status")
	if code != 0 || !strings.Contains(out, "Status as of:") {
		t.Fatalf("ssh status: exit %d\n%s", code, out)
	}
	// The first start subscribed the authentication log: logins are there.
	if stdout, _, _ := pipe(t, dir, "grep -e \"successfully logged on\" authentication\n"); !strings.Contains(stdout, "The user admin successfully logged on from 127.0.0.1 using password") {
		t.Fatalf("authentication log:\n%s", stdout)
	}
	if out, code := s.ssh("", adminPassword, "admin@127.0.0.1", "nosuchcommand"); code != 3 || !strings.Contains(out, "Unknown command: nosuchcommand") {
		t.Fatalf("ssh unknown command: exit %d\n%s", code, out)
	}
	if out, code := s.ssh("", "Wrong-pass1", "-o", "NumberOfPasswordPrompts=1", "admin@127.0.0.1", "status"); code != 255 || strings.Contains(out, "Status as of") {
		t.Fatalf("wrong password: exit %d\n%s", code, out)
	}

	// listenerconfig over SSH (a script on stdin, no pty), then commit.
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\ncommit\nrelay listener\n\n", smtpPort)
	if out, code := s.ssh(script, adminPassword, "admin@127.0.0.1"); code != 0 || !strings.Contains(out, "Changes committed:") {
		t.Fatalf("listenerconfig over ssh: exit %d\n%s", code, out)
	}

	// The listener runs at once: swaks delivers to it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(smtpPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener not running after commit:\n%s", s.errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sw := exec.Command("swaks", "--server", "127.0.0.1:"+strconv.Itoa(smtpPort), "--from", "alice@example.org",
		"--to", "bob@example.com", "--h-Subject", "end to end", "--timeout", "20")
	swOut, err := sw.CombinedOutput()
	if err != nil || !strings.Contains(string(swOut), "<-  250 2.0.0 OK: queued") {
		t.Fatalf("swaks: %v\n%s", err, swOut)
	}

	// A local esa attaches to the daemon (the store is the daemon's).
	stdout, stderr, code := pipe(t, dir, "grep -e \"queued for delivery\" mail_logs\n")
	if code != 0 || !strings.Contains(stdout, "Info: MID 1 queued for delivery") {
		t.Fatalf("local attach: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The counters are the daemon's.
	if out, _ := s.ssh("", adminPassword, "admin@127.0.0.1", "status"); !strings.Contains(out, "Messages Received") {
		t.Fatalf("status after mail:\n%s", out)
	}
	// An interactive session with a pty (ssh -tt) gets the prompt and runs
	// commands; quit ends it.
	if out, code := s.ssh("version\nquit\n", adminPassword, "-tt", "admin@127.0.0.1"); code != 0 || !strings.Contains(out, "esa.example.com> ") || !strings.Contains(out, "Current Version") {
		t.Fatalf("ssh -tt: exit %d\n%q", code, out)
	}
	// A key installed with sshconfig logs in with OpenSSH's key auth.
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	script = "sshconfig\nuserkeys\nnew\n" + strings.TrimSpace(string(pub)) + "\n\n\ncommit\nkey\ny\n" +
		"userconfig\nnew\nro\nRo User\n3\nRo-pass-2026!\nRo-pass-2026!\n\ncommit\nread-only user\ny\n"
	if stdout, stderr, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("adding a key and a user: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if out, code := s.ssh("", "", "-i", key, "admin@127.0.0.1", "whoami"); code != 0 || !strings.Contains(out, "Role: Administrator") {
		t.Fatalf("key login: exit %d\n%s", code, out)
	}
	// A Read-Only Operator may look but is refused at commit.
	out, code = s.ssh("sethostname ro.example.com\ncommit\n", "Ro-pass-2026!", "ro@127.0.0.1")
	if code != 3 || !strings.Contains(out, `You are not in the correct access group to use "commit".`) {
		t.Fatalf("read-only operator: exit %d\n%s", code, out)
	}
	if out, code := s.ssh("", "Ro-pass-2026!", "ro@127.0.0.1", "status"); code != 0 || !strings.Contains(out, "Status as of:") {
		t.Fatalf("read-only status: exit %d\n%s", code, out)
	}
	// last lists the logins, who the open sessions, sshconfig the host keys.
	if out, code := s.ssh("", adminPassword, "admin@127.0.0.1", "last"); code != 0 || !strings.Contains(out, "ro ") || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("last: exit %d\n%s", code, out)
	}
	if out, code := s.ssh("", adminPassword, "admin@127.0.0.1", "who"); code != 0 || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("who: exit %d\n%s", code, out)
	}
	fp, err := exec.Command("ssh-keygen", "-l", "-f", filepath.Join(dir, "ssh", "ssh_host_ed25519_key")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, code := s.ssh("sshd\n\n", adminPassword, "admin@127.0.0.1", "sshconfig"); code != 0 || !strings.Contains(out, strings.Fields(string(fp))[1]) {
		t.Fatalf("sshconfig: exit %d, want fingerprint %s\n%s", code, fp, out)
	}
	// The audit log names each remote session.
	stdout, _, _ = pipe(t, dir, "grep -e \"entered 'listenerconfig'\" cli_logs\n")
	if !strings.Contains(stdout, "from 127.0.0.1") {
		t.Fatalf("audit line without the session's address:\n%s", stdout)
	}
	s.stop()
}

// TestServeFirstStartAndSignals: without ESA_ADMIN_PASSWORD the first start
// prints a generated admin password once, which logs in; a restart prints
// none; SIGHUP reopens the log files; after a SIGKILL the stale control
// socket does not stop a plain esa from opening the directory itself.
func TestServeFirstStartAndSignals(t *testing.T) {
	needTools(t, "ssh", "sshpass")
	dir := t.TempDir()
	start := func() (*exec.Cmd, *lockedBuf, int) {
		port := freePort(t)
		cmd := exec.Command(esaBinary(t), "--data", dir, "serve", "--ssh", "127.0.0.1:"+strconv.Itoa(port))
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "ESA_ADMIN_PASSWORD=") {
				env = append(env, e)
			}
		}
		cmd.Env = env
		errb := &lockedBuf{}
		cmd.Stderr = errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(errb.String(), "control socket") {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no start:\n%s", errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return cmd, errb, port
	}
	cmd, errb, port := start()
	var pw string
	if _, after, ok := strings.Cut(errb.String(), "created user admin with password "); ok {
		pw, _, _ = strings.Cut(after, " ")
	}
	if pw == "" {
		cmd.Process.Kill()
		t.Fatalf("no generated password on stderr:\n%s", errb.String())
	}
	s := &served{t: t, dir: dir, port: port}
	if out, code := s.ssh("", pw, "admin@127.0.0.1", "whoami"); code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("generated password: exit %d\n%s", code, out)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, _ := pipe(t, dir, "grep -e \"reopened\" system_logs\n")
		if strings.Contains(out, "Log files reopened (SIGHUP)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP not handled:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// SIGKILL: the socket file stays, nobody answers on it.
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, controlSocket)); err != nil {
		t.Fatalf("expected a stale socket after SIGKILL: %v", err)
	}
	out, errs, code := pipe(t, dir, "version\n")
	if code != 0 || !strings.Contains(out, "Current Version") {
		t.Fatalf("plain esa after SIGKILL: exit %d\n%s\n%s", code, out, errs)
	}
	// A restart keeps the admin account and prints no password.
	cmd2, errb2, _ := start()
	defer func() { cmd2.Process.Signal(syscall.SIGTERM); cmd2.Wait() }()
	if strings.Contains(errb2.String(), "password") {
		t.Fatalf("second start printed a password:\n%s", errb2.String())
	}
}

// sink is a loopback SMTP server that keeps what it receives.
type sink struct {
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s    *sink
	rcpt []string
}

func (x *sinkSession) Reset()                               {}
func (x *sinkSession) Logout() error                        { return nil }
func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.rcpt = append(x.rcpt, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, string(b))
	x.s.rcpt = append(x.s.rcpt, x.rcpt...)
	x.s.mu.Unlock()
	return nil
}

// TestServeDelivers: mail relayed through a private listener leaves the
// queue for the host an SMTP route names, and mail_logs tells its life
// from New SMTP ICID to Message finished.
func TestServeDelivers(t *testing.T) {
	needTools(t, "swaks")
	sk := &sink{}
	sinkPort := serveSink(t, sk)

	dir := t.TempDir()
	s := startServe(t, dir)
	_ = s
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\n"+
		"smtproutes\nnew\nexample.com\n127.0.0.1:%d\n\ncommit\nrelay and route\n\n", smtpPort, sinkPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(smtpPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listener not running")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sw := exec.Command("swaks", "--server", "127.0.0.1:"+strconv.Itoa(smtpPort), "--from", "alice@example.org",
		"--to", "bob@example.com", "--h-Subject", "relayed", "--body", "through the gateway", "--timeout", "20")
	if out, err := sw.CombinedOutput(); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		sk.mu.Lock()
		n := len(sk.msgs)
		sk.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			out, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("nothing delivered to the route's host:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sk.mu.Lock()
	msg, rcpt := sk.msgs[0], sk.rcpt
	sk.mu.Unlock()
	if !strings.Contains(msg, "through the gateway") || !strings.Contains(msg, "Received: from ") || strings.Join(rcpt, ",") != "bob@example.com" {
		t.Fatalf("delivered %q to %v", msg, rcpt)
	}
	// The queue is empty and the log tells the message's life.
	deadline = time.Now().Add(10 * time.Second)
	for {
		out, _, _ := pipe(t, dir, "grep -e \"MID 1\" mail_logs\n")
		if strings.Contains(out, "Message finished MID 1 done") {
			for _, want := range []string{"Start MID 1 ICID", "queued for delivery", "Delivery start DCID", "MID 1 RID 0 To: <bob@example.com> Rcpt Host 127.0.0.1", "Message done DCID", "Response '"} {
				if !strings.Contains(out, want) {
					t.Fatalf("mail_logs lacks %q:\n%s", want, out)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Message finished line:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveSink runs a loopback SMTP server over be for the test's life and
// returns its port.
func serveSink(t *testing.T, be smtp.Backend) int {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "sink.example"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestServeDeliversByMX: without a route, delivery looks up the recipient
// domain's MX through the validating resolver (a signed loopback
// hierarchy given with --resolver and --trust-anchor) and connects to the
// MX host on the port of the lab switch --mx-port.
func TestServeDeliversByMX(t *testing.T) {
	needTools(t, "swaks")
	sk := &sink{}
	sinkPort := serveSink(t, sk)
	dns := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	dns.H.Add(
		`mx.test. 300 IN MX 10 mail.mx.test.`,
		`mail.mx.test. 300 IN A 127.0.0.1`,
	)
	dir := t.TempDir()
	anchor := filepath.Join(dir, "anchor")
	if err := os.WriteFile(anchor, []byte(dns.H.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	smtpPort := freePort(t)
	script := fmt.Sprintf("listenerconfig\nnew\n1\nOutgoingMail\n127.0.0.1\n%d\n127.0.0.1\nn\n\ncommit\nrelay\n\n", smtpPort)
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("configuring: exit %d\n%s\n%s", code, out, errs)
	}
	startServeArgs(t, dir, []string{"--resolver", dns.DNS.Addr, "--trust-anchor", anchor}, "--mx-port", strconv.Itoa(sinkPort))
	sw := exec.Command("swaks", "--server", "127.0.0.1:"+strconv.Itoa(smtpPort), "--from", "alice@example.org",
		"--to", "carol@mx.test", "--h-Subject", "by MX", "--body", "found by its MX", "--timeout", "20")
	if out, err := sw.CombinedOutput(); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		sk.mu.Lock()
		n := len(sk.msgs)
		sk.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			out, _, _ := pipe(t, dir, "grep -e \"MID\" mail_logs\n")
			t.Fatalf("nothing delivered to the MX:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if !strings.Contains(sk.msgs[0], "found by its MX") || strings.Join(sk.rcpt, ",") != "carol@mx.test" {
		t.Fatalf("delivered %q to %v", sk.msgs[0], sk.rcpt)
	}
}
