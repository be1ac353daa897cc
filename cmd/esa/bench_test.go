package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// benchDaemon starts the real `esa serve` on a new data directory with a
// private relay listener on a free port that relays for 127.0.0.0/8.
func benchDaemon(b *testing.B) (d *daemonProc, smtpAddr string) {
	b.Helper()
	dir := b.TempDir()
	port := freeRelayPort(b, rand.New(rand.NewSource(time.Now().UnixNano())))
	if out, errs, code := pipe(b, dir, relayListenerScript(port, "127.0.0.0/8")); code != 0 || !strings.Contains(out, "Changes committed: ") {
		b.Fatalf("listenerconfig: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	d = startDaemonProc(b, esaBinary(b), dir)
	b.Cleanup(func() {
		if code := d.stop(b); code != 0 {
			b.Errorf("esa serve exit %d\n%s", code, d.stderr.String())
		}
	})
	return d, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// procStatus returns a field of /proc/PID/status in kB (VmRSS, VmHWM).
func procStatus(b *testing.B, pid int, field string) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc/%d/status: %v", pid, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("%s: %q", field, l)
			}
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// BenchmarkIdleSMTPConnectionsRSS is issue 13's memory benchmark: the
// resident memory of the real `esa serve` holding 1,000 idle SMTP
// connections (each has read its banner), target under 200 MB. The
// connections come from 127.0.0.1 to 127.0.0.4, 250 each, inside the
// RELAYED policy's 600 per host even while the server is still closing the
// previous round's. Reported: RSS with the connections open and RSS
// before them. (Their difference understates a connection's cost: the
// heap reuses pages the start-up left free, such as the argon2id work area
// of the first password hash; TestThousandIdleConnections in
// delivery/smtpd measures the cost in-process.)
func BenchmarkIdleSMTPConnectionsRSS(b *testing.B) {
	const idle = 1000
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < idle+256 {
		if lim.Max < idle+256 {
			b.Skipf("RLIMIT_NOFILE hard limit %d is below %d", lim.Max, idle+256)
		}
		old := lim.Cur
		lim.Cur = idle + 256
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Skipf("cannot raise RLIMIT_NOFILE: %v", err)
		}
		defer func() { lim.Cur = old; syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) }()
	}
	d, addr := benchDaemon(b)
	pid := d.cmd.Process.Pid
	// One connection first, so that the listener's lazily created server
	// and its goroutines count as the base.
	warm, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	bufio.NewReader(warm).ReadString('\n')
	warm.Close()
	base := procStatus(b, pid, "VmRSS")
	var held int64
	for b.Loop() {
		conns := make([]net.Conn, idle)
		var wg sync.WaitGroup
		errs := make(chan error, idle)
		for w := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+w%4))}}
				for i := w; i < idle; i += 10 {
					c, err := dl.Dial("tcp", addr)
					if err != nil {
						errs <- err
						return
					}
					conns[i] = c
					c.SetDeadline(time.Now().Add(60 * time.Second))
					if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
						errs <- fmt.Errorf("connection %d: banner %q, %v", i, l, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		held = max(held, procStatus(b, pid, "VmRSS"))
		for _, c := range conns {
			c.Close()
		}
	}
	b.ReportMetric(float64(held)/1024, "RSS-MB")
	b.ReportMetric(float64(base)/1024, "base-RSS-MB")
	if held > 200<<10 {
		b.Errorf("esa serve holds %d MB with %d idle connections (target under 200 MB)", held>>10, idle)
	}
}

// BenchmarkSSHLoginToPrompt: an SSH client (x/crypto/ssh) connects to the
// real `esa serve`, logs in as admin with the password (the argon2id check
// is part of the cost), asks for a pty and a shell, and waits for the first
// prompt.
func BenchmarkSSHLoginToPrompt(b *testing.B) {
	d, _ := benchDaemon(b)
	cfg := &ssh.ClientConfig{
		User:            "admin",
		Auth:            []ssh.AuthMethod{ssh.Password(adminPassword)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         30 * time.Second,
	}
	for b.Loop() {
		c, err := ssh.Dial("tcp", d.sshAddr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
			b.Fatal(err)
		}
		out, err := s.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Shell(); err != nil {
			b.Fatal(err)
		}
		var seen []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(seen, []byte("esa.example.com> ")) {
			n, err := out.Read(buf)
			if err != nil {
				b.Fatalf("before the prompt: %v after %q", err, seen)
			}
			seen = append(seen, buf[:n]...)
		}
		b.StopTimer()
		s.Close()
		c.Close()
		b.StartTimer()
	}
}
