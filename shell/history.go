package shell

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// historyLimit is how many command lines the history keeps.
const historyLimit = 500

// historyFile is the terminal's command history on disk (DATA/cli_history).
// It holds command lines only, and only its owner may read it: a command
// line can still hold something private (a host name, a search), and the
// file used to be created world-readable.
type historyFile struct {
	path  string
	mu    sync.Mutex
	f     *os.File
	lines []string // the newest historyLimit lines, at open
	n     int      // lines in the file
}

// openHistory opens (creating) path with mode 0600, tightening the mode of
// an existing file, and reads its newest lines.
func openHistory(path string) (*historyFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	h := &historyFile{path: path, f: f}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLength)
	for sc.Scan() {
		h.n++
		// A line with control characters would be drawn raw when
		// recalled: it cannot have come from Run, skip it.
		if l := strings.TrimSpace(sc.Text()); l != "" && !needsEscaping(l) {
			h.lines = append(h.lines, sc.Text())
			if len(h.lines) > 2*historyLimit {
				h.lines = append(h.lines[:0:0], h.lines[len(h.lines)-historyLimit:]...)
			}
		}
	}
	// A line too long to scan ends the reading: keep what was read.
	if len(h.lines) > historyLimit {
		h.lines = h.lines[len(h.lines)-historyLimit:]
	}
	return h, nil
}

// add appends line; when the file has grown to twice the limit it is
// rewritten with the newest lines, through a 0600 temporary file.
func (h *historyFile) add(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil || needsEscaping(line) {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > historyLimit {
		h.lines = h.lines[len(h.lines)-historyLimit:]
	}
	if _, err := h.f.WriteString(line + "\n"); err != nil {
		return // history is a convenience; never fail a command for it
	}
	h.n++
	if h.n > 2*historyLimit {
		h.rewrite()
	}
}

func (h *historyFile) rewrite() {
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".cli_history-*")
	if err != nil {
		return
	}
	// CreateTemp makes the file 0600 already.
	w := bufio.NewWriter(tmp)
	for _, l := range h.lines {
		w.WriteString(l + "\n")
	}
	if w.Flush() != nil || tmp.Sync() != nil || tmp.Close() != nil || os.Rename(tmp.Name(), h.path) != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		h.f.Close()
		h.f = nil
		return
	}
	h.f.Close()
	h.f, h.n = f, len(h.lines)
}

func (h *historyFile) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return nil
	}
	err := h.f.Close()
	h.f = nil
	return err
}
