package smtpd

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"strings"
	"testing"
	"time"

	"esa/auth/dkim"
	"esa/delivery/queue"
	"esa/store/mailflow"
)

// bTag is the b= value of the first DKIM-Signature or DomainKey-Signature
// field of msg, whitespace removed.
func bTag(msg string) string {
	f := sigFields(headerFields([]byte(msg)))
	for _, name := range []string{"dkim-signature", "domainkey-signature"} {
		if v := f.tagValues(name, "b"); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// dkSigned returns msg with a DomainKey-Signature by key for d=domain
// s=sel (RFC 4870), nofws canonicalization.
func dkSigned(t *testing.T, msg, domain, sel string, key *rsa.PrivateKey) string {
	t.Helper()
	f, err := dkim.SignDomainKeys(strings.NewReader(msg), &dkim.DKProfile{Domain: domain, Selector: sel, Key: key, Canon: dkim.NoFWS})
	if err != nil {
		t.Fatal(err)
	}
	return f + msg
}

// deliverOne sends msg through listener l of the bed and returns the reply
// after DATA and, when it was accepted, the queued envelope and message.
func deliverOne(t *testing.T, b *bed, l mailflow.Listener, msg string) (string, queue.Envelope, string) {
	t.Helper()
	// Generous timeouts: the large message crosses two verifiers under
	// the race detector on a loaded machine; a timeout is not what these
	// tests are about.
	b.srv.Apply(Config{Hostname: "esa.example.com", Listeners: []mailflow.Listener{l}, CommandTimeout: time.Minute, DataTimeout: time.Minute})
	seen := map[uint64]bool{}
	for _, m := range b.q.List() {
		seen[m.Envelope.MID] = true
	}
	r := dialRaw(t, b.addr("IncomingMail"))
	r.reply()
	r.cmd("EHLO mx.sender.test")
	r.cmd("MAIL FROM:<a@sender.test>")
	r.cmd("RCPT TO:<b@example.com>")
	if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
		t.Fatalf("DATA: %q", got)
	}
	reply := r.cmd(msg + ".")
	r.cmd("QUIT")
	for _, m := range b.q.List() {
		if seen[m.Envelope.MID] {
			continue
		}
		rd, err := b.q.Open(m.Envelope.MID)
		if err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			t.Fatal(err)
		}
		return reply, m.Envelope, string(all)
	}
	return reply, queue.Envelope{}, ""
}

