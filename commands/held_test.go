package commands

import (
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
)

// The queue commands over a queue that holds quarantined messages: each
// leaves them out of the work queue it lists, counts and acts on, and says
// how many it passed by (quarantineconfig manages them).
func init() {
	for name, tc := range map[string]transcript{
		"showrecipients_held":     {setup: withHeldEngine, check: heldUntouched},
		"workqueue_held":          {setup: withHeldEngine, check: heldUntouched},
		"status_held":             {setup: withHeldEngine, check: heldUntouched},
		"showmessage_held":        {setup: withHeldEngine, check: heldUntouched},
		"hoststatus_held":         {setup: withHeldEngine, check: heldUntouched},
		"tophosts_held":           {setup: withHeldEngine, check: heldUntouched},
		"redirectrecipients_held": {setup: withHeldEngine, check: heldUntouched},
		"deleterecipients_held": {setup: withHeldEngine, check: func(t *testing.T, env *Env) {
			heldUntouched(t, env)
			// By host example.org: MID 1's RID 1 and MID 2's RID 2; the
			// held MIDs 4 and 5 keep theirs.
			e1, _ := env.Queue.Get(1)
			e2, _ := env.Queue.Get(2)
			if e1.State.Done[1] != "deleted" || e2.State.Done[2] != "deleted" {
				t.Errorf("MID 1 done %v, MID 2 done %v", e1.State.Done, e2.State.Done)
			}
		}},
		"bouncerecipients_held": {setup: withHeldEngine, check: func(t *testing.T, env *Env) {
			heldUntouched(t, env)
			f := fake(env)
			for _, mid := range heldMIDsOfFixture {
				if _, asked := f.bounced[mid]; asked {
					t.Errorf("the engine was asked to bounce held MID %d", mid)
				}
			}
			// All: every pending recipient of the work queue's MIDs 1,
			// 2, 3 and the released 6.
			want := map[uint64][]int{1: {0, 1}, 2: {1, 2, 3}, 3: {0}, 6: {0}}
			if !reflect.DeepEqual(f.bounced, want) {
				t.Errorf("bounced %v, want %v", f.bounced, want)
			}
		}},
		"delivernow_held": {setup: withHeldEngine, check: func(t *testing.T, env *Env) {
			heldUntouched(t, env)
			if got := fake(env).now; strings.Join(got, ",") != "example.com,all" {
				t.Errorf("DeliverNow calls %q", got)
			}
		}},
	} {
		transcripts[name] = tc
	}
}

// heldMIDsOfFixture are the MIDs withHeldEngine leaves held.
var heldMIDsOfFixture = []uint64{4, 5, 7, 8}

// heldDMARC is the message withHeldEngine commits as MID 8: one a
// listener's DMARC profile quarantined, with the verdicts of every check.
var heldDMARC = queue.Envelope{ICID: 4, Received: clock.Add(-20 * time.Minute), Listener: "IncomingMail",
	RemoteIP: "203.0.113.9", RemoteHost: "mail.forger.example", HELO: "mail.forger.example",
	SenderGroup: "UNKNOWNLIST", Policy: "$ACCEPTED", From: "billing@bank.example",
	Recipients: []string{"ap@example.com"},
	Prepend: "Authentication-Results: esa.example.com; spf=fail smtp.mailfrom=billing@bank.example; dkim=none; dmarc=fail (p=quarantine dis=quarantine) header.from=bank.example\r\n" +
		"Received: from mail.forger.example ([203.0.113.9])\r\n\tby esa.example.com with ESMTP id 4\r\n\tfor <ap@example.com>; Wed, 04 Mar 2026 10:00:30 +0000\r\n",
	Verdicts: map[string]string{"dmarc": "fail", "domainkeys": "none", "dkim": "none", "spf.mailfrom": "Fail", "spf.helo": "None",
		"x-custom": "seen"},
	MessageID: "<inv-77@bank.example>", Subject: "Invoice overdue",
	Quarantine: "Policy", QuarantineReason: "DMARC policy quarantine"}

