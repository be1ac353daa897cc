package queue

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Queue is the durable message queue. Its methods are safe for concurrent
// use by the listeners, the delivery engine and shell sessions.
type Queue struct {
	dir      string
	msgDir   string
	tmpDir   string
	badDir   string
	sync     *groupSync
	ids      *Counters
	setAside []string      // files found damaged at Open, moved to bad/
	restored restoredPause // the pause Open found on disk (pause.go)
	// pauseMu orders PauseFor and Resume, whose record writes happen
	// outside mu (pause.go).
	pauseMu sync.Mutex

	mu       sync.Mutex
	index    map[uint64]*Entry
	paused   bool
	pause    Pause            // who paused, why and since when (PauseFor), for workqueue
	outcomes map[string]int64 // recipients SetDone recorded since Open, by outcome
	notify   []chan uint64
	closed   bool
	inflight sync.WaitGroup
}

// Entry is what the queue keeps in memory about a committed message.
type Entry struct {
	Envelope Envelope
	State    State
	// stateFile: msg/<MID>.st exists (or may), so removing the message
	// must remove it too; most messages never get one.
	stateFile bool
}

// State is the mutable part of a message: what happened to each recipient.
type State struct {
	// Done lists, per RID, a final outcome ("delivered", "bounced",
	// "deleted"); a RID absent from it is still to be delivered.
	Done map[int]string `json:"done,omitempty"`
	// Attempts counts delivery attempts so far.
	Attempts int `json:"attempts,omitempty"`
	// Next is when the delivery engine may try the pending recipients
	// again after a temporary failure (zero: at once). Kept here so a
	// restarted engine continues the back-off instead of starting over.
	Next time.Time `json:"next,omitzero"`
	// DelayNotified: a delay notice has been sent to the sender.
	DelayNotified bool `json:"delay_notified,omitempty"`
	// Released: a quarantined message (Envelope.Quarantine) was released
	// and may be delivered.
	Released bool `json:"released,omitempty"`
}

// Held reports whether the message waits in a quarantine: the delivery
// engine leaves it alone until it is released.
func (e *Entry) Held() bool { return e.Envelope.Quarantine != "" && !e.State.Released }

// Pending returns the RIDs still to be delivered.
func (e *Entry) Pending() []int {
	var rids []int
	for rid := range e.Envelope.Recipients {
		if _, done := e.State.Done[rid]; !done {
			rids = append(rids, rid)
		}
	}
	return rids
}

// Open opens (creating when needed) the queue in dir. Temporary files of
// writes that never committed are removed; committed messages are indexed
// from their trailers; a damaged file is moved to bad/ and reported by
// SetAside, never served.
func Open(dir string) (*Queue, error) {
	q := &Queue{
		dir:    dir,
		msgDir: filepath.Join(dir, "msg"),
		tmpDir: filepath.Join(dir, "tmp"),
		badDir: filepath.Join(dir, "bad"),
		index:  map[uint64]*Entry{},
	}
	for _, d := range []string{q.dir, q.msgDir, q.tmpDir, q.badDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	q.sync = newGroupSync(q.msgDir)
	// The administrator's records (pause.go): a pause outlives restarts.
	q.removeRecordTemps()
	q.loadPause()
	// Nothing under tmp/ was ever answered with 250.
	tmps, err := os.ReadDir(q.tmpDir)
	if err != nil {
		return nil, err
	}
	for _, t := range tmps {
		os.Remove(filepath.Join(q.tmpDir, t.Name()))
	}
	var maxMID, maxICID uint64
	ents, err := os.ReadDir(q.msgDir)
	if err != nil {
		return nil, err
	}
	for _, de := range ents {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			// A message being written (never answered 250) or an
			// interrupted state-file replacement.
			os.Remove(filepath.Join(q.msgDir, name))
			continue
		}
		if !strings.HasSuffix(name, ".msg") {
			continue
		}
		mid, err := strconv.ParseUint(strings.TrimSuffix(name, ".msg"), 10, 64)
		if err != nil {
			q.setAsideFile(name)
			continue
		}
		env, err := q.readEnvelope(mid)
		if err != nil || env.MID != mid {
			q.setAsideFile(name)
			continue
		}
		e := &Entry{Envelope: *env}
		if e.stateFile, err = q.readState(mid, &e.State); err != nil {
			return nil, err
		}
		q.index[mid] = e
		maxMID = max(maxMID, mid)
		maxICID = max(maxICID, env.ICID)
	}
	// State files whose message is gone (removed before the state file).
	for _, de := range ents {
		if name := de.Name(); strings.HasSuffix(name, ".st") {
			mid, _ := strconv.ParseUint(strings.TrimSuffix(name, ".st"), 10, 64)
			if _, ok := q.index[mid]; !ok {
				os.Remove(filepath.Join(q.msgDir, name))
			}
		}
	}
	q.ids, err = openCounters(filepath.Join(dir, "ids"), map[string]uint64{MID: maxMID, ICID: maxICID})
	if err != nil {
		return nil, err
	}
	return q, nil
}

