// Package certs holds the certificate table that certconfig edits
// (ESA-CLI.md §4): the certificate profiles (a PEM certificate, its chain
// and private key), the demo certificate the daemon makes at its first
// start, the certificate offered for outbound TLS, and the certificate
// authorities the verify modes trust (the system list on or off, custom
// CAs). It provides the validators the store runs at every change and the
// pure accessors the listeners and the delivery engine call
// (Table.TLSCertificate, Table.RootPool).
//
// The private key is a PrivateKey, a string type the store recognises as a
// secret (it has the ConfigSecret marker method): masked in showconfig and
// sealed with the appliance key in config.db, like every passphrase. The
// package imports nothing of ours.
package certs
