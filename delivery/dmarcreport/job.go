// Package dmarcreport is the gateway's DMARC aggregate report job (RFC 7489
// §7.2): the listeners hand it the report row of every DMARC-evaluated
// message whose mail-flow policy sends aggregate reports; it keeps them per
// reporting period in the store, and each day at the report time of
// dmarcconfig SETUP it builds each policy domain's report, checks the rua
// destinations (§7.1), and queues the gzipped report, or an error report
// (§7.2.2), for the delivery engine.
//
// What a crash costs: rows are flushed to the store every minute, so at
// most that much report data is lost (never mail: messages are queued
// durably before their 250). A report is recorded, with its gzipped XML,
// in the same store transaction that removes its data, before it is
// queued; a report recorded but not queued is sent by the next process,
// and one queued just before a crash that kept its status from being
// written is sent again, with the same Report-ID, which RFC 7489 §7.2.1.1
// gives receivers to drop duplicates.
//
// It imports the store (data and settings), the queue (where reports go),
// the delivery engine's event type and auth/dmarc (the report format and
// the destination check); nothing imports it but cmd/esa, which wires it
// in, and the tests.
package dmarcreport

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"esa/auth/dmarc"
	"esa/delivery/outbound"
	"esa/delivery/queue"
	"esa/store"
)

// Logger receives the mail_logs lines (the listeners' and the delivery
// engine's logger satisfies it).
type Logger interface {
	Info(format string, a ...any)
	Warning(format string, a ...any)
	Debug(format string, a ...any)
}

// Options are the job's dependencies, all injected.
type Options struct {
	// Store keeps the report data and gives the committed settings
	// (dmarcconfig SETUP, the host name).
	Store *store.Store
	// Queue is where reports are written for the delivery engine.
	Queue *queue.Queue
	// Evaluator checks external rua destinations (RFC 7489 §7.1) under the
	// rules the listeners use.
	Evaluator *dmarc.Evaluator
	// EvaluatorFor, when set, is asked at each report instead, so the
	// rules dmarcconfig SETUP picks (RFC 7489 or DMARCbis) apply to the
	// check as they do on the listeners.
	EvaluatorFor func() *dmarc.Evaluator
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// After waits for the scheduler; nil means time.After. Tests drive
	// the scheduler through it.
	After func(time.Duration) <-chan time.Time
	// Log gets the mail_logs lines; nil discards them.
	Log Logger
	// Rand is the source of report IDs; nil means crypto/rand.
	Rand io.Reader
	// FlushEvery is how often the collected rows are written to the
	// store: what a crash can lose at most. 0 means one minute.
	FlushEvery time.Duration
	// RetryEvery is the wait after a temporary failure (a DNS failure
	// in the destination check, the queue refusing); GiveUpAfter is how
	// long a report is retried. 0 means 30 minutes and 24 hours.
	RetryEvery, GiveUpAfter time.Duration
}

// Job collects aggregate report data and sends the daily reports. Record
// is safe for concurrent use by every SMTP session; Run runs once.
type Job struct {
	o Options

	mu   sync.Mutex
	mem  map[int64]*dmarc.Collector // rows not flushed yet, by period end
	rtS  string                     // the report time last parsed ...
	rtM  int                        // ... as minutes after midnight UTC
	work sync.Mutex                 // one flush or report run at a time
	// unsent are the reports still to be sent, with when to try next.
	unsent map[uint64]time.Time
	loaded bool
	// queued maps the MIDs of report messages to their reports (under
	// mu), for the delivery engine's outcomes (Delivery); events carries
	// those outcomes to Run.
	queued map[uint64]*queuedReport
	events chan reportEvent
}

// queuedReport is a report message in the queue. gone: it was not in the
// queue at the last wake; it is forgotten at the next one, by when the
// engine has announced its last outcome.
type queuedReport struct {
	id   uint64
	gone bool
}

type reportEvent struct {
	ev outbound.Event
	id uint64
}

