// Package domainkeys is the domainkeysconfig table: DomainKeys/DKIM signing
// keys, signing profiles, verification profiles and the global SETUP
// settings (ESA-CLI.md §2, seed 004 "Domain Keys and DKIM Authentication").
//
// The signing and verification themselves live in esa/auth/dkim; this
// package holds the administrator's choices as plain data and turns them
// into that library's profiles.
package domainkeys
