package shell

import (
	"testing"

	"esa/shell/shelltest"
)

// TestTranscripts replays every golden shell transcript through the plain
// editor (STYLE.md item 9).
func TestTranscripts(t *testing.T) {
	t.Parallel()
	shelltest.CheckAll(t, "../testdata/transcripts/shell_*.txt", runDemo)
}
