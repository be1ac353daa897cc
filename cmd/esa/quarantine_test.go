package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/store"
	"esa/store/logs"
	"esa/store/quarantines"
)

// TestSweepQuarantines: a quarantine's retention ends with its default
// action (Policy deletes, a release quarantine releases), a message whose
// quarantine is gone follows Policy, and each is logged.
func TestSweepQuarantines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(dir, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss := st.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.Quarantines.Quarantines = append(c.Quarantines.Quarantines,
			quarantines.Quarantine{Name: "Review", RetentionHours: 1, DefaultAction: quarantines.ActionRelease})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("q", false); err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(filepath.Join(dir, "queue"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	put := func(quarantine string, age time.Duration) uint64 {
		mid, _ := q.IDs().Next(queue.MID)
		w, err := q.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "Subject: x\r\n\r\nx\r\n")
		if err := w.Commit(queue.Envelope{MID: mid, ICID: 1, Received: now.Add(-age), From: "a@example.org",
			Recipients: []string{"b@example.com"}, Quarantine: quarantine}); err != nil {
			t.Fatal(err)
		}
		return mid
	}
	young := put("Policy", time.Hour)
	old := put("Policy", 11*24*time.Hour)
	review := put("Review", 2*time.Hour)
	gone := put("Deleted", 11*24*time.Hour)
	lm := logs.NewManager(filepath.Join(dir, "logs"), func() time.Time { return now })
	if err := lm.Apply(st.Committed().Logs); err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	sweepOnce(st, q, lm.Logger(store.LogTypeMail), now)
	if e, ok := q.Get(young); !ok || !e.Held() {
		t.Error("a message within its retention left the quarantine")
	}
	for _, mid := range []uint64{old, gone} {
		if _, ok := q.Get(mid); ok {
			t.Errorf("MID %d past Policy's retention is still queued", mid)
		}
	}
	if e, ok := q.Get(review); !ok || e.Held() {
		t.Error("Review's message was not released")
	}
	lm.Close()
	b, _ := readAll(filepath.Join(dir, "logs"))
	for _, want := range []string{"MID 2 deleted from quarantine Policy (retention expired)", "MID 3 released from quarantine Review (retention expired)", "MID 4 deleted from quarantine Deleted"} {
		if !strings.Contains(b, want) {
			t.Errorf("mail_logs lacks %q:\n%s", want, b)
		}
	}
}

// readAll is every log file under dir, concatenated.
func readAll(dir string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.Write(data)
		return err
	})
	return b.String(), err
}
