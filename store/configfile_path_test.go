package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConfigFileConfinement (issue 12 item 2): the file commands read only
// regular files named plainly inside the configuration directory, and the
// refusal never quotes the content of what was named.
func TestConfigFileConfinement(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	dir := s.ConfigDir()
	secret := "root:$6$secret-first-line-of-a-foreign-file"
	outside := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(outside, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link-out.xml")); err != nil {
		t.Fatal(err)
	}
	good, err := s.SaveConfigFile(Defaults(), PlainSecrets)
	if err != nil {
		t.Fatal(err)
	}
	// Even a link to a good file inside the folder is refused: links are
	// not followed at all.
	if err := os.Symlink(good, filepath.Join(dir, "link-in.xml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.xml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(dir, "hard.xml")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, want string }{
		{"hard.xml", `the file "hard.xml" has other names (hard links)`},
		{"../x", `the file "../x" is not a plain file name`},
		{"../config.db", `the file "../config.db" is not a plain file name`},
		{"/etc/passwd", `the file "/etc/passwd" is not a plain file name`},
		{outside, `is not a plain file name`},
		{"sub/../" + good, `is not a plain file name`},
		{"..", `is not a plain file name`},
		{".hidden.xml", `is not a plain file name`},
		{`..\x`, `is not a plain file name`},
		{"a\x1b[2Jb", `the file "a\x1b[2Jb" is not a plain file name`},
		{"", `the file "" is not a plain file name`},
		{"link-out.xml", `the file "link-out.xml" is a symbolic link; only regular files in the configuration directory are read`},
		{"link-in.xml", `the file "link-in.xml" is a symbolic link`},
		{"fifo.xml", `the file "fifo.xml" is not a regular file; only regular files in the configuration directory are read`},
		{"sub", `the file "sub" is not a regular file`},
	} {
		done := make(chan error, 1)
		go func() { _, err := s.ReadConfigFile(ctx, c.name); done <- err }()
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second): // a FIFO with no writer would hang: the bug itself
			t.Fatalf("%q: ReadConfigFile hangs", c.name)
		}
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want *FileError containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-first-line") {
			t.Errorf("%q: the error quotes the file: %v", c.name, err)
		}
		if _, err := s.ReadConfigDirFile(ctx, c.name, 1<<20); !errors.As(err, &fe) {
			t.Errorf("%q: ReadConfigDirFile: %v", c.name, err)
		}
	}
	if _, err := s.ReadConfigFile(ctx, good); err != nil {
		t.Fatalf("a plain file: %v", err)
	}
	if _, err := s.ReadConfigFile(ctx, "absent.xml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent file: %v", err)
	}
	// The writer refuses the same names and does not write through a link.
	for _, name := range []string{"../x", "/tmp/x", "link-out.xml", "fifo.xml"} {
		var fe *FileError
		if err := s.WriteConfigDirFile(name, []byte("x")); !errors.As(err, &fe) {
			t.Errorf("WriteConfigDirFile(%q): %v", name, err)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != secret+"\n" {
		t.Fatal("the file behind the link was changed")
	}
	if err := s.WriteConfigDirFile("export.txt", []byte("data\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.ReadConfigDirFile(ctx, "export.txt", 5); err != nil || string(b) != "data\n" {
		t.Fatalf("read back %q %v", b, err)
	}
	if _, err := s.ReadConfigDirFile(ctx, "export.txt", 4); err == nil || !strings.Contains(err.Error(), "is larger than 4 bytes") {
		t.Fatalf("limit: %v", err)
	}
}

// blockingReader blocks every Read until closed, like a file on a hung
// network file system.
type blockingReader struct{ closed chan struct{} }

func (b *blockingReader) Read(p []byte) (int, error) {
	<-b.closed
	return 0, os.ErrClosed
}

func (b *blockingReader) Close() error {
	select {
	case <-b.closed:
	default:
		close(b.closed)
	}
	return nil
}

// TestReadObeysContext (issue 12 item 8): reading a file that does not
// answer returns as soon as the session's context ends (Ctrl-C).
func TestReadObeysContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &blockingReader{closed: make(chan struct{})}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := readBounded(ctx, r, 100)
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	select {
	case <-r.closed:
	default:
		t.Fatal("the reader was not closed")
	}
}

// TestWriteAtomicFailure (issue 12 item 17): a write that fails half-way
// leaves neither the file nor a temporary file, and an existing file keeps
// its old content.
func TestWriteAtomicFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.xml")
	boom := errors.New("disk full")
	half := func(w io.Writer, b []byte) error {
		w.Write(b[:len(b)/2])
		return boom
	}
	if err := writeAtomic(path, []byte("new content\n"), true, half); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
	if err := WriteFileAtomic(path, []byte("old\n"), false); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(path, []byte("new content\n"), false, half); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Fatalf("content %q", b)
	}
	if err := WriteFileAtomic(path, []byte("x"), true); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("exclusive over an existing file: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("files %v", ents)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

// saveLoopEnv makes the test binary a saveconfig loop in the data directory
// it names (TestSaveConfigKilled).
const saveLoopEnv = "ESA_TEST_SAVECONFIG_LOOP"

// TestSaveLoopChild is the child process of TestSaveConfigKilled; without
// the environment variable it does nothing.
func TestSaveLoopChild(t *testing.T) {
	if dir := os.Getenv(saveLoopEnv); dir != "" {
		saveLoop(dir)
	}
}

// saveLoop saves a large configuration again and again, printing a line
// after each save so the parent knows when the kills land among saves.
func saveLoop(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	c := Defaults()
	for i := 0; i < 300; i++ {
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, defaultLog("log"+strconv.Itoa(i), LogTypeMail, "f"+strconv.Itoa(i)+".log"))
	}
	for {
		if _, err := s.SaveConfigFile(c, PlainSecrets); err != nil {
			fmt.Println("save:", err)
			os.Exit(2)
		}
		fmt.Println("saved")
	}
}

