package dane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"esa/dnssec"
)

// Verifier walks a domain's MX hosts the way an RFC 7672 DANE client does
// and reports every step as an Event. Every door is injected.
type Verifier struct {
	Resolver dnssec.Lookuper
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	Port     int              // the SMTP port: 25, tests inject their own
	Now      func() time.Time // the clock for certificate validity (DANE-TA, tlsverify)
	HeloName string           // our EHLO name
	// Timeout bounds each SMTP conversation (connect, EHLO, STARTTLS,
	// handshake); 0 means 30 seconds.
	Timeout time.Duration
	// Debug receives the connection and TLS steps for the mail log (the
	// resolver logs the DNS steps itself); nil discards them.
	Debug func(format string, args ...any)
}

// Step says which part of the walk an Event reports.
type Step int

const (
	StepMX      Step = iota // an MX lookup outcome (or its absence)
	StepAddress             // an A/AAAA record of a host
	StepNext                // moving on to the next address or MX host
	StepConnect             // connecting to / connected to an address
	StepTLSA                // the TLSA lookup outcome of a host
	StepTLS                 // STARTTLS and the handshake
	StepCert                // certificate authentication
	StepResult              // the verdict for the whole domain
)

// Event is one finished step. Line is the appliance's wording for it
// (SPEC.md §2, ESA-CLI §10.3), printed as is by daneverify and tlsverify.
type Event struct {
	Step   Step
	Line   string
	Failed bool // the step failed (the walk goes on to the next candidate, if any)
}

// State is the DANE decision for one MX host (DANE.md §2.2).
type State int

const (
	// StateUnusable: a lookup of the host was bogus or failed, or it has no
	// address: the host must not be used (RFC 7672 §2.1.2).
	StateUnusable State = iota
	// StateNoDANE: insecure addresses, or no secure TLSA: pre-DANE
	// opportunistic TLS (RFC 7672 §2.2).
	StateNoDANE
	// StateEncrypt: a secure TLSA RRset with no usable record: STARTTLS is
	// mandatory, without authentication (RFC 7672 §3.1.3).
	StateEncrypt
	// StateDANE: usable TLSA records: STARTTLS is mandatory and the server
	// must match them (RFC 7672 §3).
	StateDANE
)

func (s State) String() string {
	return [...]string{"unusable", "no DANE", "encrypt", "DANE"}[s]
}

// Host is the decision for one MX host.
type Host struct {
	Name       string // the MX host (or the domain itself for an implicit MX), without the final dot
	Preference uint16
	Implicit   bool // no MX RRset: the domain is its own mail host (RFC 5321 §5.1)
	State      State
	Addrs      []netip.Addr // addresses found, A before AAAA
	// BaseDomain is the TLSA base domain: the SNI to send and the first
	// reference identity (RFC 7672 §2.2.3, §8.1).
	BaseDomain string
	// Names are the DANE-TA reference identities (RFC 7672 §3.2.2).
	Names []string
	TLSA  []Record // usable records, after digest agility
	// Verified: daneverify connected and authenticated the server.
	Verified bool
	Reason   string // why the host failed, for logs
}

// Report is the outcome of Verify.
type Report struct {
	Domain     string
	MX         MXOutcome
	MXSecurity dnssec.Security
	Hosts      []*Host
	Success    bool
	// Interrupted: the caller's context ended (Ctrl-C) before the walk
	// did; the report holds no verdict and no event was emitted after.
	Interrupted bool
}

// MXOutcome is what the MX lookup said (DANE.md §2.2 MX rows).
type MXOutcome int

const (
	// MXFailed: bogus, indeterminate or failed: defer the message, try no
	// other name (RFC 7672 §2.2.1).
	MXFailed   MXOutcome = iota
	MXFound              // MX records: Hosts in preference order
	MXImplicit           // NODATA: the domain is its own host (RFC 5321 §5.1)
	MXNXDomain           // the domain does not exist: permanent failure
	MXNull               // "MX 0 .": the domain accepts no mail (RFC 7505): permanent failure
)

func (v *Verifier) timeout() time.Duration {
	if v.Timeout > 0 {
		return v.Timeout
	}
	return 30 * time.Second
}

