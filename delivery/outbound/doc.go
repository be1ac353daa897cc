// Package outbound is the delivery engine: it empties the durable queue
// (delivery/queue) towards each recipient domain's mail hosts under that
// domain's destination controls (concurrency, messages per connection,
// recipient rate, TLS setting 1-6, DANE, IP sort preference) and bounce
// profile (retries, back-off, RFC 3464 bounces and delay notices).
//
// Everything the engine depends on is injected through Config: the queue,
// per-domain policies and SMTP routes, the validating resolver, the dialer,
// the clock, the CA pool, the client certificate and the mail log. It knows
// nothing of the configuration store; cmd/esa maps tables to Config.
//
// Delivery is at least once: a recipient is marked done in the queue only
// after the remote server's 250 to the end of DATA has been read. If the
// process dies between that 250 and the write of the queue state, the
// recipient is delivered again after the restart; every other recipient is
// delivered exactly once. The write runs beside the next message on the
// same connection but is finished before that message's final dot, so a
// crash repeats at most one delivery per open connection (record.go;
// cmd/esa's TestSIGKILLDuringDelivery checks it against the real daemon).
package outbound
