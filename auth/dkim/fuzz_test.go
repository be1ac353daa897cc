package dkim

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func FuzzTagList(f *testing.F) {
	for _, s := range []string{
		"v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n\tc=simple; q=dns/txt; i=@eng.example.net;\r\n\th=from:to:subject; bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=; b=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR",
		"v=DKIM1; p=", "a=b;", ";", "a=b;;c=d", "a = b c ; d=", "1a=b", "a=\x00", "a=b\r\nc", "a=b; a=c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseTagList(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tg := range l {
			if !validTagName(tg.name) || seen[tg.name] || strings.ContainsRune(tg.value, ';') {
				t.Fatalf("accepted bad tag %+v from %q", tg, s)
			}
			if tg.value != trimFWS(tg.value) {
				t.Fatalf("value %q not trimmed", tg.value)
			}
			seen[tg.name] = true
		}
	})
}

func FuzzKeyRecord(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"k=rsa; t=y:s; h=sha1:sha256; s=email; g=*; n=x; p=",
		"v=DKIM1; k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=",
		"p=MIGJAoGBALppqRbOu5gApf05051Icx6apV0ZC6s1gsLUfs79PYtAgdVuQoXooqOWAUzuWvyyR9kyEl78pEYy9WMJXllqRkgZ4/ceLWpcIS+aNLgSWkw8w/I+tmKC33mKmrLA9hklYdtGInTzlV2RIK0tS+jmzKkDSdMl7KcSi4A37/AFoI7pAgMBAAE=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (*KeyRecord, error){ParseKeyRecord, ParseDKKeyRecord} {
			k, err := parse(s)
			if err == nil && (k.Key == nil || k.Bits() == 0) {
				t.Fatalf("%q parsed without a key: %+v", s, k)
			}
		}
	})
}

// refBody is the canonicalization written the obvious way, on the whole
// body at once: split into CRLF lines, transform each, drop trailing empty
// lines (RFC 6376 §3.4.3/§3.4.4, RFC 4870 §3.4).
func refBody(mode bodyMode, body []byte) []byte {
	lines := bytes.Split(body, crlf)
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the text after the last CRLF is empty
	}
	for i, l := range lines {
		switch mode {
		case bodyRelaxed:
			var out []byte
			wsp := false
			for _, c := range l {
				if c == ' ' || c == '\t' {
					wsp = true
					continue
				}
				if wsp {
					out = append(out, ' ')
					wsp = false
				}
				out = append(out, c)
			}
			lines[i] = out
		case bodyDKNoFWS:
			var out []byte
			for _, c := range l {
				if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
					out = append(out, c)
				}
			}
			lines[i] = out
		}
	}
	for len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out []byte
	for _, l := range lines {
		out = append(out, l...)
		out = append(out, crlf...)
	}
	if len(out) == 0 && mode == bodySimple {
		out = append(out, crlf...)
	}
	return out
}

func FuzzBodyCanon(f *testing.F) {
	for _, s := range []string{
		"", "\r\n", "\r\n\r\n", "a", "a\r\n", "a\r\n\r\n\r\n", " \t \r\n", "a  b\t\tc \r\n \r\n", "a\r", "a\rb\r\n",
		"\r\r\n", "x\n\n", "  lead\r\n\r\n trail  \r\n\r\n\r\nz", testMessage[strings.Index(testMessage, "\r\n\r\n")+4:],
	} {
		f.Add([]byte(s), uint8(3), int16(-1))
		f.Add([]byte(s), uint8(0), int16(-1))
	}
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8, limit int16) {
		for _, mode := range []bodyMode{bodySimple, bodyRelaxed, bodyDKSimple, bodyDKNoFWS} {
			want := refBody(mode, body)
			var got bytes.Buffer
			bc := newBodyCanon(mode, &got, int64(limit))
			step := int(chunk)%17 + 1
			if chunk == 0 {
				step = len(body) + 1 // one write: the eight-byte scan runs over all of it
			}
			for i := 0; i < len(body); i += step {
				bc.Write(body[i:min(i+step, len(body))])
			}
			bc.Close()
			if bc.total != int64(len(want)) {
				t.Fatalf("mode %d, %q: total %d, want %d (%q)", mode, body, bc.total, len(want), want)
			}
			if limit >= 0 && int(limit) < len(want) {
				want = want[:limit]
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("mode %d, chunk %d, %q:\n got %q\nwant %q", mode, step, body, got.Bytes(), want)
			}
		}
		// As Verify runs it: through the CRLF writer, whose line-end
		// hint lets relaxed canonicalization skip a search.
		want := refBody(bodyRelaxed, refCRLF(body))
		var got bytes.Buffer
		cw := &crlfWriter{}
		bc := newBodyCanon(bodyRelaxed, &got, -1)
		bc.eol, cw.w = &cw.wspEOL, bc
		step := int(chunk)%17 + 1
		for i := 0; i < len(body); i += step {
			cw.Write(body[i:min(i+step, len(body))])
		}
		bc.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("through crlfWriter, chunk %d, %q:\n got %q\nwant %q", step, body, got.Bytes(), want)
		}
	})
}