func (v *Verifier) debug(format string, args ...any) {
	if v.Debug != nil {
		v.Debug(format, args...)
	}
}

// walk carries one Verify run.
type walk struct {
	v      *Verifier
	ctx    context.Context
	sink   func(Event)
	domain string // without the final dot
	// target is the CNAME-expanded next-hop domain when the MX lookup
	// followed a CNAME, without the final dot; "" otherwise.
	target string
}

func (w *walk) emit(step Step, failed bool, format string, args ...any) {
	if w.ctx.Err() != nil {
		// Interrupted: whatever failed after that failed because of
		// it, and says nothing about the domain.
		return
	}
	line := fmt.Sprintf(format, args...)
	if step >= StepNext && step != StepTLSA {
		w.v.debug("DANE %s: %s", w.domain, line)
	}
	if w.sink != nil {
		w.sink(Event{Step: step, Line: line, Failed: failed})
	}
}

func trimDot(s string) string {
	if len(s) > 1 {
		return strings.TrimSuffix(s, ".")
	}
	return s
}

// Verify checks whether mail to domain could be delivered under DANE,
// emitting each step as it finishes (DANE.md §2.2, SPEC.md §2):
// MX (SECURE, INSECURE: proceed; BOGUS or failed: stop; NXDOMAIN: stop;
// NODATA: the domain is its own host; null MX: stop), then per MX host in
// preference order A then AAAA (insecure addresses: no TLSA lookup, RFC
// 7672 §2.2.2), connect, TLSA at _25._tcp.<host> (bogus or failed: next
// MX, never "no TLSA"), EHLO, STARTTLS, handshake with SNI = TLSA base
// domain, and the certificate matched against the usable records. It stops
// at the first authenticated host. DANE SUCCESS needs a secure MX RRset
// (or a secure denial of it) and an authenticated host.
func (v *Verifier) Verify(ctx context.Context, domain string, sink func(Event)) *Report {
	w := &walk{v: v, ctx: ctx, sink: sink, domain: trimDot(domain)}
	rep := &Report{Domain: w.domain}
	hosts, sec, outcome := w.mx()
	rep.MXSecurity, rep.MX = sec, outcome
	if outcome == MXFound || outcome == MXImplicit {
		for i, h := range hosts {
			if ctx.Err() != nil {
				// Interrupted (Ctrl-C): stop walking, report what we have.
				break
			}
			if i > 0 {
				w.emit(StepNext, false, "Trying next MX record in %s", w.domain)
			}
			w.host(h, sec, true)
			rep.Hosts = append(rep.Hosts, h)
			if h.Verified {
				rep.Success = sec == dnssec.Secure
				if !rep.Success {
					// RFC 7672 §2.2.1: with an insecure MX RRset DANE "need
					// not apply"; never report such a delivery as secure.
					w.emit(StepResult, true, "%s MX records cannot make DANE succeed for %s", sec, w.domain)
				}
				break
			}
		}
	}
	if ctx.Err() != nil {
		rep.Success, rep.Interrupted = false, true
		return rep
	}
	if rep.Success {
		w.emit(StepResult, false, "DANE SUCCESS for %s", w.domain)
	} else {
		w.emit(StepResult, true, "DANE FAILED for %s", w.domain)
	}
	return rep
}

// Plan is the DNS half of Verify, for delivery: the MX outcome and, for
// each MX host in preference order, its addresses and DANE state
// (StateDANE with the usable records, reference names and SNI; StateEncrypt;
// StateNoDANE; StateUnusable), without connecting to anything. Events are
// the same lines Verify emits for those steps.
func (v *Verifier) Plan(ctx context.Context, domain string, sink func(Event)) *Report {
	w := &walk{v: v, ctx: ctx, sink: sink, domain: trimDot(domain)}
	rep := &Report{Domain: w.domain}
	hosts, sec, outcome := w.mx()
	rep.MXSecurity, rep.MX = sec, outcome
	for _, h := range hosts {
		if ctx.Err() != nil {
			break
		}
		w.host(h, sec, false)
		rep.Hosts = append(rep.Hosts, h)
	}
	rep.Interrupted = ctx.Err() != nil
	return rep
}

