package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"esa/shell"

	"esa/delivery/queue"
)

// TestSelectionPending: which pending recipients showrecipients and
// deleterecipients choose by host, by sender and all.
func TestSelectionPending(t *testing.T) {
	t.Parallel()
	e := queue.Entry{
		Envelope: queue.Envelope{MID: 7, From: "Alice@Sender.Example",
			Recipients: []string{"a@example.org", "b@EXAMPLE.ORG", "c@sub.example.org", `"x@y"@example.org`, "d@example.org.", "e@[192.0.2.1]", "f@example.net"}},
		State: queue.State{Done: map[int]string{0: "delivered"}},
	}
	for _, c := range []struct {
		name string
		s    selection
		want []int
	}{
		// The host is the domain after the last "@", any case, a final dot
		// ignored; a subdomain is another host; done recipients are skipped.
		{"host", selection{how: byHost, value: "example.org"}, []int{1, 3, 4}},
		{"subdomain", selection{how: byHost, value: "sub.example.org"}, []int{2}},
		{"literal", selection{how: byHost, value: "[192.0.2.1]"}, []int{5}},
		{"other host", selection{how: byHost, value: "example.com"}, nil},
		// The sender's domain matches in any case, its local part exactly.
		{"sender", selection{how: bySender, value: "Alice@sender.example"}, []int{1, 2, 3, 4, 5, 6}},
		{"sender local case", selection{how: bySender, value: "alice@sender.example"}, nil},
		{"null sender", selection{how: bySender, value: ""}, nil},
		{"all", selection{how: byAll}, []int{1, 2, 3, 4, 5, 6}},
	} {
		if got := c.s.pending(e); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v selects %v, want %v", c.name, c.s, got, c.want)
		}
	}
	bounce := queue.Entry{Envelope: queue.Envelope{From: "", Recipients: []string{"a@example.org"}}}
	if got := (selection{how: bySender, value: ""}).pending(bounce); !reflect.DeepEqual(got, []int{0}) {
		t.Errorf("the null sender selects %v of a bounce, want [0]", got)
	}
}

// TestSelectionAnswers: the host and sender questions' validators.
func TestSelectionAnswers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v         func(string) (string, error)
		in, want  string
		wantError bool
	}{
		{recipientHost, "Example.ORG.", "example.org", false},
		{recipientHost, "[192.0.2.1]", "[192.0.2.1]", false},
		{recipientHost, "bad host", "", true},
		{recipientHost, "[a b]", "", true},
		{envelopeSender, "<Bob@Example.COM>", "Bob@example.com", false},
		{envelopeSender, "<>", "<>", false},
		{envelopeSender, `"odd@local"@example.com`, `"odd@local"@example.com`, false},
		{envelopeSender, "nobody", "", true},
		{envelopeSender, "@example.com", "", true},
		{envelopeSender, "a b@example.com", "", true},
		{envelopeSender, "a@bad_host!", "", true},
	} {
		got, err := c.v(c.in)
		if (err != nil) != c.wantError || got != c.want {
			t.Errorf("%q: got %q, %v; want %q (error %v)", c.in, got, err, c.want, c.wantError)
		}
	}
}

// TestDeleteLastRecipientRemovesFiles: deleting a message's last pending
// recipients removes its files from the queue directory, and the queue
// opened again does not hold it; a message with recipients left keeps its
// files and records the deletions in its state.
func TestDeleteLastRecipientRemovesFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(from string, rcpts ...string) uint64 {
		mid, err := q.IDs().Next(queue.MID)
		if err != nil {
			t.Fatal(err)
		}
		w, err := q.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("Subject: x\r\n\r\nbody\r\n"))
		if err := w.Commit(queue.Envelope{MID: mid, From: from, Recipients: rcpts}); err != nil {
			t.Fatal(err)
		}
		return mid
	}
	gone := commit("a@example.com", "x@doomed.example", "y@doomed.example")
	kept := commit("b@example.com", "x@doomed.example", "z@safe.example")
	// One recipient of the first message already delivered: the host
	// deletion takes the last pending one.
	if err := q.SetDone(gone, "delivered", 0); err != nil {
		t.Fatal(err)
	}
	var logged []string
	n, held, err := deleteRecipients(context.Background(), q, selection{how: byHost, value: "doomed.example"}, func(f string, a ...any) {
		logged = append(logged, fmt.Sprintf(f, a...))
	})
	if err != nil || n != 2 || held != 0 {
		t.Fatalf("deleted %d (%d held left), %v; want 2", n, held, err)
	}
	want := []string{"Deleted: MID 1 to [1]", "Message finished MID 1 aborted", "Deleted: MID 2 to [0]"}
	if !reflect.DeepEqual(logged, want) {
		t.Errorf("logged %q, want %q", logged, want)
	}
	if o := q.Outcomes(); o["deleted"] != 2 || o["delivered"] != 1 {
		t.Errorf("outcomes counted %v, want 2 deleted and 1 delivered", o)
	}
	for _, name := range []string{"1.msg", "1.st"} {
		if _, err := os.Stat(filepath.Join(dir, "msg", name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after its last recipient was deleted: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "msg", "2.msg")); err != nil {
		t.Errorf("the message with a recipient left lost its file: %v", err)
	}
	q.Close()
	q, err = queue.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, ok := q.Get(gone); ok {
		t.Errorf("MID %d is back after reopening", gone)
	}
	e, ok := q.Get(kept)
	if !ok || e.State.Done[0] != "deleted" || !reflect.DeepEqual(e.Pending(), []int{1}) {
		t.Errorf("MID %d after reopening: %+v, %v", kept, e, ok)
	}
}

