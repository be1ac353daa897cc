package outbound

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"esa/delivery/queue"
	"esa/dnssec/dnstest"
)

// TestBounceNow: bouncerecipients' bounce of a deferred recipient ends it
// at once with one RFC 3464 report (Status 5.3.0) to the sender, logged as
// the engine's other bounces; the message leaves the queue.
func TestBounceNow(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy {
			return Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: 72 * time.Hour, HardBounce: true}}
		}})
	mid := hs.submit("alice@raw.ins.test", true, "Subject: hello\r\nMessage-ID: <b1@x>\r\n\r\nbody\r\n", "later1@raw.ins.test")
	if ev := hs.waitFor(mid); ev.Outcome != Deferred {
		t.Fatalf("first attempt: %+v", ev)
	}
	n, err := hs.e.BounceNow(mid, []int{0, 0, 5}, "bounced by admin with bouncerecipients")
	if err != nil || n != 1 {
		t.Fatalf("BounceNow = %d, %v; want 1 (a RID out of range or repeated is not bounced twice)", n, err)
	}
	if ev := hs.waitFor(mid); ev.Outcome != Bounced || len(ev.RIDs) != 1 || ev.RIDs[0] != 0 {
		t.Fatalf("after BounceNow: %+v", ev)
	}
	if _, ok := hs.q.Get(mid); ok {
		t.Errorf("MID %d still queued after its only recipient bounced", mid)
	}
	hs.next(func(ev Event) bool { return ev.MID != mid && ev.Outcome == Delivered })
	var dsns []dnstest.Message
	for _, m := range srv.messages() {
		if m.From == "" {
			dsns = append(dsns, m)
		}
	}
	if len(dsns) != 1 || dsns[0].To[0] != "alice@raw.ins.test" {
		t.Fatalf("%d DSNs, want one to alice", len(dsns))
	}
	_, st := dsnParts(t, dsns[0])
	for _, w := range []string{"Final-Recipient: rfc822; later1@raw.ins.test", "Action: failed", "Status: 5.3.0"} {
		if !strings.Contains(st, w) {
			t.Errorf("delivery-status lacks %q:\n%s", w, st)
		}
	}
	// The message left the queue with its only recipient; the report
	// still returns its header.
	if !strings.Contains(string(dsns[0].Data), "Message-ID: <b1@x>") {
		t.Errorf("the original header is not returned:\n%s", dsns[0].Data)
	}
	if n, _ := hs.e.BounceNow(mid, []int{0}, "again"); n != 0 {
		t.Errorf("a second BounceNow of a finished message bounced %d", n)
	}
	re := `(?m)^Info: Bounced: DCID 0 MID ` + itoa(mid) + ` From: <alice@raw\.ins\.test> To: <later1@raw\.ins\.test> RID 0 - 5\.3\.0 - Bounced by administrator \('000', \['bounced by admin with bouncerecipients'\]\)$`
	if !regexp.MustCompile(re).MatchString(hs.log.String()) {
		t.Errorf("no line %s in\n%s", re, hs.log.String())
	}
	if s, ok := hs.e.HostStatus("raw.ins.test"); !ok || s.HardBounced != 1 || s.SoftBounced != 1 || s.OtherBounced != 1 || s.FiveXXBounced+s.DNSBounced+s.ExpiredBounced+s.FilterBounced != 0 {
		t.Errorf("hoststatus counters %+v", s)
	}
}