// mx looks up the MX RRset and lists the hosts to try.
func (w *walk) mx() ([]*Host, dnssec.Security, MXOutcome) {
	ans, err := w.v.Resolver.Lookup(w.ctx, dns.Fqdn(w.domain), dns.TypeMX)
	// RFC 7672 §2.2.1: a failed or bogus MX lookup defers the message; no
	// other name may be tried. A resolver that did not answer is a lookup
	// failure, not evidence of an attack: say which (issue 12 item 8).
	if err != nil {
		w.emit(StepMX, true, "MX lookup failed (%s) for %s", errorWord(err), w.domain)
		return nil, dnssec.Indeterminate, MXFailed
	}
	if ans.Security == dnssec.Bogus || ans.Security == dnssec.Indeterminate {
		w.emit(StepMX, true, "BOGUS MX record found for %s", w.domain)
		return nil, dnssec.Bogus, MXFailed
	}
	switch ans.Kind {
	case dnssec.NXDomain:
		w.emit(StepMX, true, "NXDOMAIN: the domain %s does not exist", w.domain)
		return nil, ans.Security, MXNXDomain
	case dnssec.NoData:
		// RFC 7672 §2.2.2 / RFC 5321 §5.1: no MX, the domain is its own
		// (non-MX) mail host.
		w.emit(StepMX, false, "%s NODATA: no MX record for %s; the domain itself is the mail host.", ans.Security, w.domain)
		return []*Host{{Name: w.domain, Implicit: true}}, ans.Security, MXImplicit
	}
	if len(ans.Chain) > 0 {
		w.target = trimDot(ans.Target)
	}
	var hosts []*Host
	for _, rr := range ans.Records {
		if mx, ok := rr.(*dns.MX); ok {
			hosts = append(hosts, &Host{Name: trimDot(mx.Mx), Preference: mx.Preference})
		}
	}
	// RFC 7505 §3: a null MX says the domain accepts no mail. It must stand
	// alone, but when it is published beside real MX records the domain has
	// still said it takes no mail: Postfix then bounces ("nullMX") rather
	// than try the other hosts, and so do we (issue 12 item 20).
	if slices.ContainsFunc(hosts, func(h *Host) bool { return h.Name == "." }) {
		w.emit(StepMX, true, "%s null MX record found for %s: the domain accepts no mail", ans.Security, w.domain)
		return nil, ans.Security, MXNull
	}
	if len(hosts) == 0 {
		w.emit(StepMX, true, "BOGUS MX record found for %s", w.domain)
		return nil, dnssec.Bogus, MXFailed
	}
	// Preference order, answer order between equals (deterministic output).
	slices.SortStableFunc(hosts, func(a, b *Host) int { return int(a.Preference) - int(b.Preference) })
	return hosts, ans.Security, MXFound
}

