package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"esa/store"
)

// Line texts the appliance writes around a file's lines (ESA-CLI §11.7
// gives "Info: Begin Logfile", "Info: Time offset from UTC: N seconds" and
// "Info: End Logfile" verbatim; "Info: Logfile rolled over" before the end
// of a rolled file is how AsyncOS marks a rollover [I]).
const (
	textBegin    = "Begin Logfile"
	textOffset   = "Time offset from UTC: %d seconds"
	textRolled   = "Logfile rolled over"
	textEnd      = "End Logfile"
	lineTimeLen  = len("Mon Jan _2 15:04:05 2006")
	timeLayout   = "Mon Jan _2 15:04:05 2006"
	rolledTrail  = 2*(lineTimeLen+1) + len("Info: "+textRolled+"\n") + len("Info: "+textEnd+"\n")
	maxSeqPerSec = 999999999 // parseFileName reads at most nine digits
)

// sub is one running subscription: its configuration and current file.
type sub struct {
	m   *Manager
	dir string

	mu      sync.Mutex
	cfg     store.LogSubscription
	f       *os.File // nil when closed or when the file could not be begun
	path    string   // current file
	prefix  string   // Filename the current file was begun under
	key     fileKey  // of the current file, or the newest file on disk
	size    int64
	started time.Time
	body    bool // a line besides the header was written
	closed  bool
	err     error // last error beginning a file, retried on the next write

	// Lines that could not be written since the last successful write,
	// the last error, and whether a failed write left half a line.
	lost   int64
	werr   error
	broken bool
	// Every line lost since the subscription started, and the last
	// error: Manager.Losses, for the session that caused them.
	lostTotal int64
	lastErr   error

	// Followers (tail -f, grep -t) wait on watchers; writers poke them
	// without blocking.
	nwatch   atomic.Int32
	wmu      sync.Mutex
	watchers map[chan struct{}]struct{}
}

// newSub starts subscription c. Files a previous process left current
// (after a crash: Close saves them) are saved first, so that exactly one
// file is current. The sub is returned even on error: it retries beginning
// a file on each write.
func newSub(m *Manager, c store.LogSubscription) (*sub, error) {
	s := &sub{m: m, dir: m.subDir(c.Name), cfg: c, watchers: map[chan struct{}]struct{}{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := mkdir(s.dir); err != nil {
		s.err = err
		return s, err
	}
	files, err := listDir(s.dir)
	if err != nil {
		s.err = err
		return s, err
	}
	// The newest current file under this Filename is continued: a shell
	// started and stopped many times (every piped esa run) must not roll
	// the logs each time, or MaxFiles would soon prune real history. Any
	// other current file (a crash during a rename, an older Filename) is
	// saved so that exactly one file is current.
	var cont *logFile
	for i := range files {
		f := &files[i]
		if f.current && f.prefix == c.Filename && (cont == nil || cont.key.less(f.key)) {
			cont = f
		}
	}
	for _, f := range files {
		if f.current && (cont == nil || f.path != cont.path) {
			os.Rename(f.path, filepath.Join(s.dir, fileName(f.prefix, f.key, false)))
		}
		if s.key.less(f.key) {
			s.key = f.key
		}
	}
	if cont != nil {
		if err := s.resume(*cont); err == nil {
			return s, nil
		}
		os.Rename(cont.path, filepath.Join(s.dir, fileName(cont.prefix, cont.key, false)))
	}
	return s, s.begin(m.now())
}

// resume continues writing the current file f left by an earlier process.
// The caller holds s.mu.
func (s *sub) resume(f logFile) error {
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return err
	}
	started, err := time.ParseInLocation(stampLayout, f.key.stamp, s.m.now().Location())
	if err != nil {
		started = s.m.now()
	}
	s.f, s.path, s.prefix, s.key, s.size, s.started, s.body, s.err = fh, f.path, f.prefix, f.key, st.Size(), started, true, nil
	return nil
}

// begin starts a new current file at time t with the appliance's header
// lines. The caller holds s.mu.
func (s *sub) begin(t time.Time) error {
	k := fileKey{stamp: t.Format(stampLayout)}
	// Keep names unique and in the order files were begun, even when the
	// clock repeats a second or steps back: the new key is after the last.
	if !s.key.less(k) {
		k = fileKey{stamp: s.key.stamp, seq: s.key.seq + 1}
		if s.key.seq == maxSeqPerSec {
			return errors.New("too many log files begun in one second")
		}
	}
	path := filepath.Join(s.dir, fileName(s.cfg.Filename, k, true))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if os.IsNotExist(err) {
		// The directory was removed under the running appliance (an
		// administrator cleaning up DATA/logs): make it again.
		if err = mkdir(s.dir); err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		}
	}
	if err != nil {
		s.err = err
		return err
	}
	_, offset := t.Zone()
	hdr := appendLine(nil, t, store.LevelInfo, textBegin, nil)
	hdr = appendLine(hdr, t, store.LevelInfo, textOffset, []any{offset})
	n, err := f.Write(hdr)
	s.f, s.path, s.prefix, s.key, s.size, s.started, s.body, s.err = f, path, s.cfg.Filename, k, int64(n), t, false, nil
	s.notify()
	return err
}

