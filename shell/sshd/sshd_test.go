package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

type testAuth struct {
	key ssh.PublicKey
}

func (a testAuth) Password(user, pw string) error {
	if user == "admin" && pw == "right-pass1" {
		return nil
	}
	return errors.New("wrong")
}

func (a testAuth) PublicKey(user string, k ssh.PublicKey) error {
	if user == "admin" && a.key != nil && bytes.Equal(k.Marshal(), a.key.Marshal()) {
		return nil
	}
	return errors.New("no")
}

type memLog struct {
	mu    sync.Mutex
	lines []string
}

func (m *memLog) Info(f string, a ...any)    { m.add("Info: " + fmt.Sprintf(f, a...)) }
func (m *memLog) Warning(f string, a ...any) { m.add("Warning: " + fmt.Sprintf(f, a...)) }
func (m *memLog) add(s string)               { m.mu.Lock(); m.lines = append(m.lines, s); m.mu.Unlock() }
func (m *memLog) text() string               { m.mu.Lock(); defer m.mu.Unlock(); return strings.Join(m.lines, "\n") }

// echoHandler answers like a tiny shell: the exec command or each line read
// is echoed back; "exit N" ends with status N; Ctrl-C (0x03 or a signal) and
// window changes are reported.
func echoHandler(ctx context.Context, s *Session) int {
	if s.Command != "" {
		fmt.Fprintf(s.Out, "ran %q as %s from %s pty=%v\n", s.Command, s.User, s.RemoteAddr, s.PTY)
		var n int
		fmt.Sscanf(s.Command, "exit %d", &n)
		return n
	}
	fmt.Fprintf(s.Out, "hello %s pty=%v term=%s size=%dx%d\n", s.User, s.PTY, s.Term, s.Width, s.Height)
	lines := make(chan string)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := s.In.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return 0
			}
			fmt.Fprintf(s.Out, "got %q\n", l)
			if strings.HasPrefix(l, "exit") {
				return 3
			}
		case sz := <-s.Resize:
			fmt.Fprintf(s.Out, "resized %dx%d\n", sz[0], sz[1])
		case <-s.Interrupts:
			fmt.Fprintf(s.Out, "interrupted\n")
		case <-ctx.Done():
			return 1
		}
	}
}

func startServer(t *testing.T, o Options) (string, *Server) {
	t.Helper()
	keys, err := LoadHostKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o.HostKeys = keys
	if o.Handler == nil {
		o.Handler = echoHandler
	}
	s := New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), s
}

func clientConf(user string, auth ...ssh.AuthMethod) *ssh.ClientConfig {
	return &ssh.ClientConfig{User: user, Auth: auth, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
}

func TestPasswordExecAndStatus(t *testing.T) {
	log := &memLog{}
	addr, _ := startServer(t, Options{Auth: testAuth{}, Log: log})
	c, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.Password("right-pass1")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, _ := c.NewSession()
	out, err := sess.CombinedOutput("exit 7")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 7 {
		t.Fatalf("exit status: %v", err)
	}
	if string(out) != "ran \"exit 7\" as admin from 127.0.0.1 pty=false\n" {
		t.Fatalf("output %q", out)
	}
	sess2, _ := c.NewSession()
	if out, err := sess2.Output("status"); err != nil || !strings.Contains(string(out), `ran "status"`) {
		t.Fatalf("second session: %q %v", out, err)
	}
	if !strings.Contains(log.text(), "The user admin successfully logged on from 127.0.0.1 using password") {
		t.Fatalf("log:\n%s", log.text())
	}
}

func TestPublicKeyLogin(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sp, _ := ssh.NewPublicKey(pub)
	signer, _ := ssh.NewSignerFromKey(priv)
	addr, _ := startServer(t, Options{Auth: testAuth{key: sp}})
	c, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.PublicKeys(signer)))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	os, _ := ssh.NewSignerFromKey(other)
	if _, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.PublicKeys(os))); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	log := &memLog{}
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	addr, _ := startServer(t, Options{Auth: testAuth{}, Log: log, Limiter: NewLimiter(3, time.Minute, clock)})
	for i := 0; i < 3; i++ {
		if _, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.Password("wrong"))); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	// The right password is refused too while the address is limited.
	if _, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.Password("right-pass1"))); err == nil {
		t.Fatal("limited address logged in")
	}
	if !strings.Contains(log.text(), "An authentication attempt by the user admin from 127.0.0.1 was refused: too many failed attempts") {
		t.Fatalf("log:\n%s", log.text())
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	c, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.Password("right-pass1")))
	if err != nil {
		t.Fatalf("after the window: %v", err)
	}
	c.Close()
	// A hostile user name cannot forge a log line.
	ssh.Dial("tcp", addr, clientConf("x\nInfo: forged", ssh.Password("nope")))
	if strings.Contains(log.text(), "\nInfo: forged") {
		t.Fatal("control character reached the log")
	}
}