// host walks one MX host: its addresses, TLSA and, when dial is set,
// connections. Without dial every address is listed and TLSA is looked up
// once (Plan).
func (w *walk) host(h *Host, mxSec dnssec.Security, dial bool) {
	if !h.Implicit {
		w.emit(StepMX, false, "%s MX record(%s) found for %s", mxSec, h.Name, w.domain)
	}
	if mxSec == dnssec.Insecure {
		w.emit(StepMX, false, "INSECURE MX record(%s) found. The command will still proceed.", h.Name)
	}
	h.State = StateUnusable
	tlsaDone, tried := false, false
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		fam := dns.TypeToString[qt]
		ans, err := w.v.Resolver.Lookup(w.ctx, dns.Fqdn(h.Name), qt)
		if err != nil {
			// A failed family makes the host unusable on it; the other
			// family may still be secure (DANE.md §2.2, maddy #292).
			w.emit(StepAddress, true, "%s lookup failed (%s) for MX(%s) in %s", fam, errorWord(err), h.Name, w.domain)
			h.Reason = "address lookup failed"
			continue
		}
		if ans.Security == dnssec.Bogus || ans.Security == dnssec.Indeterminate {
			w.emit(StepAddress, true, "BOGUS %s record found for MX(%s) in %s", fam, h.Name, w.domain)
			h.Reason = "bogus address records"
			continue
		}
		if ans.Kind != dnssec.Data {
			continue
		}
		names := tlsaCandidates(h.Name, ans)
		for _, rr := range ans.Records {
			ip := rrAddr(rr)
			if !ip.IsValid() {
				continue
			}
			if w.ctx.Err() != nil {
				return
			}
			h.Addrs = append(h.Addrs, ip)
			if tried {
				w.emit(StepNext, false, "Trying next %s record (%s) for MX(%s) in %s", fam, ip, h.Name, w.domain)
			}
			tried = true
			w.emit(StepAddress, false, "%s %s record (%s) found for MX(%s) in %s", ans.Security, fam, ip, h.Name, w.domain)
			if len(names) == 0 {
				// RFC 7672 §2.2.2: insecure addresses: no TLSA lookup,
				// pre-DANE TLS only, which cannot make DANE succeed.
				if h.State == StateUnusable {
					h.State, h.Reason = StateNoDANE, "insecure address records"
				}
				continue
			}
			if !dial {
				if !tlsaDone {
					w.tlsa(h, names, mxSec)
					tlsaDone = true
				}
				continue
			}
			conn, ok := w.connect(ip)
			if !ok {
				h.Reason = "connection failed"
				continue
			}
			if !tlsaDone {
				w.tlsa(h, names, mxSec)
				tlsaDone = true
			}
			if h.State == StateUnusable || h.State == StateNoDANE {
				// TLSA is per host: another address cannot change it.
				conn.Close()
				return
			}
			if w.starttls(conn, ip, h) {
				return
			}
		}
	}
	if !tried && h.Reason == "" {
		w.emit(StepAddress, true, "No A or AAAA record found for MX(%s) in %s", h.Name, w.domain)
		h.Reason = "no address records"
	}
}

// tlsaCandidates returns the TLSA base domains to try for an address
// answer (RFC 7672 §2.2.2-2.2.3): none when the addresses are insecure and
// not reached through a secure CNAME; the CNAME-expanded name then the
// original one when the whole chain is secure; the original name only when
// a secure CNAME leads to insecure addresses.
func tlsaCandidates(host string, ans *dnssec.Answer) []string {
	target := trimDot(ans.Target)
	switch {
	case ans.Security == dnssec.Secure:
		if target != "" && !strings.EqualFold(target, host) {
			return []string{target, host}
		}
		return []string{host}
	case len(ans.Chain) > 0 && ans.Chain[0].Security == dnssec.Secure:
		return []string{host}
	}
	return nil
}

