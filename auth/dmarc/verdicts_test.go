package dmarc

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestVerdictCorpus replays testdata/verdicts: each file is the DNS state, a
// message's authentication results and the verdict expected, side by side
// (see testdata/verdicts/README).
func TestVerdictCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "verdicts", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no verdict files: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			runVerdictFile(t, path)
		})
	}
}

func runVerdictFile(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dns := &memDNS{txt: map[string][]string{}, fail: map[string]bool{}, exists: map[string]bool{}}
	rnd := &fixedRand{t: t}
	opts := Options{Rand: rnd, Exists: dns}
	var in Input
	want := map[string]string{}
	var reason *string
	var asked []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		args := strings.Fields(rest)
		need := func(k int) {
			if len(args) < k {
				t.Fatalf("%s:%d: %q needs %d arguments", path, n, verb, k)
			}
		}
		switch verb {
		case "mode":
			need(1)
			switch args[0] {
			case "7489":
				opts.Mode = RFC7489
			case "bis":
				opts.Mode = DMARCbis
			default:
				t.Fatalf("%s:%d: unknown mode %q", path, n, args[0])
			}
		case "txt":
			need(2)
			name, rec, _ := strings.Cut(rest, " ")
			dns.txt[name] = append(dns.txt[name], rec)
		case "nodata":
			need(1)
			dns.txt[args[0]] = []string{}
		case "servfail":
			need(1)
			dns.fail[args[0]] = true
		case "exists":
			need(1)
			dns.exists[args[0]] = true
		case "rand":
			need(1)
			v, err := strconv.Atoi(args[0])
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			rnd.vals = append(rnd.vals, v)
		case "from":
			need(1)
			in.FromDomains = append(in.FromDomains, args[0])
		case "spf":
			need(2)
			in.SPF = SPFResult{Result: AuthResult(args[0]), Domain: args[1], Scope: ScopeMailFrom}
			if len(args) > 2 {
				in.SPF.Scope = SPFScope(args[2])
			}
		case "dkim":
			need(2)
			d := DKIMResult{Result: AuthResult(args[0]), Domain: args[1]}
			if len(args) > 2 {
				d.Selector = args[2]
			}
			in.DKIM = append(in.DKIM, d)
		case "want":
			for _, kv := range args {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s:%d: %q is not KEY=VALUE", path, n, kv)
				}
				want[k] = v
			}
		case "reason":
			r := rest
			reason = &r
		case "asked":
			asked = args
		default:
			t.Fatalf("%s:%d: unknown line %q", path, n, verb)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatalf("%s: no want line", path)
	}
	res := New(dns, opts).Evaluate(context.Background(), in)
	got := map[string]string{
		"verdict":     string(res.Verdict),
		"disposition": res.Disposition.String(),
		"policy":      "",
		"override":    string(res.Override),
		"spf":         strconv.FormatBool(res.SPFAligned),
		"dkim":        strconv.FormatBool(res.DKIMAligned),
	}
	if res.PolicyTag != "" {
		got["policy"] = res.PolicyTag + "@" + res.PolicyDomain
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: unknown want key %q", path, k)
		}
		if g != v {
			t.Errorf("%s = %q, want %q (reason: %s)", k, g, v, res.Reason)
		}
	}
	if reason != nil && res.Reason != *reason {
		t.Errorf("reason = %q, want %q", res.Reason, *reason)
	}
	if asked != nil {
		if q := dns.queries(); !reflect.DeepEqual(q, asked) {
			t.Errorf("asked %q, want %q", q, asked)
		}
	}
	if len(rnd.vals) != 0 {
		t.Errorf("%d planned pct draws unused", len(rnd.vals))
	}
}