// finish ends the current file: the rollover line when it rolls over, the
// end line, then the rename to the saved name. The caller holds s.mu.
func (s *sub) finish(t time.Time, rolled bool) error {
	if s.f == nil {
		return nil
	}
	var trail []byte
	if rolled {
		trail = appendLine(trail, t, store.LevelInfo, textRolled, nil)
	}
	trail = appendLine(trail, t, store.LevelInfo, textEnd, nil)
	_, werr := s.f.Write(trail)
	cerr := s.f.Close()
	s.f = nil
	rerr := os.Rename(s.path, filepath.Join(s.dir, fileName(s.prefix, s.key, false)))
	// A follower may be waiting for the file to grow: it must look for the
	// next one.
	s.notify()
	return errors.Join(werr, cerr, rerr)
}

// roll saves the current file, begins the next and prunes saved files
// beyond MaxFiles. The caller holds s.mu.
func (s *sub) roll(t time.Time) error {
	err := s.finish(t, true)
	return errors.Join(err, s.begin(t), s.prune())
}

// prune removes the oldest saved files beyond MaxFiles (ESA-CLI §5.5:
// manual-download logs are kept "until they reach the maximum number you
// specify"). The caller holds s.mu.
func (s *sub) prune() error {
	if s.cfg.MaxFiles <= 0 {
		return nil
	}
	files, err := listDir(s.dir)
	if err != nil {
		return err
	}
	var saved []logFile
	for _, f := range files {
		if !f.current {
			saved = append(saved, f)
		}
	}
	var errs []error
	for i := 0; i < len(saved)-s.cfg.MaxFiles; i++ {
		if err := os.Remove(saved[i].path); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// write appends one formatted line, rolling over first when the line would
// take the file past MaxSize (with room kept for the rollover lines) or
// when RolloverInterval has passed since the file was begun.
func (s *sub) write(t time.Time, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.f == nil && s.begin(t) != nil {
		s.failed(s.err)
		return
	}
	s.clockBack(t)
	if s.due(t, int64(len(line))) {
		s.roll(t)
		if s.f == nil {
			s.failed(s.err)
			return
		}
	}
	if s.lost > 0 {
		s.writeLost(t)
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	s.body = true
	if err != nil {
		if n > 0 {
			s.broken = true
		}
		s.failed(err)
	}
	s.notify()
}

// failed counts a line that could not be written (disk full, file too
// large, the directory gone) and keeps the error for Manager.Err.
func (s *sub) failed(err error) {
	s.lost++
	s.lostTotal++
	if err != nil {
		s.werr, s.lastErr = err, err
	}
}

// writeLost records in the file itself, once writing works again, how many
// lines were lost and why, so that a gap in a log is never silent. The
// caller holds s.mu.
func (s *sub) writeLost(t time.Time) {
	var b []byte
	if s.broken {
		b = append(b, '\n') // end the line cut short by the failed write
	}
	b = appendLine(b, t, store.LevelWarning, "%d log lines could not be written: %v", []any{s.lost, s.werr})
	n, err := s.f.Write(b)
	s.size += int64(n)
	if err == nil {
		s.lost, s.werr, s.broken = 0, nil, false
	}
}

// clockBack restarts the rollover interval when the clock has stepped back
// before the current file was begun (an NTP correction, a wrong clock at
// boot): otherwise the file would not roll over by time until the clock
// caught up again, which could be years. The caller holds s.mu.
func (s *sub) clockBack(t time.Time) {
	if t.Before(s.started) {
		s.started = t
	}
}

// due reports whether the current file must roll over before n more bytes
// are written at time t. A file holding only its header never rolls over
// for size, so a line longer than MaxSize still gets written.
func (s *sub) due(t time.Time, n int64) bool {
	return s.timeUp(t) || s.cfg.MaxSize > 0 && s.body && s.size+n+int64(rolledTrail) > s.cfg.MaxSize
}

// timeUp reports whether RolloverInterval seconds have passed since the
// current file was begun.
func (s *sub) timeUp(t time.Time) bool {
	iv := s.cfg.RolloverInterval
	return iv > 0 && !t.Before(s.started.Add(time.Duration(iv)*time.Second))
}

// check runs on every tick: it rolls the file over when its time is up,
// for logs nobody writes, and begins a new file (in a new directory if
// need be) when the current one was removed from under the appliance;
// lines written to the removed file since the last tick are lost, and the
// new file says so.
func (s *sub) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	t := s.m.now()
	if s.f == nil {
		if s.begin(t) == nil && s.lost > 0 {
			s.writeLost(t)
		}
		return
	}
	if _, err := os.Stat(s.path); os.IsNotExist(err) {
		gone := filepath.Base(s.path)
		s.f.Close()
		s.f = nil
		if s.begin(t) == nil {
			line := appendLine(nil, t, store.LevelWarning, "log file %s was removed while in use; lines written just before may be lost", []any{gone})
			n, _ := s.f.Write(line)
			s.size += int64(n)
		}
		return
	}
	s.clockBack(t)
	if s.timeUp(t) {
		s.roll(t)
	}
}

func (s *sub) rollNow() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	t := s.m.now()
	if s.f == nil {
		return s.begin(t)
	}
	return s.roll(t)
}

// update applies a changed configuration of the same name.
func (s *sub) update(c store.LogSubscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cfg
	s.cfg = c
	if s.f != nil && old.Filename != c.Filename {
		// The current file is saved under its old name; the next file
		// takes the new one.
		return s.roll(s.m.now())
	}
	if c.MaxFiles < old.MaxFiles {
		return s.prune()
	}
	return nil
}

// close finishes the current file (saved with its end line) and stops
// writing; the files stay on disk. It is for a subscription that was
// removed from the configuration.
func (s *sub) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.finish(s.m.now(), false)
}

