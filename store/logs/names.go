package logs

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// File names follow the appliance (ESA-CLI §5.5, UG-8.0.1 p.893):
// "<Filename>.@<timestamp>.<status>", the timestamp being the time the file
// was begun and the status "c" for the file being written and "s" for a
// saved (rolled over) one. Several files begun within one second (rollovernow
// twice, a fixed test clock) get a sequence number after the stamp
// ("mail.log.@20190204T200847_1.s") so that names stay unique and sort in
// the order the files were begun.
const stampLayout = "20060102T150405"

// fileKey orders the files of one subscription: by the stamp, then by the
// sequence number within one stamp.
type fileKey struct {
	stamp string // stampLayout
	seq   int
}

func (k fileKey) less(o fileKey) bool {
	if k.stamp != o.stamp {
		return k.stamp < o.stamp
	}
	return k.seq < o.seq
}

// logFile is one file of a subscription found on disk.
type logFile struct {
	path    string
	prefix  string // the subscription's Filename when the file was begun
	key     fileKey
	current bool // status "c"
}

func (f logFile) base() string { return filepath.Base(f.path) }

// fileName is the base name of a file begun under prefix with key k.
func fileName(prefix string, k fileKey, current bool) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(".@")
	b.WriteString(k.stamp)
	if k.seq > 0 {
		b.WriteByte('_')
		b.WriteString(strconv.Itoa(k.seq))
	}
	if current {
		b.WriteString(".c")
	} else {
		b.WriteString(".s")
	}
	return b.String()
}

// parseFileName is the inverse of fileName. Names of other files in a log
// directory (anything an administrator dropped there) are rejected, so they
// are neither listed, searched nor pruned.
func parseFileName(name string) (prefix string, k fileKey, current bool, ok bool) {
	switch {
	case strings.HasSuffix(name, ".c"):
		current = true
	case strings.HasSuffix(name, ".s"):
	default:
		return "", fileKey{}, false, false
	}
	name = name[:len(name)-2]
	i := strings.LastIndex(name, ".@")
	if i <= 0 {
		return "", fileKey{}, false, false
	}
	prefix, rest := name[:i], name[i+2:]
	if len(rest) < len(stampLayout) || !validStamp(rest[:len(stampLayout)]) {
		return "", fileKey{}, false, false
	}
	k.stamp, rest = rest[:len(stampLayout)], rest[len(stampLayout):]
	if rest != "" {
		// "_N": N a positive decimal without leading zeros, so that every
		// accepted name is exactly the one fileName makes.
		if rest[0] != '_' || len(rest) < 2 || len(rest) > 10 || rest[1] == '0' {
			return "", fileKey{}, false, false
		}
		for _, c := range rest[1:] {
			if c < '0' || c > '9' {
				return "", fileKey{}, false, false
			}
		}
		k.seq, _ = strconv.Atoi(rest[1:])
	}
	return prefix, k, current, true
}

func validStamp(s string) bool {
	_, err := time.Parse(stampLayout, s)
	return err == nil && len(s) == len(stampLayout)
}

// listDir returns the log files in dir: the saved ones oldest first, then
// the current one(s). A missing directory has no files.
func listDir(dir string) ([]logFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var files []logFile
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		prefix, k, cur, ok := parseFileName(e.Name())
		if !ok {
			continue
		}
		files = append(files, logFile{path: filepath.Join(dir, e.Name()), prefix: prefix, key: k, current: cur})
	}
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.current != b.current {
			return !a.current
		}
		return a.key.less(b.key)
	})
	return files, nil
}

// openLogFile opens f for reading. The current file may have been rolled
// over (renamed to its saved name) since it was listed; then the saved name
// is opened instead, which holds the same lines and more.
func openLogFile(f logFile) (*os.File, error) {
	r, err := os.Open(f.path)
	if err != nil && f.current && os.IsNotExist(err) {
		r, err = os.Open(filepath.Join(filepath.Dir(f.path), fileName(f.prefix, f.key, false)))
	}
	return r, err
}