// TestBounceFiltered: a message filter's bounce() ends the recipients as
// bouncerecipients does, with the report to the sender, but is logged
// "Bounced by filter" and counted as a Filter Hard Bounce, not an Other
// one (ESA-CLI §10.4, §10.7).
func TestBounceFiltered(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy {
			return Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: 72 * time.Hour, HardBounce: true}}
		}})
	mid := hs.submit("alice@raw.ins.test", true, "Subject: hello\r\nMessage-ID: <f1@x>\r\n\r\nbody\r\n", "later1@raw.ins.test", "later2@raw.ins.test")
	if ev := hs.waitFor(mid); ev.Outcome != Deferred {
		t.Fatalf("first attempt: %+v", ev)
	}
	n, err := hs.e.BounceFiltered(mid, []int{0, 1}, "Message bounced by a message filter")
	if err != nil || n != 2 {
		t.Fatalf("BounceFiltered = %d, %v; want 2", n, err)
	}
	if ev := hs.waitFor(mid); ev.Outcome != Bounced || len(ev.RIDs) != 2 {
		t.Fatalf("after BounceFiltered: %+v", ev)
	}
	hs.next(func(ev Event) bool { return ev.MID != mid && ev.Outcome == Delivered })
	var dsns int
	for _, m := range srv.messages() {
		if m.From == "" && m.To[0] == "alice@raw.ins.test" {
			dsns++
		}
	}
	if dsns != 1 {
		t.Errorf("%d reports to the sender, want one for the domain", dsns)
	}
	for rid, to := range []string{"later1", "later2"} {
		re := `(?m)^Info: Bounced: DCID 0 MID ` + itoa(mid) + ` From: <alice@raw\.ins\.test> To: <` + to + `@raw\.ins\.test> RID ` + itoa(uint64(rid)) +
			` - 5\.3\.0 - Bounced by filter \('000', \['Message bounced by a message filter'\]\)$`
		if !regexp.MustCompile(re).MatchString(hs.log.String()) {
			t.Errorf("no line %s in\n%s", re, hs.log.String())
		}
	}
	s, ok := hs.e.HostStatus("raw.ins.test")
	if !ok || s.HardBounced != 2 || s.FilterBounced != 2 || s.OtherBounced+s.FiveXXBounced+s.DNSBounced+s.ExpiredBounced != 0 {
		t.Errorf("hoststatus counters %+v; want both bounces under Filter", s)
	}
}

// TestRedirect: redirectrecipients' override sends the mail queued before
// it to the named host whatever its route, at once; mail queued after it
// follows its own route again.
func TestRedirect(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "raw", kind: kindRefuse}}, nil)
	rawIP := b.ips["raw.ins.test"]
	// held.invalid's route is a closed port: its mail is deferred.
	routes := map[string]Route{"held.invalid": {Hosts: []RouteHost{{Host: "127.0.0.1", Port: 1}}}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy {
			return Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: 72 * time.Hour}}
		},
		Route: func(d string) (Route, bool) { r, ok := routes[d]; return r, ok }})
	m1 := hs.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "one@held.invalid", "two@held.invalid")
	if ev := hs.waitFor(m1); ev.Outcome != Deferred {
		t.Fatalf("before the redirect: %+v", ev)
	}
	if _, err := hs.e.Redirect("", 0); err == nil {
		t.Errorf("a redirect without a host was accepted")
	}
	n, err := hs.e.Redirect(rawIP, b.port)
	if err != nil || n != 2 {
		t.Fatalf("Redirect = %d, %v; want 2 recipients", n, err)
	}
	if h, p, ok := hs.e.Redirected(); !ok || h != rawIP || p != b.port {
		t.Errorf("Redirected() = %s %d %v", h, p, ok)
	}
	if ev := hs.waitFor(m1); ev.Outcome != Delivered || len(ev.RIDs) != 2 {
		t.Fatalf("after the redirect (the back-off of an hour must not apply): %+v", ev)
	}
	if got := b.delivered("raw.ins.test", "one@held.invalid"); len(got) != 1 {
		t.Errorf("the redirect host got %d copies for one@held.invalid", len(got))
	}
	m2 := hs.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "three@held.invalid")
	if ev := hs.waitFor(m2); ev.Outcome != Deferred {
		t.Errorf("mail queued after the redirect must follow its own route: %+v", ev)
	}
}

// TestBounceCauses: hoststatus' breakdown of hard bounces: a 5xx reply, a
// temporary failure the profile gave up on (expired) and a domain that
// does not exist (DNS) each count under their own cause.
func TestBounceCauses(t *testing.T) {
	t.Parallel()
	b, _ := rawBed(t)
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy {
			return Policy{TLS: TLSNo, Bounce: Bounce{MaxRetries: 1, InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: time.Hour}}
		}})
	m1 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "reject1@raw.ins.test")
	m2 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "later1@raw.ins.test")
	m3 := hs.submit("", true, "Subject: x\r\n\r\nb\r\n", "a@nowhere.sec.test")
	for mid, ev := range hs.waitAll(midSet([]uint64{m1, m2, m3})) {
		if ev.Outcome != Bounced {
			t.Fatalf("MID %d: %+v", mid, ev)
		}
	}
	raw, _ := hs.e.HostStatus("raw.ins.test")
	if raw.HardBounced != 2 || raw.FiveXXBounced != 1 || raw.ExpiredBounced != 1 || raw.DNSBounced != 0 || raw.OtherBounced != 0 {
		t.Errorf("raw.ins.test: %+v", raw)
	}
	nx, _ := hs.e.HostStatus("nowhere.sec.test")
	if nx.HardBounced != 1 || nx.DNSBounced != 1 || nx.FiveXXBounced+nx.ExpiredBounced+nx.OtherBounced != 0 {
		t.Errorf("nowhere.sec.test: %+v", nx)
	}
}

