// Package dnssec is a validating stub resolver: it asks configured recursive
// resolvers (DO and CD set) and validates every answer itself, from a trust
// anchor down (RFC 4033-4035, 5155, 6840, 9276). Every answer carries its
// security status; a plain answer cannot be mistaken for a validated one.
//
// A leaf: it imports nothing of ours. Debug output goes through the small
// Logger interface it declares.
package dnssec
