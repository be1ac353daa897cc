package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"esa/shell"
)

// TestBatchExitCodes: the real binary's exit status in batch use, one
// script per code (README's table).
func TestBatchExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, script string
		want         int
	}{
		{"all good", "version\n", shell.ExitOK},
		{"committed", "sethostname mail1.example.com\ncommit\nfirst change\n\n", shell.ExitOK},
		{"pending changes dropped on purpose", "sethostname mail1.example.com\nexit\ny\n", shell.ExitOK},
		{"unknown command", "nosuch\nversion\n", shell.ExitFailed},
		{"failed command", "grep -e x nosuch_log\n", shell.ExitFailed},
		{"refused answer", "sethostname\nbad_host!\nmail1.example.com\nclear\ny\n", shell.ExitFailed},
		{"input ends in a wizard", "sethostname\n", shell.ExitWizardEOF},
		{"script one line short", "sethostname mail1.example.com\ncommit\n", shell.ExitWizardEOF},
		{"uncommitted changes", "sethostname mail1.example.com\n", shell.ExitUncommitted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, errs, code := pipe(t, t.TempDir(), c.script)
			if code != c.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errs)
			}
		})
	}
}

// TestBatchTailEnds: in batch use tail prints and returns, in its
// interactive form and with -f alike, and the script goes on.
func TestBatchTailEnds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, script := range []string{"tail\n1\nversion\n", "tail -f cli_logs\nversion\n", "grep -t -e version cli_logs\nversion\n"} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, esaBinary(t), "--data", dir)
		cmd.Stdin = strings.NewReader(script)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("%q did not end:\n%s", script, out.String())
		}
		if err != nil {
			t.Errorf("%q: %v\n%s", script, err, out.String())
		}
		if !strings.Contains(out.String(), "Current Version") {
			t.Errorf("%q: the command after tail did not run:\n%s", script, out.String())
		}
		if strings.Contains(out.String(), "Press Ctrl-C") {
			t.Errorf("%q: batch tail offers Ctrl-C:\n%s", script, out.String())
		}
	}
}

// TestResolverFlagChecked: a malformed --resolver stops esa at once with a
// message naming the flag; well-formed ones start.
func TestResolverFlagChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"300.1.1.1", "[::1]", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:", "a b", "::1:53:x", "1.2.3.4:53x", "-host", ":53"} {
		_, errs, code := pipe(t, t.TempDir(), "", "--resolver", bad)
		if code != 2 || !strings.Contains(errs, "--resolver") || !strings.Contains(errs, "want HOST or HOST:PORT") {
			t.Errorf("--resolver %q: exit %d, stderr %q", bad, code, errs)
		}
	}
	for _, good := range []string{"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353", "resolver.example"} {
		if err := checkResolverFlag(good); err != nil {
			t.Errorf("--resolver %q refused: %v", good, err)
		}
	}
	_, errs, code := pipe(t, t.TempDir(), "", "--resolver", "[::1]:5353")
	if code != 0 {
		t.Errorf("--resolver [::1]:5353: exit %d, stderr %q", code, errs)
	}
}

// TestAuditLineQuoted: a ' typed in a command line cannot fake the
// "prompt was" field of the CLI audit line, and control characters are
// escaped in the log as on the screen.
func TestAuditLineQuoted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errs, _ := pipe(t, dir, "version'; prompt was 'root# \nnosuch \x1b[2J\n")
	log := string(readLog(dir, "cli_logs"))
	if !strings.Contains(log, `User admin entered 'version\'; prompt was \'root# '; prompt was 'esa.example.com> '`) {
		t.Errorf("audit line not quoted:\n%s", log)
	}
	if strings.Contains(log, "\x1b") || !strings.Contains(log, `entered 'nosuch \x1b[2J'`) {
		t.Errorf("control character in the audit log:\n%q", log)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `nosuch \x1b[2J`) {
		t.Errorf("control character on the screen:\n%q\n%s", out, errs)
	}
}

// TestLostLogLinesReported: when the log files cannot grow (here a file
// size limit, as a full disk), the session that wrote the lines is told at
// once.
func TestLostLogLinesReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, errs, code := pipe(t, dir, ""); code != 0 {
		t.Fatalf("first start: %d %s", code, errs)
	}
	// Command lines of 1000 characters make CLI audit lines of about
	// 1.1 KB; 400 of them pass a 256 KB limit (128 KB where ulimit counts
	// 512-byte blocks) while config.db (64 KB) stays below it.
	var script strings.Builder
	for i := 0; i < 400; i++ {
		script.WriteString("nosuch " + strings.Repeat("x", 990) + "\n")
	}
	cmd := exec.Command("sh", "-c", `ulimit -f 256 && exec "$0" "$@"`, esaBinary(t), "--data", dir)
	cmd.Stdin = strings.NewReader(script.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	re := regexp.MustCompile(`(?m)^Warning: 1 lines of log cli_logs could not be written: write .*: file too large$`)
	if !re.MatchString(out.String()) {
		t.Fatalf("no lost-lines warning on the screen; stderr %q; screen ends:\n%s", errb.String(), tail(out.String(), 600))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestRenamedLogKeepsItsLines: after logconfig EDIT renames a
// subscription and the change is committed, its earlier lines are found
// under the new name.
func TestRenamedLogKeepsItsLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := "version\nlogconfig\nedit\n1\ncli_renamed\n" + strings.Repeat("\n", 10) + "commit\nrename\n\n"
	if out, errs, code := pipe(t, dir, script); code != 0 {
		t.Fatalf("rename: exit %d\n%s\n%s", code, out, errs)
	}
	out, errs, code := pipe(t, dir, "grep -e \"entered 'version'\" cli_renamed\n")
	if code != 0 || !strings.Contains(out, "User admin entered 'version'") {
		t.Fatalf("grep of the renamed log: exit %d\n%s\n%s", code, out, errs)
	}
}
