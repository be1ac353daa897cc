package queue

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The administrator's lasting decisions about the queue — workqueue PAUSE
// here, redirectrecipients in the delivery engine — are small records in
// DATA/queue beside the messages they govern, so they survive a restart,
// a crash or a reboot as the appliance's suspended delivery does, and go
// with the queue when it is moved or wiped (a redirect names MIDs of this
// queue's counters).
//
// A record is one file, <name>.rec, holding one line: the CRC-32C of the
// JSON text, in hex, a space, the JSON text, a line feed. It is replaced
// with writeFileAtomic (temporary file, fsync, rename, fsync of the
// directory), so a crash leaves the old record or the new one; the
// checksum catches what atomic replacement cannot: a record garbled on
// disk or edited by hand. What a damaged record means is its owner's
// decision (a damaged pause keeps delivery paused; a damaged redirect is
// dropped).

// ErrDamagedRecord is wrapped by Record for a record that is present but
// cannot be trusted (torn, garbled, not ours).
var ErrDamagedRecord = errors.New("damaged record")

// maxRecord bounds what Record reads: records are a few hundred bytes; a
// redirect lists the MIDs a quarantine held, which a large quarantine can
// make longer.
const maxRecord = 16 << 20

func (q *Queue) recordPath(name string) string { return filepath.Join(q.dir, name+".rec") }

func checkRecordName(name string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return (r < 'a' || r > 'z') && r != '-' }) {
		return fmt.Errorf("queue: bad record name %q", name)
	}
	return nil
}

// encodeRecord frames v as a record file's content.
func encodeRecord(v any) ([]byte, error) {
	js, err := json.Marshal(v) // escapes line breaks: the record stays one line
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(js)+10)
	b = fmt.Appendf(b, "%08x ", crc32.Checksum(js, castagnoli))
	b = append(b, js...)
	return append(b, '\n'), nil
}

// decodeRecord checks a record file's content and unmarshals it into v.
func decodeRecord(data []byte, v any) error {
	if len(data) < 11 || data[8] != ' ' || data[len(data)-1] != '\n' {
		return fmt.Errorf("%w: not a record (%d bytes)", ErrDamagedRecord, len(data))
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], data[:8]); err != nil {
		return fmt.Errorf("%w: bad checksum field", ErrDamagedRecord)
	}
	js := data[9 : len(data)-1]
	want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if crc32.Checksum(js, castagnoli) != want {
		return fmt.Errorf("%w: checksum mismatch", ErrDamagedRecord)
	}
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("%w: %v", ErrDamagedRecord, err)
	}
	return nil
}

