// Package dkim signs and verifies mail with DKIM (RFC 6376, updated by
// RFC 8301 and RFC 8463) and with its predecessor DomainKeys (RFC 4870).
//
// It is a leaf: it imports nothing of this module. DNS comes in through the
// TXTResolver interface declared here and time through explicit arguments or
// the Verifier's Now function, so the appliance can wire the validating
// resolver and its clock, and tests can hand in fixed records and instants.
//
// Signing and verification both read the message once: the header block is
// kept (it is small and needed for the header hash), the body is streamed
// through the canonicalizers straight into the hash functions.
//
// Where the appliance and the RFCs differ, the RFC wins and the choice is
// documented at the place it is made (for instance RFC 8301 §3.1: rsa-sha1
// signatures are never "pass", and RSA keys below 1024 bits never verify,
// whatever the verification profile says).
package dkim
