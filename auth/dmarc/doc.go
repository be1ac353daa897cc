// Package dmarc evaluates DMARC (RFC 7489, and the DMARCbis rules of RFC
// 9989 selectable by an option) for one message and builds the aggregate
// feedback reports of RFC 7489 §7.2 and Appendix C.
//
// It is a leaf: it imports nothing of ours. Its inputs are plain values (the
// RFC5322.From domains, the SPF result and domain, the DKIM results), so the
// SPF and DKIM engines stay independent of it, and DNS comes through the
// small Resolver interface declared here. Randomness for pct sampling and the
// public suffix list are passed in as options.
//
// The pieces, in the order a message meets them:
//   - Parse reads one TXT record tolerantly (record.go);
//   - Evaluator.Evaluate discovers the policy record (From domain, then the
//     Organizational Domain from the public suffix list, or the DNS tree
//     walk of DMARCbis), checks SPF and DKIM identifier alignment and picks
//     p, sp or np, then applies pct or t (evaluate.go, discover.go,
//     align.go, orgdomain.go);
//   - Report collects the per-period rows and renders the Appendix C XML,
//     the RFC file name and the gzip payload, and tells when a payload is
//     over a rua size limit (report.go).
//
// Nothing here sends mail or keeps state across restarts: the inbound flow,
// the report store and the mailing job live in the packages that own mail
// flow and configuration.
package dmarc
