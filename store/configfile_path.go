package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The file commands (saveconfig, loadconfig, dnsconfig's trust-anchor IMPORT
// and the IMPORT/EXPORT of later commands) read and write only regular
// files directly inside ConfigDir(), named by a plain file name (issue 12
// item 2). The shell is about to face remote users: a name must not reach
// /etc/shadow, climb out with "..", follow a symbolic link planted in the
// folder, or open a FIFO or device that blocks or has side effects.

// FileError is a file name or file the configuration directory rules refuse.
// Its text names the file as the user typed it and never quotes the file's
// content.
type FileError struct {
	Name   string
	Reason string
}

func (e *FileError) Error() string {
	return fmt.Sprintf("the file %q %s", e.Name, e.Reason)
}

// CheckConfigFileName accepts a plain file name for the configuration
// directory: not empty, at most 255 bytes (NAME_MAX), no "/" or "\", no
// control characters, not starting with "." (so neither "." nor ".." nor
// the hidden temporary files of WriteFileAtomic).
func CheckConfigFileName(name string) error {
	bad := name == "" || len(name) > 255 || name[0] == '.'
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		bad = c == '/' || c == '\\' || c < 0x20 || c == 0x7f
	}
	if bad {
		return &FileError{Name: name, Reason: "is not a plain file name: give the name of a file in the configuration directory, without a directory part or a leading \".\""}
	}
	return nil
}

// OpenConfigFile opens the regular file name inside ConfigDir() for
// reading. A missing file gives an error wrapping fs.ErrNotExist; a bad
// name, a symbolic link (even one pointing inside the folder), a FIFO, a
// socket, a device or a directory give a *FileError. The file is opened
// with O_NOFOLLOW and O_NONBLOCK, and checked again after the open, so a
// file swapped for a link or a FIFO between the check and the open is
// refused too and a FIFO cannot hang the session.
func (s *Store) OpenConfigFile(name string) (*os.File, error) {
	if err := CheckConfigFileName(name); err != nil {
		return nil, err
	}
	path := filepath.Join(s.ConfigDir(), name)
	st, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the file %q does not exist: %w", name, fs.ErrNotExist)
		}
		return nil, &FileError{Name: name, Reason: "cannot be read"}
	}
	if err := regularOnly(name, st); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, &FileError{Name: name, Reason: "is a symbolic link; only regular files in the configuration directory are read"}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the file %q does not exist: %w", name, fs.ErrNotExist)
		}
		return nil, &FileError{Name: name, Reason: "cannot be read"}
	}
	fst, err := f.Stat()
	if err == nil {
		err = regularOnly(name, fst)
		if err == nil && !os.SameFile(st, fst) {
			err = &FileError{Name: name, Reason: "changed while it was opened"}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func regularOnly(name string, st fs.FileInfo) error {
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return &FileError{Name: name, Reason: "is a symbolic link; only regular files in the configuration directory are read"}
	case !st.Mode().IsRegular():
		return &FileError{Name: name, Reason: "is not a regular file; only regular files in the configuration directory are read"}
	}
	// A hard link is another name of a file that may live anywhere on the
	// file system (/etc/shadow linked in by someone who could): files the
	// commands write have exactly one name.
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
		return &FileError{Name: name, Reason: "has other names (hard links); only files with one name in the configuration directory are read"}
	}
	return nil
}

// ReadConfigDirFile reads the whole regular file name inside ConfigDir(),
// refusing files larger than limit bytes. It returns at once with ctx's
// error when ctx ends first (Ctrl-C on a file on a slow or hung network
// file system).
func (s *Store) ReadConfigDirFile(ctx context.Context, name string, limit int64) ([]byte, error) {
	f, err := s.OpenConfigFile(name)
	if err != nil {
		return nil, err
	}
	data, err := readBounded(ctx, f, limit)
	if errors.Is(err, errTooLarge) {
		return nil, &FileError{Name: name, Reason: fmt.Sprintf("is larger than %d bytes", limit)}
	}
	if err != nil && ctx.Err() == nil {
		return nil, &FileError{Name: name, Reason: "cannot be read"}
	}
	return data, err
}

var errTooLarge = errors.New("too large")

// readBounded reads r to its end, at most limit bytes (errTooLarge past
// that), and closes r. The read runs on its own goroutine so that the
// caller returns as soon as ctx is done, even while a read system call is
// blocked; closing r then ends that goroutine's read where the system
// allows it.
func readBounded(ctx context.Context, r io.ReadCloser, limit int64) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		r.Close()
		if res.err != nil {
			return nil, res.err
		}
		if int64(len(res.b)) > limit {
			return nil, errTooLarge
		}
		return res.b, nil
	case <-ctx.Done():
		r.Close()
		return nil, ctx.Err()
	}
}

// WriteConfigDirFile writes data as the file name inside ConfigDir()
// (replacing an existing regular file of that name), atomically: see
// WriteFileAtomic. It is the EXPORT commands' writer.
func (s *Store) WriteConfigDirFile(name string, data []byte) error {
	if err := CheckConfigFileName(name); err != nil {
		return err
	}
	if err := os.MkdirAll(s.ConfigDir(), 0o700); err != nil {
		return err
	}
	if st, err := os.Lstat(filepath.Join(s.ConfigDir(), name)); err == nil {
		if err := regularOnly(name, st); err != nil {
			return err
		}
	}
	return WriteFileAtomic(filepath.Join(s.ConfigDir(), name), data, false)
}

// WriteFileAtomic writes data to path (mode 0600) so that path never exists
// empty or partly written, whenever the process dies: the data goes to a
// hidden temporary file in the same directory, is fsynced, then renamed over
// path (or, when exclusive, hard-linked to path, which fails with an error
// wrapping fs.ErrExist if path exists), and the directory is fsynced so the
// new name itself survives a power loss. A crash can leave only a
// ".NAME.tmp-*" file behind, which no file command reads.
func WriteFileAtomic(path string, data []byte, exclusive bool) error {
	return writeAtomic(path, data, exclusive, func(w io.Writer, b []byte) error {
		_, err := w.Write(b)
		return err
	})
}

// writeAtomic is WriteFileAtomic with the data writer as a parameter, so a
// test can make it fail half-way.
func writeAtomic(path string, data []byte, exclusive bool, write func(io.Writer, []byte) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = write(f, data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if exclusive {
		err = os.Link(tmp, path)
		os.Remove(tmp)
		if err != nil {
			return err
		}
	} else if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable (fsync of the directory,
// as rename(2) alone does not promise).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// staleTempAge is how old a temporary file of WriteFileAtomic must be before
// removeStaleTemps takes it for the leftover of a killed process: a write in
// progress lasts far less.
const staleTempAge = time.Hour

// removeStaleTemps deletes the ".NAME.tmp-*" files WriteFileAtomic left in
// dir when the process died mid-write and that were last written before
// cutoff. Errors are ignored: it is housekeeping.
func removeStaleTemps(dir string, cutoff time.Time) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, ".") || !strings.Contains(n, ".tmp-") || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, n))
		}
	}
}
