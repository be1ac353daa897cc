package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DMARC aggregate report data (RFC 7489 §7.2) is runtime state like
// GetState's: not configuration, not versioned, not in configuration files.
// It lives in a bucket of its own in config.db, created by the first write
// (stores written before it simply do not have it yet), with four nested
// buckets:
//
//	pending  end(8) domain           -> dmarcPendingRec (JSON): one policy
//	                                    domain's data of one reporting period
//	chunks   end(8) domain 0 seq(8)  -> messages(4) data: one flush of it
//	reports  id(8)                   -> DMARCReport (JSON), newest last
//	bodies   id(8)                   -> the report's gzipped XML
//
// The report job writes a chunk per flush rather than rewriting the
// period's whole data, so a flush costs what it adds, not what the day
// holds; the chunks are merged once, when the report is built.
var (
	bucketDMARC        = []byte("dmarcreports")
	bucketDMARCPending = []byte("pending")
	bucketDMARCChunks  = []byte("chunks")
	bucketDMARCReports = []byte("reports")
	bucketDMARCBodies  = []byte("bodies")
)

// DMARCHistory is how many finished reports the store keeps, and
// DMARCBodies how many of the newest keep their gzipped XML (dmarcreports
// show): a report can be megabytes, its listing line is not.
const (
	DMARCHistory = 500
	DMARCBodies  = 100
)

// maxDMARCDomain bounds a policy domain key (a DNS name is at most 253
// octets, RFC 1035 §2.3.4).
const maxDMARCDomain = 253

// DMARCChunk is data of one policy domain in one reporting period, added
// by one flush of the report job. Data is the job's own encoding.
type DMARCChunk struct {
	// Begin and End bound the period [Begin, End): End is the report
	// time that closes it.
	Begin, End time.Time
	Domain     string
	// Messages is the number of messages the chunk's rows count.
	Messages int
	Data     []byte
}

// DMARCPending is what the store holds of one policy domain in one
// reporting period that is not reported yet.
type DMARCPending struct {
	// Begin is the period's start, or the time of the report that
	// dmarcreports generate sent early for the same period: data after it
	// goes into a report of its own that starts there.
	Begin, End time.Time
	Domain     string
	Messages   int
	// Updated is when the last chunk was added.
	Updated time.Time
}

type dmarcPendingRec struct {
	Begin    time.Time `json:"begin"`
	End      time.Time `json:"end"`
	Domain   string    `json:"domain"`
	Messages int       `json:"messages"`
	Updated  time.Time `json:"updated"`
}

// DMARCDestination is a rua URI with its size limit (0: none).
type DMARCDestination struct {
	URI     string `json:"uri"`
	MaxSize uint64 `json:"max_size,omitempty"`
}

// DMARCReport is one aggregate report the job generated, and what became
// of it.
type DMARCReport struct {
	ID        uint64    `json:"id"`
	Generated time.Time `json:"generated"`
	// Begin and End are the report's date_range (End inclusive, as in
	// the report).
	Begin    time.Time `json:"begin"`
	End      time.Time `json:"end"`
	Domain   string    `json:"domain"`
	ReportID string    `json:"report_id"`
	FileName string    `json:"file_name"`
	// Messages counted and Records (<record> rows) in the report.
	Messages int `json:"messages"`
	Records  int `json:"records"`
	// XMLSize is the XML's size, Size the gzipped size.
	XMLSize int                `json:"xml_size"`
	Size    int                `json:"size"`
	RUA     []DMARCDestination `json:"rua,omitempty"`
	// To lists the mailboxes the report (or its error report) was queued
	// to, copies included; MID is its message in the queue.
	To  []string `json:"to,omitempty"`
	MID uint64   `json:"mid,omitempty"`
	// Status says what became of it in words ("pending", "queued MID 12",
	// "skipped: ..."). Done is false while the job still has to act on it
	// (it is then kept whatever the history's length).
	Status  string    `json:"status"`
	Done    bool      `json:"done"`
	Tries   int       `json:"tries,omitempty"`
	NextTry time.Time `json:"next_try,omitzero"`
	// Body: the gzipped XML is still kept (DMARCReportBody).
	Body bool `json:"body"`
}

