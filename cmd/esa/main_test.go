package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/shell"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildOut  []byte
)

// esaBinary builds the real esa command once for the end-to-end tests.
func esaBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "esa")
		buildOut, buildErr = exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binary
}

// pipe runs esa on dir with script as its standard input, as in batch use.
func pipe(t testing.TB, dir, script string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(esaBinary(t), append([]string{"--data", dir}, args...)...)
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestCommitSurvivesRestart: a committed change is there after a restart,
// an uncommitted one is not.
func TestCommitSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errs, code := pipe(t, dir, "sethostname mail1.example.com\ncommit\nfirst change\n\n")
	if code != 0 || !strings.Contains(out, "Changes committed: ") {
		t.Fatalf("commit run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// The commit reached the Configuration History log on disk.
	history := readLog(dir, "config_history")
	if !bytes.Contains(history, []byte(`Configuration committed: tables system; rollback point true; comment: "first change"`)) {
		t.Errorf("no commit line in DATA/logs/config_history:\n%s", history)
	}
	out, errs, code = pipe(t, dir, "sethostname mail9.example.com\n")
	if code != shell.ExitUncommitted || !strings.HasPrefix(out, "mail1.example.com> ") {
		t.Fatalf("second run: exit %d, want the committed prompt first\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(out, "You have uncommitted changes.") {
		t.Errorf("leaving with a pending change gave no warning:\n%s", out)
	}
	out, _, _ = pipe(t, dir, "")
	if !strings.HasPrefix(out, "mail1.example.com> ") {
		t.Errorf("uncommitted host name survived the restart:\n%s", out)
	}
}

// TestSecondProcessStops: a second esa on a data directory in use stops at
// once, naming the directory's owner.
func TestSecondProcessStops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := exec.Command(esaBinary(t), "--data", dir)
	stdin, err := first.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Wait()
	defer stdin.Close()
	// The first prompt means the store is open and locked.
	r := bufio.NewReader(stdout)
	if prompt, err := r.ReadString(' '); err != nil || prompt != "esa.example.com> " {
		t.Fatalf("first esa: %q, %v", prompt, err)
	}

	start := time.Now()
	out, errs, code := pipe(t, dir, "")
	if code != 1 {
		t.Fatalf("second esa exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(errs, strconv.Itoa(first.Process.Pid)) {
		t.Errorf("message does not name the owner's PID %d: %q", first.Process.Pid, errs)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("second esa took %v to give up", elapsed)
	}
	stdin.Close()
	io.Copy(io.Discard, r)
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--bogus"}, {"extra"}, {"--trust-anchor", "/nonexistent/anchor"}} {
		_, errs, code := pipe(t, t.TempDir(), "", args...)
		if code == 0 {
			t.Errorf("esa %v: exit 0, want an error (stderr %q)", args, errs)
		}
	}
}

// firstPrompt is an editor that ends the input at the first prompt, after
// writing it.
type firstPrompt struct{ w io.Writer }

func (e firstPrompt) ReadLine(prompt string) (string, error) {
	io.WriteString(e.w, prompt)
	return "", io.EOF
}
func (e firstPrompt) Close() error { return nil }

// BenchmarkStartToFirstPrompt: open the data directory, start the logs and
// the shell, up to the first prompt written (target under 30 ms).
func BenchmarkStartToFirstPrompt(b *testing.B) {
	dir := b.TempDir()
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		a, err := open(flags{data: dir}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := shell.Run(context.Background(), a.shellConfig(firstPrompt{&out}, &out, nil)); err != nil {
			b.Fatal(err)
		}
		if out.String() != "esa.example.com> " {
			b.Fatalf("screen %q", out.String())
		}
		b.StopTimer()
		a.Close()
		b.StartTimer()
	}
}

// mkdirTemp makes the directory the test binary is built into; it is shared
// by every test of the package, so it is not a t.TempDir.
func mkdirTemp() (string, error) { return os.MkdirTemp("", "esa-e2e-") }

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// TestCLIAuditLog: the real binary records each command line in the CLI
// audit log on disk with its own PID and the admin user.
func TestCLIAuditLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errs, code := pipe(t, dir, "version\n")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	log := readLog(dir, "cli_logs")
	want := regexp.MustCompile(`Info: PID [1-9][0-9]*: User admin entered 'version'; prompt was 'esa\.example\.com> '`)
	if !want.Match(log) {
		t.Errorf("no audit line for version in DATA/logs/cli_logs:\n%s", log)
	}
}

// readLog returns every file of log subscription name under DATA/logs,
// concatenated in name order.
func readLog(dir, name string) []byte {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", name, "*.@*"))
	var all []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	return all
}
