package main

import (
	"encoding/json"
	"sort"
	"sync"

	"esa/auth/filter"
	"esa/commands"
	"esa/store"
	"esa/store/filters"
	"esa/store/logs"
)

// filterSet hands the listeners the committed message filters, parsed
// once per commit, and the content dictionaries they look up.
type filterSet struct {
	st *store.Store

	mu   sync.Mutex
	snap *store.Config
	fs   []*filter.Filter
	env  filter.Env
}

func (f *filterSet) get() ([]*filter.Filter, filter.Env) {
	snap := f.st.Snapshot()
	f.mu.Lock()
	defer f.mu.Unlock()
	if snap == f.snap {
		return f.fs, f.env
	}
	// The table is validated at commit, so every active script parses;
	// should one not (a newer parser's refusal), the filters run without
	// it rather than not at all.
	fs, err := snap.Filters.Active()
	if err != nil {
		fs = fs[:0]
		for _, t := range snap.Filters.Filters {
			if parsed, err := filter.Parse(t.Script); err == nil && t.Active {
				fs = append(fs, parsed...)
			}
		}
	}
	// Dictionaries prepared once per commit (normalised names), not per
	// message.
	f.snap, f.fs, f.env = snap, fs, filters.Env(snap.Dictionaries)
	return f.fs, f.env
}

// forgedStateKey keeps the forged email detection counts in the store's
// state, so forgedemailreport survives restarts.
const forgedStateKey = "forged_email_matches"

// forgedCounts counts forged email detection matches per dictionary term
// (the seed's "Forged Email Matches" report). Matches are rare, so each
// one is written through at once.
type forgedCounts struct {
	st  *store.Store
	log *logs.Logger

	mu     sync.Mutex
	counts map[string]map[string]int64 // dictionary -> term -> matches
}

func newForgedCounts(st *store.Store, log *logs.Logger) *forgedCounts {
	f := &forgedCounts{st: st, log: log, counts: map[string]map[string]int64{}}
	if b, err := st.GetState(forgedStateKey); err == nil && len(b) > 0 {
		if err := json.Unmarshal(b, &f.counts); err != nil || f.counts == nil {
			f.counts = map[string]map[string]int64{}
		}
	}
	return f
}

// Add counts the matches of one message.
func (f *forgedCounts) Add(ms []filter.Match) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range ms {
		if f.counts[m.Dictionary] == nil {
			f.counts[m.Dictionary] = map[string]int64{}
		}
		f.counts[m.Dictionary][m.Term]++
	}
	b, _ := json.Marshal(f.counts)
	if err := f.st.PutState(forgedStateKey, b); err != nil && f.log != nil {
		f.log.Warning("Forged email detection counts not saved: %v", err)
	}
}

// List is the counts, most matched first.
func (f *forgedCounts) List() []commands.ForgedCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []commands.ForgedCount
	for d, terms := range f.counts {
		for t, n := range terms {
			out = append(out, commands.ForgedCount{Dictionary: d, Term: t, Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].Dictionary != out[j].Dictionary {
			return out[i].Dictionary < out[j].Dictionary
		}
		return out[i].Term < out[j].Term
	})
	return out
}