// ErrNoDMARCReport: no report has that ID (any more).
var ErrNoDMARCReport = errors.New("no such DMARC report")

func dmarcPeriodKey(end time.Time, domain string) []byte {
	k := make([]byte, 8, 8+len(domain)+1+8)
	binary.BigEndian.PutUint64(k, uint64(end.Unix()))
	return append(k, domain...)
}

func checkDMARCDomain(d string) error {
	if d == "" || len(d) > maxDMARCDomain || bytes.IndexByte([]byte(d), 0) >= 0 {
		return fmt.Errorf("store: bad DMARC policy domain %q", quoteFew(d, 64))
	}
	return nil
}

// dmarcBucket returns a nested bucket, creating it in a write
// transaction; in a read transaction of a store that has none yet, it is
// nil.
func dmarcBucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if !tx.Writable() {
		top := tx.Bucket(bucketDMARC)
		if top == nil {
			return nil, nil
		}
		return top.Bucket(name), nil
	}
	top, err := tx.CreateBucketIfNotExists(bucketDMARC)
	if err != nil {
		return nil, err
	}
	return top.CreateBucketIfNotExists(name)
}

// AddDMARCChunks stores chunks in one durable transaction: all of them or,
// on an error, none.
func (s *Store) AddDMARCChunks(chunks []DMARCChunk) error {
	for _, c := range chunks {
		if err := checkDMARCDomain(c.Domain); err != nil {
			return err
		}
		if c.Messages < 0 || c.Messages > 1<<31-1 || !c.Begin.Before(c.End) {
			return fmt.Errorf("store: bad DMARC chunk for %s (%d messages, %v to %v)", c.Domain, c.Messages, c.Begin, c.End)
		}
	}
	now := s.now()
	return s.update(func(tx *bolt.Tx) error {
		pb, err := dmarcBucket(tx, bucketDMARCPending)
		if err != nil {
			return err
		}
		cb, err := dmarcBucket(tx, bucketDMARCChunks)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			pk := dmarcPeriodKey(c.End, c.Domain)
			rec := dmarcPendingRec{Begin: c.Begin, End: c.End, Domain: c.Domain}
			if v := pb.Get(pk); v != nil {
				if err := json.Unmarshal(v, &rec); err != nil {
					return s.damaged("DMARC report data for %s is unreadable: %v", quoteFew(c.Domain, 64), err)
				}
			}
			rec.Messages += c.Messages
			rec.Updated = now
			v, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := pb.Put(pk, v); err != nil {
				return err
			}
			seq, err := cb.NextSequence()
			if err != nil {
				return err
			}
			ck := binary.BigEndian.AppendUint64(append(pk, 0), seq)
			val := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(c.Data)), uint32(c.Messages))
			if err := cb.Put(ck, append(val, c.Data...)); err != nil {
				return err
			}
		}
		return nil
	})
}

// DMARCPending lists the periods and domains with data not reported yet,
// oldest period first, domains in order.
func (s *Store) DMARCPending() ([]DMARCPending, error) {
	var out []DMARCPending
	err := s.view(func(tx *bolt.Tx) error {
		pb, err := dmarcBucket(tx, bucketDMARCPending)
		if pb == nil || err != nil {
			return err
		}
		return pb.ForEach(func(k, v []byte) error {
			var rec dmarcPendingRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return s.damaged("DMARC report data is unreadable: %v", err)
			}
			out = append(out, DMARCPending(rec))
			return nil
		})
	})
	return out, err
}

