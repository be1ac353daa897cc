package logs

import (
	"os"
	"strings"
	"testing"
	"time"

	"esa/store"
)

// After the current file is removed behind the appliance's back, Reopen
// begins a new one and the next lines are readable again.
func TestReopenAfterRemoval(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m := NewManager(dir, func() time.Time { return now })
	defer m.Close()
	cfg := store.Defaults().Logs
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	l := m.Logger(store.LogTypeMail)
	l.Info("before")
	files, _ := m.Files("mail_logs")
	for _, f := range files {
		os.Remove(f)
	}
	if err := m.Reopen(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	l.Info("after reopen")
	files, _ = m.Files("mail_logs")
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	data, _ := os.ReadFile(files[0])
	if !strings.Contains(string(data), "Info: after reopen") || strings.Contains(string(data), "before") {
		t.Fatalf("file after reopen:\n%s", data)
	}
}
