package commands

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseGrep(t *testing.T) {
	t.Parallel()
	g, err := parseGrep([]string{"-e", "User admin", "-i", "-c", "-C", "5", "-f", "*.s", "-p", "-t", "cli_logs"})
	if err != nil {
		t.Fatal(err)
	}
	want := grepArgs{regex: "User admin", haveRegex: true, log: "cli_logs", files: "*.s", ignoreCase: true, count: true, follow: true, context: 5}
	if g != want {
		t.Errorf("got %+v\nwant %+v", g, want)
	}
	g, err = parseGrep([]string{"Time offset", "antivirus"})
	if err != nil || g.regex != "Time offset" || g.log != "antivirus" {
		t.Errorf("positional form: %+v, %v", g, err)
	}
	for _, bad := range [][]string{{"-C"}, {"-C", "-1", "x", "l"}, {"-q", "x", "l"}, {"x", "l", "extra"}, {"-e"}} {
		if _, err := parseGrep(bad); err == nil {
			t.Errorf("parseGrep(%q) accepted", bad)
		}
	}
}

func TestParseSizeAndDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"10485760": "10485760", "1m": "1048576", "10K": "10240", "10240m": "10737418240",
		"5": "", "12x": "", "20000m": "", "-1k": "", "": ""} {
		if got, err := parseSize(in); got != want || (err != nil) != (want == "") {
			t.Errorf("parseSize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"3600": "3600", "2h": "7200", "30m": "1800", "1d": "86400", "45s": "45",
		"0": "", "10y": "", "367d": "", "h": ""} {
		if got, err := parseDuration(in); got != want || (err != nil) != (want == "") {
			t.Errorf("parseDuration(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzGrepArgs: any command line either parses into options that name a
// log at most once, or gives a one-line reason; it never panics.
func FuzzGrepArgs(f *testing.F) {
	f.Add("-e\x00MID 1\x00-i\x00-C\x003\x00mail_logs")
	f.Add("-c\x00-f\x00*.s\x00x\x00cli_logs")
	f.Add("-C")
	f.Fuzz(func(t *testing.T, line string) {
		g, err := parseGrep(strings.Split(line, "\x00"))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line reason %q", err)
			}
			return
		}
		if g.context < 0 || g.context > 1000 {
			t.Errorf("context %d out of range", g.context)
		}
	})
}

// FuzzParseSize: an accepted size is within the advertised range.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10485760", "1m", "10k", "9223372036854775807m", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSize(s)
		if err != nil {
			return
		}
		n, perr := strconv.ParseInt(got, 10, 64)
		if perr != nil || n < 10*1024 || n > 10*1024*1024*1024 {
			t.Errorf("parseSize(%q) = %q outside 10k..10240m", s, got)
		}
	})
}
