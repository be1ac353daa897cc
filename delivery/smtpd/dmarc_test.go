package smtpd

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/auth/dmarc"
	"esa/delivery/queue"
	"esa/store/dmarcconf"
	"esa/store/mailflow"
)

// dmarcZone answers DMARC's lookups from the DKIM test zone, NXDOMAIN and
// NODATA said in DMARC's words.
type dmarcZone struct{ z *dkimDNS }

func (d dmarcZone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	out, err := d.z.LookupTXT(ctx, name)
	if errors.Is(err, dkim.ErrNotFound) {
		return nil, dmarc.ErrNotFound
	}
	return out, err
}

// dmarcRows collects what the listener files for the aggregate reports.
type dmarcRows struct {
	mu   sync.Mutex
	rows []dmarc.Row
}

func (r *dmarcRows) add(_ dmarc.Result, row dmarc.Row) {
	r.mu.Lock()
	r.rows = append(r.rows, row)
	r.mu.Unlock()
}

func (r *dmarcRows) forFrom(domain string) []dmarc.Row {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []dmarc.Row
	for _, row := range r.rows {
		if row.HeaderFrom == domain {
			out = append(out, row)
		}
	}
	return out
}

// dmarcListener is a public listener whose DEFAULT policy has the given
// parameters (not validated here: the parameter table is listenerconfig's).
func dmarcListener(kv ...string) mailflow.Listener {
	l := publicListener("IncomingMail")
	for i := 0; i < len(kv); i += 2 {
		l.HAT.Default = append(l.HAT.Default, mailflow.Param{Key: kv[i], Value: kv[i+1]})
	}
	return l
}

