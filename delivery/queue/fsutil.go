package queue

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// writeFileAtomic replaces name with data: a temporary file in the same
// directory, fsync, rename, fsync of the directory. A crash leaves either the
// old file or the new one, never a mix or an empty file.
func writeFileAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// groupSync shares directory fsyncs between concurrent callers. A caller
// that has finished its rename calls Sync; it returns once an fsync that
// started after the call has completed. While one fsync runs, every caller
// that arrives waits for the next one, which then covers all of them: with
// N writers in flight the directory is synced about twice per batch instead
// of N times.
//
// A failed fsync is sticky: after it the kernel may have dropped the dirty
// pages and a later fsync can report success for data that never reached the
// disk (the PostgreSQL "fsyncgate" lesson), so every later Sync fails too and
// the listeners answer 451 until the process is restarted.
type groupSync struct {
	dir    string
	syncFn func(string) error
	// closeFn closes the directory syncFn holds open, if any.
	closeFn func() error

	mu      sync.Mutex
	cond    *sync.Cond
	want    uint64 // tickets handed out
	done    uint64 // every ticket <= done is durable
	running bool
	err     error // sticky
}

func newGroupSync(dir string) *groupSync {
	g := &groupSync{dir: dir, syncFn: syncDir}
	// The directory stays open for the queue's life: opening it for every
	// fsync cost an open, a close and the runtime's poller probes each time.
	if d, err := openNoPoll(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0); err == nil {
		g.syncFn = func(string) error { return d.Sync() }
		g.closeFn = d.Close
	}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Sync makes every directory change made before the call durable.
func (g *groupSync) Sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.want++
	ticket := g.want
	for g.done < ticket && g.err == nil {
		if g.running {
			g.cond.Wait()
			continue
		}
		// Lead a new fsync covering every ticket handed out so far: their
		// renames happened before they took the ticket.
		g.running = true
		target := g.want
		g.mu.Unlock()
		err := g.syncFn(g.dir)
		g.mu.Lock()
		g.running = false
		if err != nil {
			g.err = err
		} else {
			g.done = target
		}
		g.cond.Broadcast()
	}
	return g.err
}

// openNoPoll opens a queue file with open(2) itself: os.OpenFile would also
// try to register the regular file with the runtime's poller, which epoll
// refuses on Linux, costing system calls on every message for nothing.
func openNoPoll(path string, flag int, perm uint32) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, perm)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// createTemp makes a new file dir/<prefix><random> for writing, mode 0600.
func createTemp(dir, prefix string) (*os.File, error) {
	for {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		f, err := openNoPoll(filepath.Join(dir, prefix+hex.EncodeToString(b[:])), syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, err
	}
}

// close releases the directory held open for fsyncs.
func (g *groupSync) close() {
	if g.closeFn != nil {
		g.closeFn()
	}
}
