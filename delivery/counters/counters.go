// Package counters keeps the gateway's mail counters across restarts, as
// the appliance's status command shows them (ESA-CLI §10.7): each counter
// in three columns, Reset (since the last resetcounters), Uptime (since
// this process started) and Lifetime (since the data directory was first
// counted), and writes the periodic Status: line (ESA-CLI §11.8).
//
// The live counters of a process (the listeners', the queue's and the
// delivery engine's) start at zero with it. A Keeper adds what they
// counted to totals kept in the store's state every minute and at
// shutdown, so a crash loses at most the counts of the last minute. The
// totals are one JSON value under StateKey, written by the Keeper alone;
// resetcounters writes its own value under ResetKey, so the two never
// overwrite each other's read-modify-write. Load combines them with the
// live counters for status.
package counters

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/delivery/smtpd"
)

// The counters, by the names the appliance's Status: line gives them
// (ESA-CLI §11.8), in that line's order. Only what the gateway measures is
// here. GlbUnsbHt is here because zero is the truth: there is
// no global unsubscribe list to hit. DKSigned (status detail's DomainKeys
// Signed Msgs) has no field in the line we know of, so the line leaves it
// out.
const (
	InjMsg     = "InjMsg"     // Messages Received
	InjRcp     = "InjRcp"     // Recipients Received
	GenBncRcp  = "GenBncRcp"  // Gen. Bounce Recipients
	RejRcp     = "RejRcp"     // Rejected Recipients
	DrpMsg     = "DrpMsg"     // Dropped Messages (message filters' drop())
	SftBncEvnt = "SftBncEvnt" // Soft Bounced Events
	CmpRcp     = "CmpRcp"     // Completed Recipients
	HrdBncRcp  = "HrdBncRcp"  // Hard Bounced Recipients
	DnsHrdBnc  = "DnsHrdBnc"  // DNS Hard Bounces
	FiveXXBnc  = "5XXHrdBnc"  // 5XX Hard Bounces
	FltrHrdBnc = "FltrHrdBnc" // Filter Hard Bounces (message filters' bounce())
	ExpHrdBnc  = "ExpHrdBnc"  // Expired Hard Bounces
	OtrHrdBnc  = "OtrHrdBnc"  // Other Hard Bounces
	DlvRcp     = "DlvRcp"     // Delivered Recipients
	DelRcp     = "DelRcp"     // Deleted Recipients
	GlbUnsbHt  = "GlbUnsbHt"  // Global Unsub. Hits
	DKSigned   = "DKSigned"   // DomainKeys Signed Msgs (DKIM or DomainKeys)
)

// Names lists the counters, those of the Status: line in its order.
var Names = []string{InjMsg, InjRcp, GenBncRcp, RejRcp, DrpMsg, SftBncEvnt, CmpRcp, HrdBncRcp,
	DnsHrdBnc, FiveXXBnc, FltrHrdBnc, ExpHrdBnc, OtrHrdBnc, DlvRcp, DelRcp, GlbUnsbHt, DKSigned}

// Values are counter values by name.
type Values map[string]int64

// Live gathers the counters of this process: the listeners' (smtp), the
// recipients the queue finished by outcome (Queue.Outcomes) and the
// delivery engine's per-domain counters.
func Live(smtp smtpd.Stats, outcomes map[string]int64, engine []outbound.DomainStats) Values {
	v := Values{
		InjMsg: smtp.Messages,
		InjRcp: smtp.Recipients,
		RejRcp: smtp.Rejected,
		DrpMsg: smtp.Dropped,
		// Completed Recipients are those delivered, hard-bounced or
		// deleted, as the appliance counts them.
		HrdBncRcp: outcomes["bounced"],
		DlvRcp:    outcomes["delivered"],
		DelRcp:    outcomes["deleted"],
		CmpRcp:    outcomes["delivered"] + outcomes["bounced"] + outcomes["deleted"],
		GlbUnsbHt: 0,
	}
	for _, s := range engine {
		v[SftBncEvnt] += int64(s.SoftBounced)
		v[DnsHrdBnc] += int64(s.DNSBounced)
		v[FiveXXBnc] += int64(s.FiveXXBounced)
		v[ExpHrdBnc] += int64(s.ExpiredBounced)
		v[FltrHrdBnc] += int64(s.FilterBounced)
		v[OtrHrdBnc] += int64(s.OtherBounced)
		v[DKSigned] += int64(s.Signed)
		v[GenBncRcp] += int64(s.GenBounced)
	}
	return v
}