// TestDMARCInbound runs the seed's DMARC workflow against a loopback DNS
// zone: no record skips, a DNS failure takes the profile's
// temporary-failure action, a failing message is rejected, quarantined or
// accepted as the profile says for the Domain Owner's policy, aligned DKIM
// passes, the bypass header skips, relayed mail is not checked, and
// evaluated messages are filed for the aggregate reports with the applied
// disposition.
func TestDMARCInbound(t *testing.T) {
	t.Parallel()
	z := serveDKIMZone(t)
	q, err := queue.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, q: q, log: newLog(), cmdTimeout: 5 * time.Second, dataTimeout: 5 * time.Second}
	rows := &dmarcRows{}
	profiles := map[string]dmarcconf.Profile{}
	lenient := dmarcconf.NewProfile("LENIENT")
	lenient.RejectAction, lenient.QuarantineAction = dmarcconf.ActionNone, dmarcconf.ActionNone
	profiles["LENIENT"] = lenient
	strict := dmarcconf.NewProfile("STRICT")
	strict.TempFailAction, strict.PermFailAction = dmarcconf.ActionReject, dmarcconf.ActionReject
	strict.RejectAction, strict.RejectQuarantine = dmarcconf.ActionQuarantine, "Spoofs"
	profiles["STRICT"] = strict
	ev := dmarc.New(dmarcZone{z}, dmarc.Options{Mode: dmarc.RFC7489})
	b.srv = New(Options{Queue: q, Log: b.log, DKIM: z,
		DMARC: func() *dmarc.Evaluator { return ev },
		DMARCProfile: func(name string) dmarcconf.Profile {
			if p, ok := profiles[name]; ok {
				return p
			}
			return dmarcconf.NewProfile(dmarcconf.DefaultProfile)
		},
		DMARCSettings: func() dmarcconf.Settings {
			return dmarcconf.Settings{BypassHeaders: []string{"X-Internal-Bypass"}, BypassAddresses: []string{"@trusted.test"}}
		},
		DMARCRecord: rows.add,
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.srv.Shutdown(ctx)
	})

	key, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.KeyRecordText(key, dkim.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	z.publish("sel._domainkey.reject.test", rec)
	z.publish("_dmarc.reject.test", "v=DMARC1; p=reject; rua=mailto:agg@reject.test")
	z.publish("_dmarc.quarantine.test", "v=DMARC1; p=quarantine; rua=mailto:agg@quarantine.test")
	z.publish("_dmarc.monitor.test", "v=DMARC1; p=none; rua=mailto:agg@monitor.test")
	z.publish("_dmarc.x.servfail", "v=DMARC1; p=reject")

	msg := func(from, subject, extra string) string {
		return "From: Someone <someone@" + from + ">\r\nTo: b@example.com\r\nSubject: " + subject + "\r\n" + extra +
			"Message-ID: <" + subject + "@test>\r\n\r\nHello.\r\n"
	}
	on := []string{"dmarc_verify", "on", "dmarc_reports", "on"}
	with := func(kv ...string) []string { return append(append([]string(nil), on...), kv...) }
	cases := []struct {
		name       string
		params     []string
		relay      bool
		msg        string
		reply      string
		verdict    string // "" = DMARC did not run
		ar         string
		quarantine string
		log        string
		row        string // header_from domain of the row filed; "" = none
		applied    dmarc.Policy
	}{
		{name: "p=reject, unauthenticated: rejected by DEFAULT", params: on, msg: msg("reject.test", "r1", ""),
			reply: "550 #5.7.1 DMARC unauthenticated mail is prohibited", log: "DMARC: Message rejected by DMARC policy (p=reject)",
			row: "reject.test", applied: dmarc.PolicyReject},
		{name: "p=reject, aligned DKIM: pass", params: on, msg: signed(t, msg("reject.test", "r2", ""), "reject.test", "sel", &dkim.SignProfile{Key: key}),
			reply: "250 ", verdict: "pass", ar: "dmarc=pass (p=reject dis=none) header.from=reject.test", log: "DMARC: Verification passed",
			row: "reject.test", applied: dmarc.PolicyNone},
		{name: "p=reject, STRICT quarantines", params: with("dmarc_profile", "STRICT"), msg: msg("reject.test", "r3", ""),
			reply: "250 ", verdict: "fail", ar: "dmarc=fail (p=reject dis=reject) header.from=reject.test", quarantine: "Spoofs",
			log: "DMARC: Message quarantined by DMARC policy (p=reject) in Spoofs", row: "reject.test", applied: dmarc.PolicyQuarantine},
		{name: "p=reject, LENIENT takes no action", params: with("dmarc_profile", "LENIENT"), msg: msg("reject.test", "r4", ""),
			reply: "250 ", verdict: "fail", ar: "dmarc=fail (p=reject dis=reject) header.from=reject.test",
			log: "DMARC: No action taken by DMARC verification profile LENIENT (p=reject)", row: "reject.test", applied: dmarc.PolicyNone},
		{name: "p=quarantine: quarantined in Policy", params: on, msg: msg("quarantine.test", "q1", ""),
			reply: "250 ", verdict: "fail", ar: "dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.test", quarantine: "Policy",
			log: "DMARC: Message quarantined by DMARC policy (p=quarantine) in Policy", row: "quarantine.test", applied: dmarc.PolicyQuarantine},
		{name: "p=none: accepted, reported", params: on, msg: msg("monitor.test", "n1", ""),
			reply: "250 ", verdict: "fail", ar: "dmarc=fail (p=none dis=none) header.from=monitor.test",
			log: "DMARC: Message from domain monitor.test, DMARC fail (SPF aligned False, DKIM aligned False)", row: "monitor.test", applied: dmarc.PolicyNone},
		{name: "no record: skipped", params: on, msg: msg("norecord.test", "s1", ""),
			reply: "250 ", verdict: "none", ar: "dmarc=none header.from=norecord.test", log: "DMARC: Verification skipped ("},
		{name: "DNS failure: accepted by DEFAULT", params: on, msg: msg("x.servfail", "t1", ""),
			reply: "250 ", verdict: "temperror", ar: "dmarc=temperror header.from=x.servfail", log: "DMARC: Verification failed ("},
		{name: "DNS failure: STRICT defers", params: with("dmarc_profile", "STRICT"), msg: msg("x.servfail", "t2", ""),
			reply: "451 #4.7.1 Unable to perform DMARC verification", log: "Receiving Failed: DMARC temporary failure"},
		{name: "bypass header", params: on, msg: msg("reject.test", "b1", "X-Internal-Bypass: yes\r\n"),
			reply: "250 ", log: "DMARC: Verification skipped (header X-Internal-Bypass present)"},
		{name: "bypass address list", params: on, msg: msg("reject.test", "b2", ""),
			reply: "250 ", log: "DMARC: Verification skipped (sender a@trusted.test is in the bypass list)"},
		{name: "verification off", params: nil, msg: msg("reject.test", "o1", ""), reply: "250 "},
		{name: "relayed mail is not checked", params: on, relay: true, msg: msg("reject.test", "o2", ""), reply: "250 "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := dmarcListener(c.params...)
			from := "a@sender.test"
			if c.relay {
				l = relayListener("IncomingMail")
				l.HAT.Default = dmarcListener(c.params...).HAT.Default
			}
			if strings.HasPrefix(c.name, "bypass address") {
				from = "a@trusted.test"
			}
			b.apply(l)
			seen := len(rows.forFrom(c.row))
			subject := c.msg[strings.Index(c.msg, "Subject: ")+9:]
			subject = subject[:strings.Index(subject, "\r\n")]
			r := dialRaw(t, b.addr("IncomingMail"))
			r.reply()
			r.cmd("EHLO mx.sender.test")
			r.cmd("MAIL FROM:<" + from + ">")
			r.cmd("RCPT TO:<b@example.com>")
			if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
				t.Fatalf("DATA: %q", got)
			}
			got := r.cmd(c.msg + ".")
			r.cmd("QUIT")
			if !strings.HasPrefix(got, c.reply) {
				t.Fatalf("after DATA: %q, want %q", got, c.reply)
			}
			var e *queue.Envelope
			for _, m := range b.q.List() {
				if m.Envelope.Subject == subject {
					e = &m.Envelope
				}
			}
			if c.log != "" {
				b.log.waitFor(t, c.log)
			}
			if !strings.HasPrefix(c.reply, "250") {
				if e != nil {
					t.Fatalf("a refused message was queued")
				}
			} else {
				if e == nil {
					t.Fatal("accepted message not in the queue")
				}
				if e.Verdicts["dmarc"] != c.verdict {
					t.Fatalf("verdict %q, want %q", e.Verdicts["dmarc"], c.verdict)
				}
				if c.ar != "" && !strings.HasPrefix(e.Prepend, "Authentication-Results: esa.example.com; "+c.ar+"\r\n") {
					t.Fatalf("prepend:\n%s\nwant Authentication-Results: esa.example.com; %s", e.Prepend, c.ar)
				}
				if c.ar == "" && strings.Contains(e.Prepend, "dmarc=") {
					t.Fatalf("DMARC stamped although it did not run:\n%s", e.Prepend)
				}
				if e.Quarantine != c.quarantine {
					t.Fatalf("quarantine %q, want %q", e.Quarantine, c.quarantine)
				}
			}
			if c.row == "" {
				if len(rows.forFrom(domainOfFrom(c.msg))) != 0 && domainOfFrom(c.msg) == "norecord.test" {
					t.Fatal("a message without a policy record was filed for reports")
				}
				return
			}
			var found bool
			for _, row := range rows.forFrom(c.row)[seen:] {
				found = found || row.Disposition == c.applied
				if row.EnvelopeTo != "example.com" {
					t.Errorf("envelope_to %q, want the recipient domain example.com", row.EnvelopeTo)
				}
			}
			if !found {
				t.Fatalf("no report row for %s with disposition %v: %+v", c.row, c.applied, rows.forFrom(c.row))
			}
		})
	}
	// The seed's log stages: attempted, record fetched (or the DNS
	// failure), details, outcome.
	for _, l := range []string{
		"DMARC: Verification started for domain reject.test",
		"DMARC: Record found for reject.test (p=reject sp=reject pct=100 adkim=r aspf=r)",
		"DMARC: DNS failure looking up the record of x.servfail",
	} {
		b.log.waitFor(t, l)
	}
}

func domainOfFrom(msg string) string {
	s := msg[strings.Index(msg, "@")+1:]
	return s[:strings.Index(s, ">")]
}
