// Package dnstest is a hermetic DNSSEC test bed: a signed DNS hierarchy
// (root, TLDs, domains) built in the test with its own keys and trust
// anchor, served on 127.0.0.1:0 by a "recursive front" that answers like a
// recursive resolver queried with DO=1 and CD=1, plus breakage knobs that
// produce secure, insecure, bogus and failing answers on demand (STYLE.md
// item 11, DANE.md §0 item 7). It is imported only by tests.
//
// # Building zones
//
//	h := dnstest.New(t, dnstest.Options{Now: clock})       // signed root "."
//	h.AddZone("test.", dnstest.ZoneConfig{Denial: dnstest.Denial{NSEC3: true}})
//	h.AddZone("example.test.", dnstest.ZoneConfig{})      // ECDSA P-256 KSK+ZSK, NSEC
//	h.AddZone("plain.test.", dnstest.ZoneConfig{Unsigned: true})
//	h.AddZone("island.test.", dnstest.ZoneConfig{Insecure: true}) // signed, no DS
//	h.Add(
//		"example.test. 300 IN MX 10 mail.example.test.",
//		"mail.example.test. 300 IN A 127.0.0.2",
//		"_25._tcp.mail.example.test. 300 IN TLSA 3 1 1 <hex>",
//		"*.example.test. 300 IN TXT \"wildcard\"",
//	)
//	front := h.Serve(t)          // front.Addr = "127.0.0.1:NNNN", UDP and TCP
//	anchors := h.Anchors()       // root DS + DNSKEY, for dnssec.Config.Anchors
//
// Each zone gets an SOA, an apex NS "ns1.<zone>" with A 127.0.0.53, and its
// keys: a KSK and a ZSK (or a CSK) of the configured algorithm:
// dns.ECDSAP256SHA256 (the default), dns.RSASHA256 (1024 bits unless
// KeyConfig.Bits says otherwise), dns.ECDSAP384SHA384 or dns.ED25519. A
// KeyPool shares generated keys between tests; Options.Deterministic
// derives Ed25519 keys from the zone name so that, with a fixed clock,
// every answer is byte-identical from run to run. The parent gets NS, glue and, when both
// zones are signed and the child is not Insecure, the DS (SHA-256) of the
// child's KSK. Signatures are valid from Now-Inception to Now+Validity.
// Denial of existence is NSEC or NSEC3 (iterations, salt, opt-out) per
// zone, with empty non-terminals, wildcards (answers synthesized with the
// wildcard's RRSIG, whose Labels is lower than the owner's, plus the
// next-closer / covering NSEC proof) and insecure delegations proven by
// NSEC/NSEC3 (opt-out included).
//
// # Serving
//
// The front answers from zone data only: the final answer with RRSIGs when
// DO is set, CNAME chains followed across zones (each link with its
// signatures), NXDOMAIN and NODATA with SOA and NSEC/NSEC3 proofs in the
// authority section, DS from the parent, DNSKEY from the zone, never a
// referral. AD is never set. Names outside every zone are NXDOMAIN. Over
// UDP a response larger than the client's EDNS buffer (512 without EDNS)
// comes back with TC and empty sections, so the client retries over TCP.
// Every front keeps a query log (Queries, Total, Log, Counts, Duplicates,
// ResetQueries) for benchmarks asserting that nothing is asked twice.
//
// # Breaking things
//
// All knobs are safe to use at any time, while serving:
//
//	h.Break("mail.example.test.", dns.TypeA, dnstest.ExpiredSig) // also NotYetValidSig, CorruptSig, WrongKeySig, StripSigs
//	h.Break("_25._tcp.mail.example.test.", dns.TypeTLSA, dnstest.ServFail) // also Refused, Timeout, Truncate, TruncateAlways
//	h.Break("_25._tcp.mail.example.test.", dns.TypeTLSA, dnstest.ForgeNXDomain) // the NSEC3.Cover trap
//	h.Break("nx.example.test.", 0, dnstest.StripDenial)   // NXDOMAIN/NODATA/wildcard without proof
//	h.BreakZone("example.test.", dnstest.StripSigs)      // every RRset or query of a zone
//	h.SetDS("example.test.", h.WrongDS("example.test."))  // DS mismatch: bogus
//	h.SetDS("example.test.", h.UnsupportedDS("example.test.")) // algorithm 16 only: insecure
//	h.SetDS("example.test.")                              // no DS, proven: insecure
//	h.DropDNSKEY("example.test.", dnstest.ZSK)
//	h.SetDenial("example.test.", dnstest.Denial{NSEC3: true, Iterations: 500})
//	h.KeyTrap("example.test.", 20, 10)                    // colliding key tags + garbage RRSIGs (CVE-2023-50387)
//	other := h.Serve(t); other.SetFault(dnstest.ServFail) // a second, failing front
//	h.Fix()                                               // remove Break/BreakZone faults
//
// DropDNSKEY(zone, ZSK) has no effect on a CSK zone (the CSK is the KSK).
// KeyConfig.HugeExponent publishes an RSA KSK with exponent 2^32+15, which
// miekg/dns cannot parse (unsupported algorithm, not bogus).
//
// Signature faults apply to the RRsets in a response whose owner and type
// match (for DS: the child apex and dns.TypeDS); response faults apply to
// the query name and type, including later links of a CNAME chain.
//
// # SMTP and certificates
//
//	srv := dnstest.StartSMTP(t, dnstest.SMTPOptions{Addr: "127.0.0.2:0", Hostname: "mx.example.test"})
//	h.Add(srv.Chain.EE(dnstest.TLSAName("mx.example.test"), 1, 1).String()) // 3 1 1
//	// srv.Port is injected in place of 25; srv.Messages() and srv.SNI() show what arrived.
//
// NewChain makes root CA -> intermediate -> leaf chains (or a self-signed,
// optionally expired, leaf) with reproducible Ed25519 keys. Chain.EE,
// Chain.TA, Chain.TAIntermediate, Chain.PKIX and NonMatchingTLSA build
// TLSA records. SMTPOptions.NoSTARTTLS gives a server that greets with 220
// but offers no STARTTLS; StartAcceptClose accepts and closes at once;
// ClosedPort finds a port that refuses connections.
//
// # Scenario
//
// NewScenario serves a ready-made set of DANE domains for golden
// transcripts (see the Domain* constants for each one's MX, addresses,
// TLSA and faults); all its SMTP servers share Scenario.Port on distinct
// 127.0.0.x addresses, which A records point at:
//
//	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{Now: clock})
//	cfg := dnssec.Config{Servers: []dnssec.Server{{Addr: s.DNS.Addr}}, Anchors: s.H.Anchors(), Now: clock}
//	// deliver to dnstest.DomainGood on port s.Port ...
//
// This package must not import esa/dnssec: the dnssec package's own tests
// import it.
package dnstest
