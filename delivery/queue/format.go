package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// The file of one message:
//
//	header: magic "ESAQ2\x00\x00\x00", a random 16-byte nonce
//	body bytes (exactly as the client sent them, after dot-unstuffing)
//	envelope JSON
//	trailer: magic, body length, envelope length (uint64 big-endian
//	         each), CRC-32C of body, of envelope (uint32), the nonce again
//
// The trailer is at the end so the body can be streamed to disk before the
// envelope is complete (verdicts found after DATA belong to it). The file is
// written under a dot name in msg/, renamed to <MID>.msg once whole, then
// fsynced: the rename and the data reach the disk in one journal commit.
// After a SIGKILL a file under its final name is always whole (the page
// cache survives); only a power loss can leave one short, and then it fails
// its checks and is set aside, never served. The nonce, which the client
// never sees, makes sure that a body crafted to end in a plausible envelope
// and trailer cannot pass for a whole message when a power loss cuts the
// file right there.
const (
	magic      = "ESAQ2\x00\x00\x00"
	nonceLen   = 16
	headerLen  = len(magic) + nonceLen
	trailerLen = len(magic) + 8 + 8 + 4 + 4 + nonceLen
	// maxEnvelope bounds what a damaged length field can make us allocate.
	maxEnvelope = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrDamaged is wrapped by errors about a message file that fails its checks.
var ErrDamaged = errors.New("damaged queue file")

// Envelope is everything the gateway knows about a message besides its bytes.
type Envelope struct {
	MID        uint64    `json:"mid"`
	ICID       uint64    `json:"icid"`
	Received   time.Time `json:"received"`
	Listener   string    `json:"listener"`
	RemoteIP   string    `json:"remote_ip"`
	RemoteHost string    `json:"remote_host,omitempty"`
	HELO       string    `json:"helo"`
	// SenderGroup and Policy are the host access table's decision for the
	// connection (e.g. RELAYLIST, $RELAYED).
	SenderGroup string `json:"sender_group"`
	Policy      string `json:"policy"`
	Relayed     bool   `json:"relayed,omitempty"`
	From        string `json:"from"`
	// Recipients in RCPT order; the index is the RID.
	Recipients []string `json:"recipients"`
	// Prepend holds the header lines the gateway adds (Received:,
	// Received-SPF:, Authentication-Results:), each with its CRLF, kept
	// apart so the stored body stays byte-identical to what the client sent.
	Prepend string `json:"prepend,omitempty"`
	// Verdicts are named results of the checks run on the message
	// ("spf.mailfrom": "Pass", "dkim": "pass ...").
	Verdicts map[string]string `json:"verdicts,omitempty"`
	// MessageID and Subject as logged ('MID n Message-ID ...').
	MessageID string `json:"message_id,omitempty"`
	Subject   string `json:"subject,omitempty"`
	// Size is the body length in bytes (filled in by Commit).
	Size int64 `json:"size"`
	// Sign: the mail-flow policy that received the message enables
	// DKIM/DomainKeys signing (ESA-CLI.md §3.4 item 18).
	Sign bool `json:"sign,omitempty"`
	// Strip names header fields of the client's header that are left out
	// when the message is sent (a filter's strip-header, forged email
	// detection replacing From:); their replacements are in Prepend.
	Strip []string `json:"strip,omitempty"`
	// Quarantine names the local quarantine holding the message (a
	// filter's or a DMARC profile's action) and QuarantineReason says
	// why; the engine does not deliver it until it is released
	// (State.Released).
	Quarantine       string `json:"quarantine,omitempty"`
	QuarantineReason string `json:"quarantine_reason,omitempty"`
}

func encodeHeader(nonce []byte) []byte {
	return append([]byte(magic), nonce...)
}

func encodeTrailer(bodyLen int64, env []byte, bodyCRC uint32, nonce []byte) []byte {
	t := make([]byte, 0, trailerLen)
	t = append(t, magic...)
	t = binary.BigEndian.AppendUint64(t, uint64(bodyLen))
	t = binary.BigEndian.AppendUint64(t, uint64(len(env)))
	t = binary.BigEndian.AppendUint32(t, bodyCRC)
	t = binary.BigEndian.AppendUint32(t, crc32.Checksum(env, castagnoli))
	t = append(t, nonce...)
	return t
}

type trailer struct {
	bodyLen, envLen int64
	bodyCRC, envCRC uint32
}

// readTrailer reads and checks the header and trailer of a message file of
// the given size, and returns the envelope. The body starts at headerLen.
func readTrailer(r io.ReaderAt, size int64) (trailer, *Envelope, error) {
	var t trailer
	if size < int64(headerLen+trailerLen) {
		return t, nil, fmt.Errorf("%w: %d bytes is shorter than a header and a trailer", ErrDamaged, size)
	}
	head := make([]byte, headerLen)
	if _, err := r.ReadAt(head, 0); err != nil {
		return t, nil, err
	}
	if string(head[:len(magic)]) != magic {
		return t, nil, fmt.Errorf("%w: no header", ErrDamaged)
	}
	buf := make([]byte, trailerLen)
	if _, err := r.ReadAt(buf, size-int64(trailerLen)); err != nil {
		return t, nil, err
	}
	if string(buf[:len(magic)]) != magic {
		return t, nil, fmt.Errorf("%w: no trailer", ErrDamaged)
	}
	b := buf[len(magic):]
	bl, el := binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
	t.bodyCRC, t.envCRC = binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
	if string(b[24:]) != string(head[len(magic):]) {
		return t, nil, fmt.Errorf("%w: the trailer is not this file's", ErrDamaged)
	}
	fixed := uint64(headerLen + trailerLen)
	if el > maxEnvelope || bl > uint64(size) || el > uint64(size) || bl+el+fixed != uint64(size) {
		return t, nil, fmt.Errorf("%w: lengths do not add up", ErrDamaged)
	}
	t.bodyLen, t.envLen = int64(bl), int64(el)
	envData := make([]byte, el)
	if _, err := r.ReadAt(envData, int64(headerLen)+t.bodyLen); err != nil {
		return t, nil, err
	}
	if crc32.Checksum(envData, castagnoli) != t.envCRC {
		return t, nil, fmt.Errorf("%w: envelope checksum mismatch", ErrDamaged)
	}
	env := new(Envelope)
	if err := json.Unmarshal(envData, env); err != nil {
		return t, nil, fmt.Errorf("%w: envelope: %v", ErrDamaged, err)
	}
	return t, env, nil
}

// crcReader checks the body checksum when the body has been read whole.
type crcReader struct {
	r    io.Reader
	crc  uint32
	want uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	if err == io.EOF && c.crc != c.want {
		return n, fmt.Errorf("%w: body checksum mismatch", ErrDamaged)
	}
	return n, err
}
