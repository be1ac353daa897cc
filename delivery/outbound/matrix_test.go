package outbound

import (
	"fmt"
	"testing"
	"time"
)

type want int

const (
	wantClear want = iota
	wantEncrypted
	wantHeld
	wantBounced
)

func (w want) String() string {
	return [...]string{"delivered in clear", "delivered encrypted", "held", "bounced"}[w]
}

// tlsOutcome is what the TLS setting alone does with a host (seed 003).
func tlsOutcome(k mxKind, m TLSMode) want {
	switch k {
	case kindNoTLS, kindRefuse:
		// No TLS offered, or refused before the 220: clear unless required.
		if m.required() {
			return wantHeld
		}
		return wantClear
	case kindAfter220:
		// After the 220 there is no fall-back to clear text on that
		// connection, for either "preferred" setting.
		if m == TLSNo {
			return wantClear
		}
		return wantHeld
	case kindCA:
		if m == TLSNo {
			return wantClear
		}
		return wantEncrypted
	default: // self-signed, wrong name, expired: only 5 and 6 refuse them
		switch {
		case m == TLSNo:
			return wantClear
		case m == TLSRequiredVerify || m == TLSRequiredVerifyHosted:
			return wantHeld
		}
		return wantEncrypted
	}
}

// expect is the outcome table of SPEC.md §2 and seed 003.
func expect(r row, m TLSMode, d DANEMode) want {
	if r.nullMX {
		return wantBounced
	}
	daneOn := d != DANENo && m != TLSNo // DANE is asked for only when TLS is on
	if !daneOn {
		return tlsOutcome(r.kind, m)
	}
	if !r.secure {
		// INSECURE: the TLS setting under Opportunistic, a failure under
		// Mandatory.
		if d == DANEMandatory {
			return wantHeld
		}
		return tlsOutcome(r.kind, m)
	}
	switch r.tlsa {
	case tlsaMatch:
		if r.kind == kindNoTLS {
			return wantHeld // usable TLSA: STARTTLS is mandatory
		}
		return wantEncrypted
	case tlsaMismatch, tlsaBogus:
		return wantHeld // never clear, never "preferred"
	}
	if d == DANEMandatory {
		return wantHeld // a secure denial of TLSA is not DANE
	}
	return tlsOutcome(r.kind, m)
}

// TestTLSDANEMatrix delivers one message per bed row under each TLS
// setting 1-6 and DANE No/Opportunistic/Mandatory, and checks every cell:
// delivered in clear, delivered encrypted, held in the queue, or bounced.
func TestTLSDANEMatrix(t *testing.T) {
	t.Parallel()
	b := newBed(t, bedRows, nil)
	for m := TLSNo; m <= TLSRequiredVerifyHosted; m++ {
		for d := DANENo; d <= DANEMandatory; d++ {
			t.Run(fmt.Sprintf("tls%d_%s", int(m), d), func(t *testing.T) {
				t.Parallel()
				pol := Policy{TLS: m, DANE: d, Bounce: Bounce{InitialRetry: time.Hour, MaxRetry: time.Hour,
					MaxQueueTime: 24 * time.Hour, HardBounce: true}}
				hs := newHarness(t, t.TempDir(), Config{Resolver: b.res, Port: b.port, Roots: b.roots,
					Policy: func(string) Policy { return pol }})
				mids := map[uint64]bool{}
				byMID := map[uint64]row{}
				rcpt := map[uint64]string{}
				for _, r := range bedRows {
					to := fmt.Sprintf("m%dd%d@%s", int(m), int(d), r.domain())
					mid := hs.submit("sender@sender.invalid", true, "Subject: cell\r\n\r\nbody\r\n", to)
					mids[mid], byMID[mid], rcpt[mid] = true, r, to
				}
				evs := hs.waitAll(mids)
				for mid, ev := range evs {
					r := byMID[mid]
					w := expect(r, m, d)
					got := b.delivered(r.domain(), rcpt[mid])
					var have want
					switch {
					case ev.Outcome == Bounced:
						have = wantBounced
					case ev.Outcome == Deferred:
						have = wantHeld
					case ev.TLS:
						have = wantEncrypted
					default:
						have = wantClear
					}
					if have != w {
						t.Errorf("%s: %s, want %s (%s)", r.name, have, w, ev.Reason)
						continue
					}
					// The server's view must agree with the engine's.
					switch w {
					case wantClear, wantEncrypted:
						if len(got) != 1 || got[0].TLS != (w == wantEncrypted) {
							t.Errorf("%s: server has %d messages (TLS %v), want one %s", r.name, len(got), len(got) > 0 && got[0].TLS, w)
						}
						if w == wantEncrypted && r.secure && r.tlsa == tlsaMatch && d != DANENo && !ev.DANE {
							t.Errorf("%s: delivered without DANE authentication", r.name)
						}
					default:
						if len(got) != 0 {
							t.Errorf("%s: %s but the server received it", r.name, w)
						}
						if _, still := hs.q.Get(mid); still != (w == wantHeld) {
							t.Errorf("%s: in queue %v after %s", r.name, still, w)
						}
					}
				}
			})
		}
	}
}
