package counters

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/delivery/smtpd"
)

// memState is a StateStore in memory; fail makes writes fail.
type memState struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail bool
}

func (s *memState) GetState(k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.m[k]...), nil
}

func (s *memState) PutState(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk full")
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[k] = append([]byte(nil), v...)
	return nil
}

// proc is one run of the daemon: its live counters.
type proc struct {
	id string
	mu sync.Mutex
	v  Values
}

func newProc(n int) *proc { return &proc{id: ProcessID(4242, time.Unix(int64(n), 0)), v: Values{}} }

func (p *proc) add(name string, n int64) { p.mu.Lock(); p.v[name] += n; p.mu.Unlock() }

func (p *proc) live() Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := Values{}
	for k, v := range p.v {
		out[k] = v
	}
	return out
}

var t0 = time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC)

func view(t *testing.T, st StateStore, p *proc) View {
	t.Helper()
	v, err := Load(st, p.id, p.live(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func want(t *testing.T, what string, v View, name string, reset, uptime, lifetime int64) {
	t.Helper()
	if v.Reset[name] != reset || v.Uptime[name] != uptime || v.Lifetime[name] != lifetime {
		t.Errorf("%s: %s = Reset %d Uptime %d Lifetime %d, want %d %d %d", what, name,
			v.Reset[name], v.Uptime[name], v.Lifetime[name], reset, uptime, lifetime)
	}
}

func start(t *testing.T, st StateStore, p *proc, now time.Time) *Keeper {
	t.Helper()
	k, err := Start(st, p.id, p.live, now)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestColumnsAcrossRestarts: the Lifetime column keeps what earlier runs
// flushed, Uptime starts at zero with each run, Reset is Lifetime until
// the first reset; counts since the last flush are in the view at once.
func TestColumnsAcrossRestarts(t *testing.T) {
	t.Parallel()
	st := &memState{}
	p1 := newProc(1)
	// No Keeper yet (a shell's own tests): the live counts are all.
	p1.add(InjMsg, 2)
	v := view(t, st, p1)
	want(t, "no keeper", v, InjMsg, 2, 2, 2)
	if !v.ResetAt.IsZero() || !v.Since.IsZero() {
		t.Errorf("ResetAt %v Since %v, want both zero", v.ResetAt, v.Since)
	}

	k1 := start(t, st, p1, t0)
	want(t, "started", view(t, st, p1), InjMsg, 2, 2, 2)
	p1.add(InjMsg, 3)
	p1.add(RejRcp, 1)
	if err := k1.Flush(t0); err != nil {
		t.Fatal(err)
	}
	p1.add(InjMsg, 1) // after the flush: in the view, not yet kept
	want(t, "run 1", view(t, st, p1), InjMsg, 6, 6, 6)
	if err := k1.Flush(t0); err != nil { // shutdown
		t.Fatal(err)
	}

	p2 := newProc(2)
	start(t, st, p2, t0.Add(time.Hour))
	v = view(t, st, p2)
	want(t, "run 2 start", v, InjMsg, 6, 0, 6)
	want(t, "run 2 start", v, RejRcp, 1, 0, 1)
	if !v.Since.Equal(t0) {
		t.Errorf("Since = %v, want the first run's start %v", v.Since, t0)
	}
	p2.add(InjMsg, 4)
	want(t, "run 2", view(t, st, p2), InjMsg, 10, 4, 10)
}

// TestResetOnlyResetColumn: resetcounters zeroes the Reset column and
// leaves Uptime and Lifetime; later counts show in all three.
func TestResetOnlyResetColumn(t *testing.T) {
	t.Parallel()
	st := &memState{}
	p := newProc(1)
	k := start(t, st, p, t0)
	p.add(InjRcp, 5)
	if err := k.Flush(t0); err != nil {
		t.Fatal(err)
	}
	p.add(InjRcp, 2) // unflushed when the reset comes
	at := t0.Add(10 * time.Minute)
	if err := Reset(st, p.id, p.live(), at); err != nil {
		t.Fatal(err)
	}
	v := view(t, st, p)
	want(t, "after reset", v, InjRcp, 0, 7, 7)
	if !v.ResetAt.Equal(at) {
		t.Errorf("ResetAt = %v, want %v", v.ResetAt, at)
	}
	p.add(InjRcp, 3)
	want(t, "after reset", view(t, st, p), InjRcp, 3, 10, 10)
	if err := k.Flush(t0); err != nil {
		t.Fatal(err)
	}
	want(t, "flushed", view(t, st, p), InjRcp, 3, 10, 10)

	// A clean restart keeps the reset and its time.
	if err := k.Flush(t0); err != nil {
		t.Fatal(err)
	}
	p2 := newProc(2)
	start(t, st, p2, t0.Add(time.Hour))
	p2.add(InjRcp, 1)
	v = view(t, st, p2)
	want(t, "restart", v, InjRcp, 4, 1, 11)
	if !v.ResetAt.Equal(at) {
		t.Errorf("ResetAt after restart = %v, want %v", v.ResetAt, at)
	}
}

// TestCrashAfterReset: a crash loses the counts since the last flush; the
// Reset column never takes off counts that were not kept, whether a flush
// followed the reset or not.
func TestCrashAfterReset(t *testing.T) {
	t.Parallel()
	for _, flushAfter := range []bool{false, true} {
		st := &memState{}
		p := newProc(1)
		k := start(t, st, p, t0)
		p.add(DlvRcp, 5)
		if err := k.Flush(t0); err != nil {
			t.Fatal(err)
		}
		p.add(DlvRcp, 3) // before the reset, not flushed
		if err := Reset(st, p.id, p.live(), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		p.add(DlvRcp, 2) // after the reset
		if flushAfter {
			if err := k.Flush(t0); err != nil {
				t.Fatal(err)
			}
		}
		p.add(DlvRcp, 1) // lost in the crash either way
		// Crash: no final flush.
		p2 := newProc(2)
		start(t, st, p2, t0.Add(time.Hour))
		p2.add(DlvRcp, 4)
		v := view(t, st, p2)
		if flushAfter {
			// Kept: 5 + 3 before the reset, 2 after; lost: 1.
			want(t, "crash after a flush", v, DlvRcp, 2+4, 4, 10+4)
		} else {
			// Kept: 5 before the reset; lost: 3 before, 2+1 after.
			want(t, "crash before a flush", v, DlvRcp, 4, 4, 5+4)
		}
	}
}

// TestFlushFailureKeepsCounts: a failed write changes nothing, so the
// next flush adds the same counts once.
func TestFlushFailureKeepsCounts(t *testing.T) {
	t.Parallel()
	st := &memState{}
	p := newProc(1)
	k := start(t, st, p, t0)
	p.add(InjMsg, 3)
	st.mu.Lock()
	st.fail = true
	st.mu.Unlock()
	if err := k.Flush(t0); err == nil {
		t.Fatal("Flush did not report the failed write")
	}
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	if err := k.Flush(t0); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(t0); err != nil {
		t.Fatal(err)
	}
	start(t, st, newProc(2), t0.Add(time.Hour))
	want(t, "after a failed flush", view(t, st, newProc(2)), InjMsg, 3, 0, 3)
}

// TestDamagedState: a damaged totals value is an error, not zeros shown as
// if they were true.
func TestDamagedState(t *testing.T) {
	t.Parallel()
	st := &memState{m: map[string][]byte{StateKey: []byte("{not json")}}
	if _, err := Load(st, "x", Values{}, t0); err == nil {
		t.Error("Load of damaged totals: no error")
	}
	if _, err := Start(st, "x", func() Values { return Values{} }, t0); err == nil {
		t.Error("Start over damaged totals: no error")
	}
}

// TestLive maps the parts' counters to the counters.
func TestLive(t *testing.T) {
	t.Parallel()
	v := Live(smtpd.Stats{Messages: 3, Recipients: 7, Rejected: 2, Dropped: 1},
		map[string]int64{"delivered": 4, "bounced": 2, "deleted": 1},
		[]outbound.DomainStats{{SoftBounced: 2, DNSBounced: 1, ActiveConns: 1, Signed: 2, GenBounced: 1}, {SoftBounced: 1, FiveXXBounced: 1, ExpiredBounced: 1, FilterBounced: 2, OtherBounced: 1, Signed: 1}})
	exp := Values{InjMsg: 3, InjRcp: 7, GenBncRcp: 1, RejRcp: 2, DrpMsg: 1, SftBncEvnt: 3, CmpRcp: 7, HrdBncRcp: 2,
		DnsHrdBnc: 1, FiveXXBnc: 1, FltrHrdBnc: 2, ExpHrdBnc: 1, OtrHrdBnc: 1, DlvRcp: 4, DelRcp: 1, GlbUnsbHt: 0, DKSigned: 3}
	for _, n := range Names {
		if v[n] != exp[n] {
			t.Errorf("%s = %d, want %d", n, v[n], exp[n])
		}
	}
}

// TestStatusLine: the appliance's field names in its order (ESA-CLI
// §11.8), the lifetime counters, the gauges of a real queue, and none of
// the fields the gateway does not measure.
func TestStatusLine(t *testing.T) {
	t.Parallel()
	q, err := queue.Open(filepath.Join(t.TempDir(), "queue"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	for i, rcpts := range [][]string{{"a@x.example", "b@y.example"}, {"c@x.example"}} {
		mid, _ := q.IDs().Next(queue.MID)
		w, err := q.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(strings.Repeat("x", 1500)))
		env := queue.Envelope{MID: mid, From: "s@z.example", Recipients: rcpts, Size: 1500}
		if i == 1 {
			env.Quarantine = "Policy"
		}
		if err := w.Commit(env); err != nil {
			t.Fatal(err)
		}
	}
	g := Measure(q.List(), q.IDs(), smtpd.Stats{CurrentConnections: 2}, []outbound.DomainStats{{ActiveConns: 1}})
	life := Values{InjMsg: 243087, InjRcp: 264562, DrpMsg: 9355, FltrHrdBnc: 5, DKSigned: 7}
	got := StatusLine(life, g)
	exp := "Status: QKUsd 3 CrtMID 2 CrtICID 0 CrtDCID 0 InjMsg 243087 InjRcp 264562 GenBncRcp 0 RejRcp 0 DrpMsg 9355 " +
		"SftBncEvnt 0 CmpRcp 0 HrdBncRcp 0 DnsHrdBnc 0 5XXHrdBnc 0 FltrHrdBnc 5 ExpHrdBnc 0 OtrHrdBnc 0 DlvRcp 0 DelRcp 0 GlbUnsbHt 0 " +
		"ActvRcp 2 UnatmptRcp 2 AtmptRcp 0 CrtCncIn 2 CrtCncOut 1 DstInMem 2 WorkQ 1 QuarMsgs 1 QuarQKUsd 2"
	if got != exp {
		t.Errorf("StatusLine:\n got %s\nwant %s", got, exp)
	}
	for _, absent := range []string{"CPULd", "RAMUtil", "QKFre", "DnsReq", "LogAvail", DKSigned} {
		if strings.Contains(got, " "+absent+" ") {
			t.Errorf("StatusLine shows %s, which is not measured", absent)
		}
	}
}

func BenchmarkFlush(b *testing.B) {
	st := &memState{}
	p := newProc(1)
	k, err := Start(st, p.id, p.live, t0)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		p.add(InjMsg, 1)
		if err := k.Flush(t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	st := &memState{}
	p := newProc(1)
	k, _ := Start(st, p.id, p.live, t0)
	p.add(InjMsg, 1)
	k.Flush(t0)
	Reset(st, p.id, p.live(), t0)
	for i := 0; i < b.N; i++ {
		if _, err := Load(st, p.id, p.live(), t0); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzLoad: whatever bytes the state holds (a damaged store), Load and
// Start return an error or a view whose columns are never negative.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"since":"2026-03-04T10:20:30Z","lifetime":{"InjMsg":5},"process":"1@1","flushed":{"InjMsg":2}}`),
		[]byte(`{"at":"2026-03-04T10:20:30Z","process":"1@1","lifetime":{"InjMsg":1},"live":{"InjMsg":9},"flushed":{}}`))
	f.Add([]byte(`{"lifetime":{"InjMsg":-5}}`), []byte(`{"at":"2026-03-04T10:20:30Z","base":{"InjMsg":99}}`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, tot, rst []byte) {
		st := &memState{m: map[string][]byte{StateKey: tot, ResetKey: rst}}
		live := Values{InjMsg: 3}
		if v, err := Load(st, "1@1", live, t0); err == nil {
			for _, n := range Names {
				if v.Reset[n] < 0 {
					t.Fatalf("Reset[%s] = %d", n, v.Reset[n])
				}
			}
		}
		Start(st, "2@2", func() Values { return live }, t0)
	})
}

// TestRates: status detail's events per hour over 1, 5 and 15 minutes,
// from the samples of each flush; a young process's rates are over the
// time it has run; another process's samples give no rates.
func TestRates(t *testing.T) {
	t.Parallel()
	st := &memState{}
	old := newProc(1)
	ko := start(t, st, old, t0.Add(-time.Hour))
	old.add(InjMsg, 1000) // an earlier run: not in this run's rates
	if err := ko.Flush(t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	p := newProc(2)
	k := start(t, st, p, t0)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	rate := func(now time.Time, name string) []int64 {
		t.Helper()
		v, err := Load(st, p.id, p.live(), now)
		if err != nil {
			t.Fatal(err)
		}
		return v.Rates[name]
	}
	eq := func(what string, got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("%s: rates %v, want %v", what, got, want)
		}
	}
	eq("at the start", rate(t0, InjMsg), 0, 0, 0)
	for m := 1; m <= 2; m++ {
		p.add(InjMsg, 10)
		if err := k.Flush(at(m)); err != nil {
			t.Fatal(err)
		}
	}
	// Two minutes old: the 5- and 15-minute rates are over two minutes.
	eq("after two minutes", rate(at(2), InjMsg), 600, 600, 600)
	for m := 3; m <= 20; m++ {
		p.add(InjMsg, 10)
		if err := k.Flush(at(m)); err != nil {
			t.Fatal(err)
		}
	}
	eq("steady", rate(at(20), InjMsg), 600, 600, 600)
	p.add(InjMsg, 50) // a burst, not flushed yet: counted at once
	// 1 minute: 60 since minute 19; 5: 100 since 15; 15: 200 since 5.
	eq("burst", rate(at(20), InjMsg), 3600, 1200, 800)
	eq("no other counter", rate(at(20), DlvRcp), 0, 0, 0)
	if v, _ := Load(st, "someone else", p.live(), at(20)); v.Rates[InjMsg][0] != 0 {
		t.Errorf("another process's samples gave rates %v", v.Rates[InjMsg])
	}
	// Only the samples the longest window needs are kept.
	tot, err := load[totals](st, StateKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(tot.Samples) != keepSamples {
		t.Errorf("%d samples kept, want %d", len(tot.Samples), keepSamples)
	}
}
