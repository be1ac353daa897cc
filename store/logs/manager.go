package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"esa/store"
)

// ErrNoSuchLog is wrapped by every error about a log name that is not a
// configured subscription.
var ErrNoSuchLog = errors.New("no such log subscription")

// ErrClosed is returned by Apply and RollOver after Close.
var ErrClosed = errors.New("log manager closed")

// Options are the Manager's injected dependencies.
type Options struct {
	// Now is the clock for line times, file stamps and time-based rollover.
	// nil means time.Now.
	Now func() time.Time
	// Tick is how often a background goroutine checks time-based rollover
	// (RolloverInterval) of logs nobody writes to; writes check it too.
	// 0 means one second; negative disables the ticker.
	Tick time.Duration
}

// Manager owns the log subscriptions of one appliance: it routes lines from
// Loggers to subscription files, rolls the files over and reads them back
// for grep and tail.
//
// Every subscription writes its files in DATA/logs/<Name>/, whatever its
// retrieval method: the appliance keeps a local copy of push (FTP, SCP,
// syslog) logs too, and the push itself is not implemented here.
type Manager struct {
	dir string
	now func() time.Time

	// routes is replaced as a whole by Apply, so that writers never take
	// the manager's lock.
	routes atomic.Pointer[routeTable]

	mu     sync.Mutex // guards subs, config and closed; serialises Apply
	subs   map[string]*sub
	config []store.LogSubscription
	closed bool

	stop chan struct{}
	done chan struct{}
}

// routeTable maps a log type to the subscriptions receiving it.
type routeTable map[string][]route

type route struct {
	s     *sub
	level store.LogLevel
}

// NewManager is New with the default ticker.
func NewManager(dir string, now func() time.Time) *Manager {
	return New(dir, Options{Now: now})
}

// New returns a Manager writing under dir (DATA/logs). It has no
// subscriptions until Apply.
func New(dir string, o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{dir: dir, now: o.Now, subs: map[string]*sub{}, stop: make(chan struct{}), done: make(chan struct{})}
	m.routes.Store(&routeTable{})
	tick := o.Tick
	if tick == 0 {
		tick = time.Second
	}
	if tick < 0 {
		close(m.done)
		return m
	}
	go m.ticker(tick)
	return m
}

func (m *Manager) ticker(d time.Duration) {
	defer close(m.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.mu.Lock()
			subs := make([]*sub, 0, len(m.subs))
			for _, s := range m.subs {
				subs = append(subs, s)
			}
			m.mu.Unlock()
			for _, s := range subs {
				s.check()
			}
		}
	}
}

// Apply makes l's subscriptions the running ones. New subscriptions begin a
// file at once; subscriptions no longer listed finish their current file
// (it is saved, and every file stays on disk) and stop being written;
// changed ones take effect at once (a new Filename rolls the current file
// over, a lower MaxFiles prunes). Errors for single subscriptions (a
// directory that cannot be made) are joined; the others are applied
// regardless.
//
// A name is the identity of a subscription, with one exception: a
// subscription whose name changed while it kept its place in the list and
// its type is renamed (logconfig EDIT changes one in place), and its files
// move to the new name's directory, so that grep and tail of the new name
// read its whole history. (Deleting the last subscription and adding one
// of the same type in a single commit looks the same and is taken for a
// rename too.)
func (m *Manager) Apply(l store.Logs) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	var errs []error
	errs = append(errs, m.renames(l.Subscriptions)...)
	seen := map[string]bool{}
	config := make([]store.LogSubscription, 0, len(l.Subscriptions))
	for _, c := range l.Subscriptions {
		if !store.ValidLogName(c.Name) || seen[c.Name] {
			errs = append(errs, fmt.Errorf("log subscription %q: not a valid, unique name", c.Name))
			continue
		}
		seen[c.Name] = true
		config = append(config, c)
		if s := m.subs[c.Name]; s != nil {
			if err := s.update(c); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		s, err := newSub(m, c)
		if err != nil {
			errs = append(errs, err)
		}
		m.subs[c.Name] = s
	}
	for name, s := range m.subs {
		if !seen[name] {
			s.close()
			delete(m.subs, name)
		}
	}
	rt := routeTable{}
	for _, c := range config {
		rt[c.Type] = append(rt[c.Type], route{m.subs[c.Name], c.Level})
	}
	m.routes.Store(&rt)
	m.config = config
	return errors.Join(errs...)
}

