// Package smtpd runs the SMTP listeners that listenerconfig defines, on
// emersion/go-smtp. For each connection it consults the host access table
// before the banner (TCPREFUSE, REJECT, the per-host concurrency limit),
// applies the chosen mail-flow policy's limits, checks recipients against
// the recipient access table on public listeners, streams DATA to the
// durable queue and answers 250 only once the queue has the message on
// disk. It writes the appliance's mail_logs lines (ESA-CLI.md §11.1–11.2).
//
// Where the policy enables SPF/SIDF verification (spf.go), the HELO
// identity is checked at HELO/EHLO, MAIL FROM at MAIL and the PRA after the
// DATA header, with the policy's actions, replies and timeout; accepted
// mail gets Received-SPF: fields and its verdicts (ESA-CLI.md §11.5).
//
// Where it enables DKIM verification (dkim.go), the message is verified as
// it streams to the queue, before the commit: it gets an
// Authentication-Results: field and its "dkim" verdict, and the
// verification profile's tempfail/permfail actions may refuse it.
//
// Reconfiguration (Apply) never drops a connection: a listener whose address
// and port stay keeps its socket and new connections get the new settings,
// while connections in progress finish under the settings they started
// with.
package smtpd
