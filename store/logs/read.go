package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// GrepOptions are grep's options (ESA-CLI §6.1). Case-insensitive search
// (-i) is a "(?i)" prefix on Pattern.
type GrepOptions struct {
	Pattern     *regexp.Regexp
	Follow      bool   // -t: search the lines written from now on, until ctx is done
	FilePattern string // -f: glob on file base names; "" = all files
	Count       bool   // -c: print only the number of matching lines
	Context     int    // -C: lines of context around each match
}

// pollEvery bounds how long a follower sleeps without a wake-up from a
// writer, for the cases no writer pokes it (its subscription was removed
// and added again by Apply).
const pollEvery = 250 * time.Millisecond

// Grep writes the lines of subscription name's files that match o.Pattern,
// oldest file first, and returns how many lines matched. When more than one
// file is searched each line starts with the file's base name and ": "
// (ESA-CLI §6.2). With Count only the number is written. With Context,
// groups of lines that are not adjacent are separated by "--" as grep(1)
// does. With Follow the existing lines are skipped and the lines written
// from now on are searched, across rollovers, until ctx is done; the
// returned error is then ctx's.
func (m *Manager) Grep(ctx context.Context, name string, o GrepOptions, w io.Writer) (int, error) {
	if o.Pattern == nil {
		return 0, errors.New("grep: no pattern")
	}
	if o.FilePattern != "" {
		if _, err := filepath.Match(o.FilePattern, ""); err != nil {
			return 0, fmt.Errorf("bad file selection pattern %q: %w", o.FilePattern, err)
		}
	}
	files, err := m.files(name)
	if err != nil {
		return 0, err
	}
	g := &grepper{o: o, w: w}
	if o.Follow {
		err = m.follow(ctx, name, files, -1, func(base string, line []byte) error {
			if o.FilePattern != "" {
				if ok, _ := filepath.Match(o.FilePattern, base); !ok {
					return nil
				}
			}
			return g.line(base, line)
		})
	} else {
		err = g.search(ctx, files)
	}
	if o.Count && (err == nil || o.Follow) {
		if _, werr := fmt.Fprintf(w, "%d\n", g.matches); werr != nil && err == nil {
			err = werr
		}
	}
	return g.matches, err
}

// grepper matches lines and prints them with their context.
type grepper struct {
	o       GrepOptions
	w       io.Writer
	prefix  bool
	matches int

	// Context state: lines held back in case a match follows, lines
	// still to print after a match, and whether the last printed line
	// immediately precedes the next one.
	before   [][]byte
	beforeF  []string
	after    int
	printed  bool
	adjacent bool
}

