package store

import (
	"fmt"
	"testing"
)

// bigLogs gives c n log subscriptions.
func bigLogs(c *Config, n int) {
	c.Logs.Subscriptions = c.Logs.Subscriptions[:0]
	for i := 0; i < n; i++ {
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, LogSubscription{
			Name: fmt.Sprintf("log_%04d", i), Type: LogTypeMail, Level: LevelInfo,
			Retrieval: RetrievalManual, Filename: "mail.log", MaxSize: 10485760, MaxFiles: 10,
		})
	}
}

func seed1000(b *testing.B) *Store {
	s := openTest(b)
	ss := s.NewSession("bench")
	if err := ss.Update(func(c *Config) error { bigLogs(c, 1000); return nil }); err != nil {
		b.Fatal(err)
	}
	if _, err := ss.Commit("1000 logs", true); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCommit1000 is one commit (with its fsync) of a one-entry change
// in a table of 1,000 log subscriptions, including the Update that makes it.
func BenchmarkCommit1000(b *testing.B) {
	for _, rollback := range []bool{false, true} {
		b.Run(fmt.Sprintf("rollbackPoint=%v", rollback), func(b *testing.B) {
			s := seed1000(b)
			ss := s.NewSession("bench")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := ss.Update(func(c *Config) error {
					c.Logs.Subscriptions[i%1000].MaxFiles = 11 + i%7
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ss.Commit("bench", rollback); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen is Open + Close of a store holding 1,000 log subscriptions.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ss := s.NewSession("bench")
	ss.Update(func(c *Config) error { bigLogs(c, 1000); return nil })
	if _, err := ss.Commit("1000 logs", true); err != nil {
		b.Fatal(err)
	}
	s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Committed().Logs.Subscriptions) != 1000 {
			b.Fatal("table lost")
		}
		s.Close()
	}
}
