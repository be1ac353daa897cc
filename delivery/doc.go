// Package delivery is the mail flow: the durable queue and the outbound engine
// (MX, TLS, DANE, signing hook). Sub-package dane holds the DANE walk used by
// both delivery and the daneverify / tlsverify commands.
package delivery