func (q *Queue) setAsideFile(name string) {
	if os.Rename(filepath.Join(q.msgDir, name), filepath.Join(q.badDir, name)) == nil {
		q.setAside = append(q.setAside, name)
	}
}

// SetAside lists the damaged files Open moved to DATA/queue/bad.
func (q *Queue) SetAside() []string { return append([]string(nil), q.setAside...) }

// IDs returns the MID/ICID/DCID counters.
func (q *Queue) IDs() *Counters { return q.ids }

func (q *Queue) msgPath(mid uint64) string {
	return filepath.Join(q.msgDir, strconv.FormatUint(mid, 10)+".msg")
}

func (q *Queue) statePath(mid uint64) string {
	return filepath.Join(q.msgDir, strconv.FormatUint(mid, 10)+".st")
}

func (q *Queue) readEnvelope(mid uint64) (*Envelope, error) {
	f, err := os.Open(q.msgPath(mid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	_, env, err := readTrailer(f, fi.Size())
	return env, err
}

func (q *Queue) readState(mid uint64, st *State) (bool, error) {
	data, err := os.ReadFile(q.statePath(mid))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if err := json.Unmarshal(data, st); err != nil {
		return true, fmt.Errorf("%w: state of MID %d: %v", ErrDamaged, mid, err)
	}
	return true, nil
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("the queue is closed")

// Writer streams one message body to disk. Commit makes it durable; Abort
// (or a crash) leaves nothing behind.
type Writer struct {
	q     *Queue
	f     *os.File
	bw    *bufio.Writer
	nonce []byte
	n     int64
	crc   uint32
	err   error
	done  bool
}

// writerPool keeps the 64 KiB write buffers between messages: allocating
// one per message was most of the queue's garbage.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// release returns the write buffer to the pool once the file is done.
func (w *Writer) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		writerPool.Put(w.bw)
		w.bw = nil
	}
}

// NewMessage starts writing a message body.
func (q *Queue) NewMessage() (*Writer, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	q.inflight.Add(1)
	q.mu.Unlock()
	// A dot name in msg/ itself: Open removes such files (nothing written
	// under one was ever answered 250), and Commit's rename stays inside
	// one directory.
	f, err := createTemp(q.msgDir, ".p")
	if err != nil {
		q.inflight.Done()
		return nil, err
	}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(f)
	w := &Writer{q: q, f: f, bw: bw, nonce: make([]byte, nonceLen)}
	if _, err := rand.Read(w.nonce); err != nil {
		w.Abort()
		return nil, err
	}
	if _, err := w.bw.Write(encodeHeader(w.nonce)); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

// Write appends body bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.n += int64(n)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	if err != nil {
		w.err = err
	}
	return n, err
}

// Size is the number of body bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// Abort discards the message.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.release()
	w.f.Close()
	os.Remove(w.f.Name())
	w.q.inflight.Done()
}

// Commit writes the envelope, makes the message durable and indexes it:
// the whole file is written, renamed to its final name, then fsynced (on
// a journalling file system the rename and the data go in the same
// journal commit), and the directory fsync, shared with concurrent
// commits, makes the name durable where that needs a second step. Only
// after Commit returns nil may the listener answer 250.
func (w *Writer) Commit(env Envelope) error {
	if w.done {
		return errors.New("queue: Commit after Commit or Abort")
	}
	if env.MID == 0 {
		w.Abort()
		return errors.New("queue: envelope without MID")
	}
	env.Size = w.n
	data, err := json.Marshal(&env)
	if err == nil {
		err = w.err
	}
	if err == nil {
		_, err = w.bw.Write(data)
	}
	if err == nil {
		_, err = w.bw.Write(encodeTrailer(w.n, data, w.crc, w.nonce))
	}
	if err == nil {
		err = w.bw.Flush()
	}
	w.release()
	final := w.q.msgPath(env.MID)
	renamed := false
	if err == nil {
		// The file is whole before it gets its name: a SIGKILL from here
		// on leaves a whole message, which Open indexes (never answered
		// 250, so at most a message the client will send again).
		if err = os.Rename(w.f.Name(), final); err == nil {
			renamed = true
		}
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.q.sync.Sync()
	}
	w.done = true
	defer w.q.inflight.Done()
	if err != nil {
		if renamed {
			os.Remove(final)
		} else {
			os.Remove(w.f.Name())
		}
		return fmt.Errorf("queueing MID %d: %w", env.MID, err)
	}
	w.q.mu.Lock()
	w.q.index[env.MID] = &Entry{Envelope: env}
	subs := append([]chan uint64(nil), w.q.notify...)
	w.q.mu.Unlock()
	for _, c := range subs {
		select {
		case c <- env.MID:
		default: // a slow consumer rescans with List
		}
	}
	return nil
}