// submitHeld queues a message quarantine holds, as a listener commits one
// a filter or DMARC policy quarantined.
func submitHeld(t *testing.T, q *queue.Queue, quarantine string, rcpts ...string) uint64 {
	t.Helper()
	mid, err := q.IDs().Next(queue.MID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "Subject: held\r\n\r\nb\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(queue.Envelope{MID: mid, ICID: 1, Received: time.Now(), From: "a@x.test", Recipients: rcpts, Relayed: true,
		Quarantine: quarantine, QuarantineReason: "filter f: quarantine(\"" + quarantine + "\")"}); err != nil {
		t.Fatal(err)
	}
	return mid
}

// TestAdminLeavesHeldAlone: a message a quarantine holds is not in the
// work queue, so the administrator's queue operations pass it by:
// BounceNow bounces none of its recipients, DeliverNow leaves its retry
// time, and Redirect neither counts it nor routes it once it is released
// (it follows its own route then), while each acts on the message beside
// it in the work queue.
func TestAdminLeavesHeldAlone(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "raw", kind: kindRefuse}}, nil)
	rawIP := b.ips["raw.ins.test"]
	// held.invalid's route is a closed port: its mail is deferred.
	routes := map[string]Route{"held.invalid": {Hosts: []RouteHost{{Host: "127.0.0.1", Port: 1}}}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port,
		Policy: func(string) Policy {
			return Policy{TLS: TLSNo, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour, MaxQueueTime: 72 * time.Hour, HardBounce: true}}
		},
		Route: func(d string) (Route, bool) { r, ok := routes[d]; return r, ok }})
	h := submitHeld(t, hs.q, "Policy", "h1@held.invalid", "h2@held.invalid")
	m := hs.submit("a@x.test", true, "Subject: x\r\n\r\nb\r\n", "one@held.invalid")
	if ev := hs.waitFor(m); ev.Outcome != Deferred {
		t.Fatalf("the work queue's message before the operations: %+v", ev)
	}

	if n, err := hs.e.BounceNow(h, []int{0, 1}, "bounced by admin with bouncerecipients"); n != 0 || err != nil {
		t.Errorf("BounceNow of a held message = %d, %v; want 0", n, err)
	}
	if en, ok := hs.q.Get(h); !ok || !en.Held() || len(en.Pending()) != 2 {
		t.Errorf("after BounceNow the held message is %+v (queued %v); want it held with 2 pending recipients", en, ok)
	}
	if strings.Contains(hs.log.String(), "MID "+itoa(h)+" ") {
		t.Errorf("BounceNow logged about the held message:\n%s", hs.log.String())
	}

	// A held message given a retry time (as if attempted) keeps it;
	// the work queue's message is due at once and tried again.
	if _, err := hs.q.SetRetry(h, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	hs.e.DeliverNow("all")
	if en, _ := hs.q.Get(h); en.State.Next.IsZero() {
		t.Errorf("DeliverNow cleared the retry time of a held message")
	}
	if ev := hs.waitFor(m); ev.Outcome != Deferred {
		t.Fatalf("after DeliverNow: %+v", ev)
	}

	n, err := hs.e.Redirect(rawIP, b.port)
	if err != nil || n != 1 {
		t.Fatalf("Redirect = %d, %v; want 1 recipient (the held message's 2 are not in the work queue)", n, err)
	}
	if ev := hs.waitFor(m); ev.Outcome != Delivered {
		t.Fatalf("the work queue's message after the redirect: %+v", ev)
	}
	// Released after the redirect, the held message follows its own
	// route (the closed port), not the redirect.
	if err := hs.q.Release(h); err != nil {
		t.Fatal(err)
	}
	hs.e.DeliverNow("held.invalid") // its retry time set above, now that it is released
	if ev := hs.waitFor(h); ev.Outcome != Deferred {
		t.Errorf("the released message: %+v, want deferred on its own route", ev)
	}
	if got := b.delivered("raw.ins.test", "h1@held.invalid"); len(got) != 0 {
		t.Errorf("the redirect host got the message released after the redirect")
	}
}
