package spf

import "sync"

// recordCache keeps parsed records by their text: the same few records
// (a provider's _spf include, a popular domain) are evaluated over and
// over, and a parsed Record is never modified. It holds at most
// maxCachedRecords entries and starts over when full: simple, bounded, and
// a miss only costs a parse.
type recordCache struct {
	mu sync.RWMutex
	m  map[string]cachedRecord
	// exp holds parsed explanation texts (RFC 7208 §6.2) the same way.
	exp map[string]cachedMacro
}

type cachedMacro struct {
	ms  *macroString
	err error
}

type cachedRecord struct {
	rec *Record
	err error
}

const maxCachedRecords = 4096

func (c *Checker) parse(txt string) (*Record, error) {
	rc := &c.records
	rc.mu.RLock()
	e, ok := rc.m[txt]
	rc.mu.RUnlock()
	if ok {
		return e.rec, e.err
	}
	rec, err := ParseRecord(txt)
	rc.mu.Lock()
	if rc.m == nil || len(rc.m) >= maxCachedRecords {
		rc.m = make(map[string]cachedRecord)
	}
	rc.m[txt] = cachedRecord{rec, err}
	rc.mu.Unlock()
	return rec, err
}

func (c *Checker) explainMacro(txt string) (*macroString, error) {
	rc := &c.records
	rc.mu.RLock()
	e, ok := rc.exp[txt]
	rc.mu.RUnlock()
	if ok {
		return e.ms, e.err
	}
	ms, err := parseMacroString(txt, true)
	rc.mu.Lock()
	if rc.exp == nil || len(rc.exp) >= maxCachedRecords {
		rc.exp = make(map[string]cachedMacro)
	}
	rc.exp[txt] = cachedMacro{ms, err}
	rc.mu.Unlock()
	return ms, err
}
