package queue

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// idBlock is how many IDs one disk write reserves. After a crash the rest of
// a reserved block is skipped, never reused.
const idBlock = 4096

// Counters hand out the appliance's IDs: MID (message), ICID (incoming
// connection), DCID (delivery connection). Each starts at 1 and only grows,
// across restarts too, as mail_logs readers and message tracking expect.
type Counters struct {
	file string

	mu   sync.Mutex
	next map[string]uint64 // next value to hand out
	hw   map[string]uint64 // reserved on disk: values < hw are safe to use
}

// Counter names.
const (
	MID  = "mid"
	ICID = "icid"
	DCID = "dcid"
)

// openCounters reads the counter file, first removing what reservations a
// crash interrupted left behind: writeFileAtomic's temporary copies
// (".ids.tmp*" beside the file). Such a copy never became the counter file
// (the rename is the commit), so it holds no reservation the file lacks;
// left alone, one would pile up per crash.
func openCounters(file string, floor map[string]uint64) (*Counters, error) {
	removeCounterTemps(file)
	c := &Counters{file: file, next: map[string]uint64{}, hw: map[string]uint64{}}
	data, err := os.ReadFile(file)
	switch {
	case err == nil:
		if len(data) > 4096 {
			return nil, fmt.Errorf("%s: %d bytes is not a counter file", file, len(data))
		}
		if err := json.Unmarshal(data, &c.hw); err != nil {
			return nil, fmt.Errorf("%s: damaged counter file: %v", file, err)
		}
	case os.IsNotExist(err):
	default:
		return nil, err
	}
	for _, name := range []string{MID, ICID, DCID} {
		n := c.hw[name]
		if n == 0 {
			n = 1
		}
		// Messages on disk may carry IDs above a reservation that was lost
		// with a damaged counter file; never hand them out again.
		if f := floor[name]; f >= n {
			n = f + 1
		}
		c.next[name] = n
		c.hw[name] = n
	}
	return c, nil
}

// Next returns the next ID of the named counter, reserving a new block on
// disk first when the current one is used up.
func (c *Counters) Next(name string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.next[name]
	if !ok {
		return 0, fmt.Errorf("no counter %q", name)
	}
	if n >= c.hw[name] {
		hw := make(map[string]uint64, len(c.hw))
		for k, v := range c.hw {
			hw[k] = v
		}
		hw[name] = n + idBlock
		data, _ := json.Marshal(hw)
		if err := writeFileAtomic(c.file, data); err != nil {
			return 0, fmt.Errorf("reserving %s IDs: %w", name, err)
		}
		c.hw = hw
	}
	c.next[name] = n + 1
	return n, nil
}

// Current returns the last ID handed out (0 when none yet), as `status`
// shows it (CrtMID, CrtICID, CrtDCID).
func (c *Counters) Current(name string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.next[name]; n > 0 {
		return n - 1
	}
	return 0
}

// removeCounterTemps removes the temporary files of counter writes a crash
// interrupted: those writeFileAtomic names "."+base+".tmp" and a random
// suffix, in the counter file's directory.
func removeCounterTemps(file string) {
	dir, prefix := filepath.Dir(file), "."+filepath.Base(file)+".tmp"
	ents, _ := os.ReadDir(dir)
	for _, de := range ents {
		if n := de.Name(); strings.HasPrefix(n, prefix) && de.Type().IsRegular() {
			os.Remove(filepath.Join(dir, n))
		}
	}
}
