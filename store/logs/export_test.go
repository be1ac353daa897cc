package logs

// Following reports how many tail -f / grep -t readers of subscription
// name are registered: once one is, it has fixed where it reads from, and
// every line written afterwards reaches it. Tests wait on this instead of
// sleeping.
func (m *Manager) Following(name string) int {
	s, err := m.sub(name)
	if err != nil {
		return 0
	}
	return int(s.nwatch.Load())
}