// State keys in the store (store.Store.GetState/PutState).
const (
	StateKey = "status_counters"       // totals; written by the Keeper only
	ResetKey = "status_counters_reset" // the last resetcounters; written by Reset only
)

// StateStore is where the totals are kept (*store.Store).
type StateStore interface {
	GetState(key string) ([]byte, error)
	PutState(key string, val []byte) error
}

// totals is the value under StateKey.
type totals struct {
	// Since is when the first Keeper counted in this data directory.
	Since    time.Time `json:"since"`
	Lifetime Values    `json:"lifetime"`
	// Process is the process whose counts Flushed holds: what of its live
	// counters is already in Lifetime.
	Process string `json:"process"`
	Flushed Values `json:"flushed"`
	// Samples are Process's lifetime counts at its start and at each
	// flush, the newest last, for status detail's rates.
	Samples []sample `json:"samples,omitempty"`
}

// sample is the lifetime counts at one time.
type sample struct {
	At time.Time `json:"at"`
	V  Values    `json:"v"`
}

// RateWindows are the periods of status detail's "Rates (Events Per
// Hour)" columns: 1, 5 and 15 minutes.
var RateWindows = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// keepSamples is how many samples the totals keep: a flush a minute for
// the longest window, and one more for the sample at its start.
const keepSamples = 17

// resetRec is the value under ResetKey. A reset made in a running process
// keeps what it saw (the totals, what of them the process had flushed and
// its live counters), so the counts before the reset are known exactly
// whether or not a flush follows; the next Keeper resolves them into Base
// (see Start), Process "".
type resetRec struct {
	At       time.Time `json:"at"`
	Process  string    `json:"process,omitempty"`
	Lifetime Values    `json:"lifetime,omitempty"`
	Flushed  Values    `json:"flushed,omitempty"`
	Live     Values    `json:"live,omitempty"`
	// Base is the lifetime counts before the reset, once resolved.
	Base Values `json:"base,omitempty"`
}

// ProcessID names one run of the daemon: its PID and start time, so a
// PID reused after a restart is not taken for the same process.
func ProcessID(pid int, started time.Time) string {
	return fmt.Sprintf("%d@%d", pid, started.UnixNano())
}

func load[T any](st StateStore, key string) (T, error) {
	var v T
	b, err := st.GetState(key)
	if err != nil || len(b) == 0 {
		return v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("counters: %s: %w", key, err)
	}
	return v, nil
}

func save(st StateStore, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.PutState(key, b)
}

// unflushed is what of live the totals do not hold yet: all of it when
// the totals were last written by another process (or none).
func (t totals) unflushed(process string, live Values) Values {
	out := Values{}
	for _, n := range Names {
		d := live[n]
		if t.Process == process {
			d -= t.Flushed[n]
		}
		if d > 0 {
			out[n] = d
		}
	}
	return out
}

// View is what status shows of the counters.
type View struct {
	Reset, Uptime, Lifetime Values
	// ResetAt is the last resetcounters; zero when never.
	ResetAt time.Time
	// Since is when the lifetime counts started; zero when no Keeper has
	// run in this data directory yet.
	Since time.Time
	// Rates are events per hour over RateWindows, by counter.
	Rates map[string][]int64
}

// Load returns the three columns for the process named process, whose
// counters are live at now, and the rates.
func Load(st StateStore, process string, live Values, now time.Time) (View, error) {
	t, err := load[totals](st, StateKey)
	if err != nil {
		return View{}, err
	}
	r, err := load[resetRec](st, ResetKey)
	if err != nil {
		return View{}, err
	}
	v := View{Reset: Values{}, Uptime: Values{}, Lifetime: Values{}, ResetAt: r.At, Since: t.Since}
	un := t.unflushed(process, live)
	base := r.base(process)
	for _, n := range Names {
		v.Uptime[n] = live[n]
		v.Lifetime[n] = t.Lifetime[n] + un[n]
		// A counter never goes below zero, even where a crash lost
		// counts the reset had seen.
		v.Reset[n] = max(0, v.Lifetime[n]-base[n])
	}
	v.Rates = rates(t, process, v.Lifetime, now)
	return v, nil
}