// refCRLF turns every LF not preceded by CR into CRLF, as crlfWriter does.
func refCRLF(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// refHeaderRelaxed is RFC 6376 §3.4.2 written byte by byte, the reference
// the word-at-a-time canonHeaderRelaxed is compared with.
func refHeaderRelaxed(raw []byte) []byte {
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		i = len(raw)
	}
	var out []byte
	nameWSP := false
	for _, c := range bytes.TrimRight(raw[:i], " \t\r\n") {
		switch {
		case c == '\r' || c == '\n':
			continue
		case c == ' ' || c == '\t':
			nameWSP = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if nameWSP {
			out = append(out, ' ')
			nameWSP = false
		}
		out = append(out, c)
	}
	out = append(out, ':')
	if i < len(raw) {
		wsp, started := false, false
		for _, c := range raw[i+1:] {
			switch c {
			case '\r', '\n':
			case ' ', '\t':
				wsp = true
			default:
				if wsp && started {
					out = append(out, ' ')
				}
				wsp, started = false, true
				out = append(out, c)
			}
		}
	}
	return append(out, '\r', '\n')
}

func FuzzHeaderCanon(f *testing.F) {
	for _, s := range []string{"Subject:  a \t b \r\n", "SUBJECT : x\r\n\t y\r\n", "X:\r\n", "X-Y:a\r\n \r\n", "NoColon\r\n",
		"Received: from a.example by b.example; Tue, 1 Dec 2026 10:00:00 +0000\r\n",
		"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=s; h=\r\n\tFrom:To:Subject; bh=abc=; b=", "X: a\x01 \x01b !c \r\n", "X: trailing "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := canonHeaderRelaxed(nil, raw)
		if !bytes.HasSuffix(got, crlf) {
			t.Fatalf("%q: no CRLF", got)
		}
		body := got[:len(got)-2]
		colon := bytes.IndexByte(body, ':')
		if colon < 0 || bytes.ContainsAny(body, "\r\n\t") || bytes.Contains(body, []byte("  ")) ||
			bytes.HasSuffix(body, []byte(" ")) || bytes.HasPrefix(body[colon+1:], []byte(" ")) {
			t.Fatalf("%q -> %q is not relaxed", raw, got)
		}
		if again := canonHeaderRelaxed(nil, got); !bytes.Equal(again, got) {
			t.Fatalf("not idempotent: %q -> %q", got, again)
		}
		if want := refHeaderRelaxed(raw); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q, reference %q", raw, got, want)
		}
		nofws := canonHeaderNoFWS(nil, raw)
		if bytes.ContainsAny(nofws[:len(nofws)-2], " \t\r\n") {
			t.Fatalf("nofws kept white space: %q", nofws)
		}
	})
}

// FuzzVerify runs whole messages through both verifiers; nothing may panic
// and every signature gets a verdict.
func FuzzVerify(f *testing.F) {
	rsaKey, edKey := testKeys(f)
	now := time.Now()
	pr := &SignProfile{Domain: "football.example.com", Selector: "rsa", Key: rsaKey, BodyLength: BodyWholeAuto, Identity: "@football.example.com", TagZ: true}
	pe := &SignProfile{Domain: "football.example.com", Selector: "ed", Key: edKey}
	res := signerDNS(f, pr, pe)
	f.Add([]byte(signMessage(f, testMessage, now, pr, pe)))
	f.Add([]byte("DomainKey-Signature: a=rsa-sha1; c=nofws; d=x; s=y; b=AAAA\r\nFrom: a@x\r\n\r\nbody\r\n"))
	f.Add([]byte("DKIM-Signature: v=1\r\n\r\n"))
	f.Add([]byte("DKIM-Signature:\r\n"))
	v := &Verifier{Resolver: res, Now: fixedClock(now), Profile: DefaultVerifyProfile()}
	f.Fuzz(func(t *testing.T, msg []byte) {
		rs, err := v.Verify(context.Background(), bytes.NewReader(msg))
		if err == nil && len(rs) == 0 {
			t.Fatal("no result")
		}
		if _, err := v.VerifyDomainKeys(context.Background(), bytes.NewReader(msg)); err != nil && err != errHeaderTooLarge {
			t.Fatal(err)
		}
	})
}

// FuzzReadHeader compares the buffered fast path of the header reader
// with the line-by-line one, on the same bytes.
func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		testMessage, "From: a\r\n\r\nbody", "\r\nbody", " folded first\r\nX: y\r\n\r\n",
		"X: a\r\n b\r\n\tc\r\nY:\r\n\r\n", "NoColon\r\nX : y\r\n\r\n", "X: bare\nY: z\r\n\r\n",
		"X: cr\r\r\nY: z\r\n\r\n", "X: all header\r\n", "X: y\r\n\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var fast, slow headerBuf
		br := bufio.NewReaderSize(bytes.NewReader(msg), 4096)
		got, err := fast.read(br)
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(br)
		sr := bufio.NewReaderSize(bytes.NewReader(msg), 4096)
		slow.arena = make([]byte, 0, 16)
		want, err := slow.readSlow(sr)
		if err != nil {
			t.Fatalf("%q: fast path read it, line by line: %v", msg, err)
		}
		wantRest, _ := io.ReadAll(sr)
		if len(got) != len(want) || !bytes.Equal(rest, wantRest) {
			t.Fatalf("%q: %d fields, rest %q; line by line %d, rest %q", msg, len(got), rest, len(want), wantRest)
		}
		for i := range got {
			if got[i].name != want[i].name || !bytes.Equal(got[i].raw, want[i].raw) || cap(got[i].raw) != len(got[i].raw) {
				t.Fatalf("%q field %d: %q %q, line by line %q %q", msg, i, got[i].name, got[i].raw, want[i].name, want[i].raw)
			}
		}
	})
}