// FuzzEnvelopeSender: an answer the sender question accepts is <> or one
// address with no space, control character or angle bracket (it is shown
// in the confirmation question and compared with envelopes), and accepting
// it again gives the same address.
func FuzzEnvelopeSender(f *testing.F) {
	for _, s := range []string{"<>", "a@example.com", "<Bob@Example.COM>", `"x@y"@example.org`, "nobody", "a b@c", "a@[192.0.2.1]", "<a@b>>", "\x00@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		got, err := envelopeSender(a)
		if err != nil {
			return
		}
		if got == "<>" {
			return
		}
		for _, r := range got {
			if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
				t.Fatalf("%q accepted as %q", a, got)
			}
		}
		if again, err := envelopeSender(got); err != nil || again != got {
			t.Fatalf("%q accepted as %q, which gives %q, %v", a, got, again, err)
		}
	})
}

// TestDeleteInterrupted: Ctrl-C (the command's context cancelled) stops the
// deletion before the next message; nothing after it is deleted.
func TestDeleteInterrupted(t *testing.T) {
	t.Parallel()
	q := newTestQueue(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, _, err := deleteRecipients(ctx, q, selection{how: byAll}, func(string, ...any) {})
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("deleted %d, %v; want 0, context.Canceled", n, err)
	}
	if m, r := q.Len(); m != 3 || r != 6 {
		t.Errorf("queue holds %d messages, %d recipients after an interrupted deletion", m, r)
	}
}

// benchQueue commits n messages of two recipients each, one of them at
// example.org, for the benchmarks.
func benchQueue(b *testing.B, n int) *queue.Queue {
	b.Helper()
	q, err := queue.Open(filepath.Join(b.TempDir(), "queue"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	for i := 0; i < n; i++ {
		mid, _ := q.IDs().Next(queue.MID)
		w, err := q.NewMessage()
		if err != nil {
			b.Fatal(err)
		}
		w.Write([]byte("Subject: bench\r\n\r\nbody\r\n"))
		if err := w.Commit(queue.Envelope{MID: mid, From: fmt.Sprintf("s%d@example.com", i%50), Subject: "bench",
			Recipients: []string{fmt.Sprintf("r%d@example.org", i), fmt.Sprintf("r%d@example.net", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	return q
}

// BenchmarkShowRecipients: listing a queue of 10,000 messages by host
// (selection and layout; the screen is discarded).
func BenchmarkShowRecipients(b *testing.B) {
	entries := make([]queue.Entry, 10000)
	for i := range entries {
		entries[i].Envelope = queue.Envelope{MID: uint64(i + 1), From: fmt.Sprintf("s%d@example.com", i%50), Subject: "bench", Size: 1234,
			Recipients: []string{fmt.Sprintf("r%d@example.org", i), fmt.Sprintf("r%d@example.net", i)}}
	}
	out := shell.NewIO(context.Background(), shell.NewPlainEditor(strings.NewReader(""), io.Discard), io.Discard)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		printRecipients(out, entries, selection{how: byHost, value: "example.org"})
	}
}

// BenchmarkDeleteRecipients: deleting one of the two recipients of 100
// messages by host, each a durable state-file write.
func BenchmarkDeleteRecipients(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		q := benchQueue(b, 100)
		b.StartTimer()
		n, _, err := deleteRecipients(context.Background(), q, selection{how: byHost, value: "example.org"}, func(string, ...any) {})
		if err != nil || n != 100 {
			b.Fatalf("deleted %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*100), "µs/recipient")
}
