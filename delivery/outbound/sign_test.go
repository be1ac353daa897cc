package outbound

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/delivery/queue"
)

// keyTXT is a fixed-record resolver for checking what the sink received.
type keyTXT map[string]string

func (k keyTXT) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := k[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return []string{v}, nil
	}
	return nil, dkim.ErrNotFound
}

// Relayed mail is signed before DATA with every profile the signing
// identity matches (DKIM and DomainKeys together), mail that is already
// signed gets one more signature, unmatched and incoming mail go out
// unsigned, and mail_logs says which (issue 16 item 3). The loopback sink's
// copy is verified with auth/dkim.
func TestOutboundSigning(t *testing.T) {
	t.Parallel()
	b := newBed(t, []row{{name: "sign", kind: kindNoTLS}}, nil)
	domain := "sign.ins.test"
	ed, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := dkim.GenerateRSAKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edRec, _ := dkim.KeyRecordText(ed, dkim.RecordOptions{})
	rsaRec, _ := dkim.KeyRecordText(rsaKey, dkim.RecordOptions{})
	dkRec, _ := dkim.KeyRecordText(rsaKey, dkim.RecordOptions{DomainKeys: true})
	keys := keyTXT{
		"ed._domainkey.example.com": edRec,
		"rs._domainkey.example.com": rsaRec,
		"dk._domainkey.example.com": dkRec,
		"up._domainkey.origin.test": edRec,
	}
	var mu sync.Mutex
	var got []string // the identities the hook was asked about
	asked := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	sign := func(env queue.Envelope, addr string) ([]Signing, bool) {
		mu.Lock()
		got = append(got, addr)
		mu.Unlock()
		if strings.HasPrefix(addr, "quiet@") {
			return nil, false // a policy that does not sign
		}
		if !strings.HasSuffix(addr, "@example.com") {
			return nil, true
		}
		return []Signing{
			{Profile: "dkim-ed", Match: "example.com", DKIM: &dkim.SignProfile{Domain: "example.com", Selector: "ed", Key: ed}},
			{Profile: "dk-rsa", Match: "example.com", DK: &dkim.DKProfile{Domain: "example.com", Selector: "dk", Key: rsaKey}},
		}, true
	}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Roots: b.roots, Sign: sign})
	v := &dkim.Verifier{Resolver: keys, Profile: dkim.DefaultVerifyProfile()}

	// An upstream signature already on the message.
	plain := "From: joe@example.com\r\nTo: x@" + domain + "\r\nSubject: signed\r\n\r\nBody.\r\n"
	upstream, err := dkim.Sign(strings.NewReader(plain), time.Now(), &dkim.SignProfile{Domain: "origin.test", Selector: "up", Key: ed})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		relayed bool
		body    string
		dkim    []string // d= of the passing DKIM signatures, top down
		dk      bool     // a passing DomainKey-Signature
		log     string
	}{
		{name: "From matches: DKIM and DomainKeys", relayed: true, body: plain, dkim: []string{"example.com"}, dk: true,
			log: "DKIM: signing with dkim-ed - matches example.com"},
		{name: "Sender is the identity", relayed: true, body: "Sender: other@elsewhere.test\r\n" + plain,
			log: "DKIM: cannot sign - no profile matches other@elsewhere.test"},
		{name: "already signed: one more signature", relayed: true, body: upstream[0] + plain, dkim: []string{"example.com", "origin.test"}, dk: true,
			log: "DomainKeys: signing with dk-rsa - matches example.com"},
		{name: "incoming mail is not signed", relayed: false, body: plain},
		{name: "a policy that does not sign logs nothing", relayed: true, body: "From: quiet@example.org\r\n\r\nBody.\r\n"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := asked()
			rcpt := "r" + string(rune('a'+i)) + "@" + domain
			mid := hs.submit("joe@example.com", c.relayed, c.body, rcpt)
			if ev := hs.waitFor(mid); ev.Outcome != Delivered {
				t.Fatalf("%v: %s", ev.Outcome, ev.Reason)
			}
			msgs := b.delivered(domain, rcpt)
			if len(msgs) != 1 {
				t.Fatalf("%d messages delivered", len(msgs))
			}
			data := msgs[0].Data
			if !bytes.HasSuffix(data, []byte(c.body)) {
				t.Fatalf("the message was changed below the signatures:\n%s", data)
			}
			if !c.relayed {
				if asked() != before || !bytes.Equal(data, []byte(c.body)) {
					t.Fatalf("incoming mail signed:\n%s", data)
				}
				return
			}
			res, err := v.Verify(context.Background(), bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var passed []string
			for _, r := range res {
				if r.Status == dkim.Pass {
					passed = append(passed, r.Domain)
				} else if r.Status != dkim.None {
					t.Errorf("signature d=%s: %s", r.Domain, r)
				}
			}
			if strings.Join(passed, ",") != strings.Join(c.dkim, ",") {
				t.Fatalf("DKIM passes %v, want %v:\n%s", passed, c.dkim, data)
			}
			dk, err := v.VerifyDomainKeys(context.Background(), bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if gotDK := len(dk) == 1 && dk[0].Status == dkim.Pass; gotDK != c.dk {
				t.Fatalf("DomainKeys %v, want pass %v:\n%s", dk, c.dk, data)
			}
			if c.log != "" && !strings.Contains(hs.log.String(), "MID "+itoa(mid)+" "+c.log) {
				t.Fatalf("no %q in:\n%s", c.log, hs.log.String())
			}
			if c.log == "" && strings.Contains(hs.log.String(), "MID "+itoa(mid)+" DKIM") {
				t.Fatalf("a DKIM line for MID %d:\n%s", mid, hs.log.String())
			}
		})
	}
	// Two of the messages went out signed (status's DomainKeys Signed
	// Msgs); the unsigned ones are not counted.
	if st, _ := hs.e.HostStatus(domain); st.Signed != 2 {
		t.Errorf("Signed = %d, want 2", st.Signed)
	}
}

