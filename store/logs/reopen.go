package logs

import "os"

// Reopen closes every subscription's current file and opens it again by
// its name, as daemons do on SIGHUP: a file that was removed or replaced
// behind the appliance's back is begun anew instead of being written
// through a handle nobody can read.
func (m *Manager) Reopen() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	subs := make([]*sub, 0, len(m.subs))
	for _, s := range m.subs {
		subs = append(subs, s)
	}
	m.mu.Unlock()
	var first error
	for _, s := range subs {
		if err := s.reopen(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *sub) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.f == nil {
		return nil
	}
	s.f.Close()
	s.f = nil
	fh, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return s.begin(s.m.now())
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return s.begin(s.m.now())
	}
	s.f, s.size = fh, st.Size()
	return nil
}
