package queue

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

const benchWriters = 50

// runWriters runs b.N operations spread over benchWriters goroutines.
func runWriters(b *testing.B, op func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < benchWriters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
}

// BenchmarkRawWriteFsync is the disk's own rate for what the queue must do
// per message: write 10 KiB, fsync the file, fsync the directory, with 50
// writers. The queue's rate (BenchmarkCommit) is judged against it.
func BenchmarkRawWriteFsync(b *testing.B) {
	dir := b.TempDir()
	body := bytes.Repeat([]byte("x"), 10<<10)
	b.SetBytes(int64(len(body)))
	runWriters(b, func(i int) error {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			return err
		}
		if _, err := f.Write(body); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		f.Close()
		return syncDir(dir)
	})
}

// BenchmarkCommit is the queue's durable commit of a 10 KiB message with 50
// concurrent writers (ID, temp file, body, envelope, fsync, rename, shared
// directory fsync).
func BenchmarkCommit(b *testing.B) {
	q, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 10<<10)
	b.SetBytes(int64(len(body)))
	runWriters(b, func(i int) error {
		mid, err := q.IDs().Next(MID)
		if err != nil {
			return err
		}
		w, err := q.NewMessage()
		if err != nil {
			return err
		}
		w.Write(body)
		return w.Commit(Envelope{MID: mid, ICID: 1, From: "a@example.org", Recipients: []string{"b@example.com"}})
	})
}
