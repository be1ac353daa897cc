package outbound

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"sync"
	"testing"
	"time"
)

func certWith(cn string, sans ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	for _, s := range sans {
		if s != "" {
			c.DNSNames = append(c.DNSNames, s)
		}
	}
	return c
}

// TestTLSMaterialPerConnection: with Config.TLSMaterial the CA pool is read
// at each connection, so a certconfig commit applies to the next delivery:
// Required-Verify holds the message while the pool lacks the server's CA
// and delivers it once the pool has it.
func TestTLSMaterialPerConnection(t *testing.T) {
	t.Parallel()
	rows := []row{{name: "ca", kind: kindCA}}
	b := newBed(t, rows, nil)
	var mu sync.Mutex
	pool := x509.NewCertPool() // not yet trusting the bed's CA
	pol := Policy{TLS: TLSRequiredVerify, Bounce: Bounce{MaxRetries: 100, MaxQueueTime: time.Hour, InitialRetry: 50 * time.Millisecond, MaxRetry: 50 * time.Millisecond}}
	hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Policy: func(string) Policy { return pol },
		TLSMaterial: func() (*x509.CertPool, *tls.Certificate) { mu.Lock(); defer mu.Unlock(); return pool, nil }})
	mid := hs.submit("alice@example.org", false, "Subject: x\r\n\r\nbody\r\n", "bob@"+rows[0].domain())
	if ev := hs.waitFor(mid); ev.Outcome == Delivered {
		t.Fatalf("delivered without trusting the CA: %+v", ev)
	}
	mu.Lock()
	pool = b.roots
	mu.Unlock()
	hs.e.DeliverNow("all")
	for {
		ev := hs.waitFor(mid)
		if ev.Outcome == Delivered {
			if !ev.TLS || !ev.Verified {
				t.Fatalf("delivered without verified TLS: %+v", ev)
			}
			break
		}
	}
}