// PutRecord durably stores v (JSON) as the record name (lower-case letters
// and dashes): when it returns nil the record is on disk and survives a
// crash; on error the previous record, if any, is still in place.
func (q *Queue) PutRecord(name string, v any) error {
	if err := checkRecordName(name); err != nil {
		return err
	}
	data, err := encodeRecord(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(q.recordPath(name), data)
}

// Record reads the record name into v. found is false when there is no
// record. A record that is present but damaged returns found true and an
// error wrapping ErrDamagedRecord; so does one that cannot be read at all.
func (q *Queue) Record(name string, v any) (found bool, err error) {
	if err := checkRecordName(name); err != nil {
		return false, err
	}
	f, err := os.Open(q.recordPath(name))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("%w: %v", ErrDamagedRecord, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return true, fmt.Errorf("%w: %v", ErrDamagedRecord, err)
	}
	if fi.Size() > maxRecord {
		return true, fmt.Errorf("%w: %d bytes is too large", ErrDamagedRecord, fi.Size())
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && fi.Size() > 0 {
		return true, fmt.Errorf("%w: %v", ErrDamagedRecord, err)
	}
	return true, decodeRecord(data, v)
}

// DeleteRecord removes the record name durably (the directory is fsynced):
// when it returns nil a restart no longer finds it. A missing record is
// not an error.
func (q *Queue) DeleteRecord(name string) error {
	if err := checkRecordName(name); err != nil {
		return err
	}
	if err := os.Remove(q.recordPath(name)); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return syncDir(q.dir)
}

// removeRecordTemps removes the temporary files of record writes a crash
// interrupted (writeFileAtomic's ".<name>.rec.tmp*").
func (q *Queue) removeRecordTemps() {
	ents, _ := os.ReadDir(q.dir)
	for _, de := range ents {
		if n := de.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".rec.tmp") {
			os.Remove(filepath.Join(q.dir, n))
		}
	}
}

// pauseRecord is the record of workqueue PAUSE.
const pauseRecord = "paused"

// Pause is who paused the work queue, why and when (workqueue PAUSE).
type Pause struct {
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since,omitzero"`
}

// loadPause restores the pause Open finds on disk. A damaged record keeps
// the queue paused: the administrator who wrote it wanted delivery stopped,
// and mail held a little longer is safer than mail sent that was meant to
// wait. Resume removes the record.
func (q *Queue) loadPause() {
	var p Pause
	found, err := q.Record(pauseRecord, &p)
	if !found {
		return
	}
	if err != nil {
		p = Pause{}
	}
	q.paused, q.pause = true, p
	q.restored = restoredPause{pause: p, paused: true, damaged: err}
}

// restoredPause is what Open found on disk (RestoredPause).
type restoredPause struct {
	pause   Pause
	paused  bool
	damaged error
}

// RestoredPause reports the pause Open found on disk, for the start-up
// log: paused, and damaged non-nil when the record could not be trusted
// (the queue is paused then too, by nobody known). It does not change
// when the queue is paused or resumed later.
func (q *Queue) RestoredPause() (p Pause, paused bool, damaged error) {
	return q.restored.pause, q.restored.paused, q.restored.damaged
}

// Pause stops handing messages to delivery, with nobody named (PauseFor).
func (q *Queue) Pause() error { return q.PauseFor("", "", time.Time{}) }

// PauseFor stops handing messages to delivery (workqueue PAUSE), recording
// who paused the queue, why and since when; workqueue shows it ("Paused by
// admin: checking LDAP server"). Acceptance goes on while paused. The pause
// holds in memory at once; it is written to disk before PauseFor returns
// nil, so it outlives the process. On error delivery is paused all the
// same, but a restart would resume it.
func (q *Queue) PauseFor(by, reason string, since time.Time) error {
	p := Pause{By: by, Reason: reason, Since: since}
	q.pauseMu.Lock()
	defer q.pauseMu.Unlock()
	q.mu.Lock()
	q.paused, q.pause = true, p
	q.mu.Unlock()
	if err := q.PutRecord(pauseRecord, p); err != nil {
		return fmt.Errorf("the pause was not saved and a restart would resume delivery: %w", err)
	}
	return nil
}

// Resume hands messages to delivery again. The record goes first: if it
// cannot be removed the queue stays paused and Resume says why, so what
// runs never differs from what a restart would restore.
func (q *Queue) Resume() error {
	q.pauseMu.Lock()
	defer q.pauseMu.Unlock()
	if err := q.DeleteRecord(pauseRecord); err != nil {
		return fmt.Errorf("the pause record could not be removed, delivery stays paused: %w", err)
	}
	q.mu.Lock()
	q.paused, q.pause = false, Pause{}
	subs := append([]chan uint64(nil), q.notify...)
	q.mu.Unlock()
	// A 0 to the subscribers (Subscribe): the delivery engine rescans now
	// rather than at its next safety rescan, up to 30 seconds later.
	for _, c := range subs {
		select {
		case c <- 0:
		default:
		}
	}
	return nil
}

// PausedBy returns who paused the queue and why (both "" when it runs, was
// paused by Pause, or its pause record was damaged).
func (q *Queue) PausedBy() (by, reason string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pause.By, q.pause.Reason
}

// PauseState returns the pause in force, if any.
func (q *Queue) PauseState() (Pause, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pause, q.paused
}

// Paused reports whether delivery is paused.
func (q *Queue) Paused() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.paused }