func (g *grepper) search(ctx context.Context, files []logFile) error {
	var sel []logFile
	for _, f := range files {
		if g.o.FilePattern != "" {
			if ok, _ := filepath.Match(g.o.FilePattern, f.base()); !ok {
				continue
			}
		}
		sel = append(sel, f)
	}
	g.prefix = len(sel) > 1
	for _, f := range sel {
		r, err := openLogFile(f)
		if os.IsNotExist(err) {
			continue // pruned since listed
		}
		if err != nil {
			return err
		}
		err = g.file(ctx, r, f.base())
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// file searches the complete lines of one file; a last line still being
// written (no newline yet) is left for the next search.
func (g *grepper) file(ctx context.Context, r io.Reader, base string) error {
	g.before, g.beforeF, g.after, g.adjacent = g.before[:0], g.beforeF[:0], 0, false
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it whole (the
			// slice is only valid until the next read).
			head := append([]byte(nil), line...)
			rest, err2 := br.ReadBytes('\n')
			line, err = append(head, rest...), err2
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := g.line(base, line); err != nil {
			return err
		}
	}
}

// line handles the next line (with its newline) of file base.
func (g *grepper) line(base string, line []byte) error {
	if g.o.Pattern.Match(bytes.TrimSuffix(line, []byte("\n"))) {
		g.matches++
		if g.o.Count {
			return nil
		}
		for i, b := range g.before {
			if err := g.emit(g.beforeF[i], b); err != nil {
				return err
			}
		}
		g.before, g.beforeF = g.before[:0], g.beforeF[:0]
		g.after = g.o.Context
		return g.emit(base, line)
	}
	if g.o.Count || g.o.Context == 0 {
		return nil
	}
	if g.after > 0 {
		g.after--
		return g.emit(base, line)
	}
	if len(g.before) == g.o.Context {
		// A line falls out of the context: the next group is not
		// adjacent to what was printed.
		g.before, g.beforeF = g.before[1:], g.beforeF[1:]
		g.adjacent = false
	}
	g.before = append(g.before, append([]byte(nil), line...))
	g.beforeF = append(g.beforeF, base)
	return nil
}

func (g *grepper) emit(base string, line []byte) error {
	if g.o.Context > 0 && g.printed && !g.adjacent {
		if _, err := io.WriteString(g.w, "--\n"); err != nil {
			return err
		}
	}
	g.printed, g.adjacent = true, true
	if g.prefix {
		if _, err := io.WriteString(g.w, base+": "); err != nil {
			return err
		}
	}
	_, err := g.w.Write(line)
	return err
}

// Tail writes the last lines lines of subscription name, reaching back into
// saved files when the current one is shorter. With follow it then writes
// every new line, across rollovers, until ctx is done, and returns ctx's
// error.
//
// The work is linear in the bytes written and the memory constant: the
// files are scanned backwards for line ends in fixed chunks, then the
// chosen range is copied through. (Gathering the lines in memory took
// minutes and a gigabyte for one 200 MB line.)
func (m *Manager) Tail(ctx context.Context, name string, lines int, follow bool, w io.Writer) error {
	files, err := m.files(name)
	if err != nil {
		return err
	}
	type part struct {
		f          *os.File
		start, end int64
	}
	var parts []part
	defer func() {
		for _, p := range parts {
			p.f.Close()
		}
	}()
	need := max(lines, 0)
	endOff := int64(-1) // where following resumes in the newest file
	for i := len(files) - 1; i >= 0 && (need > 0 || i == len(files)-1); i-- {
		r, err := openLogFile(files[i])
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		start, end, n, err := lastLines(r, need)
		if err != nil {
			r.Close()
			return err
		}
		if i == len(files)-1 {
			endOff = end
		}
		parts = append(parts, part{r, start, end})
		need -= n
	}
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if _, err := io.Copy(w, io.NewSectionReader(p.f, p.start, p.end-p.start)); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	return m.follow(ctx, name, files, endOff, func(_ string, line []byte) error {
		_, err := w.Write(line)
		return err
	})
}

// lastLines finds the last n complete lines of r: they are the bytes from
// start to end, end being the offset just after the last complete line,
// and there are count of them (fewer than n when the file is shorter). It
// reads backwards in fixed chunks and keeps none of the data.
func lastLines(r *os.File, n int) (start, end int64, count int, err error) {
	st, err := r.Stat()
	if err != nil {
		return 0, 0, 0, err
	}
	buf := make([]byte, 64<<10)
	end = -1
	for pos := st.Size(); pos > 0; {
		size := min(int64(len(buf)), pos)
		pos -= size
		b := buf[:size]
		if _, err := r.ReadAt(b, pos); err != nil && err != io.EOF {
			return 0, 0, 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			at := pos + int64(i)
			if end < 0 {
				end = at + 1
				if n == 0 {
					return end, end, 0, nil
				}
				continue
			}
			// The line after this newline is complete.
			count++
			if count == n {
				return at + 1, end, count, nil
			}
		}
	}
	if end < 0 {
		return 0, 0, 0, nil // no complete line
	}
	return 0, end, count + 1, nil // the file's first line too
}

// follow calls fn for every complete line written to subscription name
// from offset off of the newest of files (off < 0: from its current end),
// moving on to each file begun after it, until ctx is done.
func (m *Manager) follow(ctx context.Context, name string, files []logFile, off int64, fn func(base string, line []byte) error) error {
	fl := &follower{m: m, name: name}
	if len(files) > 0 {
		last := files[len(files)-1]
		if r, err := openLogFile(last); err == nil {
			if off < 0 {
				_, off, _, err = lastLines(r, 0)
				if err != nil {
					r.Close()
					return err
				}
			}
			fl.r, fl.key, fl.base, fl.off = r, last.key, last.base(), off
		} else if !os.IsNotExist(err) {
			return err
		} else {
			fl.key = last.key
		}
	}
	defer fl.close()
	return fl.run(ctx, fn)
}

type follower struct {
	m    *Manager
	name string

	r       *os.File // nil: waiting for a file after key
	key     fileKey
	base    string
	off     int64
	partial []byte
	buf     []byte
}

func (fl *follower) close() {
	if fl.r != nil {
		fl.r.Close()
	}
}

// When ctx ends, the lines already written to the file being read are
// still passed on before run returns ctx's error: what was logged before
// the Ctrl-C is shown (and counted by grep -t -c), whatever point of its
// loop the follower had reached.
func (fl *follower) run(ctx context.Context, fn func(string, []byte) error) error {
	err := fl.loop(ctx, fn)
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		if _, derr := fl.drain(context.Background(), fn); derr != nil {
			return derr
		}
	}
	return err
}

func (fl *follower) loop(ctx context.Context, fn func(string, []byte) error) error {
	timer := time.NewTimer(pollEvery)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Register before reading so that a write after the read
		// cannot be missed.
		var wake <-chan struct{}
		unwatch := func() {}
		if s, err := fl.m.sub(fl.name); err == nil {
			wake, unwatch = s.watch()
		}
		got, err := fl.drain(ctx, fn)
		if err == nil && !got {
			// Nothing new here: has the file been saved and a newer
			// one begun? A file is complete once a newer one exists,
			// so read what was left, then move on.
			var moved bool
			if moved, err = fl.next(ctx, fn); err == nil && moved {
				got = true
			}
		}
		if err != nil {
			unwatch()
			return err
		}
		if !got {
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(pollEvery)
			select {
			case <-ctx.Done():
			case <-wake:
			case <-timer.C:
			}
		}
		unwatch()
	}
}

