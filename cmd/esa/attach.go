package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chzyer/readline"
	"golang.org/x/crypto/ssh"
)

// attach runs the shell inside a running `esa serve` that owns dir, through
// its control socket, the way birdc talks to bird: same screens, the
// session's own pending changes, batch mode and exit codes unchanged. ok is
// false when no daemon answers (no socket, or a stale one): the caller then
// opens the store itself.
func attach(dir string, stdin *os.File, stdout, stderr io.Writer) (code int, ok bool) {
	sock := filepath.Join(dir, controlSocket)
	nc, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return 0, false
	}
	hostKeys := readHostKeys(filepath.Join(dir, "ssh"))
	conf := &ssh.ClientConfig{
		User: user,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			// The socket's mode already restricts who can connect; the
			// host key check makes sure the other end is our daemon.
			for _, k := range hostKeys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil
				}
			}
			return errors.New("the control socket's host key is not the appliance's")
		},
		Timeout: 10 * time.Second,
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(nc, "esa", conf)
	if err != nil {
		nc.Close()
		fmt.Fprintf(stderr, "esa: attaching to the running esa serve failed: %v\n", err)
		return 1, true
	}
	nc.SetDeadline(time.Time{})
	client := ssh.NewClient(cc, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		fmt.Fprintf(stderr, "esa: %v\n", err)
		return 1, true
	}
	defer sess.Close()
	sess.Stdout, sess.Stderr = stdout, stderr
	fd := int(stdin.Fd())
	if readline.IsTerminal(fd) {
		w, h, err := readline.GetSize(fd)
		if err != nil || w <= 0 {
			w, h = 80, 24
		}
		term := os.Getenv("TERM")
		if term == "" {
			term = "xterm"
		}
		if err := sess.RequestPty(term, h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
			fmt.Fprintf(stderr, "esa: %v\n", err)
			return 1, true
		}
		state, err := readline.MakeRaw(fd)
		if err == nil {
			defer readline.Restore(fd, state)
		}
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if w, h, err := readline.GetSize(fd); err == nil {
					sess.WindowChange(h, w)
				}
			}
		}()
	}
	// Ctrl-C reaches the daemon as a byte on a terminal (raw mode); when
	// stdin is a pipe, SIGINT is passed on as an SSH signal.
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt)
	defer signal.Stop(intr)
	go func() {
		for range intr {
			sess.Signal(ssh.SIGINT)
		}
	}()
	sess.Stdin = stdin
	if err := sess.Shell(); err != nil {
		fmt.Fprintf(stderr, "esa: %v\n", err)
		return 1, true
	}
	err = sess.Wait()
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		return ee.ExitStatus(), true
	default:
		fmt.Fprintf(stderr, "esa: the daemon closed the session: %v\n", err)
		return 1, true
	}
}

// readHostKeys reads the daemon's public host keys without creating any.
func readHostKeys(dir string) []ssh.PublicKey {
	var out []ssh.PublicKey
	for _, kind := range []string{"ed25519", "rsa"} {
		data, err := os.ReadFile(filepath.Join(dir, "ssh_host_"+kind+"_key"))
		if err != nil {
			continue
		}
		if s, err := ssh.ParsePrivateKey(data); err == nil {
			out = append(out, s.PublicKey())
		}
	}
	return out
}