// The signing identity (Sender: else From:) is picked out of whatever
// header the message carries; any header gives an address or "", never a
// panic, and the address's domain is one the header names.
func FuzzSigningIdentity(f *testing.F) {
	f.Add("joe@example.com", "", false)
	f.Add("Joe <joe@example.com>, ann@example.org", "list@example.net", false)
	f.Add("joe@example.com", "list@example.net", true)
	f.Add("=?utf-8?q?J=C3=B6?= <joe@example.com>", "", false)
	f.Add("undisclosed-recipients:;", "<>", false)
	f.Fuzz(func(t *testing.T, from, sender string, useFrom bool) {
		h := mail.Header{}
		if from != "" {
			h["From"] = []string{from}
		}
		if sender != "" {
			h["Sender"] = []string{sender}
		}
		got := signingIdentity(h, useFrom)
		// The local part may be unquoted by the parser; the domain is
		// taken verbatim (RFC 5322 §3.4.1).
		_, domain, _ := strings.Cut(got, "@")
		if got != "" && !strings.Contains(strings.ToLower(from+sender), strings.ToLower(domain)) {
			t.Fatalf("identity %q not in From %q / Sender %q", got, from, sender)
		}
	})
}

// Bounces and delay notices are signed only when the bounce profile that
// produced them asks (bounceconfig "Do you want bounce and delay messages
// to be signed?", issue 16): then the notice reaches the hook with ICID 0
// and its From: address (MAILER-DAEMON@ the gateway), and the copy the
// sender's server receives verifies with auth/dkim; otherwise the hook is
// not even asked about it, it goes out unsigned and mail_logs has no DKIM
// line for it.
func TestOutboundSigningBounce(t *testing.T) {
	t.Parallel()
	b, srv := rawBed(t)
	ed, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(ed, dkim.RecordOptions{})
	v := &dkim.Verifier{Resolver: keyTXT{"sys._domainkey.esa.test": rec}, Profile: dkim.DefaultVerifyProfile()}
	cases := []struct {
		name   string
		sign   bool
		rcpt   string // reject*: a bounce; later*: a delay notice
		signed bool
	}{
		{name: "bounce, profile signs", sign: true, rcpt: "reject1@raw.ins.test", signed: true},
		{name: "bounce, profile does not sign", sign: false, rcpt: "reject2@raw.ins.test"},
		{name: "delay notice, profile signs", sign: true, rcpt: "later1@raw.ins.test", signed: true},
		{name: "delay notice, profile does not sign", sign: false, rcpt: "later2@raw.ins.test"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var system []string
			sign := func(env queue.Envelope, addr string) ([]Signing, bool) {
				if env.ICID != 0 {
					return nil, true
				}
				mu.Lock()
				system = append(system, addr)
				mu.Unlock()
				return []Signing{{Profile: "system", Match: addr, DKIM: &dkim.SignProfile{Domain: "esa.test", Selector: "sys", Key: ed}}}, true
			}
			bounce := DefaultBounce
			bounce.InitialRetry, bounce.MaxRetry, bounce.DelayWarning, bounce.Sign = time.Hour, time.Hour, true, c.sign
			hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Sign: sign,
				Policy: func(string) Policy { return Policy{TLS: TLSNo, Bounce: bounce} }})
			sender := "sender" + itoa(uint64(i)) + "@raw.ins.test"
			mid := hs.submit(sender, true, "From: "+sender+"\r\nSubject: hello\r\n\r\nbody\r\n", c.rcpt)
			hs.waitFor(mid)
			notice := hs.next(func(ev Event) bool { return ev.MID != mid && ev.Outcome == Delivered })
			var dsn []byte
			for _, m := range srv.messages() {
				if m.From == "" && len(m.To) == 1 && m.To[0] == sender {
					dsn = m.Data
				}
			}
			if dsn == nil {
				t.Fatal("no notice delivered")
			}
			res, err := v.Verify(context.Background(), bytes.NewReader(dsn))
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			noticeLine := "MID " + itoa(notice.MID) + " DKIM"
			if !c.signed {
				if res[0].Status != dkim.None || len(system) != 0 || strings.Contains(hs.log.String(), noticeLine) {
					t.Fatalf("unsigned notice: %v, hook asked %v, log:\n%s", res, system, hs.log.String())
				}
				return
			}
			if len(res) != 1 || res[0].Status != dkim.Pass {
				t.Fatalf("notice signature: %v\n%s", res, dsn)
			}
			if len(system) != 1 || system[0] != "MAILER-DAEMON@esa.test" || !strings.Contains(string(dsn), system[0]) {
				t.Fatalf("the hook saw %v for the notice", system)
			}
			if !strings.Contains(hs.log.String(), noticeLine+": signing with system - matches MAILER-DAEMON@esa.test") {
				t.Fatalf("no signing line for the notice:\n%s", hs.log.String())
			}
			if !strings.Contains(hs.log.String(), "DKIM: cannot sign - no profile matches "+sender) {
				t.Fatalf("no cannot-sign line for the original:\n%s", hs.log.String())
			}
		})
	}
}