// drain reads the file to its end and passes on each complete line.
func (fl *follower) drain(ctx context.Context, fn func(string, []byte) error) (bool, error) {
	if fl.r == nil {
		return false, nil
	}
	if fl.buf == nil {
		fl.buf = make([]byte, 64<<10)
	}
	got := false
	for {
		if err := ctx.Err(); err != nil {
			return got, err
		}
		n, err := fl.r.ReadAt(fl.buf, fl.off)
		fl.off += int64(n)
		data := fl.buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				fl.partial = append(fl.partial, data...)
				break
			}
			line := data[:i+1]
			if len(fl.partial) > 0 {
				line = append(fl.partial, line...)
				fl.partial = fl.partial[:0]
			}
			got = true
			if ferr := fn(fl.base, line); ferr != nil {
				return got, ferr
			}
			data = data[i+1:]
		}
		if err == io.EOF || n == 0 {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// next switches to the file begun after the one being read, if there is
// one, after reading the rest of the old one.
func (fl *follower) next(ctx context.Context, fn func(string, []byte) error) (bool, error) {
	files, err := fl.m.files(fl.name)
	if err != nil {
		return false, nil // removed from the configuration: wait for it
	}
	for _, f := range files {
		if !fl.key.less(f.key) {
			continue
		}
		if _, err := fl.drain(ctx, fn); err != nil {
			return false, err
		}
		r, err := openLogFile(f)
		if os.IsNotExist(err) {
			continue // pruned already
		}
		if err != nil {
			return false, err
		}
		fl.close()
		fl.r, fl.key, fl.base, fl.off, fl.partial = r, f.key, f.base(), 0, fl.partial[:0]
		return true, nil
	}
	return false, nil
}
