package queue

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashChild runs in a re-executed test binary: it commits messages from
// several goroutines and prints "MID sha256" for each one only after Commit
// returned, exactly when a listener would answer 250.
func crashChild(dir string, writers int) {
	q, err := Open(dir)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(time.Now().UnixNano() + int64(g)))
			for {
				mid, err := q.IDs().Next(MID)
				if err != nil {
					fmt.Println("ERR", err)
					os.Exit(3)
				}
				body := make([]byte, 1+r.Intn(20000))
				r.Read(body)
				w, err := q.NewMessage()
				if err != nil {
					os.Exit(3)
				}
				w.Write(body)
				if err := w.Commit(Envelope{MID: mid, Recipients: []string{"r@example.com"}}); err != nil {
					fmt.Println("ERR", err)
					os.Exit(3)
				}
				sum := sha256.Sum256(body)
				mu.Lock()
				fmt.Fprintf(out, "%d %s\n", mid, hex.EncodeToString(sum[:]))
				out.Flush()
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("ESA_QUEUE_CRASH_CHILD"); dir != "" {
		crashChild(dir, 8)
		return
	}
	os.Exit(m.Run())
}

// TestSIGKILLNeverLosesACommit kills a process committing messages from 8
// goroutines at random moments, 20 times, and checks that every message whose
// Commit returned is in the queue afterwards, byte-identical, once.
func TestSIGKILLNeverLosesACommit(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	acked := map[uint64]string{}
	for round := 0; round < 20; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ESA_QUEUE_CRASH_CHILD="+dir)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the child to be committing, then kill it a little later,
		// so kills land in the middle of writes, fsyncs and renames.
		first := <-lines
		time.Sleep(time.Duration(r.Intn(30)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		for _, l := range append([]string{first}, drain(lines)...) {
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("child: %s", l)
			}
			mid, sum, _ := strings.Cut(l, " ")
			n, err := strconv.ParseUint(mid, 10, 64)
			if err != nil {
				// The kill cut a line short: that message's 250 never went out.
				continue
			}
			if _, dup := acked[n]; dup {
				t.Fatalf("MID %d acknowledged twice", n)
			}
			acked[n] = sum
		}
	}
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bad := q.SetAside(); len(bad) != 0 {
		t.Fatalf("damaged files after kills: %v", bad)
	}
	for mid, sum := range acked {
		b, err := q.Body(mid)
		if err != nil {
			t.Fatalf("acknowledged MID %d lost: %v", mid, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, b); err != nil {
			t.Fatalf("MID %d: %v", mid, err)
		}
		b.Close()
		if hex.EncodeToString(h.Sum(nil)) != sum {
			t.Fatalf("MID %d not byte-identical", mid)
		}
	}
	n, _ := q.Len()
	t.Logf("%d acknowledged commits over 20 kills; %d messages in the queue (the rest committed but killed before the acknowledgement)", len(acked), n)
	if len(acked) < 20 {
		t.Fatalf("only %d acknowledged commits: the test did not exercise the queue", len(acked))
	}
}

func drain(c chan string) []string {
	var out []string
	for l := range c {
		out = append(out, l)
	}
	return out
}