// Subscribe returns a channel that receives the MID of each message committed
// from now on, and 0 when delivery resumes (Resume). Sends never block: a
// consumer that falls behind must rescan with List.
func (q *Queue) Subscribe(buffer int) <-chan uint64 {
	c := make(chan uint64, buffer)
	q.mu.Lock()
	q.notify = append(q.notify, c)
	q.mu.Unlock()
	return c
}

// Get returns a copy of the entry for mid.
func (q *Queue) Get(mid uint64) (Entry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.index[mid]
	if !ok {
		return Entry{}, false
	}
	return copyEntry(e), true
}

func copyEntry(e *Entry) Entry {
	c := *e
	c.Envelope.Recipients = append([]string(nil), e.Envelope.Recipients...)
	if e.State.Done != nil {
		c.State.Done = make(map[int]string, len(e.State.Done))
		for k, v := range e.State.Done {
			c.State.Done[k] = v
		}
	}
	return c
}

// List returns copies of all entries in MID order.
func (q *Queue) List() []Entry {
	q.mu.Lock()
	out := make([]Entry, 0, len(q.index))
	for _, e := range q.index {
		out = append(out, copyEntry(e))
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Envelope.MID < out[j].Envelope.MID })
	return out
}

// Len returns the number of messages and of pending recipients.
func (q *Queue) Len() (messages, recipients int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.index {
		messages++
		recipients += len(e.Envelope.Recipients) - len(e.State.Done)
	}
	return
}

// Message is an open message: the gateway's header lines followed by the
// body as the client sent it.
type Message struct {
	Envelope Envelope
	f        *os.File
	body     io.Reader
}

// Read reads the prepended header lines and then the body; the body checksum
// is verified when it has been read whole.
func (m *Message) Read(p []byte) (int, error) { return m.body.Read(p) }

// Close closes the file.
func (m *Message) Close() error { return m.f.Close() }

// Open opens message mid for reading as it is sent: the gateway's header
// lines, then the client's message without the fields Envelope.Strip names.
func (q *Queue) Open(mid uint64) (*Message, error) {
	m, err := q.openRaw(mid)
	if err != nil {
		return nil, err
	}
	body := m.body
	if len(m.Envelope.Strip) > 0 {
		body = newStripReader(body, m.Envelope.Strip)
	}
	m.body = io.MultiReader(strings.NewReader(m.Envelope.Prepend), body)
	return m, nil
}

// openRaw opens message mid with its body exactly as the client sent it.
func (q *Queue) openRaw(mid uint64) (*Message, error) {
	// O_NOATIME: reading a message for delivery must not cost a metadata
	// write (relatime updates atime on the first read of a new file); it
	// is refused (EPERM) when we do not own the file, then read plainly.
	f, err := openNoPoll(q.msgPath(mid), syscall.O_RDONLY|oNoAtime, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = openNoPoll(q.msgPath(mid), syscall.O_RDONLY, 0)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		var t trailer
		var env *Envelope
		t, env, err = readTrailer(f, fi.Size())
		if err == nil {
			body := &crcReader{r: io.NewSectionReader(f, int64(headerLen), t.bodyLen), want: t.bodyCRC}
			return &Message{Envelope: *env, f: f, body: body}, nil
		}
	}
	f.Close()
	return nil, err
}

// Body opens message mid's body alone, exactly as the client sent it.
func (q *Queue) Body(mid uint64) (io.ReadCloser, error) {
	return q.openRaw(mid)
}

// SetDone records final outcomes for recipients of mid (delivered, bounced,
// deleted). When every recipient is done the message leaves the queue.
func (q *Queue) SetDone(mid uint64, outcome string, rids ...int) error {
	return q.setDone(mid, outcome, true, rids)
}

