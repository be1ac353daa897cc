// Package logstest builds log subscriptions with known content for tests of
// the logs package and of the grep and tail commands.
package logstest

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"esa/store"
	"esa/store/logs"
)

// Start is the time a Clock made by NewClock(time.Time{}) starts at: a
// single-digit day, so lines show the appliance's space-padded day.
var Start = time.Date(2019, time.February, 4, 20, 8, 47, 0, time.UTC)

// Clock is a settable clock for logs.Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t (Start when t is zero).
func NewClock(t time.Time) *Clock {
	if t.IsZero() {
		t = Start
	}
	return &Clock{t: t}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sub is a manual-download subscription as logconfig NEW makes it by
// default: files "<name>.log", 10485760 bytes, 10 files kept.
func Sub(name, logType string, level store.LogLevel) store.LogSubscription {
	return store.LogSubscription{
		Name: name, Type: logType, Level: level, Retrieval: store.RetrievalManual,
		Filename: name + ".log", MaxSize: 10485760, MaxFiles: 10,
	}
}

// NewManager starts a manager in a new temporary directory with subs
// applied and the ticker off (tests roll over through the clock and
// RollOver); it is closed when the test ends.
func NewManager(t testing.TB, c *Clock, subs ...store.LogSubscription) *logs.Manager {
	t.Helper()
	m := logs.New(filepath.Join(t.TempDir(), "logs"), logs.Options{Now: c.Now, Tick: -1})
	if err := m.Apply(store.Logs{Subscriptions: subs}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Line is the text of line i of file f written by Fill: mail_logs-like, so
// that grep patterns such as "MID 1002" or "file 1$" pick known lines.
func Line(f, i int) string {
	return fmt.Sprintf("MID %d ICID %d line %d of file %d", 1000*(f+1)+i, f+1, i, f)
}

// Fill writes to subscription name (of type logType) rolled saved files and
// then a current file, each with perFile Info lines Line(f, i); the clock
// advances one second per line and rollover. File f of m.Files(name)
// (counting the files Fill made, oldest first) then holds:
//
//	<time> Info: Begin Logfile
//	<time> Info: Time offset from UTC: 0 seconds
//	<time> Info: Line(f, 0) ... Line(f, perFile-1)
//	<time> Info: Logfile rolled over   (saved files only)
//	<time> Info: End Logfile           (saved files only)
//
// The first of them is the file current when Fill is called.
func Fill(t testing.TB, m *logs.Manager, c *Clock, name, logType string, rolled, perFile int) {
	t.Helper()
	l := m.Logger(logType)
	for f := 0; f <= rolled; f++ {
		for i := 0; i < perFile; i++ {
			c.Advance(time.Second)
			l.Info("%s", Line(f, i))
		}
		if f < rolled {
			c.Advance(time.Second)
			if err := m.RollOver(name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Mail returns a manager with one mail_logs subscription (Information
// level, Filename "mail.log") filled by Fill with rolled saved files and
// a current one of perFile lines each, and its clock.
func Mail(t testing.TB, rolled, perFile int) (*logs.Manager, *Clock) {
	t.Helper()
	c := NewClock(time.Time{})
	s := Sub("mail_logs", store.LogTypeMail, store.LevelInfo)
	s.Filename = "mail.log"
	m := NewManager(t, c, s)
	Fill(t, m, c, "mail_logs", store.LogTypeMail, rolled, perFile)
	return m, c
}