// New returns a job; nothing runs until Run.
func New(o Options) *Job {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Log == nil {
		o.Log = discard{}
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Minute
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = 30 * time.Minute
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	return &Job{o: o, mem: map[int64]*dmarc.Collector{}, unsent: map[uint64]time.Time{},
		queued: map[uint64]*queuedReport{}, events: make(chan reportEvent, 256)}
}

type discard struct{}

func (discard) Info(string, ...any)    {}
func (discard) Warning(string, ...any) {}
func (discard) Debug(string, ...any)   {}

// Record files the report row of one DMARC-evaluated message under its
// policy domain in the current reporting period. The caller calls it once
// per author domain's result (dmarc.Result.PerAuthor) when the message's
// mail-flow policy sends aggregate reports; a result without a policy
// record or without rua is ignored. It only touches memory: the rows reach
// the store at the next flush, so a crash loses at most FlushEvery of
// report data (never mail: the message itself was queued durably before
// its 250).
func (j *Job) Record(res dmarc.Result, row dmarc.Row) {
	if res.Record == nil || len(res.Record.RUA) == 0 {
		return
	}
	rt := j.o.Store.Snapshot().DMARC.Settings.ReportTime
	j.mu.Lock()
	defer j.mu.Unlock()
	// The clock is read under the lock, so a row is never filed under a
	// period the scheduler has already flushed and closed.
	begin, end := Period(j.o.Now(), j.reportMinute(rt))
	c := j.mem[end.Unix()]
	if c == nil {
		c = &dmarc.Collector{Begin: begin, End: end.Add(-time.Second)}
		j.mem[end.Unix()] = c
	}
	c.Add(res, row)
}

// reportMinute parses the report time, keeping the last result. Called
// with mu held.
func (j *Job) reportMinute(rt string) int {
	if rt != j.rtS || j.rtS == "" {
		j.rtS, j.rtM = rt, ParseReportTime(rt)
	}
	return j.rtM
}

// ParseReportTime reads dmarcconfig's "HH:MM" as minutes after midnight
// UTC; anything else (the validator refuses it) is midnight.
func ParseReportTime(s string) int {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0
	}
	return hh*60 + mm
}

// Period is the reporting period holding t: the day [begin, end) that ends
// at the first report time after t (minute minutes after midnight UTC).
// RFC 7489 §7.2 asks for reports of whole UTC days by default (ri=86400)
// and lets the receiver choose when a day ends; the appliance ends it at
// the report time of dmarcconfig SETUP.
func Period(t time.Time, minute int) (begin, end time.Time) {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	end = day.Add(time.Duration(minute) * time.Minute)
	if !end.After(t) {
		end = end.AddDate(0, 0, 1)
	}
	return end.AddDate(0, 0, -1), end
}

// pendingData is the job's encoding of one flush of a policy domain's
// rows (store.DMARCChunk.Data).
type pendingData struct {
	Policy dmarc.PublishedPolicy `json:"policy"`
	RUA    []dmarc.ReportURI     `json:"rua"`
	Format dmarc.Mode            `json:"format"`
	Rows   []dmarc.Row           `json:"rows"`
}

func messages(rows []dmarc.Row) int {
	n := 0
	for _, r := range rows {
		n += r.Count
	}
	return n
}

// Flush writes the rows collected since the last flush to the store in
// one transaction. When the store refuses them they are kept in memory
// for the next try.
func (j *Job) Flush() error {
	j.work.Lock()
	defer j.work.Unlock()
	return j.flush()
}

func (j *Job) flush() error {
	j.mu.Lock()
	mem := j.mem
	j.mem = map[int64]*dmarc.Collector{}
	j.mu.Unlock()
	if len(mem) == 0 {
		return nil
	}
	var chunks []store.DMARCChunk
	for end, c := range mem {
		for _, domain := range c.Domains() {
			rep := c.Reports[domain]
			data, err := json.Marshal(pendingData{Policy: rep.Policy, RUA: rep.RUA, Format: rep.Format, Rows: rep.Rows})
			if err != nil {
				return err
			}
			chunks = append(chunks, store.DMARCChunk{Begin: c.Begin, End: time.Unix(end, 0).UTC(), Domain: domain,
				Messages: messages(rep.Rows), Data: data})
		}
	}
	if err := j.o.Store.AddDMARCChunks(chunks); err != nil {
		j.putBack(mem)
		j.o.Log.Warning("DMARC: aggregate report data not saved (kept in memory for the next try): %v", err)
		return err
	}
	return nil
}

// putBack merges rows a failed flush took out into what came meanwhile.
// The newer data's policy and rua stay.
func (j *Job) putBack(old map[int64]*dmarc.Collector) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for end, oc := range old {
		nc := j.mem[end]
		if nc == nil {
			j.mem[end] = oc
			continue
		}
		for domain, orep := range oc.Reports {
			nrep := nc.Reports[domain]
			if nrep == nil {
				if nc.Reports == nil {
					nc.Reports = map[string]*dmarc.Report{}
				}
				nc.Reports[domain] = orep
				continue
			}
			for _, row := range orep.Rows {
				nrep.Add(row)
			}
		}
	}
}

