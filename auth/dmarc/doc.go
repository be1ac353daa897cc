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
//     walk of DMARCbis), checks SPF and DKIM identifier alignment, picks p,
//     sp or np and applies pct or t; the Result carries the verdict, the
//     disposition, the reason, the mail_logs text and the
//     Authentication-Results clause (evaluate.go, discover.go,
//     orgdomain.go);
//   - NewRow, Report and Collector gather the per-period rows; a Report
//     renders the Appendix C XML (or the DMARCbis format), its RFC file name
//     and gzip payload, and PlanDelivery says which rua URIs can take it and
//     when an error report is due (report.go, reportbis.go);
//   - Evaluator.ReportDestinations applies the external destination check
//     to rua URIs (destinations.go);
//   - ReadReport reads other receivers' reports leniently (reportread.go).
//
// Nothing here sends mail or keeps state across restarts: the inbound flow,
// the report store and the mailing job live in the packages that own mail
// flow and configuration.
package dmarc