// rates are the events per hour over each of RateWindows: the growth of
// the lifetime counts since the newest sample at least the window old,
// per hour of the time between. While the process has run less than a
// window, the window's rate is over the time it has run (its first
// sample), as a rate over a window that had no counting would
// understate; a process without samples (no Keeper) has no rates.
func rates(t totals, process string, lifetime Values, now time.Time) map[string][]int64 {
	out := map[string][]int64{}
	for _, n := range Names {
		out[n] = make([]int64, len(RateWindows))
	}
	if t.Process != process || len(t.Samples) == 0 {
		return out
	}
	for i, w := range RateWindows {
		from := t.Samples[0]
		for _, s := range t.Samples {
			if !s.At.After(now.Add(-w)) {
				from = s
			}
		}
		elapsed := now.Sub(from.At)
		if elapsed < time.Second {
			continue
		}
		for _, n := range Names {
			if d := lifetime[n] - from.V[n]; d > 0 {
				out[n][i] = int64(float64(d) * float64(time.Hour) / float64(elapsed))
			}
		}
	}
	return out
}

// base is the lifetime counts before the reset, as seen by process.
func (r resetRec) base(process string) Values {
	if r.At.IsZero() {
		return Values{}
	}
	if r.Process == "" || r.Process != process {
		if r.Base != nil {
			return r.Base
		}
		// A reset by a process no Keeper saw: its totals are all that
		// was kept.
		return r.Lifetime
	}
	b := Values{}
	for _, n := range Names {
		b[n] = r.Lifetime[n] + max(0, r.Live[n]-r.Flushed[n])
	}
	return b
}

// Reset starts the Reset column again at now (resetcounters), for the
// process named process whose counters are live now. The Uptime and
// Lifetime columns are left alone.
func Reset(st StateStore, process string, live Values, now time.Time) error {
	t, err := load[totals](st, StateKey)
	if err != nil {
		return err
	}
	r := resetRec{At: now, Process: process, Lifetime: t.Lifetime, Live: live, Flushed: Values{}}
	if t.Process == process {
		r.Flushed = t.Flushed
	}
	if r.Lifetime == nil {
		r.Lifetime = Values{}
	}
	return save(st, ResetKey, r)
}

// Keeper adds a process's live counters to the totals. Start it before
// any session can run resetcounters; Flush every minute and at shutdown.
type Keeper struct {
	st      StateStore
	process string
	live    func() Values

	mu sync.Mutex
	t  totals
}

// Start takes over the totals for process, whose counters live returns.
// The counts of the process before it (a crash's last minute) are lost;
// a reset that process made is resolved first: of the live counts it saw,
// only those the process flushed afterwards are in the totals, so only
// those are taken off the Reset column.
func Start(st StateStore, process string, live func() Values, now time.Time) (*Keeper, error) {
	t, err := load[totals](st, StateKey)
	if err != nil {
		return nil, err
	}
	r, err := load[resetRec](st, ResetKey)
	if err != nil {
		return nil, err
	}
	if !r.At.IsZero() && r.Process != "" {
		base := Values{}
		for _, n := range Names {
			kept := r.Lifetime[n]
			if r.Process == t.Process {
				// What the old process flushed of its counts from
				// before the reset.
				kept += max(0, min(r.Live[n], t.Flushed[n])-r.Flushed[n])
			}
			base[n] = kept
		}
		if err := save(st, ResetKey, resetRec{At: r.At, Base: base}); err != nil {
			return nil, err
		}
	}
	if t.Since.IsZero() {
		t.Since = now
	}
	if t.Lifetime == nil {
		t.Lifetime = Values{}
	}
	t.Process, t.Flushed = process, Values{}
	t.Samples = []sample{{At: now, V: t.Lifetime}}
	k := &Keeper{st: st, process: process, live: live, t: t}
	if err := save(st, StateKey, t); err != nil {
		return nil, err
	}
	return k, nil
}