// TestSaveConfigKilled (issue 12 item 17): SIGKILL at random moments of a
// saveconfig loop never leaves an empty or partial configuration file; at
// most a hidden temporary file, which no file command reads.
func TestSaveConfigKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process repeatedly")
	}
	t.Parallel() // mostly waiting for child processes
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 20; round++ {
		cmd := exec.Command(exe, "-test.run=^TestSaveLoopChild$")
		cmd.Env = append(os.Environ(), saveLoopEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let a random number of saves finish, then kill during the next
		// ones: the kill lands somewhere in a save (marshal, write, fsync,
		// link, directory fsync).
		sc := bufio.NewScanner(out)
		for n := 1 + rng.IntN(3); n > 0 && sc.Scan(); n-- {
			if sc.Text() != "saved" {
				t.Fatalf("child: %s", sc.Text())
			}
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		io.Copy(io.Discard, out)
		cmd.Wait()
	}
	s := openDir(t, dir)
	ents, err := os.ReadDir(s.ConfigDir())
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a temporary file the kill interrupted
		}
		files++
		if _, err := s.ReadConfigFile(context.Background(), e.Name()); err != nil {
			t.Errorf("%s after SIGKILL: %v", e.Name(), err)
		}
	}
	if files < 12 {
		t.Fatalf("only %d files saved", files)
	}
}

// FuzzConfigFileName: whatever name a user types, the file commands open
// nothing outside the configuration directory and nothing but a regular
// file: an accepted name is one path element naming a regular file inside
// it, and no refusal quotes the planted foreign file.
func FuzzConfigFileName(f *testing.F) {
	s := openTest(f)
	dir := s.ConfigDir()
	outside := filepath.Join(f.TempDir(), "outside.xml")
	if err := os.WriteFile(outside, []byte("foreign-content-never-shown\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	os.Symlink(outside, filepath.Join(dir, "link.xml"))
	os.Symlink("../config.db", filepath.Join(dir, "up.xml"))
	syscall.Mkfifo(filepath.Join(dir, "fifo.xml"), 0o600)
	os.WriteFile(filepath.Join(dir, "ok.xml"), []byte("<config/>\n"), 0o600)
	for _, seed := range []string{"ok.xml", "../x", "/etc/passwd", "link.xml", "up.xml", "fifo.xml", "..", ".", "", "a/b",
		`a\b`, "ok.xml/", "./ok.xml", "ok.xml\x00", "\x1b[2J", outside, "ok.xml\n", strings.Repeat("a", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		file, err := s.OpenConfigFile(name)
		if err != nil {
			if strings.Contains(err.Error(), "foreign-content") {
				t.Fatalf("%q: error quotes content: %v", name, err)
			}
			var fe *FileError
			if !errors.As(err, &fe) && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%q: unexpected error %T %v", name, err, err)
			}
			return
		}
		defer file.Close()
		if filepath.Base(name) != name || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			t.Fatalf("%q accepted but is not one plain path element", name)
		}
		st, err := file.Stat()
		if err != nil || !st.Mode().IsRegular() {
			t.Fatalf("%q: opened a non-regular file %v", name, st.Mode())
		}
		in, err := os.Lstat(filepath.Join(dir, name))
		if err != nil || !os.SameFile(in, st) {
			t.Fatalf("%q: opened a file that is not the folder's entry", name)
		}
	})
}

// TestStaleTempsRemoved: saveconfig removes the temporary files a killed
// save left behind, once they are old enough not to be a save in progress.
func TestStaleTempsRemoved(t *testing.T) {
	s := openTest(t)
	dir := s.ConfigDir()
	old := filepath.Join(dir, ".esa.example.com-x.xml.tmp-123")
	fresh := filepath.Join(dir, ".esa.example.com-y.xml.tmp-456")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("<con"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveConfigFile(Defaults(), PlainSecrets); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file removed: %v", err)
	}
}