// DMARCChunks returns the stored data of domain's period ending at end,
// the chunks in the order they were added, and the sequence number of the
// last one (for CloseDMARCPeriod).
func (s *Store) DMARCChunks(end time.Time, domain string) (p DMARCPending, data [][]byte, last uint64, err error) {
	pk := dmarcPeriodKey(end, domain)
	err = s.view(func(tx *bolt.Tx) error {
		pb, err := dmarcBucket(tx, bucketDMARCPending)
		if pb == nil || err != nil {
			return err
		}
		v := pb.Get(pk)
		if v == nil {
			return nil
		}
		var rec dmarcPendingRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return s.damaged("DMARC report data for %s is unreadable: %v", quoteFew(domain, 64), err)
		}
		p = DMARCPending(rec)
		cb, _ := dmarcBucket(tx, bucketDMARCChunks)
		if cb == nil {
			return nil
		}
		prefix := append(pk, 0)
		c := cb.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+8 || len(v) < 4 {
				return s.damaged("a DMARC report data chunk for %s is malformed", quoteFew(domain, 64))
			}
			data = append(data, bytes.Clone(v[4:]))
			last = binary.BigEndian.Uint64(k[len(prefix):])
		}
		return nil
	})
	return p, data, last, err
}

// CloseDMARCPeriod ends the pending data of domain's period ending at end
// in one transaction: the chunks up to sequence upTo (those DMARCChunks
// returned) are removed and rep, when not nil, is recorded as a new
// report with its gzipped body, its ID assigned. So data is reported at
// most once, and a report is never lost once its data is gone.
//
// cut is the end of what was reported when the period is not over yet
// (dmarcreports generate): later data starts a new pending entry there.
// Chunks added after DMARCChunks (above upTo) stay pending either way.
func (s *Store) CloseDMARCPeriod(end time.Time, domain string, upTo uint64, cut time.Time, rep *DMARCReport, body []byte) (DMARCReport, error) {
	return s.closeDMARCPeriod(end, domain, upTo, cut, rep, body, DMARCHistory, DMARCBodies)
}

// closeDMARCPeriod is CloseDMARCPeriod keeping history reports, bodies of
// them with their XML.
func (s *Store) closeDMARCPeriod(end time.Time, domain string, upTo uint64, cut time.Time, rep *DMARCReport, body []byte, history, bodies int) (DMARCReport, error) {
	if err := checkDMARCDomain(domain); err != nil {
		return DMARCReport{}, err
	}
	var out DMARCReport
	pk := dmarcPeriodKey(end, domain)
	err := s.update(func(tx *bolt.Tx) error {
		pb, err := dmarcBucket(tx, bucketDMARCPending)
		if err != nil {
			return err
		}
		cb, err := dmarcBucket(tx, bucketDMARCChunks)
		if err != nil {
			return err
		}
		var rec dmarcPendingRec
		if v := pb.Get(pk); v != nil {
			if err := json.Unmarshal(v, &rec); err != nil {
				return s.damaged("DMARC report data for %s is unreadable: %v", quoteFew(domain, 64), err)
			}
		}
		prefix := append(pk, 0)
		var drop [][]byte
		left := 0
		c := cb.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+8 || len(v) < 4 {
				return s.damaged("a DMARC report data chunk for %s is malformed", quoteFew(domain, 64))
			}
			if binary.BigEndian.Uint64(k[len(prefix):]) <= upTo {
				drop = append(drop, bytes.Clone(k))
			} else {
				left += int(binary.BigEndian.Uint32(v))
			}
		}
		for _, k := range drop {
			if err := cb.Delete(k); err != nil {
				return err
			}
		}
		early := !cut.IsZero() && cut.Before(end)
		if left == 0 && !early {
			if err := pb.Delete(pk); err != nil {
				return err
			}
		} else {
			rec.Domain, rec.End, rec.Messages = domain, end, left
			if early && cut.After(rec.Begin) {
				rec.Begin = cut
			}
			v, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := pb.Put(pk, v); err != nil {
				return err
			}
		}
		if rep == nil {
			return nil
		}
		return s.addDMARCReport(tx, rep, body, &out, history, bodies)
	})
	return out, err
}

