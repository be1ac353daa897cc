package main

import (
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/delivery/queue"

	"github.com/emersion/go-smtp"
)

// The delivery crash test's shape: deliveryKills SIGKILLs of the daemon
// while it delivers (and while clients still submit) to a sink that
// records every message; each life delivers a random share first, so the
// kills land in connection set-up, in DATA, between the sink's 250 and
// the queue's record of it, and in the record itself.
const (
	deliveryKills       = 12
	deliveryClients     = 4
	deliveryMessages    = 1500 // the clients stop early at this many 250s
	deliveryConcurrency = 4    // destconfig concurrency limit for the sink's domain
	deliveryPerConn     = 10   // messages per connection
)

// recordingSink is an SMTP server that records each message it answered
// 250 to, with the daemon's life it arrived in. It records before it
// answers, so a message the daemon saw 250 for is always recorded.
type recordingSink struct {
	mu    sync.Mutex
	life  int              // the daemon life now running (set before it starts)
	got   map[string][]int // token -> the lives it was delivered in
	count int              // deliveries in all
	inLif map[int]int      // life -> deliveries
	cond  *sync.Cond       // broadcast at each delivery
	bad   []string         // messages without a token
}

func newRecordingSink() *recordingSink {
	s := &recordingSink{got: map[string][]int{}, inLif: map[int]int{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// NewSession notes the life the connection belongs to: the test moves to
// the next life only after the previous daemon is dead and before the
// next starts, so a connection accepted now comes from the daemon of this
// life, whenever its message completes.
func (s *recordingSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &recordingSession{s: s, life: s.life}, nil
}

type recordingSession struct {
	s    *recordingSink
	life int
}

func (x *recordingSession) Reset()                               {}
func (x *recordingSession) Logout() error                        { return nil }
func (x *recordingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *recordingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *recordingSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		// The daemon died in the middle of DATA: no 250, nothing delivered.
		return err
	}
	tok := crashToken(b)
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == "" {
		s.bad = append(s.bad, fmt.Sprintf("%.200q", b))
		return nil
	}
	s.got[tok] = append(s.got[tok], x.life)
	s.count++
	s.inLif[x.life]++
	s.cond.Broadcast()
	return nil
}

// TestSIGKILLDuringDelivery is issue 14's crash test: the real daemon
// relays to a route's host (a recording sink) and is killed with SIGKILL
// deliveryKills times in the middle of delivery, then left to finish.
// Every message that got 250 from the daemon must reach the sink at least
// once. A message is delivered again only when the daemon was killed after
// the sink's 250 and before the queue recorded it (the queue entry is
// removed only after the remote 250, RFC 5321 §6.1, so such a delivery is
// retried: at-least-once); so every duplicate must have its first delivery
// in a life that ended by a kill and its next in a later life, and each
// kill explains at most one duplicate per connection in flight
// (deliveryConcurrency).
func TestSIGKILLDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test (SIGKILLs of esa serve during delivery) skipped in -short mode")
	}
	bin := esaBinary(t)
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	sk := newRecordingSink()
	srv := smtp.NewServer(sk)
	srv.Domain = "sink.example"
	srv.MaxMessageBytes = 1 << 20
	// Each kill resets the sink's connections; that is expected, not news.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	sinkPort := ln.Addr().(*net.TCPAddr).Port

	port := freeRelayPort(t, rng)
	script := relayListenerScript(port, "127.0.0.1") +
		fmt.Sprintf("smtproutes\nnew\nexample.com\n127.0.0.1:%d\n\n", sinkPort) +
		// destconfig NEW example.com: concurrency limit, messages per
		// connection, no recipient limit, one limit for the domain,
		// system wide; no TLS, bounce tagging, profile or IP sort.
		fmt.Sprintf("destconfig\nnew\nexample.com\ny\n%d\ny\n%d\nN\n1\n1\nN\nN\nN\nN\n\n", deliveryConcurrency, deliveryPerConn) +
		"commit\nroute to the sink\n\n"
	out, errs, code := pipe(t, dir, script)
	if code != 0 || !strings.Contains(out, "Changes committed: ") {
		t.Fatalf("configuring: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if strings.Contains(out, "Please answer") || strings.Contains(out, "Value must") {
		t.Fatalf("the configuration script went out of step with the questions:\n%s", out)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		lf    = &life{ready: make(chan struct{})}
		wg    sync.WaitGroup
		done  = make(chan struct{}) // closed when the clients have enough 250s
		once  sync.Once
	)
	for c := range deliveryClients {
		wg.Add(1)
		cr := rand.New(rand.NewSource(seed + int64(c) + 1))
		go func() {
			defer wg.Done()
			crashClient(addr, fmt.Sprintf("d%d", c), lf, cr, done, nil, func(token, _ string) {
				mu.Lock()
				acked[token] = true
				if len(acked) >= deliveryMessages {
					once.Do(func() { close(done) })
				}
				mu.Unlock()
			})
		}()
	}

	start := time.Now()
	var killedAfter []int // deliveries in each killed life
	for kill := range deliveryKills {
		sk.mu.Lock()
		sk.life = kill
		sk.mu.Unlock()
		d := startDaemonProc(t, bin, dir)
		lf.mu.Lock()
		close(lf.ready)
		lf.mu.Unlock()
		// Let this life deliver a random share, then kill it a random
		// moment later.
		want := 15 + rng.Intn(50)
		timedOut := false
		timer := time.AfterFunc(30*time.Second, func() {
			sk.mu.Lock()
			timedOut = true
			sk.cond.Broadcast()
			sk.mu.Unlock()
		})
		sk.mu.Lock()
		for sk.inLif[kill] < want && !timedOut {
			sk.cond.Wait()
		}
		got := sk.inLif[kill]
		sk.mu.Unlock()
		timer.Stop()
		if got < want {
			d.kill()
			t.Fatalf("life %d: only %d deliveries in 30s\nstderr:\n%s", kill, got, d.stderr.String())
		}
		time.Sleep(time.Duration(rng.Intn(15)) * time.Millisecond)
		lf.mu.Lock()
		lf.ready = make(chan struct{})
		lf.mu.Unlock()
		d.kill()
		sk.mu.Lock()
		killedAfter = append(killedAfter, sk.inLif[kill])
		sk.mu.Unlock()
	}
	// The last life: the clients stop, delivery empties the queue.
	sk.mu.Lock()
	sk.life = deliveryKills
	sk.mu.Unlock()
	d := startDaemonProc(t, bin, dir)
	lf.mu.Lock()
	lf.stop = true
	close(lf.ready)
	lf.mu.Unlock()
	wg.Wait()
	empty := regexp.MustCompile(`(?m)^Messages:\s+0$`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, _ := pipe(t, dir, "workqueue status\n")
		if empty.MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			d.kill()
			t.Fatalf("the queue did not empty in the last life:\n%s\nstderr:\n%s", out, d.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("esa serve exit %d after SIGTERM\nstderr:\n%s", code, d.stderr.String())
	}
	elapsed := time.Since(start)

	q, err := queue.Open(filepath.Join(dir, "queue"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if bad := q.SetAside(); len(bad) != 0 {
		t.Errorf("queue files damaged by the kills: %v", bad)
	}
	if n := len(q.List()); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}

	sk.mu.Lock()
	defer sk.mu.Unlock()
	if len(sk.bad) > 0 {
		t.Errorf("%d messages without a token reached the sink, e.g. %s", len(sk.bad), sk.bad[0])
	}
	var lost []string
	for tok := range acked {
		if len(sk.got[tok]) == 0 {
			lost = append(lost, tok)
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Errorf("%d messages got 250 from the daemon but never reached the sink, e.g. %v", len(lost), lost[:min(len(lost), 10)])
	}
	// Duplicates: each must be explained by a kill between the sink's 250
	// and the queue's record of it.
	dupPerLife := map[int]int{}
	dups := 0
	var dupLog []string
	for tok, lives := range sk.got {
		for i := 1; i < len(lives); i++ {
			dups++
			prev := lives[i-1]
			dupPerLife[prev]++
			dupLog = append(dupLog, fmt.Sprintf("%s delivered in lives %v", tok, lives))
			if lives[i] == prev || prev >= deliveryKills {
				t.Errorf("%s delivered twice in life %d with no kill in between (lives %v): a recorded 250 was delivered again", tok, prev, lives)
			}
		}
	}
	sort.Strings(dupLog)
	for _, l := range dupLog {
		t.Log("duplicate: " + l)
	}
	for l, n := range dupPerLife {
		if n > deliveryConcurrency {
			t.Errorf("life %d ended by a kill left %d duplicates; at most %d deliveries (one per connection) can be between a 250 and its record", l, n, deliveryConcurrency)
		}
	}
	if dups > deliveryKills*deliveryConcurrency {
		t.Errorf("%d duplicates, more than kills × concurrency = %d", dups, deliveryKills*deliveryConcurrency)
	}
	unacked := 0
	for tok := range sk.got {
		if !acked[tok] {
			unacked++ // committed by the daemon, killed before its 250 to the client
		}
	}
	t.Logf("%d kills in %v (deliveries per killed life %v): %d acknowledged messages, all delivered; %d deliveries in all, %d duplicates (each after a kill between the sink's 250 and the queue's record), %d delivered although the client saw no 250",
		deliveryKills, elapsed.Round(time.Millisecond), killedAfter, len(acked), sk.count, dups, unacked)
}
