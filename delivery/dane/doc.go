// Package dane implements DANE for SMTP (RFC 7671, RFC 7672): TLSA record
// usability and matching against a presented certificate chain, and the
// MX -> A/AAAA -> TLSA -> STARTTLS walk that daneverify prints line by line
// and that delivery uses to decide, per MX host, whether TLS is required and
// how the server must be authenticated. The rules are DANE.md §2.2 and §2.3.
package dane
