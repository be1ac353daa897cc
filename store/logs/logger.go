package logs

import (
	"sync"

	"esa/store"
)

// Logger writes lines of one log type. It is a cheap handle: any number of
// goroutines may share it. Writing never waits for readers (grep, tail),
// which read the files independently.
type Logger struct {
	m   *Manager
	typ string
}

// Logger returns the handle for lines of logType (store.LogTypeMail, ...).
// Lines go to every subscription of that type whose level is the line's
// level or more verbose, as configured at the time of the write.
func (m *Manager) Logger(logType string) *Logger { return &Logger{m: m, typ: logType} }

// Critical logs a "Critical:" line. A call without arguments writes format
// as it is; with arguments it is formatted as by fmt.Sprintf.
func (l *Logger) Critical(format string, a ...any) { l.log(store.LevelCritical, format, a) }

// Warning logs a "Warning:" line.
func (l *Logger) Warning(format string, a ...any) { l.log(store.LevelWarning, format, a) }

// Info logs an "Info:" line.
func (l *Logger) Info(format string, a ...any) { l.log(store.LevelInfo, format, a) }

// Debug logs a "Debug:" line.
func (l *Logger) Debug(format string, a ...any) { l.log(store.LevelDebug, format, a) }

// Debugf is Debug; it makes a Logger a dnssec.Logger.
func (l *Logger) Debugf(format string, a ...any) { l.log(store.LevelDebug, format, a) }

// Trace logs a "Trace:" line.
func (l *Logger) Trace(format string, a ...any) { l.log(store.LevelTrace, format, a) }

// Enabled reports whether a line of level lv would reach any file, so that
// callers can skip building expensive arguments.
func (l *Logger) Enabled(lv store.LogLevel) bool {
	if l == nil || l.m == nil {
		return false
	}
	for _, r := range (*l.m.routes.Load())[l.typ] {
		if r.level >= lv {
			return true
		}
	}
	return false
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (l *Logger) log(lv store.LogLevel, format string, a []any) {
	if !l.Enabled(lv) {
		return
	}
	routes := (*l.m.routes.Load())[l.typ]
	t := l.m.now()
	bp := linePool.Get().(*[]byte)
	line := appendLine((*bp)[:0], t, lv, format, a)
	for _, r := range routes {
		if r.level >= lv {
			r.s.write(t, line)
		}
	}
	if cap(line) <= 64<<10 {
		*bp = line
		linePool.Put(bp)
	}
}
