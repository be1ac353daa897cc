package logs_test

import (
	"testing"
	"time"

	"esa/store"
	"esa/store/logs"
	"esa/store/logs/logstest"
)

func benchManager(b *testing.B) *logs.Manager {
	c := logstest.NewClock(time.Time{})
	m := logs.New(b.TempDir(), logs.Options{Now: c.Now, Tick: -1})
	s := logstest.Sub("mail_logs", store.LogTypeMail, store.LevelInfo)
	if err := m.Apply(store.Logs{Subscriptions: []store.LogSubscription{s}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkLogLine: mail_logs-like lines to one subscription (10 MB files,
// so rollovers are included); lines/s is the figure to watch.
func BenchmarkLogLine(b *testing.B) {
	l := benchManager(b).Logger(store.LogTypeMail)
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		l.Info("MID %d ICID %d RID 0 To: <%s>", i, i/3, "bob@example.org")
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
}

// BenchmarkLogLineParallel: the same from many goroutines at once.
func BenchmarkLogLineParallel(b *testing.B) {
	l := benchManager(b).Logger(store.LogTypeMail)
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			l.Info("MID %d ICID %d RID 0 To: <%s>", i, i/3, "bob@example.org")
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
}

// BenchmarkLogLineFiltered: a Debug line no subscription wants costs no
// formatting and no write.
func BenchmarkLogLineFiltered(b *testing.B) {
	l := benchManager(b).Logger(store.LogTypeMail)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Debug("DNS query: Q(%q, %q) %d", "ietf.org", "MX", i)
	}
}