func rrAddr(rr dns.RR) netip.Addr {
	var ip net.IP
	switch r := rr.(type) {
	case *dns.A:
		ip = r.A
	case *dns.AAAA:
		ip = r.AAAA
	default:
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// errorWord names a lookup failure without addresses or ports (they would
// make the screen vary from run to run; the debug log has the details).
func errorWord(err error) string {
	var le *dnssec.LookupError
	if errors.As(err, &le) {
		switch le.Kind {
		case dnssec.ErrServFail:
			return "SERVFAIL"
		case dnssec.ErrTimeout:
			return "timeout"
		case dnssec.ErrRefused:
			return "REFUSED"
		case dnssec.ErrFormErr:
			return "FORMERR"
		case dnssec.ErrBudget:
			return "validation limits reached"
		case dnssec.ErrNetwork:
			return "no resolver reachable"
		}
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return "error"
}

// connect dials ip on the SMTP port.
func (w *walk) connect(ip netip.Addr) (net.Conn, bool) {
	w.emit(StepConnect, false, "Connecting to %s on port %d.", ip, w.v.Port)
	ctx, cancel := context.WithTimeout(w.ctx, w.v.timeout())
	defer cancel()
	conn, err := w.v.Dial(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(w.v.Port)))
	if err != nil {
		w.v.debug("DANE %s: connection to %s failed: %v", w.domain, ip, err)
		w.emit(StepConnect, true, "Connection to %s failed: %s.", ip, dialReason(err))
		return nil, false
	}
	local := conn.LocalAddr().String()
	if ta, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		local = ta.IP.String()
	}
	w.emit(StepConnect, false, "Connected to %s from interface %s.", ip, local)
	return conn, true
}

// tlsa looks up the TLSA records of h at each candidate base domain and
// sets h's state (DANE.md §2.2 TLSA rows).
func (w *walk) tlsa(h *Host, names []string, mxSec dnssec.Security) {
	d := LookupTLSA(w.ctx, w.v.Resolver, names)
	h.State, h.TLSA, h.BaseDomain = d.State, d.Records, d.BaseDomain
	// RFC 7672 §3.2.2: the TLSA base domain, the MX host name (qname of
	// a CNAME'd host) and, for a secure MX, the next-hop domain ...
	h.Names = []string{d.BaseDomain}
	if !slices.Contains(h.Names, h.Name) {
		h.Names = append(h.Names, h.Name)
	}
	if mxSec == dnssec.Secure && !slices.Contains(h.Names, w.domain) {
		h.Names = append(h.Names, w.domain)
	}
	// ... and, when the MX lookup followed a secure CNAME, its expanded
	// form (RFC 7672 §3.2.2).
	if mxSec == dnssec.Secure && w.target != "" && !slices.Contains(h.Names, w.target) {
		h.Names = append(h.Names, w.target)
	}
	switch {
	case d.State == StateDANE:
		w.emit(StepTLSA, false, "SECURE TLSA record found for MX(%s) in %s", h.Name, w.domain)
	case d.State == StateEncrypt:
		w.emit(StepTLSA, false, "SECURE TLSA record found for MX(%s) in %s", h.Name, w.domain)
		w.emit(StepTLSA, true, "No usable TLSA record for MX(%s) in %s: TLS is required without authentication.", h.Name, w.domain)
	case d.Err != nil:
		w.emit(StepTLSA, true, "TLSA lookup failed (%s) for MX(%s) in %s", errorWord(d.Err), h.Name, w.domain)
		h.Reason = "TLSA lookup failed"
	case d.State == StateUnusable:
		w.emit(StepTLSA, true, "BOGUS TLSA record found for MX(%s) in %s", h.Name, w.domain)
		h.Reason = "bogus TLSA records"
	case d.Insecure:
		w.emit(StepTLSA, true, "INSECURE TLSA record found for MX(%s) in %s", h.Name, w.domain)
		h.Reason = "insecure TLSA records"
	default:
		w.emit(StepTLSA, true, "No TLSA record found for MX(%s) in %s", h.Name, w.domain)
		h.Reason = "no TLSA records"
	}
}

// TLSADecision is the outcome of LookupTLSA.
type TLSADecision struct {
	State      State    // StateDANE, StateEncrypt, StateNoDANE or StateUnusable
	Records    []Record // usable records (StateDANE)
	BaseDomain string   // the name the records were found at (or the first candidate)
	Insecure   bool     // an insecure TLSA RRset was seen (and ignored)
	Err        error    // the lookup error that made the host unusable
}

// LookupTLSA asks for TLSA at _25._tcp.<name> for each candidate base
// domain in order (RFC 7672 §2.2.3). A secure RRset decides; a secure
// denial or an insecure answer moves on to the next candidate (insecure
// TLSA is never used, RFC 7672 §2.2); a bogus or failed lookup makes the
// host unusable at once and is never taken for "no TLSA" (RFC 7672
// §2.1.2).
func LookupTLSA(ctx context.Context, r dnssec.Lookuper, names []string) TLSADecision {
	d := TLSADecision{State: StateNoDANE}
	if len(names) > 0 {
		d.BaseDomain = trimDot(names[0])
	}
	for _, n := range names {
		ans, err := r.Lookup(ctx, "_25._tcp."+dns.Fqdn(n), dns.TypeTLSA)
		if err != nil {
			return TLSADecision{State: StateUnusable, BaseDomain: trimDot(n), Err: err}
		}
		switch ans.Security {
		case dnssec.Bogus, dnssec.Indeterminate:
			return TLSADecision{State: StateUnusable, BaseDomain: trimDot(n)}
		case dnssec.Insecure:
			d.Insecure = true
			continue
		}
		if ans.Kind != dnssec.Data {
			continue
		}
		var rrs []*dns.TLSA
		for _, rr := range ans.Records {
			if t, ok := rr.(*dns.TLSA); ok {
				rrs = append(rrs, t)
			}
		}
		recs, _ := Usable(rrs)
		d = TLSADecision{State: StateEncrypt, Records: recs, BaseDomain: trimDot(n)}
		if len(recs) > 0 {
			d.State = StateDANE
		}
		return d
	}
	return d
}

// TLSConfig returns the client TLS configuration for a host decided
// StateDANE or StateEncrypt: SNI is the TLSA base domain (RFC 7672 §8.1);
// WebPKI verification is off and, for StateDANE, VerifyConnection matches
// the presented chain against the usable records (RFC 7672 §3), so the
// handshake fails on a mismatch. onMatch, if not nil, sees the outcome.
func (h *Host) TLSConfig(now func() time.Time, onMatch func(tls.ConnectionState, Result, error)) *tls.Config {
	return &tls.Config{
		ServerName:         h.BaseDomain,
		InsecureSkipVerify: true, // DANE replaces WebPKI verification (RFC 7672 §3)
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if h.State != StateDANE {
				if onMatch != nil {
					onMatch(cs, Result{}, ErrNoUsable)
				}
				return nil
			}
			res, err := MatchRecords(h.TLSA, cs.PeerCertificates, h.Names, now())
			if onMatch != nil {
				onMatch(cs, res, err)
			}
			return err
		},
	}
}

