package dkim

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// chunkReader hands the message out in small pieces, as a spool file or a
// network connection would, so nothing can rely on seeing it whole.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// Signing and verifying stream the body: memory allocated per message stays
// far below its size (the body is hashed while it is read, never copied
// whole). Not parallel: it reads process-wide allocation counters.
func TestStreamingDoesNotCopyTheBody(t *testing.T) {
	rsaKey, edKey := testKeys(t)
	now := time.Now()
	var body strings.Builder
	for body.Len() < 4<<20 {
		body.WriteString("a line of body text,  with some  double spaces\t and a tab \r\n")
	}
	msg := strings.Replace(testMessage, "football.example.com>", "example.com>", 1) + body.String()
	pr := &SignProfile{Domain: "example.com", Selector: "rsa", Key: rsaKey, HeaderCanon: Relaxed, BodyCanon: Relaxed}
	pe := &SignProfile{Domain: "example.com", Selector: "ed", Key: edKey, BodyCanon: Simple}
	res := signerDNS(t, pr, pe)
	v := &Verifier{Resolver: res, Now: fixedClock(now), Profile: DefaultVerifyProfile()}

	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var sigs []string
	signBytes := allocated(func() {
		var err error
		sigs, err = Sign(&chunkReader{strings.NewReader(msg), 1000}, now, pr, pe)
		if err != nil {
			t.Fatal(err)
		}
	})
	signed := strings.Join(sigs, "") + msg
	var results []Result
	verifyBytes := allocated(func() {
		var err error
		results, err = v.Verify(context.Background(), &chunkReader{strings.NewReader(signed), 1000})
		if err != nil {
			t.Fatal(err)
		}
	})
	if len(results) != 2 || results[0].Status != Pass || results[1].Status != Pass {
		t.Fatalf("results %v", results)
	}
	t.Logf("message %d bytes: sign allocated %d, verify %d", len(msg), signBytes, verifyBytes)
	const limit = 256 << 10
	if signBytes > limit || verifyBytes > limit {
		t.Errorf("a %d-byte message allocated %d bytes to sign and %d to verify; want under %d", len(msg), signBytes, verifyBytes, limit)
	}
	var dk bytes.Buffer
	dkBytes := allocated(func() {
		s, err := SignDomainKeys(&chunkReader{strings.NewReader(msg), 1000}, &DKProfile{Domain: "example.com", Selector: "dk", Key: rsaKey, Canon: NoFWS})
		if err != nil {
			t.Fatal(err)
		}
		dk.WriteString(s)
	})
	if dkBytes > limit {
		t.Errorf("DomainKeys signing allocated %d bytes", dkBytes)
	}
}
