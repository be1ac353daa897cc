package commands

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/shell"
	"esa/store"
	"esa/store/dmarcconf"
	"esa/store/filters"
	"esa/store/quarantines"
)

// The quarantineconfig transcripts and what each must leave.
func init() {
	for name, tc := range map[string]transcript{
		"quarantineconfig": {setup: dmarcQuarantine, check: func(t *testing.T, env *Env) {
			want := quarantines.Table{Quarantines: []quarantines.Quarantine{
				{Name: "Policy", RetentionHours: 7 * 24, DefaultAction: quarantines.ActionRelease},
				{Name: "DMARC", RetentionHours: 48, DefaultAction: quarantines.ActionDelete},
				{Name: "Filtered", RetentionHours: 24, DefaultAction: quarantines.ActionDelete},
				{Name: "Spoofed", RetentionHours: 36, DefaultAction: quarantines.ActionRelease},
			}}
			if got := env.Store.Committed().Quarantines; !reflect.DeepEqual(got, want) {
				t.Errorf("committed quarantines\n%+v\nwant\n%+v", got, want)
			}
		}},
		"quarantineconfig_messages": {setup: withHeld, check: func(t *testing.T, env *Env) {
			// 4 released, 5 deleted, 7 (no longer configured) deleted; 6
			// still held by HR; 1 to 3 never held.
			if got := heldMIDs(env.Queue.Quarantined("")); !reflect.DeepEqual(got, []uint64{6}) {
				t.Errorf("still held %v, want [6]", got)
			}
			if e, ok := env.Queue.Get(4); !ok || !e.State.Released {
				t.Errorf("MID 4 not released: %+v", e)
			}
			for _, mid := range []uint64{5, 7} {
				if _, ok := env.Queue.Get(mid); ok {
					t.Errorf("MID %d is still queued", mid)
				}
			}
			queueHolds(5, 9)(t, env)
			if qs := env.Session.Config().Quarantines; qs.Quarantine("HR") == nil {
				t.Errorf("HR, which holds a message, was deleted")
			}
		}},
		"quarantineconfig_eof": {check: func(t *testing.T, env *Env) {
			if env.Session.Pending() {
				t.Errorf("input ending inside NEW left pending changes in %v", env.Session.Changed())
			}
		}},
	} {
		transcripts[name] = tc
	}
}

func heldMIDs(es []queue.Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Envelope.MID)
	}
	return out
}

