package commands

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"esa/auth/dmarc"
	"esa/delivery/dmarcreport"
	"esa/delivery/queue"
	"esa/shell"
	"esa/store"
)

var _ DMARCReporter = (*dmarcreport.Job)(nil)

// dmarcZone is the DNS the report job's destination check sees:
// example.com's external rua agreed (RFC 7489 §7.1), example.org's did
// not.
type dmarcZone map[string][]string

func (z dmarcZone) LookupTXT(_ context.Context, name string) ([]string, error) {
	if r, ok := z[name]; ok {
		return r, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// seqRand makes report IDs the same on every run.
type seqRand struct{ n byte }

func (r *seqRand) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}

// withDMARCJob gives the env a real report job on its store, a queue in
// the data directory and a day of evaluated messages for example.com and
// example.org (the job's scheduler does not run: the transcripts generate
// the reports themselves).
func withDMARCJob(t *testing.T, env *Env) {
	t.Helper()
	q, err := queue.Open(filepath.Join(env.Store.Dir(), "queue"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	zone := dmarcZone{
		"_dmarc.example.com":                            {"v=DMARC1; p=reject; rua=mailto:dmarc@example.com,mailto:agg@thirdparty.example!10m"},
		"example.com._report._dmarc.thirdparty.example": {"v=DMARC1"},
		"_dmarc.example.org":                            {"v=DMARC1; p=none; rua=mailto:agg@reports.example"},
	}
	ev := dmarc.New(zone, dmarc.Options{})
	job := dmarcreport.New(dmarcreport.Options{Store: env.Store, Queue: q, Evaluator: ev, Now: env.Now,
		Log: env.Logs.Logger(store.LogTypeMail), Rand: &seqRand{}})
	msg := func(ip, from string, spf dmarc.AuthResult) {
		in := dmarc.Input{FromDomains: []string{from}, SPF: dmarc.SPFResult{Domain: from, Scope: dmarc.ScopeMailFrom, Result: spf}}
		res := ev.Evaluate(context.Background(), in)
		if row, ok := dmarc.NewRow(netip.MustParseAddr(ip), "", from, in, res); ok {
			job.Record(res, row)
		}
	}
	for range 3 {
		msg("192.0.2.10", "example.com", dmarc.ResultPass)
	}
	msg("198.51.100.7", "example.com", dmarc.ResultFail)
	msg("203.0.113.9", "example.org", dmarc.ResultPass)
	env.DMARCReports = job
	env.Queue = q
}

func init() {
	for name, tc := range map[string]transcript{
		"dmarcreports": {setup: withDMARCJob, check: func(t *testing.T, env *Env) {
			// The generated report is in the queue for the delivery
			// engine, to both of example.com's rua addresses.
			_, reps, _ := env.DMARCReports.List(0)
			if len(reps) != 2 {
				t.Fatalf("reports %+v", reps)
			}
			e, ok := env.Queue.Get(reps[1].MID)
			if !ok || strings.Join(e.Envelope.Recipients, ",") != "dmarc@example.com,agg@thirdparty.example" {
				t.Errorf("example.com's report MID %d: %+v", reps[1].MID, e.Envelope)
			}
		}},
		"dmarcreports_offline": {},
		"dmarcreports_args":    {setup: withDMARCJob},
	} {
		transcripts[name] = tc
	}
}

// TestDMARCReportsGenerateAsks: at a terminal, generate asks first, and
// "no" generates nothing.
func TestDMARCReportsGenerateAsks(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withDMARCJob(t, env)
	var out strings.Builder
	in := "dmarcreports generate example.com\nn\ndmarcreports generate\ny\n"
	shell.Run(context.Background(), shell.Config{
		Editor: ttyEditor{shell.NewPlainEditor(strings.NewReader(in), &out)}, Out: &out,
		Prompt: Prompt(env), Commands: Table(env),
	})
	got := out.String()
	for _, want := range []string{
		"Generate and send the DMARC aggregate reports for example.com now (4 messages)? [N]> n\nNo reports generated.\n",
		"Generate and send the DMARC aggregate reports for all policy domains now (5 messages)? [N]> y\n",
		"Report 1 for example.com (2 records, 4 messages): queued MID 1\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, reps, _ := env.DMARCReports.List(0); len(reps) != 2 {
		t.Errorf("%d reports after one no and one yes, want 2", len(reps))
	}
}