// stop closes the current file but leaves it current, for the next process
// to continue (Manager.Close at shutdown).
func (s *sub) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.f == nil {
		s.closed = true
		return nil
	}
	s.closed = true
	err := s.f.Close()
	s.f = nil
	s.notify()
	return err
}

func (s *sub) watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.wmu.Lock()
	s.watchers[ch] = struct{}{}
	s.nwatch.Add(1)
	s.wmu.Unlock()
	return ch, func() {
		s.wmu.Lock()
		delete(s.watchers, ch)
		s.nwatch.Add(-1)
		s.wmu.Unlock()
	}
}

// notify wakes the followers without ever blocking: each watcher channel
// holds one pending wake-up.
func (s *sub) notify() {
	if s.nwatch.Load() == 0 {
		return
	}
	s.wmu.Lock()
	for ch := range s.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.wmu.Unlock()
}

// appendLine formats one appliance line (ESA-CLI §11): the time with a
// space-padded day, the level word, the text. Line breaks inside the text
// are escaped so that one call is always one line.
func appendLine(b []byte, t time.Time, l store.LogLevel, format string, a []any) []byte {
	b = t.AppendFormat(b, timeLayout)
	b = append(b, ' ')
	b = append(b, l.Prefix()...)
	b = append(b, ':', ' ')
	start := len(b)
	if a == nil {
		b = append(b, format...)
	} else {
		b = fmt.Appendf(b, format, a...)
	}
	for i := start; i < len(b); i++ {
		if c := b[i]; c == '\n' || c == '\r' {
			b = escapeBreaks(b, start)
			break
		}
	}
	return append(b, '\n')
}

func escapeBreaks(b []byte, start int) []byte {
	text := append([]byte(nil), b[start:]...)
	b = b[:start]
	for _, c := range text {
		switch c {
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, c)
		}
	}
	return b
}

// moveTo moves the subscription's files to dir (a renamed subscription):
// the current file goes on being written where it now is, and grep and
// tail find the whole history under the new name. Files already in dir (a
// subscription of that name deleted earlier) stay; a name clash, which
// would need the same file name and time stamp, leaves that one file
// behind.
func (s *sub) moveTo(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := mkdir(dir); err != nil {
		return err
	}
	files, err := listDir(s.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		to := filepath.Join(dir, filepath.Base(f.path))
		if _, err := os.Lstat(to); err == nil {
			errs = append(errs, fmt.Errorf("log file %s not moved: %s exists", f.path, to))
			continue
		}
		if err := os.Rename(f.path, to); err != nil {
			errs = append(errs, err)
			continue
		}
		if f.path == s.path {
			s.path = to
		}
	}
	os.Remove(s.dir) // only if empty
	s.dir = dir
	return errors.Join(errs...)
}