// Flush adds what the live counters counted since the last flush to the
// totals, with a sample for the rates at now, in one durable write.
func (k *Keeper) Flush(now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	live := k.live()
	next := totals{Since: k.t.Since, Lifetime: Values{}, Process: k.process, Flushed: Values{}}
	un := k.t.unflushed(k.process, live)
	for _, n := range Names {
		next.Lifetime[n] = k.t.Lifetime[n] + un[n]
		next.Flushed[n] = live[n]
	}
	next.Samples = append(append([]sample(nil), k.t.Samples...), sample{At: now, V: next.Lifetime})
	if len(next.Samples) > keepSamples {
		next.Samples = next.Samples[len(next.Samples)-keepSamples:]
	}
	if err := save(k.st, StateKey, next); err != nil {
		return err
	}
	k.t = next
	return nil
}

// StatusLine is the periodic Status: line (ESA-CLI §11.8) without its
// level: the current IDs, the counters' lifetime values (they only grow,
// as a log reader graphing them expects; resetcounters does not touch
// them) and the gauges g holds, in the appliance's order. A field the
// gateway does not measure is left out, not written as a zero that lies.
func StatusLine(lifetime Values, g Gauges) string {
	var b strings.Builder
	b.WriteString("Status:")
	f := func(name string, v int64) { fmt.Fprintf(&b, " %s %d", name, v) }
	f("QKUsd", g.KilobytesUsed)
	f("CrtMID", g.MID)
	f("CrtICID", g.ICID)
	f("CrtDCID", g.DCID)
	for _, n := range Names {
		if n != DKSigned {
			f(n, lifetime[n])
		}
	}
	f("ActvRcp", g.Active)
	f("UnatmptRcp", g.Unattempted)
	f("AtmptRcp", g.Attempted)
	f("CrtCncIn", g.ConnIn)
	f("CrtCncOut", g.ConnOut)
	f("DstInMem", g.Destinations)
	f("WorkQ", g.WorkQueue)
	f("QuarMsgs", g.Quarantined)
	f("QuarQKUsd", g.KilobytesInQuarantine)
	return b.String()
}

// Gauges are the current values status shows under Gauges: and Current
// IDs.
type Gauges struct {
	MID, ICID, DCID           int64
	ConnIn, ConnOut           int64
	Active, Unattempted       int64
	Attempted, WorkQueue      int64
	Quarantined, Destinations int64
	KilobytesUsed             int64
	KilobytesInQuarantine     int64
}

// Measure reads the gauges of the queue's entries (Queue.List) and IDs
// and the listeners' and engine's current connections. Messages a quarantine holds are not in the
// work queue (Active, Unattempted, Attempted, WorkQueue, Destinations
// leave them out) but in Quarantined; KilobytesUsed is the whole queue's,
// as they are kept in the same queue.
func Measure(entries []queue.Entry, ids *queue.Counters, smtp smtpd.Stats, engine []outbound.DomainStats) Gauges {
	g := Gauges{
		MID:    int64(ids.Current(queue.MID)),
		ICID:   int64(ids.Current(queue.ICID)),
		DCID:   int64(ids.Current(queue.DCID)),
		ConnIn: smtp.CurrentConnections,
	}
	for _, s := range engine {
		g.ConnOut += int64(s.ActiveConns)
	}
	domains := map[string]bool{}
	var bytes, heldBytes int64
	for _, e := range entries {
		size := e.Envelope.Size + int64(len(e.Envelope.Prepend))
		if e.Held() {
			g.Quarantined++
			heldBytes += size
			continue
		}
		g.WorkQueue++
		bytes += size
		p := e.Pending()
		g.Active += int64(len(p))
		if e.State.Attempts == 0 {
			g.Unattempted += int64(len(p))
		} else {
			g.Attempted += int64(len(p))
		}
		for _, rid := range p {
			domains[strings.ToLower(DomainOf(e.Envelope.Recipients[rid]))] = true
		}
	}
	g.Destinations = int64(len(domains))
	g.KilobytesUsed = (bytes + heldBytes + 1023) / 1024
	g.KilobytesInQuarantine = (heldBytes + 1023) / 1024
	return g
}

// DomainOf is the recipient host of an address: what follows the last
// "@" (RFC 5321 §4.1.2: the local part may itself hold a quoted "@").
func DomainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.TrimSuffix(addr[at+1:], ".")
}
