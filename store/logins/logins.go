// Package logins keeps the appliance's login history for `last`: a small
// append-only file in the data directory, one line per login and one per
// logout, bounded by compaction and safe against a crash at any instant.
//
// Each record is one line written with a single write(2) on an O_APPEND
// descriptor and fsynced before Record returns, so a crash leaves at most
// one torn last line. Open repairs that (the torn fragment is ended with a
// newline and then skipped as damaged), and the reader skips any line it
// cannot parse, so a damaged file loses only its damaged lines. When the
// file holds more than twice the bound, it is rewritten with the newest
// sessions only (logins and logouts merged) into a temporary file that is
// fsynced and renamed over the old one, and the directory is fsynced: a
// crash during compaction leaves either the old or the new file whole.
//
// The package imports nothing of ours.
package logins

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FileName is the history's file in the data directory.
const FileName = "logins"

// version prefixes every line, so a later format can be told apart.
const version = "v1"

// maxLineBytes bounds one record: longer lines are damage.
const maxLineBytes = 1024

// Login is one session: who, from where, and when it began and ended. Out
// is zero while the session is open.
type Login struct {
	User       string
	RemoteAddr string
	In, Out    time.Time
}

// Log is an open login history. It is safe for concurrent use by the
// sessions of one process; the data directory's lock keeps other processes
// out.
type Log struct {
	path string
	max  int

	mu    sync.Mutex
	f     *os.File
	lines int // lines in the file, for the compaction trigger
}

// Open opens (creating it if need be) the history in dir, keeping at least
// the max newest sessions (max < 1 means 1000).
func Open(dir string, max int) (*Log, error) {
	if max < 1 {
		max = 1000
	}
	l := &Log{path: filepath.Join(dir, FileName), max: max}
	data, err := readTail(l.path, l.maxBytes())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l.f = f
	l.lines = bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		// A torn last line from a crash: end it so the next record starts
		// on a line of its own; the reader skips the fragment.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, err
		}
		l.lines++
	}
	if err := l.compactIfNeeded(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// maxBytes is the most of the file the reader looks at: generously more
// than 2*max lines of the longest valid record, so a file grown by a
// damaged writer cannot make reading it unbounded.
func (l *Log) maxBytes() int64 { return int64(2*l.max+2) * maxLineBytes }

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Record appends a login (Out zero) or the logout of the session that began
// at In, and makes it durable before returning.
func (l *Log) Record(r Login) error {
	line, err := format(r)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	// One write: O_APPEND makes it land whole at the end, and a crash
	// tears at most this line.
	if _, err := l.f.Write(line); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	l.lines++
	return l.compactIfNeeded()
}

// CloseOpen records a logout at t for every session still open in the
// history: the daemon calls it at start, for the sessions a crash or a
// restart ended without their logout being written.
func (l *Log) CloseOpen(t time.Time) error {
	all, err := l.Recent(l.max)
	if err != nil {
		return err
	}
	for _, s := range all {
		if s.Out.IsZero() {
			s.Out = t
			if err := l.Record(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// Recent returns at most n sessions, the newest login first.
func (l *Log) Recent(n int) ([]Login, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := readTail(l.path, l.maxBytes())
	if err != nil {
		return nil, err
	}
	all := merge(data)
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	return all, nil
}

// compactIfNeeded rewrites the file with the newest max sessions once it
// holds more than 2*max lines. Called with l.mu held.
func (l *Log) compactIfNeeded() error {
	if l.lines <= 2*l.max {
		return nil
	}
	data, err := readTail(l.path, l.maxBytes())
	if err != nil {
		return err
	}
	keep := merge(data)
	if len(keep) > l.max {
		keep = keep[:l.max]
	}
	var b bytes.Buffer
	for i := len(keep) - 1; i >= 0; i-- { // oldest first, as appended
		line, err := format(keep[i])
		if err != nil {
			continue
		}
		b.Write(line)
	}
	tmp := l.path + ".tmp"
	if err := writeSync(tmp, b.Bytes()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		return err
	}
	// The old descriptor appends to the replaced inode: reopen.
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	l.f.Close()
	l.f = f
	l.lines = len(keep)
	return nil
}

func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readTail returns at most max bytes from the end of the file, starting at
// a line boundary.
func readTail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := int64(0)
	if st.Size() > max {
		off = st.Size() - max
	}
	data, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil, err
	}
	if off > 0 {
		// The first line is cut: drop it.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
	return data, nil
}

// format renders one record:
//
//	v1 IN OUT "user" "addr"
//
// with the times in Unix nanoseconds (OUT 0 for a login) and the names
// quoted as Go strings, so no byte of them can end the line or the field.
func format(r Login) ([]byte, error) {
	if r.In.IsZero() {
		return nil, errors.New("logins: a record needs its login time")
	}
	out := int64(0)
	if !r.Out.IsZero() {
		out = r.Out.UnixNano()
	}
	line := fmt.Sprintf("%s %d %d %s %s\n", version, r.In.UnixNano(), out, strconv.Quote(r.User), strconv.Quote(r.RemoteAddr))
	if len(line) > maxLineBytes {
		return nil, errors.New("logins: user name or address too long")
	}
	return []byte(line), nil
}

// ParseLine parses one record line (without its newline).
func ParseLine(s string) (Login, error) {
	bad := fmt.Errorf("logins: damaged record %q", s)
	if len(s) > maxLineBytes {
		return Login{}, bad
	}
	rest, ok := strings.CutPrefix(s, version+" ")
	if !ok {
		return Login{}, bad
	}
	var nums [2]int64
	for i := range nums {
		f, r, ok := strings.Cut(rest, " ")
		if !ok {
			return Login{}, bad
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 || (i == 0 && n == 0) {
			return Login{}, bad
		}
		nums[i], rest = n, r
	}
	var strs [2]string
	for i := range strs {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil || q[0] != '"' {
			return Login{}, bad
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			return Login{}, bad
		}
		strs[i], rest = v, rest[len(q):]
		if i == 0 {
			if rest, ok = strings.CutPrefix(rest, " "); !ok {
				return Login{}, bad
			}
		}
	}
	if rest != "" {
		return Login{}, bad
	}
	r := Login{User: strs[0], RemoteAddr: strs[1], In: time.Unix(0, nums[0]).UTC()}
	if nums[1] != 0 {
		r.Out = time.Unix(0, nums[1]).UTC()
	}
	return r, nil
}

type key struct {
	in         int64
	user, addr string
}

// merge pairs logins with their logouts and returns the sessions, newest
// login first. Damaged lines are skipped.
func merge(data []byte) []Login {
	idx := map[key]int{}
	var all []Login
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		r, err := ParseLine(line)
		if err != nil {
			continue
		}
		k := key{r.In.UnixNano(), r.User, r.RemoteAddr}
		if i, ok := idx[k]; ok {
			if !r.Out.IsZero() {
				all[i].Out = r.Out
			}
			continue
		}
		idx[k] = len(all)
		all = append(all, r)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].In.After(all[j].In) })
	return all
}
