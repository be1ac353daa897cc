package dane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strings"
	"syscall"
)

// errNoSTARTTLS: the server's EHLO response does not offer STARTTLS.
var errNoSTARTTLS = errors.New("STARTTLS not offered")

// smtpConn is the little SMTP client the walk needs: greeting, EHLO and
// STARTTLS (RFC 5321 §4.1.1, RFC 3207 §4), then QUIT.
type smtpConn struct {
	conn net.Conn
	tp   *textproto.Conn
}

func newSMTP(conn net.Conn) *smtpConn { return &smtpConn{conn: conn, tp: textproto.NewConn(conn)} }

// startTLS reads the greeting, says EHLO helo and asks for STARTTLS.
func (c *smtpConn) startTLS(helo string) error {
	if _, _, err := c.tp.ReadResponse(220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	id, err := c.tp.Cmd("EHLO %s", helo)
	if err != nil {
		return err
	}
	c.tp.StartResponse(id)
	_, msg, err := c.tp.ReadResponse(250)
	c.tp.EndResponse(id)
	if err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	offered := false
	for _, l := range strings.Split(msg, "\n")[1:] {
		if strings.EqualFold(strings.Fields(l + " ")[0], "STARTTLS") {
			offered = true
		}
	}
	if !offered {
		return errNoSTARTTLS
	}
	id, err = c.tp.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	c.tp.StartResponse(id)
	_, _, err = c.tp.ReadResponse(220)
	c.tp.EndResponse(id)
	if err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	// Anything the server sent after its 220 arrived in clear text before
	// the handshake: a man in the middle injecting responses that would be
	// read as if protected (RFC 3207 §5, CVE-2011-0411 seen from the client
	// side). Refuse rather than silently drop it.
	if n := c.tp.R.Buffered(); n > 0 {
		return errInjected
	}
	return nil
}

// errInjected: bytes followed the server's 220 reply to STARTTLS.
var errInjected = errors.New("STARTTLS: the server sent data after its 220 reply")

// quit ends the session politely on whatever connection now carries it,
// waiting for the 221 reply (RFC 5321 §4.1.1.10) so the server has finished
// with the connection before it is closed. The caller's context bounds the
// wait (it closes conn on expiry).
func quit(conn net.Conn) {
	tp := textproto.NewConn(conn)
	if err := tp.PrintfLine("QUIT"); err == nil {
		_, _, _ = tp.ReadResponse(221)
	}
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