// withHeldEngine is withHeld plus the fake engine, with HR's message (MID
// 6) released, so back in the work queue, and heldDMARC as MID 8. The work
// queue holds MIDs 1, 2, 3 and 6 (7 recipients); quarantines hold MIDs 4,
// 5, 7 and 8.
func withHeldEngine(t *testing.T, env *Env) {
	withHeld(t, env)
	env.Delivery = &fakeEngine{q: env.Queue, stats: fakeStats}
	q := env.Queue
	if err := q.Release(6); err != nil {
		t.Fatal(err)
	}
	mid, err := q.IDs().Next(queue.MID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: Billing <billing@bank.example>\r\nTo: ap@example.com\r\nSubject: Invoice overdue\r\nMessage-ID: <inv-77@bank.example>\r\n\r\nPay now.\r\n")
	m := heldDMARC
	m.MID = mid
	m.Recipients = slices.Clone(heldDMARC.Recipients)
	if err := w.Commit(m); err != nil {
		t.Fatal(err)
	}
	if mid != 8 {
		t.Fatalf("the DMARC message is MID %d, want 8", mid)
	}
}

// heldUntouched checks that the held messages are still held with all
// their recipients pending.
func heldUntouched(t *testing.T, env *Env) {
	t.Helper()
	var got []uint64
	for _, e := range env.Queue.Quarantined("") {
		if len(e.State.Done) != 0 {
			t.Errorf("held MID %d has recipients done: %v", e.Envelope.MID, e.State.Done)
		}
		got = append(got, e.Envelope.MID)
	}
	slices.Sort(got)
	if !slices.Equal(got, heldMIDsOfFixture) {
		t.Errorf("quarantines hold MIDs %v, want %v", got, heldMIDsOfFixture)
	}
}

// TestSplitHeld: a released message is in the work queue again; held ones
// are apart, in order.
func TestSplitHeld(t *testing.T) {
	t.Parallel()
	entries := []queue.Entry{
		{Envelope: queue.Envelope{MID: 1}},
		{Envelope: queue.Envelope{MID: 2, Quarantine: "Policy"}},
		{Envelope: queue.Envelope{MID: 3, Quarantine: "Policy"}, State: queue.State{Released: true}},
		{Envelope: queue.Envelope{MID: 4, Quarantine: "HR"}},
	}
	work, held := splitHeld(entries)
	mids := func(es []queue.Entry) (out []uint64) {
		for _, e := range es {
			out = append(out, e.Envelope.MID)
		}
		return out
	}
	if got := mids(work); !slices.Equal(got, []uint64{1, 3}) {
		t.Errorf("work queue %v, want [1 3]", got)
	}
	if got := mids(held); !slices.Equal(got, []uint64{2, 4}) {
		t.Errorf("held %v, want [2 4]", got)
	}
}

// TestStatusHeldGauges: status detail's quarantine gauges count the held
// messages and their storage, the work queue's gauges leave them out, and
// Kilobytes Used is the whole queue's.
func TestStatusHeldGauges(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withHeldEngine(t, env)
	all := env.Queue.List()
	v := statusValues(env, all)
	var work, held int64
	for _, e := range all {
		size := e.Envelope.Size + int64(len(e.Envelope.Prepend))
		if e.Held() {
			held += size
		} else {
			work += size
		}
	}
	for k, want := range map[string]int64{
		"Gauges:Messages In Work Queue":      4,
		"Gauges:Active Recipients":           7,
		"Gauges:Policy, Virus and Outbreak":  4,
		"Gauges:Kilobytes In Quarantine":     (held + 1023) / 1024,
		"Gauges:Kilobytes Used":              (work + held + 1023) / 1024,
		"Gauges:Destinations In Memory":      4, // example.com, example.org, example.net, sender.example
		"Gauges:Unattempted Recipients":      4,
		"Gauges:Attempted Recipients":        3,
		"Counters:Message ID (MID)":          8,
		"Counters:Injection Conn. ID (ICID)": 3,
	} {
		if v[k] != want {
			t.Errorf("%s = %d, want %d", k, v[k], want)
		}
	}
}