// BenchmarkOutboundSigning: the engine's signing step for a queued 10 KiB
// message (identity from the stored header, then one RSA-2048 DKIM
// signature over the stored bytes) against the library signing the same
// bytes from memory.
func BenchmarkOutboundSigning(b *testing.B) {
	key, err := dkim.GenerateRSAKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	var body strings.Builder
	body.WriteString("From: joe@example.com\r\nTo: x@example.org\r\nSubject: bench\r\n\r\n")
	for body.Len() < 10<<10 {
		body.WriteString("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345\r\n")
	}
	msg := body.String()
	prof := &dkim.SignProfile{Domain: "example.com", Selector: "rs", Key: key}
	b.Run("library", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := dkim.Sign(strings.NewReader(msg), time.Now(), prof); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine", func(b *testing.B) {
		q, err := queue.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer q.Close()
		mid := submitTo(b, q, "joe@example.com", true, msg, "x@example.org")
		env, _ := q.Get(mid)
		e := &Engine{cfg: Config{Queue: q, Log: &memLog{}, Now: time.Now,
			Sign: func(queue.Envelope, string) ([]Signing, bool) {
				return []Signing{{Profile: "p", Match: "example.com", DKIM: prof}}, true
			}}}
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if e.signatures(env.Envelope) == "" {
				b.Fatal("not signed")
			}
		}
	})
}
