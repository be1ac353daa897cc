// Package smtpclient is the client side of an SMTP conversation up to TLS:
// reading replies (RFC 5321 §4.2), the greeting, EHLO and its extension list
// (RFC 5321 §4.1.1.1), STARTTLS (RFC 3207) and QUIT. Every reply comes from an
// untrusted server, so the reader is bounded (line length, lines per reply)
// and never panics: the daneverify walk and the delivery engine call it from
// goroutines with no recover. It imports nothing of ours.
package smtpclient