// Inbound DomainKeys verification (issue 16, RFC 4870 §3.5) on a policy
// that verifies DKIM: verified in the same pass as DKIM, logged in the
// DKIM line's form (ESA-CLI §11.5), stamped as a domainkeys entry of
// Authentication-Results: (RFC 8601 registry: header.d and header.from or
// header.sender), kept as the "domainkeys" verdict, and never a reason to
// refuse, even under a profile that rejects DKIM failures.
func TestDomainKeysInbound(t *testing.T) {
	t.Parallel()
	b, z := newDKIMBed(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.KeyRecordText(rsaKey, dkim.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	z.publish("dk._domainkey.sender.test", rec)
	ed, err := dkim.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edRec, _ := dkim.KeyRecordText(ed, dkim.RecordOptions{})
	z.publish("sel._domainkey.sender.test", edRec)

	base := "From: Alice <a@sender.test>\r\nTo: b@example.com\r\nSubject: dk\r\nMessage-ID: <2@sender.test>\r\n\r\nHello.\r\n"
	viaSender := "Sender: list@sender.test\r\n" + base
	dkOnly := dkSigned(t, base, "sender.test", "dk", rsaKey)
	both := signed(t, dkOnly, "sender.test", "sel", &dkim.SignProfile{Key: ed})
	tampered := strings.Replace(dkOnly, "Hello.", "Hello!", 1)
	bySender := dkSigned(t, viaSender, "sender.test", "dk", rsaKey)

	cases := []struct {
		name     string
		l        mailflow.Listener
		msg      string
		ar       []string // substrings of the Authentication-Results field; nil: no field
		notAR    string   // must not be in the field
		verdict  string   // the domainkeys verdict
		dkimV    string   // the dkim verdict
		log      string   // after "MID n "
		logCount int      // DomainKeys lines expected
	}{
		{
			name: "DomainKeys and DKIM both pass", l: dkimListener(t, "dkim_verify", "on"), msg: both,
			ar: []string{
				"esa.example.com; dkim=pass (signature verified) header.d=sender.test header.i=@sender.test header.s=sel header.a=ed25519-sha256 header.b=" + pvalue(bTag(both)[:8]) + ";\r\n\t",
				"domainkeys=pass (signature verified) header.d=sender.test header.from=a@sender.test\r\n",
			},
			verdict: "pass", dkimV: "pass", log: "DomainKeys: pass signature verified (d=sender.test s=dk)", logCount: 1,
		},
		{
			name: "DomainKeys only: dkim none", l: dkimListener(t, "dkim_verify", "on"), msg: dkOnly,
			ar:      []string{"esa.example.com; dkim=none;\r\n\tdomainkeys=pass (signature verified) header.d=sender.test header.from=a@sender.test\r\n"},
			verdict: "pass", dkimV: "none", log: "DomainKeys: pass signature verified (d=sender.test s=dk)", logCount: 1,
		},
		{
			name: "Sender: is the identity", l: dkimListener(t, "dkim_verify", "on"), msg: bySender,
			ar:      []string{"domainkeys=pass (signature verified) header.d=sender.test header.sender=list@sender.test\r\n"},
			verdict: "pass", dkimV: "none", log: "DomainKeys: pass signature verified (d=sender.test s=dk)", logCount: 1,
		},
		{
			name: "changed body fails, accepted even by STRICT", l: dkimListener(t, "dkim_verify", "on", "dkim_profile", "STRICT"), msg: tampered,
			ar:      []string{"domainkeys=fail (signature did not verify) header.d=sender.test header.from=a@sender.test"},
			verdict: "hardfail", dkimV: "none", log: "DomainKeys: permfail signature did not verify (d=sender.test s=dk)", logCount: 1,
		},
		{
			name: "unsigned: logged, no domainkeys entry", l: dkimListener(t, "dkim_verify", "on"), msg: base,
			ar: []string{"esa.example.com; dkim=none\r\n"}, notAR: "domainkeys",
			verdict: "none", dkimV: "none", log: "DomainKeys: no signature", logCount: 1,
		},
		{
			name: "verification off: nothing", l: dkimListener(t), msg: both,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply, env, stored := deliverOne(t, b, c.l, c.msg)
			if !strings.HasPrefix(reply, "250 ") {
				t.Fatalf("after DATA: %q", reply)
			}
			if c.ar == nil {
				if strings.Contains(env.Prepend, "Authentication-Results") || env.Verdicts["domainkeys"] != "" {
					t.Fatalf("verification off, yet:\n%s%v", env.Prepend, env.Verdicts)
				}
				return
			}
			field, _, _ := strings.Cut(env.Prepend, "\r\nReceived:")
			for _, want := range c.ar {
				if !strings.Contains(field+"\r\n", want) {
					t.Errorf("Authentication-Results:\n%s\nlacks %q", field, want)
				}
			}
			if c.notAR != "" && strings.Contains(field, c.notAR) {
				t.Errorf("Authentication-Results:\n%s\nhas %q", field, c.notAR)
			}
			if env.Verdicts["domainkeys"] != c.verdict || env.Verdicts["dkim"] != c.dkimV {
				t.Errorf("verdicts %v, want domainkeys %q dkim %q", env.Verdicts, c.verdict, c.dkimV)
			}
			if c.verdict == "pass" && env.Verdicts["domainkeys.d"] != "sender.test" {
				t.Errorf("domainkeys.d = %q", env.Verdicts["domainkeys.d"])
			}
			prefix := "Info: MID " + itoa(env.MID) + " "
			b.log.waitFor(t, prefix+c.log)
			if n := countLines(b.log, prefix+"DomainKeys: "); n != c.logCount {
				t.Errorf("%d DomainKeys lines, want %d", n, c.logCount)
			}
			if stored != env.Prepend+c.msg {
				t.Fatalf("stored message changed:\n%q", stored)
			}
		})
	}
}

// A DomainKeys-signed message larger than the pipes' buffers streams
// through both verifiers (nothing holds the whole message) and passes.
func TestDomainKeysLargeMessage(t *testing.T) {
	t.Parallel()
	b, z := newDKIMBed(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(rsaKey, dkim.RecordOptions{})
	z.publish("dk._domainkey.sender.test", rec)
	msg := dkSigned(t, "From: a@sender.test\r\nTo: b@example.com\r\n\r\n"+strings.Repeat("0123456789 abcdef  0123456789 abcdef\r\n", 64<<10), "sender.test", "dk", rsaKey)
	reply, env, _ := deliverOne(t, b, dkimListener(t, "dkim_verify", "on"), msg)
	if !strings.HasPrefix(reply, "250 ") || env.Verdicts["domainkeys"] != "pass" {
		t.Fatalf("reply %q, verdicts %v", reply, env.Verdicts)
	}
}

func countLines(l *logLines, s string) int {
	n := 0
	for _, x := range l.all() {
		if strings.Contains(x, s) {
			n++
		}
	}
	return n
}

// The wording of Authentication-Results: (issue 16 item 4): RFC 8601
// result values, the appliance's reason comments, the registry's
// properties, and hostile values from the message kept inside their
// quoting.
func TestAuthResultsWording(t *testing.T) {
	hdr := []byte("DKIM-Signature: v=1; d=a.test; s=s1;\r\n\tb=ABCDEFGHxyz\r\nDKIM-Signature: v=1; d=a.test; s=s2; b=ABCDEFGHuvw\r\n" +
		"DomainKey-Signature: a=rsa-sha1; d=a.test; s=dk; b=QQQQ\r\nSender: <list@a.test>\r\nFrom: x@a.test\r\n")
	cases := []struct {
		name     string
		dkim, dk []dkim.Result
		want     string
	}{
		{
			name: "partial pass; header.b grows until unique",
			dkim: []dkim.Result{
				{Status: dkim.Pass, Partial: true, BodyLength: 1000, Domain: "a.test", Identity: "@a.test", Selector: "s1", Algorithm: "rsa-sha256"},
				{Status: dkim.HardFail, Reason: "body hash did not verify", Domain: "a.test", Identity: "joe@a.test"},
			},
			want: "mx.test; dkim=pass (partially verified [1000 bytes]) header.d=a.test header.i=@a.test header.s=s1 header.a=rsa-sha256 header.b=ABCDEFGHx;\r\n\t" +
				"dkim=fail (body hash did not verify) header.d=a.test header.i=joe@a.test header.b=ABCDEFGHu",
		},
		{
			name: "neutral and permerror; domainkeys from Sender:",
			dkim: []dkim.Result{{Status: dkim.Neutral, Reason: "not verified: more than 5 signatures"}},
			dk:   []dkim.Result{{Status: dkim.PermError, Reason: "no key", Domain: "a.test", Identity: "list@a.test", DomainKeys: true}},
			want: "mx.test; dkim=neutral (not verified: more than 5 signatures) header.b=ABCDEFGHx;\r\n\tdomainkeys=permerror (no key) header.d=a.test header.sender=list@a.test",
		},
		{
			name: "temperror; none is dropped for domainkeys",
			dkim: []dkim.Result{{Status: dkim.TempError, Reason: "key query timed out"}},
			dk:   []dkim.Result{{Status: dkim.None, DomainKeys: true}},
			want: "mx.test; dkim=temperror (key query timed out) header.b=ABCDEFGHx",
		},
		{
			name: "hostile reason and domain stay quoted",
			dkim: []dkim.Result{{Status: dkim.PermError, Reason: "unsupported algorithm a=x) ; dkim=pass (\r\nX-Evil: 1", Domain: "evil.test; dkim=pass", Identity: strings.Repeat("i", 300)}},
			want: `mx.test; dkim=permerror (unsupported algorithm a=x\) ; dkim=pass \(??X-Evil: 1) header.d="evil.test; dkim=pass" header.b=ABCDEFGHx`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := authResults("mx.test", c.dkim, c.dk, hdr)
			if got != c.want {
				t.Errorf("got\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// FuzzAuthResults: whatever the message's header and the verdicts' texts
// hold, the field stays one header field (lines folded only where the
// renderer folds, no control characters, each line within RFC 5322's 998
// characters) and holds exactly one entry per result it renders, so a
// signer cannot inject a result of its own.
func FuzzAuthResults(f *testing.F) {
	f.Add([]byte("DKIM-Signature: v=1; d=a.test; b=abc/def=\r\nSender: x@a.test\r\n"), "body hash did not verify", "a.test", "@a.test", uint8(5))
	f.Add([]byte("DomainKey-Signature: b=\r\n\tQ\r\nFrom: <x@a.test>\r\n"), "a=\"x\"; dkim=pass", "a.test;x", "(x)", uint8(2))
	f.Add([]byte(": \r\n \r\nx\r\n"), "\x00\r\n", "\xff", "\"\\", uint8(3))
	f.Fuzz(func(t *testing.T, hdr []byte, reason, domain, identity string, st uint8) {
		status := dkim.Status(st % 6)
		dr := []dkim.Result{{Status: status, Reason: reason, Domain: domain, Identity: identity}, {Status: dkim.Pass, Domain: domain}}
		kr := []dkim.Result{{Status: status, Reason: reason, Domain: domain, Identity: identity, DomainKeys: true}}
		got := authResults("mx.test", dr, kr, hdr)
		lines := strings.Split(got, "\r\n\t")
		want := 2
		if status != dkim.None {
			want = 3
		}
		if len(lines) != want {
			t.Fatalf("%d entries, want %d: %q", len(lines), want, got)
		}
		for _, l := range lines {
			if len(l) > 998-len("Authentication-Results: ") {
				t.Fatalf("line of %d characters", len(l))
			}
			for i := 0; i < len(l); i++ {
				if l[i] < 0x20 || l[i] >= 0x7f {
					t.Fatalf("control or 8-bit character %q in %q", l[i], got)
				}
			}
		}
		// Outside quoted-strings and comments, ";" only ends an entry.
		semis, depth, quoted := 0, 0, false
		for i := 0; i < len(got); i++ {
			switch c := got[i]; {
			case c == '\\' && (quoted || depth > 0):
				i++
			case quoted:
				quoted = c != '"'
			case c == '"' && depth == 0:
				quoted = true
			case c == '(':
				depth++
			case c == ')' && depth > 0:
				depth--
			case c == ';' && depth == 0:
				semis++
			}
		}
		if semis != want || quoted || depth != 0 {
			t.Fatalf("%d separators (want %d), open quote %v, comment depth %d: %q", semis, want, quoted, depth, got)
		}
	})
}

// BenchmarkDKIMRun: the verification beside the queue write, from memory,
// for a 10 KiB message with an RSA-2048 DKIM signature written in 4 KiB
// pieces as the DATA copy does: DKIM alone, and with the DomainKeys pass
// on its second pipe (the message has no DomainKey-Signature, the common
// case; its header is read and the rest drained), and with a DomainKeys
// signature too. The difference is what inbound DomainKeys costs.
func BenchmarkDKIMRun(b *testing.B) {
	key, err := dkim.GenerateRSAKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(key, dkim.RecordOptions{})
	keys := memKeys{"sel._domainkey.example.org": rec, "dk._domainkey.example.org": rec}
	sigs, err := dkim.Sign(strings.NewReader(benchBody), time.Now(), &dkim.SignProfile{Domain: "example.org", Selector: "sel", Key: key})
	if err != nil {
		b.Fatal(err)
	}
	msg := sigs[0] + benchBody
	dkSig, err := dkim.SignDomainKeys(strings.NewReader(msg), &dkim.DKProfile{Domain: "example.org", Selector: "dk", Key: key})
	if err != nil {
		b.Fatal(err)
	}
	prof := dkim.DefaultVerifyProfile()
	v := &dkim.Verifier{Resolver: keys, Profile: prof}
	for _, c := range []struct {
		name string
		dk   bool
		msg  string
		want dkim.Status // the DomainKeys verdict
	}{
		{"dkim-only", false, msg, dkim.None},
		{"with-domainkeys-unsigned", true, msg, dkim.None},
		{"with-domainkeys-signed", true, dkSig + msg, dkim.Pass},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := []byte(c.msg)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				d := newDKIMRun(v, prof, c.dk)
				for p := data; len(p) > 0; {
					n := min(len(p), 4096)
					d.Write(p[:n])
					p = p[n:]
				}
				res := d.finish()
				if res[0].Status != dkim.Pass || (c.dk && dkim.Verdict(d.dkRes).Status != c.want) {
					b.Fatal(res, d.dkRes)
				}
			}
		})
	}
}

// The header capture and the DomainKeys pipe's late start see the same
// bytes however DATA is cut into writes: a message signed with both DKIM
// and DomainKeys passes both for every cut around the end of its header
// and for one-byte writes, and a message without a DomainKey-Signature
// never starts the second verifier.
func TestDKIMRunSplits(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkim.KeyRecordText(key, dkim.RecordOptions{})
	v := &dkim.Verifier{Resolver: memKeys{"s._domainkey.sender.test": rec}, Profile: dkim.DefaultVerifyProfile()}
	base := "From: a@sender.test\r\nTo: b@example.com\r\nSubject: cuts\r\n\r\nBody line.\r\n\r\nMore.\r\n"
	both := signed(t, dkSigned(t, base, "sender.test", "s", key), "sender.test", "s", &dkim.SignProfile{Key: key})
	plain := signed(t, base, "sender.test", "s", &dkim.SignProfile{Key: key})
	run := func(msg string, cuts ...int) *dkimRun {
		d := newDKIMRun(v, v.Profile, true)
		last := 0
		for _, c := range append(cuts, len(msg)) {
			d.Write([]byte(msg[last:c]))
			last = c
		}
		d.finish()
		return d
	}
	end := strings.Index(both, "\r\n\r\n")
	for cut := end - 4; cut <= end+6; cut++ {
		d := run(both, cut)
		if d.res[0].Status != dkim.Pass || len(d.dkRes) != 1 || d.dkRes[0].Status != dkim.Pass {
			t.Errorf("cut at %d (header ends at %d): DKIM %v, DomainKeys %v", cut, end, d.res, d.dkRes)
		}
		if string(d.hdr.Bytes()) != both[:end+2] {
			t.Errorf("cut at %d: captured %q", cut, d.hdr.Bytes())
		}
	}
	var ones []int
	for i := 1; i < len(both); i++ {
		ones = append(ones, i)
	}
	if d := run(both, ones...); d.res[0].Status != dkim.Pass || d.dkRes[0].Status != dkim.Pass {
		t.Errorf("one-byte writes: DKIM %v, DomainKeys %v", d.res, d.dkRes)
	}
	d := run(plain, 10, len(plain)/2)
	if d.dk != nil || d.res[0].Status != dkim.Pass || len(d.dkRes) != 1 || d.dkRes[0].Status != dkim.None {
		t.Errorf("no DomainKey-Signature: second verifier started %v, results %v %v", d.dk != nil, d.res, d.dkRes)
	}
	// A message that ends inside its header is still judged.
	hdrOnly := dkSigned(t, "From: a@sender.test\r\nSubject: x\r\n", "sender.test", "s", key)
	if d := run(hdrOnly); len(d.dkRes) != 1 || d.dkRes[0].Status == dkim.None {
		t.Errorf("header-only message: %v", d.dkRes)
	}
}

// FuzzHeaderCapture: the capture holds exactly the header section (up to
// the CRLF of its last field) whatever the bytes and however they are cut
// into writes; hasField agrees with the field parser the PRA uses.
func FuzzHeaderCapture(f *testing.F) {
	f.Add([]byte("From: a@b\r\nDomainKey-Signature: a=rsa-sha1\r\n\r\nbody\r\n\r\n"), uint8(1))
	f.Add([]byte("a: b\r\n\r"), uint8(7))
	f.Add([]byte("\r\n\r\n"), uint8(0))
	f.Add([]byte("X:\r\n \r\n\r\nDomainKey-Signature : x\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var c headerCapture
		n := int(step%17) + 1
		seen := 0
		for p := data; len(p) > 0; {
			k := min(n, len(p))
			before, wasDone := len(c.buf), c.done
			c.write(p[:k])
			seen += k
			if c.done && !wasDone {
				// The capture and what follows it are the stream so far.
				got := bytes.Join(append([][]byte{c.Bytes()}, c.after(before, p[:k])...), nil)
				if !bytes.Equal(got, data[:seen]) {
					t.Fatalf("capture + after = %q, want %q", got, data[:seen])
				}
			}
			p = p[k:]
		}
		want := data
		complete := false
		if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
			want, complete = data[:i+2], true
		}
		if !bytes.Equal(c.Bytes(), want) || c.complete != complete {
			t.Fatalf("captured %q (complete %v), want %q (%v)", c.Bytes(), c.complete, want, complete)
		}
		parsed := false
		for _, fl := range headerFields(c.Bytes()) {
			if strings.EqualFold(fl.Name, "DomainKey-Signature") {
				parsed = true
			}
		}
		if parsed && !hasField(c.Bytes(), "DomainKey-Signature") {
			t.Fatalf("hasField missed a field the parser finds in %q", c.Bytes())
		}
	})
}
