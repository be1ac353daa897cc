// Package auth groups the pure verdict engines for inbound mail (spf, sidf,
// dkim, dmarc). Each takes records, a message and a time and returns a
// verdict; DNS comes through a small interface each declares itself.
package auth