// Close flushes what is collected. Call it after the listeners stopped
// calling Record and Run returned, before the store closes.
func (j *Job) Close() error {
	return j.Flush()
}

// Run is the scheduler: it flushes every FlushEvery and, once a reporting
// period is over, builds and sends its reports; it retries reports a
// temporary failure held back. Reports a crash left unsent are sent
// first. It returns when ctx is done (call Close after it).
func (j *Job) Run(ctx context.Context) error {
	j.work.Lock()
	j.loadUnsent()
	j.work.Unlock()
	for {
		j.work.Lock()
		j.drainEvents()
		j.flush()
		j.reportDue(ctx, j.o.Now())
		j.forgetDelivered()
		wait := j.nextWake(j.o.Now())
		j.work.Unlock()
		timer := j.o.After(wait)
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer:
				waiting = false
			case e := <-j.events:
				j.work.Lock()
				j.delivered(e.ev, e.id)
				j.work.Unlock()
			}
		}
	}
}

// Delivery takes the delivery engine's outcomes (outbound.Config.Notify):
// the final outcome of a report message at each recipient domain goes
// into the report's status and mail_logs. Other messages' events are
// ignored at the cost of a map lookup; it never blocks the engine (an
// outcome that finds Run busy and its buffer full is only in the
// engine's own log lines).
func (j *Job) Delivery(ev outbound.Event) {
	if ev.Outcome == outbound.Deferred {
		return
	}
	j.mu.Lock()
	q := j.queued[ev.MID]
	j.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case j.events <- reportEvent{ev, q.id}:
	default:
	}
}

// drainEvents records the outcomes waiting. Called with work held.
func (j *Job) drainEvents() {
	for {
		select {
		case e := <-j.events:
			j.delivered(e.ev, e.id)
		default:
			return
		}
	}
}

// forgetDelivered drops the report messages that left the queue before
// the last wake. Called with work held.
func (j *Job) forgetDelivered() {
	if j.o.Queue == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for mid, q := range j.queued {
		if _, ok := j.o.Queue.Get(mid); ok {
			continue
		}
		if q.gone {
			delete(j.queued, mid)
		} else {
			q.gone = true
		}
	}
}

// delivered records one final outcome of a report message. Called with
// work held, so it never races the status send is writing.
func (j *Job) delivered(ev outbound.Event, id uint64) {
	rep, _, err := j.o.Store.DMARCReport(id)
	if err != nil {
		return
	}
	what := "aggregate report"
	if strings.HasPrefix(rep.Status, "error report") {
		what = "error report"
	}
	switch ev.Outcome {
	case outbound.Delivered:
		j.o.Log.Info("DMARC: %s %d for %s delivered to %s (MID %d)", what, rep.ID, rep.Domain, ev.Domain, ev.MID)
		rep.Status += ", delivered to " + ev.Domain
	case outbound.Bounced:
		j.o.Log.Warning("DMARC: %s delivery for %s failed: MID %d to %s bounced: %s", what, rep.Domain, ev.MID, ev.Domain, ev.Reason)
		rep.Status += fmt.Sprintf(", bounced at %s (%s)", ev.Domain, ev.Reason)
	}
	if err := j.o.Store.UpdateDMARCReport(rep); err != nil {
		j.o.Log.Warning("DMARC: status of aggregate report %d not saved: %v", rep.ID, err)
	}
}

// nextWake is how long to sleep: until the next flush, the end of a period
// with data, or a retry, whichever comes first. What is due already was
// just tried and failed (the store refused, say): it waits for the next
// flush rather than spinning. Called with work held.
func (j *Job) nextWake(now time.Time) time.Duration {
	next := now.Add(j.o.FlushEvery)
	soonest := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	if pend, err := j.o.Store.DMARCPending(); err == nil {
		for _, p := range pend {
			soonest(p.End)
		}
	}
	for _, t := range j.unsent {
		soonest(t)
	}
	return next.Sub(now)
}

// loadUnsent finds the reports still to be sent (a crash between
// recording a report and queueing it, a retry after a restart). Called
// with work held.
func (j *Job) loadUnsent() {
	if j.loaded {
		return
	}
	reps, err := j.o.Store.DMARCReports(0)
	if err != nil {
		j.o.Log.Warning("DMARC: the aggregate report history is unreadable: %v", err)
		return
	}
	j.loaded = true
	for _, r := range reps {
		if !r.Done {
			j.unsent[r.ID] = r.NextTry
		}
		if r.MID != 0 && j.o.Queue != nil {
			if _, queued := j.o.Queue.Get(r.MID); queued {
				j.mu.Lock()
				j.queued[r.MID] = &queuedReport{id: r.ID}
				j.mu.Unlock()
			}
		}
	}
}

