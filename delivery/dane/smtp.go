package dane

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"esa/delivery/smtpclient"
)

// The SMTP conversation up to TLS is smtpclient's: a bounded reply reader
// that never panics on what a hostile server sends (issue 12 item 21).
var (
	errNoSTARTTLS = smtpclient.ErrNoSTARTTLS
	errInjected   = smtpclient.ErrInjected
)

// startTLS reads the greeting on conn, says EHLO helo and asks for
// STARTTLS (RFC 5321 §4.1.1, RFC 3207 §4).
func startTLS(conn net.Conn, helo string) error {
	c := smtpclient.New(conn)
	if _, err := c.Greeting(); err != nil {
		return err
	}
	ext, err := c.Hello(helo)
	if err != nil {
		return err
	}
	return c.StartTLS(ext)
}

// quit ends the session politely on whatever connection now carries it,
// waiting for the 221 reply (RFC 5321 §4.1.1.10) so the server has finished
// with the connection before it is closed. The caller's context bounds the
// wait (it closes conn on expiry).
func quit(conn net.Conn) {
	_ = smtpclient.New(conn).Quit()
	_ = conn.Close()
}

// dialReason is the short reason of a failed connection for the screen
// (the full error goes to the debug log).
func dialReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "connection timed out"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	}
	return err.Error()
}

// ProtocolName is the protocol as the appliance prints it ("TLSv1.3").
func ProtocolName(v uint16) string {
	return strings.Replace(tls.VersionName(v), "TLS ", "TLSv", 1)
}

// CipherName is a cipher suite's OpenSSL name, as the appliance prints it
// ("ECDHE-RSA-AES256-GCM-SHA384"). TLS 1.3 suites keep their IANA names,
// which OpenSSL uses too ("TLS_AES_128_GCM_SHA256"); a suite without an
// OpenSSL name falls back to Go's (IANA) name.
func CipherName(id uint16) string {
	if n, ok := opensslNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}

var opensslNames = map[uint16]string{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:       "ECDHE-ECDSA-AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         "ECDHE-RSA-AES128-SHA256",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
}