func TestPTYResizeAndInterrupt(t *testing.T) {
	addr, srv := startServer(t, Options{Auth: testAuth{}})
	c, err := ssh.Dial("tcp", addr, clientConf("admin", ssh.Password("right-pass1")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, _ := c.NewSession()
	if err := sess.RequestPty("xterm", 40, 100, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	read := func(want string) {
		t.Helper()
		var got bytes.Buffer
		buf := make([]byte, 256)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(got.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %q, got %q", want, got.String())
			}
			n, err := stdout.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				t.Fatalf("waiting for %q: %v (got %q)", want, err, got.String())
			}
		}
	}
	read("hello admin pty=true term=xterm size=100x40")
	if len(srv.Sessions()) != 1 || srv.Sessions()[0].User != "admin" {
		t.Fatalf("sessions %+v", srv.Sessions())
	}
	sess.WindowChange(50, 132)
	read("resized 132x50")
	sess.Signal(ssh.SIGINT)
	read("interrupted")
	io.WriteString(stdin, "\x03")
	read(`got "\x03"`)
	io.WriteString(stdin, "exit\n")
	read(`got "exit\n"`)
	err = sess.Wait()
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Fatalf("exit: %v", err)
	}
}

func TestHostKeysPersist(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadHostKeys(dir)
	if err != nil || len(a) != 2 {
		t.Fatal(err)
	}
	b, _ := LoadHostKeys(dir)
	for i := range a {
		if !bytes.Equal(a[i].PublicKey().Marshal(), b[i].PublicKey().Marshal()) {
			t.Fatal("host key changed across restarts")
		}
	}
	for _, n := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", n, err, fi.Mode())
		}
	}
	os.WriteFile(filepath.Join(dir, "ssh_host_rsa_key"), []byte("junk"), 0o600)
	if _, err := LoadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "damaged host key") {
		t.Fatalf("damaged key: %v", err)
	}
}

func TestControlSocketRunsAsLocalUser(t *testing.T) {
	keys, _ := LoadHostKeys(t.TempDir())
	s := New(Options{HostKeys: keys, LocalUser: "admin", Handler: echoHandler})
	path := filepath.Join(t.TempDir(), "esa.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	nc, _ := net.Dial("unix", path)
	cc, chans, reqs, err := ssh.NewClientConn(nc, "local", clientConf("whoever"))
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	defer c.Close()
	sess, _ := c.NewSession()
	out, err := sess.Output("who")
	if err != nil || string(out) != "ran \"who\" as admin from local pty=false\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestLimiterBounded(t *testing.T) {
	l := NewLimiter(1, time.Hour, time.Now)
	for i := 0; i < limiterSize+100; i++ {
		l.Fail(fmt.Sprint(i))
	}
	if len(l.fails) > limiterSize {
		t.Fatalf("%d entries", len(l.fails))
	}
}