// reportDue closes every period that is over and sends the reports due.
// Called with work held.
func (j *Job) reportDue(ctx context.Context, now time.Time) {
	pend, err := j.o.Store.DMARCPending()
	if err != nil {
		j.o.Log.Warning("DMARC: aggregate report data unreadable: %v", err)
		return
	}
	for _, p := range pend {
		if p.End.After(now) {
			continue
		}
		j.closePeriod(ctx, p, time.Time{}, now)
	}
	j.retry(ctx, now)
}

// retry sends the unsent reports whose time has come, oldest first.
func (j *Job) retry(ctx context.Context, now time.Time) {
	var ids []uint64
	for id, t := range j.unsent {
		if !t.After(now) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	for _, id := range ids {
		rep, body, err := j.o.Store.DMARCReport(id)
		if errors.Is(err, store.ErrNoDMARCReport) {
			delete(j.unsent, id)
			continue
		}
		if err != nil {
			j.o.Log.Warning("DMARC: aggregate report %d unreadable: %v", id, err)
			continue
		}
		j.send(ctx, rep, body, now)
	}
}

// GenerateNow flushes, then builds and sends the reports of every period
// with data (domain "" for all policy domains, else that one) at once,
// periods not over yet included: their report ends now, and later data
// goes into a report that starts there. It returns the reports made.
func (j *Job) GenerateNow(ctx context.Context, domain string) ([]store.DMARCReport, error) {
	j.work.Lock()
	defer j.work.Unlock()
	j.loadUnsent()
	if err := j.flush(); err != nil {
		return nil, err
	}
	pend, err := j.o.Store.DMARCPending()
	if err != nil {
		return nil, err
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	now := j.o.Now()
	var out []store.DMARCReport
	for _, p := range pend {
		if domain != "" && p.Domain != domain {
			continue
		}
		cut := time.Time{}
		if p.End.After(now) {
			cut = now
		}
		if rep, ok := j.closePeriod(ctx, p, cut, now); ok {
			out = append(out, rep)
		}
	}
	return out, nil
}

// Pending is one policy domain's data of one period not reported yet.
type Pending = store.DMARCPending

// List returns the data not reported yet (stored and still in memory),
// oldest period first, and the newest reports (at most limit, 0: all the
// store keeps), newest first.
func (j *Job) List(limit int) ([]Pending, []store.DMARCReport, error) {
	pend, err := j.o.Store.DMARCPending()
	if err != nil {
		return nil, nil, err
	}
	idx := map[string]int{}
	for i, p := range pend {
		idx[strconv.FormatInt(p.End.Unix(), 10)+"/"+p.Domain] = i
	}
	j.mu.Lock()
	for end, c := range j.mem {
		for domain, rep := range c.Reports {
			k := strconv.FormatInt(end, 10) + "/" + domain
			if i, ok := idx[k]; ok {
				pend[i].Messages += messages(rep.Rows)
				continue
			}
			idx[k] = len(pend)
			pend = append(pend, Pending{Begin: c.Begin, End: time.Unix(end, 0).UTC(), Domain: domain, Messages: messages(rep.Rows)})
		}
	}
	j.mu.Unlock()
	out := pend[:0]
	for _, p := range pend {
		if p.Messages > 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].End.Equal(out[b].End) {
			return out[a].End.Before(out[b].End)
		}
		return out[a].Domain < out[b].Domain
	})
	reps, err := j.o.Store.DMARCReports(limit)
	return out, reps, err
}

// Report returns one report and its XML (nil when no longer kept).
func (j *Job) Report(id uint64) (store.DMARCReport, []byte, error) {
	rep, body, err := j.o.Store.DMARCReport(id)
	if err != nil || body == nil {
		return rep, nil, err
	}
	xml, err := gunzip(body, maxShownXML)
	return rep, xml, err
}

func hex(b []byte) string { return fmt.Sprintf("%x", b) }

func (j *Job) evaluator() *dmarc.Evaluator {
	if j.o.EvaluatorFor != nil {
		if e := j.o.EvaluatorFor(); e != nil {
			return e
		}
	}
	return j.o.Evaluator
}
