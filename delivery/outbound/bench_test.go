package outbound

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esa/delivery/queue"
)

const (
	benchBatch       = 400
	benchConcurrency = 4
	benchPerConn     = 50
)

var benchBody = "Subject: bench\r\nFrom: alice@example.test\r\n\r\n" + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst\r\n", 60)

// BenchmarkEngineVsBare delivers batches of messages from the durable
// queue to a loopback go-smtp sink with STARTTLS, over benchConcurrency
// connections reused up to benchPerConn messages, and in the same run a
// bare go-smtp client sends the same messages over the same kind of
// connections. It reports both rates and engine/bare (target ≥ 0.70). The
// engine's figure includes what durability costs: reading each message
// from its file and recording each delivery in the queue (fsync).
func BenchmarkEngineVsBare(b *testing.B) {
	bd := newBed(b, []row{{name: "sink", kind: kindCA}}, nil)
	domain := "sink.ins.test"
	addr := fmt.Sprintf("%s:%d", bd.ips[domain], bd.port)
	pol := Policy{TLS: TLSPreferred, Concurrency: benchConcurrency, MessagesPerConn: benchPerConn}
	var engineTime, bareTime time.Duration
	for i := 0; b.Loop(); i++ {
		dir := b.TempDir()
		q, err := queue.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		mids := map[uint64]bool{}
		for n := range benchBatch {
			mids[submitTo(b, q, "alice@example.test", true, benchBody, fmt.Sprintf("r%d-%d@%s", i, n, domain))] = true
		}
		q.Close()
		// The preload's writes must not still be draining while one side
		// is timed; and the two sides take turns going first.
		syscall.Sync()
		if i%2 == 1 {
			start := time.Now()
			bare(b, addr, domain, i)
			bareTime += time.Since(start)
		}
		// The engine runs over the opened queue, paused; the clock starts
		// when delivery is released.
		hs := newHarnessOpt(b, dir, Config{Resolver: bd.res, Port: bd.port, Policy: func(string) Policy { return pol }}, true)
		start := time.Now()
		hs.q.Resume()
		hs.e.DeliverNow("all")
		for _, ev := range hs.waitAll(mids) {
			if ev.Outcome != Delivered || !ev.TLS {
				b.Fatalf("%+v", ev)
			}
		}
		engineTime += time.Since(start)
		hs.stop()
		if i%2 == 0 {
			start = time.Now()
			bare(b, addr, domain, i)
			bareTime += time.Since(start)
		}
	}
	n := float64(b.N * benchBatch)
	eng, bar := n/engineTime.Seconds(), n/bareTime.Seconds()
	b.ReportMetric(eng, "engine_msgs/s")
	b.ReportMetric(bar, "bare_msgs/s")
	b.ReportMetric(eng/bar, "engine/bare")
}

// bare sends benchBatch messages with go-smtp's client: benchConcurrency
// connections, STARTTLS, up to benchPerConn messages each.
func bare(b *testing.B, addr, domain string, round int) {
	var wg sync.WaitGroup
	next := make(chan int, benchBatch)
	for n := range benchBatch {
		next <- n
	}
	close(next)
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					b.Error(err)
					return
				}
				sent := 0
				for sent < benchPerConn {
					n, ok := <-next
					if !ok {
						break
					}
					sent++
					if err := c.Mail("alice@example.test", nil); err != nil {
						b.Error(err)
						return
					}
					if err := c.Rcpt(fmt.Sprintf("b%d-%d@%s", round, n, domain), nil); err != nil {
						b.Error(err)
						return
					}
					w, err := c.Data()
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := w.Write([]byte(benchBody)); err != nil {
						b.Error(err)
						return
					}
					if err := w.Close(); err != nil {
						b.Error(err)
						return
					}
				}
				c.Quit()
				if sent < benchPerConn {
					return
				}
			}
		}()
	}
	wg.Wait()
}
