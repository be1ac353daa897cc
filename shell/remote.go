package shell

import (
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/chzyer/readline"
)

// RemoteTerminal describes a terminal at the far end of a stream (an SSH
// channel with a pty): the client's own terminal is in raw mode, so the
// editor neither switches modes nor asks the kernel for the size, and Ctrl-C
// arrives as the byte 0x03 rather than as SIGINT.
type RemoteTerminal struct {
	// Width returns the terminal's current width in columns.
	Width func() int
	// Resized registers a function to call when the width changes (an SSH
	// window-change request).
	Resized func(func())
	// Interrupts receives os.Interrupt for each Ctrl-C typed while no line
	// is being read, i.e. while a command runs: what the kernel's line
	// discipline does for a local terminal. Give the same channel to
	// Config.Interrupts.
	Interrupts chan<- os.Signal
}

// NewRemoteTerminalEditor returns the terminal editor (line editing,
// completion, history) over a stream whose far end is a terminal.
func NewRemoteTerminalEditor(in io.ReadCloser, out io.Writer, rt RemoteTerminal, historyFile string) (Editor, error) {
	f := newIntrFilter(in, rt.Interrupts)
	ed, err := newTerminalEditor(f, out, nil, historyFile, func(cfg *readline.Config) {
		cfg.FuncIsTerminal = func() bool { return true }
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
		cfg.FuncGetWidth = func() int {
			if rt.Width != nil {
				if w := rt.Width(); w > 0 {
					return w
				}
			}
			return 80
		}
		cfg.FuncOnWidthChanged = func(fn func()) {
			if rt.Resized != nil {
				rt.Resized(fn)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	te := ed.(*terminalEditor)
	te.reading = &f.reading
	return te, nil
}

// intrFilter sits between the stream and readline. readline reads its
// input only while a line is being read, so a goroutine here keeps reading
// the stream all the time: while no line is being read it takes Ctrl-C out
// of the input and turns it into an interrupt, so a command in progress is
// cancelled at once; everything else is kept (type-ahead, bounded) for
// the next prompt.
type intrFilter struct {
	r       io.ReadCloser
	intr    chan<- os.Signal
	reading atomic.Bool

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
}

// typeAhead bounds what is kept while no line is read; past it the pump
// waits, and the stream's own flow control holds the sender.
const typeAhead = 64 << 10

func newIntrFilter(r io.ReadCloser, intr chan<- os.Signal) *intrFilter {
	f := &intrFilter{r: r, intr: intr}
	f.cond = sync.NewCond(&f.mu)
	go f.pump()
	return f
}

func (f *intrFilter) pump() {
	tmp := make([]byte, 4096)
	for {
		n, err := f.r.Read(tmp)
		f.mu.Lock()
		for _, c := range tmp[:n] {
			if c == readline.CharInterrupt && f.intr != nil && !f.reading.Load() {
				select {
				case f.intr <- os.Interrupt:
				default: // one pending interrupt is enough
				}
				continue
			}
			f.buf = append(f.buf, c)
		}
		if err != nil {
			f.err = err
		}
		f.cond.Broadcast()
		for len(f.buf) > typeAhead && f.err == nil {
			f.cond.Wait()
		}
		f.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (f *intrFilter) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.buf) == 0 && f.err == nil {
		f.cond.Wait()
	}
	if len(f.buf) == 0 {
		return 0, f.err
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	f.cond.Broadcast()
	return n, nil
}

func (f *intrFilter) Close() error {
	err := f.r.Close()
	f.mu.Lock()
	if f.err == nil {
		f.err = io.EOF
	}
	f.cond.Broadcast()
	f.mu.Unlock()
	return err
}