// renames moves the subscriptions renamed in place (see Apply) to their
// new names. The caller holds m.mu.
func (m *Manager) renames(next []store.LogSubscription) []error {
	if len(next) != len(m.config) {
		return nil
	}
	inOld, inNew := map[string]bool{}, map[string]bool{}
	for i := range next {
		inOld[m.config[i].Name], inNew[next[i].Name] = true, true
	}
	var errs []error
	for i, o := range m.config {
		n := next[i]
		if o.Name == n.Name || o.Type != n.Type || inNew[o.Name] || inOld[n.Name] {
			continue
		}
		s := m.subs[o.Name]
		if s == nil || m.subs[n.Name] != nil || !store.ValidLogName(n.Name) {
			continue
		}
		if err := s.moveTo(m.subDir(n.Name)); err != nil {
			errs = append(errs, fmt.Errorf("log subscription %q renamed %q: %w", o.Name, n.Name, err))
		}
		delete(m.subs, o.Name)
		m.subs[n.Name] = s
	}
	return errs
}

// Close closes every current file, leaving it current for the next process
// to continue, and stops the ticker. Lines logged afterwards are dropped.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.routes.Store(&routeTable{})
	var errs []error
	for name, s := range m.subs {
		errs = append(errs, s.stop())
		delete(m.subs, name)
	}
	close(m.stop)
	m.mu.Unlock()
	<-m.done
	return errors.Join(errs...)
}

// Err reports the write trouble of subscription name: nil when its last
// line was written, otherwise how many lines have been lost since and the
// last error (a full disk, a file too large). The lost lines are also
// counted in a Warning line of the file once writing works again.
func (m *Manager) Err(name string) error {
	s, err := m.sub(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost == 0 {
		return nil
	}
	return fmt.Errorf("log %s: %d lines could not be written: %w", name, s.lost, s.werr)
}

// Loss counts the lines one subscription could not write.
type Loss struct {
	Name  string
	Lines int64 // since the subscription started running in this process
	Err   error // the last write error
}

// Losses lists the running subscriptions that have lost lines, in
// configuration order. The counts only grow, so a session can compare
// them before and after a command and tell its user at once that the
// command's log lines (its CLI audit line, say) were lost, rather than
// leave it to a Warning line in the file once the disk has room again.
func (m *Manager) Losses() []Loss {
	m.mu.Lock()
	subs := make([]*sub, 0, len(m.config))
	for _, c := range m.config {
		if s := m.subs[c.Name]; s != nil {
			subs = append(subs, s)
		}
	}
	m.mu.Unlock()
	var out []Loss
	for _, s := range subs {
		s.mu.Lock()
		if s.lostTotal > 0 {
			out = append(out, Loss{Name: s.cfg.Name, Lines: s.lostTotal, Err: s.lastErr})
		}
		s.mu.Unlock()
	}
	return out
}

// Subscriptions returns the applied subscriptions in configuration order.
func (m *Manager) Subscriptions() []store.LogSubscription {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.LogSubscription(nil), m.config...)
}

// RollOver saves the current file of subscription name and begins a new one
// (the appliance's rollovernow).
func (m *Manager) RollOver(name string) error {
	s, err := m.sub(name)
	if err != nil {
		return err
	}
	return s.rollNow()
}

func (m *Manager) sub(name string) (*sub, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	s := m.subs[name]
	if s == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchLog, name)
	}
	return s, nil
}

// Files lists the files of subscription name, oldest first: the saved
// (rolled over) files by the time they were begun, then the current one.
// Paths are absolute when the manager's directory is.
func (m *Manager) Files(name string) ([]string, error) {
	files, err := m.files(name)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	return paths, nil
}

func (m *Manager) files(name string) ([]logFile, error) {
	s, err := m.sub(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	dir := s.dir // moved by a rename
	s.mu.Unlock()
	return listDir(dir)
}

// subDir is the directory of subscription name.
func (m *Manager) subDir(name string) string { return filepath.Join(m.dir, name) }

// mkdir makes the directory of a subscription.
func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
