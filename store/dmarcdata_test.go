package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var dmarcEnd = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func dmarcChunk(domain string, n int, data string) DMARCChunk {
	return DMARCChunk{Begin: dmarcEnd.Add(-24 * time.Hour), End: dmarcEnd, Domain: domain, Messages: n, Data: []byte(data)}
}

// TestDMARCDataSurvivesReopen: chunks added and a report recorded are
// there after the store is closed and opened again, and the data is
// reported once: closing the period removes exactly the chunks read.
func TestDMARCDataSurvivesReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openDir(t, dir)
	if p, err := s.DMARCPending(); err != nil || len(p) != 0 {
		t.Fatalf("fresh store: pending %v, %v", p, err)
	}
	if err := s.AddDMARCChunks([]DMARCChunk{dmarcChunk("example.com", 2, "a"), dmarcChunk("example.org", 1, "x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDMARCChunks([]DMARCChunk{dmarcChunk("example.com", 3, "b")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir)
	p, err := s.DMARCPending()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 || p[0].Domain != "example.com" || p[0].Messages != 5 || p[1].Domain != "example.org" || p[1].Messages != 1 ||
		!p[0].End.Equal(dmarcEnd) || !p[0].Begin.Equal(dmarcEnd.Add(-24*time.Hour)) {
		t.Fatalf("pending after reopen: %+v", p)
	}
	pend, data, last, err := s.DMARCChunks(dmarcEnd, "example.com")
	if err != nil || pend.Messages != 5 || len(data) != 2 || string(data[0]) != "a" || string(data[1]) != "b" {
		t.Fatalf("chunks: %+v %q %v", pend, data, err)
	}
	// A flush between reading and closing stays pending.
	if err := s.AddDMARCChunks([]DMARCChunk{dmarcChunk("example.com", 4, "late")}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.CloseDMARCPeriod(dmarcEnd, "example.com", last, time.Time{},
		&DMARCReport{Domain: "example.com", Messages: 5, Status: "pending"}, []byte("gz"))
	if err != nil || rep.ID != 1 || !rep.Body {
		t.Fatalf("close: %+v %v", rep, err)
	}
	_, data, _, _ = s.DMARCChunks(dmarcEnd, "example.com")
	if len(data) != 1 || string(data[0]) != "late" {
		t.Errorf("after close the chunks are %q, want only the late one", data)
	}
	if p, _ := s.DMARCPending(); len(p) != 2 || p[0].Messages != 4 {
		t.Errorf("pending after close: %+v", p)
	}
	rep.Status, rep.MID, rep.Done = "queued MID 7", 7, true
	if err := s.UpdateDMARCReport(rep); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openDir(t, dir)
	got, body, err := s.DMARCReport(1)
	if err != nil || got.Status != "queued MID 7" || got.MID != 7 || string(body) != "gz" {
		t.Errorf("report after reopen: %+v %q %v", got, body, err)
	}
	if _, _, err := s.DMARCReport(2); !errors.Is(err, ErrNoDMARCReport) {
		t.Errorf("unknown report: %v", err)
	}
	if err := s.UpdateDMARCReport(DMARCReport{ID: 9}); !errors.Is(err, ErrNoDMARCReport) {
		t.Errorf("update of an unknown report: %v", err)
	}
}

// TestDMARCEarlyCut: a report generated before its period ends leaves a
// pending entry that starts at the cut, even with no data yet; closing it
// at the period's end without a report removes it.
func TestDMARCEarlyCut(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	if err := s.AddDMARCChunks([]DMARCChunk{dmarcChunk("example.com", 2, "a")}); err != nil {
		t.Fatal(err)
	}
	_, _, last, _ := s.DMARCChunks(dmarcEnd, "example.com")
	cut := dmarcEnd.Add(-5 * time.Hour)
	if _, err := s.CloseDMARCPeriod(dmarcEnd, "example.com", last, cut, &DMARCReport{Domain: "example.com", Done: true}, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := s.DMARCPending()
	if len(p) != 1 || p[0].Messages != 0 || !p[0].Begin.Equal(cut) {
		t.Fatalf("pending after an early report: %+v", p)
	}
	if err := s.AddDMARCChunks([]DMARCChunk{dmarcChunk("example.com", 1, "b")}); err != nil {
		t.Fatal(err)
	}
	p, _ = s.DMARCPending()
	if len(p) != 1 || p[0].Messages != 1 || !p[0].Begin.Equal(cut) {
		t.Fatalf("later data does not start at the cut: %+v", p)
	}
	_, _, last, _ = s.DMARCChunks(dmarcEnd, "example.com")
	if _, err := s.CloseDMARCPeriod(dmarcEnd, "example.com", last, time.Time{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.DMARCPending(); len(p) != 0 {
		t.Errorf("pending after the period closed: %+v", p)
	}
	if r, _ := s.DMARCReports(0); len(r) != 1 {
		t.Errorf("a close without a report recorded one: %+v", r)
	}
}

// TestDMARCHistoryTrimmed: only the newest finished reports stay (here
// 20 of them), the newest 5 with their XML; a report still to be sent
// keeps its place and body however old. CloseDMARCPeriod keeps
// DMARCHistory and DMARCBodies.
func TestDMARCHistoryTrimmed(t *testing.T) {
	t.Parallel()
	const history, bodies = 20, 5
	s := openTest(t)
	first, err := s.closeDMARCPeriod(dmarcEnd, "old.example", 0, time.Time{}, &DMARCReport{Domain: "old.example", Status: "pending"}, []byte("keep"), history, bodies)
	if err != nil {
		t.Fatal(err)
	}
	for i := range history + 10 {
		d := fmt.Sprintf("d%d.example", i)
		if _, err := s.closeDMARCPeriod(dmarcEnd, d, 0, time.Time{}, &DMARCReport{Domain: d, Done: true}, []byte(d), history, bodies); err != nil {
			t.Fatal(err)
		}
	}
	reps, err := s.DMARCReports(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != history+1 {
		t.Fatalf("%d reports kept, want %d", len(reps), history+1)
	}
	if reps[0].Domain != fmt.Sprintf("d%d.example", history+9) || reps[len(reps)-1].ID != first.ID {
		t.Errorf("order: newest %s, oldest %d", reps[0].Domain, reps[len(reps)-1].ID)
	}
	kept := 0
	for i, r := range reps {
		_, b, err := s.DMARCReport(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Body != (b != nil) {
			t.Errorf("report %d: Body %v but body %q", r.ID, r.Body, b)
		}
		if b != nil {
			kept++
			if r.ID != first.ID && i >= bodies {
				t.Errorf("report %d (%d-th newest) kept its body", r.ID, i+1)
			}
		}
	}
	if kept != bodies+1 {
		t.Errorf("%d bodies kept, want %d", kept, bodies+1)
	}
	if r, _ := s.DMARCReports(3); len(r) != 3 {
		t.Errorf("limit 3 gave %d", len(r))
	}
	// The exported call keeps the appliance's numbers.
	if DMARCHistory != 500 || DMARCBodies != 100 {
		t.Errorf("history %d, bodies %d", DMARCHistory, DMARCBodies)
	}
}

func TestDMARCChunkRefused(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	for _, c := range []DMARCChunk{
		dmarcChunk("", 1, "x"),
		dmarcChunk("a\x00b", 1, "x"),
		dmarcChunk(strings.Repeat("a", 254), 1, "x"),
		dmarcChunk("example.com", -1, "x"),
		{Begin: dmarcEnd, End: dmarcEnd, Domain: "example.com"},
	} {
		if err := s.AddDMARCChunks([]DMARCChunk{dmarcChunk("ok.example", 1, "y"), c}); err == nil {
			t.Errorf("chunk %+v accepted", c)
		}
	}
	if p, _ := s.DMARCPending(); len(p) != 0 {
		t.Errorf("a refused batch stored %+v", p)
	}
}