// commitConfig commits change from another session.
func commitConfig(t *testing.T, env *Env, change func(c *store.Config)) {
	t.Helper()
	ss := env.Store.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error { change(c); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("setup", false); err != nil {
		t.Fatal(err)
	}
}

// dmarcQuarantine adds a quarantine a DMARC profile uses and one a
// filter uses.
func dmarcQuarantine(t *testing.T, env *Env) {
	commitConfig(t, env, func(c *store.Config) {
		c.Quarantines.Quarantines = append(c.Quarantines.Quarantines, quarantines.Quarantine{Name: "DMARC", RetentionHours: 48, DefaultAction: quarantines.ActionDelete})
		c.Quarantines.Quarantines = append(c.Quarantines.Quarantines, quarantines.Quarantine{Name: "Filtered", RetentionHours: 24, DefaultAction: quarantines.ActionDelete})
		c.Filters.Filters = []filters.Filter{{Name: "spf_fail", Active: true, Script: `spf_fail: if (spf-status == "fail") { quarantine("Filtered"); }`}}
		p := dmarcconf.NewProfile("strict")
		p.QuarantineQuarantine = "DMARC"
		c.DMARC.Profiles = append(c.DMARC.Profiles, p)
	})
}

// heldMessages are committed after testMessages (MIDs 4 to 7): two held
// by Policy, one by HR and one by a quarantine no longer configured.
var heldMessages = []struct {
	quarantine, reason, from string
	received                 time.Duration // before clock
	rcpts                    []string
}{
	{"Policy", "DMARC: p=reject for sender.example (profile DEFAULT)", "ceo@sender.example", 3 * time.Hour, []string{"bob@example.com", "carol@example.org"}},
	{"Policy", "filter forged_ceo: quarantine(\"Policy\")", "", 90 * time.Minute, []string{"dave@example.org"}},
	{"HR", "filter hr_words: quarantine(\"HR\")", "\x1b[31mhr@evil.example", time.Hour, []string{"hr@example.com"}},
	{"Gone", "filter old: quarantine(\"Gone\")", "x@old.example", 26 * time.Hour, []string{"erin@example.net"}},
}

// withHeld is withQueue plus heldMessages and the HR quarantine.
func withHeld(t *testing.T, env *Env) {
	withQueue(t, env)
	commitConfig(t, env, func(c *store.Config) {
		c.Quarantines.Quarantines = append(c.Quarantines.Quarantines, quarantines.Quarantine{Name: "HR", RetentionHours: 12, DefaultAction: quarantines.ActionRelease})
	})
	q := env.Queue
	for _, m := range heldMessages {
		mid, err := q.IDs().Next(queue.MID)
		if err != nil {
			t.Fatal(err)
		}
		w, err := q.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "From: someone\r\nSubject: held\r\n\r\nbody\r\n")
		if err := w.Commit(queue.Envelope{MID: mid, Received: clock.Add(-m.received), From: m.from, Recipients: m.rcpts,
			Quarantine: m.quarantine, QuarantineReason: m.reason}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseMIDList(t *testing.T) {
	t.Parallel()
	listed := []queue.Entry{{Envelope: queue.Envelope{MID: 4}}, {Envelope: queue.Envelope{MID: 9}}, {Envelope: queue.Envelope{MID: 12}}}
	for in, want := range map[string][]uint64{"ALL": {4, 9, 12}, " all ": {4, 9, 12}, "9": {9}, "12, 4,12 ,9": {12, 4, 9}} {
		if got, err := parseMIDList(in, listed); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"5":     "MID 5 is not",
		"4,,9":  `Enter MIDs separated by commas, or ALL: "" is not a MID`,
		"+4":    `Enter MIDs separated by commas, or ALL: "+4" is not a MID`,
		"4 9":   `Enter MIDs separated by commas, or ALL: "4 9" is not a MID`,
		"-4":    `Enter MIDs separated by commas, or ALL: "-4" is not a MID`,
		"alles": `Enter MIDs separated by commas, or ALL: "alles" is not a MID`,
	} {
		if got, err := parseMIDList(in, listed); err == nil || err.Error() != want {
			t.Errorf("%q: %v, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzMIDList: an accepted answer names only listed MIDs, each once.
func FuzzMIDList(f *testing.F) {
	for _, s := range []string{"ALL", "4", "4, 9,4", "", ",", "18446744073709551616", "+4", "0x4"} {
		f.Add(s)
	}
	listed := []queue.Entry{{Envelope: queue.Envelope{MID: 4}}, {Envelope: queue.Envelope{MID: 9}}}
	f.Fuzz(func(t *testing.T, a string) {
		got, err := parseMIDList(a, listed)
		if err != nil {
			return
		}
		seen := map[uint64]bool{}
		for _, m := range got {
			if (m != 4 && m != 9) || seen[m] {
				t.Fatalf("%q accepted as %v", a, got)
			}
			seen[m] = true
		}
		if len(got) == 0 {
			t.Fatalf("%q accepted as no MID", a)
		}
	})
}

// TestActOnHeldInterrupted: Ctrl-C (the command's context cancelled)
// stops before the next message; nothing is released.
func TestActOnHeldInterrupted(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withHeld(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sio := shell.NewIO(ctx, shell.NewPlainEditor(strings.NewReader(""), io.Discard), io.Discard)
	n, err := actOnHeld(sio, env, "Policy", true, []uint64{4, 5})
	if n != 0 || !errors.Is(err, shell.ErrInterrupt) {
		t.Errorf("released %d, %v; want 0, ErrInterrupt", n, err)
	}
	if got := heldMIDs(env.Queue.Quarantined("Policy")); !reflect.DeepEqual(got, []uint64{4, 5}) {
		t.Errorf("Policy holds %v after an interrupted release", got)
	}
}
