package dkim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testdataDir is the shared conformance material (../../../shared/testdata/dkim
// from this package); tests that need it skip when it is absent.
func testdataDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "dkim", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared DKIM test data not available (%s): %v", dir, err)
	}
	return dir
}

// errTimeout and errServFail stand for the resolver failures a zone file
// can ask for.
var (
	errTimeout  = fmt.Errorf("query timed out: %w", context.DeadlineExceeded)
	errServFail = errors.New("SERVFAIL")
)

// mapResolver answers from a map; names not in it are NXDOMAIN.
type mapResolver struct {
	mu      sync.Mutex
	records map[string][]string
	errs    map[string]error
	queries int
}

func newMapResolver() *mapResolver {
	return &mapResolver{records: map[string][]string{}, errs: map[string]error{}}
}

func (m *mapResolver) add(name, txt string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	m.records[name] = append(m.records[name], txt)
}

func (m *mapResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queries++
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if err := m.errs[name]; err != nil {
		return nil, err
	}
	if r, ok := m.records[name]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
}

// loadZone reads the README's dns.txt format: `<name> TXT "<value>" ...`
// (several quoted strings are concatenated), `<name> NXDOMAIN`,
// `<name> TIMEOUT`; ";" starts a comment outside quotes. The first record
// given for a name wins unless all is set (dkimpy re-binds names per test).
func loadZone(t testing.TB, path string, all bool) *mapResolver {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := newMapResolver()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case rest == "NXDOMAIN":
			continue
		case rest == "TIMEOUT":
			m.errs[strings.ToLower(strings.TrimSuffix(name, "."))] = errTimeout
			continue
		case strings.HasPrefix(rest, "TXT"):
			rest = strings.TrimSpace(rest[3:])
		default:
			t.Fatalf("%s: cannot read %q", path, line)
		}
		var val strings.Builder
		for {
			rest = strings.TrimSpace(rest)
			if !strings.HasPrefix(rest, `"`) {
				break
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				t.Fatalf("%s: unterminated string in %q", path, line)
			}
			val.WriteString(rest[1 : end+1])
			rest = rest[end+2:]
		}
		key := strings.ToLower(strings.TrimSuffix(name, "."))
		if _, seen := m.records[key]; seen && !all {
			continue
		}
		m.add(name, val.String())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixedClock returns a Now function for the verifier.
func fixedClock(tm time.Time) func() time.Time { return func() time.Time { return tm } }

type bufioR = bufio.Reader

func newBufioR(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
