package spf

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchCase is one suite case ready to run.
type benchCase struct {
	ck       *Checker
	ip       netip.Addr
	mailFrom string
	helo     string
}

func benchCases(b *testing.B, sequential bool) []benchCase {
	var out []benchCase
	for _, f := range []string{"rfc7208-tests.yml", "rfc4408-tests.yml"} {
		for _, sc := range loadSuite(b, filepath.Join(sharedTestdata, "spf", f)) {
			ck := &Checker{Resolver: sc.Zone.seal(), DefaultExplanation: "DEFAULT", Sequential: sequential}
			for _, tc := range sc.Cases {
				out = append(out, benchCase{ck, netip.MustParseAddr(tc.Host), tc.MailFrom, tc.Helo})
			}
		}
	}
	return out
}

func runBenchCases(cases []benchCase) {
	ctx := context.Background()
	for i := range cases {
		c := &cases[i]
		if c.mailFrom == "" {
			c.ck.CheckHELO(ctx, c.ip, c.helo)
		} else {
			c.ck.CheckMailFrom(ctx, c.ip, c.mailFrom, c.helo)
		}
	}
}

// BenchmarkSuite evaluates every case of rfc7208-tests.yml and
// rfc4408-tests.yml (394 checks) per iteration against the in-memory DNS
// and reports checks per second, with and without speculative lookups.
func BenchmarkSuite(b *testing.B) {
	for _, seq := range []bool{true, false} {
		name := "prefetch"
		if seq {
			name = "sequential"
		}
		b.Run(name, func(b *testing.B) {
			cases := benchCases(b, seq)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runBenchCases(cases)
			}
			b.ReportMetric(float64(len(cases)*b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// cpuSeconds is the CPU time (user+system, all threads) this process has
// used: on a machine shared with other work, rates per CPU second compare
// fairly where wall-clock rates do not.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

var (
	pyspfOnce    sync.Once
	pyspfRate    float64
	pyspfCPURate float64
	pyspfErr     error
)

// pyspfChecksPerSecond runs testdata/pyspf_bench.py over the same suites
// (pyspf with the same in-memory DNS) and returns its rate.
func pyspfChecksPerSecond(b *testing.B) (wall, cpu float64) {
	pyspfOnce.Do(func() {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			pyspfErr = fmt.Errorf("no %s", py)
			return
		}
		if err := exec.Command(py, "-c", "import spf, yaml").Run(); err != nil {
			pyspfErr = fmt.Errorf("python3-spf (and python3-yaml) not installed: apt-get install -y python3-spf")
			return
		}
		args := []string{"testdata/pyspf_bench.py", "20"}
		for _, f := range []string{"rfc7208-tests.yml", "rfc4408-tests.yml"} {
			args = append(args, filepath.Join(sharedTestdata, "spf", f))
		}
		out, err := exec.Command(py, args...).CombinedOutput()
		if err != nil {
			pyspfErr = fmt.Errorf("pyspf_bench.py: %v\n%s", err, out)
			return
		}
		m := regexp.MustCompile(` rate=([0-9.]+) cpurate=([0-9.]+) mismatches=(\d+)`).FindSubmatch(out)
		if m == nil {
			pyspfErr = fmt.Errorf("pyspf_bench.py: unexpected output %q", out)
			return
		}
		if string(m[3]) != "0" {
			pyspfErr = fmt.Errorf("pyspf disagrees with the suite on %s cases: the driver is broken", m[3])
			return
		}
		pyspfRate, _ = strconv.ParseFloat(string(m[1]), 64)
		pyspfCPURate, _ = strconv.ParseFloat(string(m[2]), 64)
		b.Logf("pyspf: %s", out)
	})
	if pyspfErr != nil {
		b.Skipf("pyspf comparison skipped: %v", pyspfErr)
	}
	return pyspfRate, pyspfCPURate
}

// BenchmarkSuiteVsPyspf runs the suites here and in pyspf (when
// python3-spf is installed) and reports both rates and their ratio
// (target: at least 20 times pyspf).
func BenchmarkSuiteVsPyspf(b *testing.B) {
	if _, err := os.Stat(filepath.Join(sharedTestdata, "spf", "rfc7208-tests.yml")); err != nil {
		b.Skip("conformance suites not present")
	}
	py, pyCPU := pyspfChecksPerSecond(b)
	for _, seq := range []bool{true, false} {
		name := "prefetch"
		if seq {
			name = "sequential"
		}
		b.Run(name, func(b *testing.B) {
			cases := benchCases(b, seq)
			b.ResetTimer()
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				runBenchCases(cases)
			}
			cpu := cpuSeconds() - cpu0
			goRate := float64(len(cases)*b.N) / b.Elapsed().Seconds()
			goCPURate := float64(len(cases)*b.N) / cpu
			b.ReportMetric(goRate, "checks/s")
			b.ReportMetric(py, "pyspf-checks/s")
			b.ReportMetric(goRate/py, "x-pyspf")
			b.ReportMetric(goCPURate, "checks/cpu-s")
			b.ReportMetric(pyCPU, "pyspf-checks/cpu-s")
			b.ReportMetric(goCPURate/pyCPU, "x-pyspf-cpu")
		})
	}
}

// slowZone answers after a fixed delay, like a resolver that has to ask
// the network.
type slowZone struct {
	Resolver
	delay time.Duration
}

func (s slowZone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Resolver.LookupTXT(ctx, name)
}

// BenchmarkSlowDNS: a record with four includes behind a 2 ms resolver.
// Sequential evaluation waits for each answer in turn; with prefetch the
// later includes are asked while the first is in flight.
func BenchmarkSlowDNS(b *testing.B) {
	z := zone{}
	for n, txt := range map[string]string{
		"example.com": "v=spf1 include:a.example include:b.example include:c.example include:d.example -all",
		"a.example":   "v=spf1 ip4:198.51.100.1 -all",
		"b.example":   "v=spf1 ip4:198.51.100.2 -all",
		"c.example":   "v=spf1 ip4:198.51.100.3 -all",
		"d.example":   "v=spf1 ip4:192.0.2.1 -all",
	} {
		if err := z.addName(n, []any{map[string]any{"TXT": txt}}); err != nil {
			b.Fatal(err)
		}
	}
	ip := netip.MustParseAddr("192.0.2.1")
	for _, seq := range []bool{true, false} {
		name := "prefetch"
		if seq {
			name = "sequential"
		}
		b.Run(name, func(b *testing.B) {
			ck := &Checker{Resolver: slowZone{z, 2 * time.Millisecond}, Sequential: seq}
			for i := 0; i < b.N; i++ {
				if v := ck.CheckMailFrom(context.Background(), ip, "a@example.com", "mx.example"); v.Result != Pass {
					b.Fatalf("got %s", v.Result)
				}
			}
		})
	}
}
