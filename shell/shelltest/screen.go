package shelltest

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// Screen is a terminal screen a session writes from its own goroutines (a
// readline editor, a following tail) while the test reads it.
type Screen struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor polls the screen until text appears on it count times, and fails
// the test if that takes more than ten seconds (a hung session, not a slow
// machine).
func (s *Screen) WaitFor(t testing.TB, text string, count int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.String(), text) < count {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d× %q; screen:\n%s", count, text, s.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