// addDMARCReport records rep under a new ID and trims the history: only
// the newest history finished reports are kept, and only the newest
// bodies of them keep their body. Reports the job still has to act on
// are never trimmed.
func (s *Store) addDMARCReport(tx *bolt.Tx, rep *DMARCReport, body []byte, out *DMARCReport, history, bodies int) error {
	rb, err := dmarcBucket(tx, bucketDMARCReports)
	if err != nil {
		return err
	}
	bb, err := dmarcBucket(tx, bucketDMARCBodies)
	if err != nil {
		return err
	}
	id, err := rb.NextSequence()
	if err != nil {
		return err
	}
	r := *rep
	r.ID = id
	r.Body = body != nil
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := rb.Put(binary.BigEndian.AppendUint64(nil, id), v); err != nil {
		return err
	}
	if body != nil {
		if err := bb.Put(binary.BigEndian.AppendUint64(nil, id), bytes.Clone(body)); err != nil {
			return err
		}
	}
	*out = r
	// Newest first: count finished reports, dropping bodies past bodies
	// and entries past history. Only the flags are decoded on the way.
	type change struct {
		key  []byte
		rep  *DMARCReport // nil: delete
		body bool         // delete the body
	}
	var changes []change
	n := 0
	c := rb.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var f struct {
			Done bool `json:"done"`
			Body bool `json:"body"`
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return s.damaged("a DMARC report entry is unreadable: %v", err)
		}
		if !f.Done {
			continue
		}
		n++
		switch {
		case n > history:
			changes = append(changes, change{key: bytes.Clone(k), body: true})
		case n > bodies && f.Body:
			var e DMARCReport
			if err := json.Unmarshal(v, &e); err != nil {
				return s.damaged("a DMARC report entry is unreadable: %v", err)
			}
			e.Body = false
			changes = append(changes, change{key: bytes.Clone(k), rep: &e, body: true})
		}
	}
	for _, ch := range changes {
		if ch.body {
			if err := bb.Delete(ch.key); err != nil {
				return err
			}
		}
		if ch.rep == nil {
			if err := rb.Delete(ch.key); err != nil {
				return err
			}
			continue
		}
		v, err := json.Marshal(ch.rep)
		if err != nil {
			return err
		}
		if err := rb.Put(ch.key, v); err != nil {
			return err
		}
	}
	return nil
}

// UpdateDMARCReport stores a report's new status (its ID picks it; the
// Body flag is the store's). A report trimmed from the history meanwhile
// gives ErrNoDMARCReport.
func (s *Store) UpdateDMARCReport(rep DMARCReport) error {
	return s.update(func(tx *bolt.Tx) error {
		rb, err := dmarcBucket(tx, bucketDMARCReports)
		if err != nil {
			return err
		}
		k := binary.BigEndian.AppendUint64(nil, rep.ID)
		old := rb.Get(k)
		if old == nil {
			return ErrNoDMARCReport
		}
		var e DMARCReport
		if err := json.Unmarshal(old, &e); err != nil {
			return s.damaged("a DMARC report entry is unreadable: %v", err)
		}
		rep.Body = e.Body
		v, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		return rb.Put(k, v)
	})
}

// DMARCReports lists up to limit reports (0: all), newest first.
func (s *Store) DMARCReports(limit int) ([]DMARCReport, error) {
	var out []DMARCReport
	err := s.view(func(tx *bolt.Tx) error {
		rb, err := dmarcBucket(tx, bucketDMARCReports)
		if rb == nil || err != nil {
			return err
		}
		c := rb.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var e DMARCReport
			if err := json.Unmarshal(v, &e); err != nil {
				return s.damaged("a DMARC report entry is unreadable: %v", err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// DMARCReport returns one report and its gzipped XML (nil when it is no
// longer kept).
func (s *Store) DMARCReport(id uint64) (DMARCReport, []byte, error) {
	var rep DMARCReport
	var body []byte
	err := s.view(func(tx *bolt.Tx) error {
		rb, err := dmarcBucket(tx, bucketDMARCReports)
		if err != nil {
			return err
		}
		var v []byte
		if rb != nil {
			v = rb.Get(binary.BigEndian.AppendUint64(nil, id))
		}
		if v == nil {
			return ErrNoDMARCReport
		}
		if err := json.Unmarshal(v, &rep); err != nil {
			return s.damaged("a DMARC report entry is unreadable: %v", err)
		}
		if bb, _ := dmarcBucket(tx, bucketDMARCBodies); bb != nil {
			if b := bb.Get(binary.BigEndian.AppendUint64(nil, id)); b != nil {
				body = bytes.Clone(b)
			}
		}
		return nil
	})
	return rep, body, err
}