// starttls runs EHLO, STARTTLS and the handshake on conn; it reports
// whether the host was authenticated (and closes conn in every case).
func (w *walk) starttls(conn net.Conn, ip netip.Addr, h *Host) bool {
	ctx, cancel := context.WithTimeout(w.ctx, w.v.timeout())
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := startTLS(conn, w.v.HeloName); err != nil {
		conn.Close()
		switch {
		case errors.Is(err, errNoSTARTTLS):
			w.emit(StepTLS, true, "STARTTLS is not offered by %s for MX(%s) in %s", ip, h.Name, w.domain)
			h.Reason = "STARTTLS not offered"
		case errors.Is(err, errInjected):
			w.emit(StepTLS, true, "%s sent unencrypted data after agreeing to STARTTLS; connection dropped.", ip)
			h.Reason = "data injected after STARTTLS"
		default:
			w.v.debug("DANE %s: SMTP with %s failed: %v", w.domain, ip, err)
			w.emit(StepTLS, true, "SMTP conversation with %s failed.", ip)
			h.Reason = "SMTP failed"
		}
		return false
	}
	w.emit(StepTLS, false, "Checking TLS connection.")
	var (
		state   *tls.ConnectionState
		res     Result
		matchEr error
	)
	tc := tls.Client(conn, h.TLSConfig(w.v.Now, func(cs tls.ConnectionState, r Result, err error) {
		state, res, matchEr = &cs, r, err
	}))
	err := tc.HandshakeContext(ctx)
	if state == nil {
		conn.Close()
		w.v.debug("DANE %s: TLS handshake with %s failed: %v", w.domain, ip, err)
		w.emit(StepTLS, true, "TLS handshake with %s failed.", ip)
		h.Reason = "TLS handshake failed"
		return false
	}
	w.emit(StepTLS, false, "TLS connection established: protocol %s, cipher %s.", ProtocolName(state.Version), CipherName(state.CipherSuite))
	switch {
	case h.State == StateEncrypt:
		w.emit(StepCert, true, "Certificate verification skipped: no usable TLSA record.")
	case matchEr != nil:
		w.emit(StepCert, true, "Certificate verification failed: %s.", matchEr)
		h.Reason = "certificate mismatch"
		conn.Close()
		return false
	default:
		w.v.debug("DANE %s: %s matched TLSA %d %d %d at depth %d (SNI %s)", w.domain, ip,
			res.Record.Usage, res.Record.Selector, res.Record.Matching, res.Depth, h.BaseDomain)
		w.emit(StepCert, false, "Certificate verification successful")
	}
	if err != nil {
		conn.Close()
		w.emit(StepTLS, true, "TLS handshake with %s failed.", ip)
		h.Reason = "TLS handshake failed"
		return false
	}
	quit(tc)
	w.emit(StepTLS, false, "TLS connection succeeded %s.", w.domain)
	if h.State == StateEncrypt {
		h.Reason = "no usable TLSA record"
		return false
	}
	h.Verified = true
	return true
}