// SetDoneLazy is SetDone for the delivery engine's "delivered": when the
// message leaves the queue its files are unlinked without waiting for the
// directory fsync. A process crash (SIGKILL) cannot undo an unlink; only a
// power loss can bring the message back, and then it is delivered again,
// which at-least-once delivery allows (Postfix removes queue files the
// same way). It saves one fsync per delivered message.
func (q *Queue) SetDoneLazy(mid uint64, outcome string, rids ...int) error {
	return q.setDone(mid, outcome, false, rids)
}

func (q *Queue) setDone(mid uint64, outcome string, syncRemove bool, rids []int) error {
	q.mu.Lock()
	e, ok := q.index[mid]
	if !ok {
		q.mu.Unlock()
		return fmt.Errorf("MID %d is not in the queue", mid)
	}
	st := e.State
	st.Done = map[int]string{}
	for k, v := range e.State.Done {
		st.Done[k] = v
	}
	newly := 0
	for _, rid := range rids {
		if rid < 0 || rid >= len(e.Envelope.Recipients) {
			q.mu.Unlock()
			return fmt.Errorf("MID %d has no RID %d", mid, rid)
		}
		if _, done := st.Done[rid]; !done {
			st.Done[rid] = outcome
			newly++
		}
	}
	if q.outcomes == nil {
		q.outcomes = map[string]int64{}
	}
	q.outcomes[outcome] += int64(newly)
	finished := len(st.Done) == len(e.Envelope.Recipients)
	hasState := e.stateFile
	if finished {
		delete(q.index, mid)
	} else {
		e.State = st
		e.stateFile = true
	}
	q.mu.Unlock()
	if finished {
		if !syncRemove {
			return q.unlink(mid, hasState)
		}
		return q.remove(mid, hasState)
	}
	data, _ := json.Marshal(&st)
	return writeFileAtomic(q.statePath(mid), data)
}

// SetRetry records a failed delivery attempt of mid's pending recipients:
// Attempts grows by one, the next attempt is due at next, and notified says
// whether a delay notice has gone out. It is written before it returns, so
// the back-off survives a restart.
func (q *Queue) SetRetry(mid uint64, next time.Time, notified bool) (State, error) {
	q.mu.Lock()
	e, ok := q.index[mid]
	if !ok {
		q.mu.Unlock()
		return State{}, fmt.Errorf("MID %d is not in the queue", mid)
	}
	st := e.State
	st.Attempts++
	st.Next, st.DelayNotified = next, st.DelayNotified || notified
	e.State = st
	e.stateFile = true
	cp := copyEntry(e).State
	data, _ := json.Marshal(&st)
	q.mu.Unlock()
	return cp, writeFileAtomic(q.statePath(mid), data)
}

// ClearNext makes every message due at once (delivernow). It changes only
// the memory copy: a restart finds the recorded times again, which at worst
// delays one retry.
func (q *Queue) ClearNext(match func(*Entry) bool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, e := range q.index {
		if !e.State.Next.IsZero() && (match == nil || match(e)) {
			e.State.Next = time.Time{}
			n++
		}
	}
	return n
}

// Outcomes counts the recipients SetDone recorded since Open, by outcome
// ("delivered": 12, "bounced": 1, "deleted": 3), for status's completion
// counters.
func (q *Queue) Outcomes() map[string]int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]int64, len(q.outcomes))
	for k, v := range q.outcomes {
		out[k] = v
	}
	return out
}

// Remove deletes a message whatever its recipients' state.
func (q *Queue) Remove(mid uint64) error {
	q.mu.Lock()
	e, ok := q.index[mid]
	delete(q.index, mid)
	q.mu.Unlock()
	if !ok {
		return fmt.Errorf("MID %d is not in the queue", mid)
	}
	return q.remove(mid, e.stateFile)
}

func (q *Queue) remove(mid uint64, stateFile bool) error {
	if err := q.unlink(mid, stateFile); err != nil {
		return err
	}
	return q.sync.Sync()
}

func (q *Queue) unlink(mid uint64, stateFile bool) error {
	// The message first: a state file without its message is removed at
	// Open, a message without its state file is simply undelivered.
	if err := os.Remove(q.msgPath(mid)); err != nil && !os.IsNotExist(err) {
		return err
	}
	if !stateFile {
		return nil
	}
	if err := os.Remove(q.statePath(mid)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// Close refuses new messages and waits for the writes in flight to commit or
// abort.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.inflight.Wait()
	q.sync.close()
	return nil
}
