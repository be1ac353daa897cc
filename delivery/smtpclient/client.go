package smtpclient

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrNoSTARTTLS: the server's EHLO reply does not offer STARTTLS.
var ErrNoSTARTTLS = errors.New("STARTTLS not offered")

// ErrInjected: bytes followed the server's 220 reply to STARTTLS. They came
// in clear text before the handshake, and taking them as replies after it
// would let a man in the middle answer for the server (RFC 3207 §5,
// CVE-2011-0411 seen from the client side).
var ErrInjected = errors.New("STARTTLS: the server sent data after its 220 reply")

// Conn is one SMTP conversation before TLS. It is not safe for concurrent
// use; the caller bounds it in time by setting deadlines on (or closing) the
// underlying connection.
type Conn struct {
	w io.Writer
	r *bufio.Reader
}

// New starts a conversation on rw (a net.Conn).
func New(rw io.ReadWriter) *Conn {
	return &Conn{w: rw, r: bufio.NewReaderSize(rw, 1024)}
}

// ReadReply reads the next reply and checks its code (0 accepts any).
func (c *Conn) ReadReply(want int) (Reply, error) {
	rep, err := ReadReply(c.r)
	if err != nil {
		return rep, err
	}
	if want != 0 && rep.Code != want {
		return rep, &CodeError{Want: want, Reply: rep}
	}
	return rep, nil
}

// Cmd sends one command line and reads its reply, checking its code.
func (c *Conn) Cmd(want int, format string, args ...any) (Reply, error) {
	if _, err := fmt.Fprintf(c.w, format+"\r\n", args...); err != nil {
		return Reply{}, err
	}
	return c.ReadReply(want)
}

// Greeting reads the server's 220 greeting (RFC 5321 §4.3.1).
func (c *Conn) Greeting() (Reply, error) {
	rep, err := c.ReadReply(220)
	if err != nil {
		return rep, fmt.Errorf("greeting: %w", err)
	}
	return rep, nil
}

// Hello says EHLO name and returns the extensions offered (RFC 5321
// §4.1.1.1).
func (c *Conn) Hello(name string) (Extensions, error) {
	rep, err := c.Cmd(250, "EHLO %s", name)
	if err != nil {
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	return ParseEHLO(rep), nil
}

// StartTLS asks for STARTTLS (RFC 3207 §4) after checking ext offers it, and
// refuses a 220 followed by more bytes (ErrInjected). On success the caller
// runs the TLS handshake on the underlying connection.
func (c *Conn) StartTLS(ext Extensions) error {
	if !ext.Has("STARTTLS") {
		return ErrNoSTARTTLS
	}
	if _, err := c.Cmd(220, "STARTTLS"); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if c.r.Buffered() > 0 {
		return ErrInjected
	}
	return nil
}

// Quit says QUIT and waits for the 221 reply (RFC 5321 §4.1.1.10), so the
// server has finished with the connection before the caller closes it.
func (c *Conn) Quit() error {
	_, err := c.Cmd(221, "QUIT")
	return err
}
