package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"esa/delivery/queue"
	"esa/dnssec/dnstest"
)

// spfListenerScript creates a public listener for example.com whose
// default policy verifies SPF with the answers given (after the fourteen
// other DEFAULT questions, each taken at its default).
func spfListenerScript(name string, port int, spfAnswers ...string) string {
	lines := []string{"new", "2", name, "127.0.0.1", strconv.Itoa(port), "example.com", "y"}
	// 14 default-policy questions, DKIM/DomainKeys signing and DKIM
	// verification (Enter: no), the SPF answers, then DMARC verification
	// (Enter: no).
	lines = append(lines, make([]string, 16)...)
	lines = append(lines, spfAnswers...)
	lines = append(lines, "")
	return strings.Join(lines, "\n") + "\n"
}

// TestSPFEndToEnd: the real daemon with three listeners, one per
// conformance level, each with a REJECT action, configured through
// listenerconfig; swaks (from 127.0.0.1) is answered with the configured
// reply at the stage of the identity (swaks' exit status names the stage:
// 23 MAIL, 26 after DATA; at HELO swaks falls back from EHLO to HELO and
// finds the session ended, 6), and the accepted messages in the queue
// carry the Received-SPF: fields of the identities checked. The SPF
// records come from a signed loopback DNS hierarchy reached with the lab
// switches --resolver and --trust-anchor, through the validating resolver.
func TestSPFEndToEnd(t *testing.T) {
	t.Parallel()
	needTools(t, "swaks")
	dns := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	dns.H.Add(
		`pass.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`fail.test. 300 IN TXT "v=spf1 -all"`,
		`softfail.test. 300 IN TXT "v=spf1 ~all"`,
		`mx.pass.test. 300 IN TXT "v=spf1 a -all"`,
		`mx.pass.test. 300 IN A 127.0.0.1`,
		`helo.fail.test. 300 IN TXT "v=spf1 -all"`,
		`sidf.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`sidf.test. 300 IN TXT "spf2.0/pra -all"`,
	)
	dir := t.TempDir()
	anchor := filepath.Join(dir, "anchor")
	if err := os.WriteFile(anchor, []byte(dns.H.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	only, compat, strict := freePort(t), freePort(t), freePort(t)
	accept, reject := "1", "2"
	failRejected := []string{accept, accept, accept, reject, accept, accept}
	script := "listenerconfig\n" +
		// SPF only: HELO and MAIL FROM Fail rejected.
		spfListenerScript("SPFOnly", only, append(append(append(
			[]string{"y", "y", "1", "y", "y", "y"}, failRejected...), "y"), append(failRejected, "n", "")...)...) +
		// SIDF compatible (the default level): no HELO test, PRA Fail rejected.
		spfListenerScript("SIDFCompatible", compat, append([]string{"y", "y", "", "n", "n", "y", "n", "y"}, append(failRejected, "n", "")...)...) +
		// SIDF strict: MAIL FROM SoftFail and Fail rejected with a custom reply.
		spfListenerScript("SIDFStrict", strict, "y", "y", "3", "y", "y", accept, accept, reject, reject, accept, accept, "n",
			"y", "554", "#5.7.1 Strictly no.", "", "", "", "10") +
		"\ncommit\nspf listeners\n\n"
	out, errs, code := pipe(t, dir, script)
	if code != 0 || !strings.Contains(out, "Changes committed:") {
		t.Fatalf("listenerconfig: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out, "Please answer") || strings.Contains(out, "Value must") || !strings.Contains(out, "Verification timeout (seconds)\n[40]> 10\n") {
		// The script went out of step with the questions.
		t.Fatalf("listenerconfig did not take the answers as meant:\n%s", out)
	}

	s := startServe(t, dir, "--resolver", dns.DNS.Addr, "--trust-anchor", anchor)
	// Delivery is paused: the accepted messages stay in the queue to be read.
	if out, errs, code := pipe(t, dir, "workqueue pause\ny\nspf test\n"); code != 0 {
		t.Fatalf("workqueue pause: exit %d\n%s\n%s", code, out, errs)
	}
	swaks := func(port int, helo, from, header string) (string, int) {
		args := []string{"--server", "127.0.0.1:" + strconv.Itoa(port), "--helo", helo, "--from", from,
			"--to", "b@example.com", "--h-Subject", "spf " + helo + " " + from, "--timeout", "30"}
		if header != "" {
			args = append(args, "--header", "From: "+header)
		}
		b, err := exec.Command("swaks", args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(b), code
	}
	const denied = "<** 550 #5.7.1 SPF unauthorized mail is prohibited."
	for _, c := range []struct {
		name            string
		port            int
		helo, from, hdr string
		code            int
		reply           string
	}{
		{"SPF only, HELO Fail at EHLO", only, "helo.fail.test", "a@pass.test", "", 6, denied},
		{"SPF only, MAIL FROM Fail at MAIL", only, "mx.pass.test", "a@fail.test", "", 23, denied},
		{"SPF only, accepted", only, "mx.pass.test", "a@pass.test", "", 0, "<-  250 2.0.0 OK: queued"},
		{"SIDF compatible, PRA Fail after DATA", compat, "mx.pass.test", "a@pass.test", "x@sidf.test", 26, denied},
		{"SIDF compatible, accepted", compat, "helo.fail.test", "a@pass.test", "x@pass.test", 0, "<-  250 2.0.0 OK: queued"},
		// Strict's fixed HELO action, with the listener's own reject reply.
		{"SIDF strict, HELO Fail at EHLO", strict, "helo.fail.test", "a@pass.test", "", 6, "<** 554 #5.7.1 Strictly no."},
		{"SIDF strict, MAIL FROM SoftFail at MAIL", strict, "unknown.test", "a@softfail.test", "", 23, "<** 554 #5.7.1 Strictly no."},
		{"SIDF strict, accepted", strict, "unknown.test", "a@pass.test", "a@pass.test", 0, "<-  250 2.0.0 OK: queued"},
	} {
		out, code := swaks(c.port, c.helo, c.from, c.hdr)
		if code != c.code || !strings.Contains(out, c.reply) {
			t.Errorf("%s: swaks exit %d (want %d), want %q in:\n%s", c.name, code, c.code, c.reply, out)
		}
	}
	s.stop()

	q, err := queue.Open(filepath.Join(dir, "queue"))
	if err != nil {
		t.Fatal(err)
	}
	list := q.List()
	sort.Slice(list, func(i, j int) bool { return list[i].Envelope.MID < list[j].Envelope.MID })
	spf := func(res, id, from, sender, level string) string {
		return fmt.Sprintf(`Received-SPF: %s identity=%s; receiver=esa.example.com; client-ip=127.0.0.1; envelope-from=%s; x-sender="%s"; x-conformance=%s`, res, id, from, sender, level)
	}
	want := map[string][]string{
		"SPFOnly": {
			spf("Pass", "helo", `""`, "postmaster@mx.pass.test", "spf_only"),
			spf("Pass", "mailfrom", `"a@pass.test"`, "a@pass.test", "spf_only"),
		},
		"SIDFCompatible": {
			spf("Pass", "mailfrom", `"a@pass.test"`, "a@pass.test", "sidf_compatible"),
			// SIDF compatible reads v=spf1 for mfrom only: no PRA record.
			spf("None", "pra", `"a@pass.test"`, "x@pass.test", "sidf_compatible"),
		},
		"SIDFStrict": {
			spf("None", "helo", `""`, "postmaster@unknown.test", "sidf_strict"),
			spf("Pass", "mailfrom", `"a@pass.test"`, "a@pass.test", "sidf_strict"),
			// SIDF strict reads v=spf1 as spf2.0/mfrom,pra.
			spf("Pass", "pra", `"a@pass.test"`, "a@pass.test", "sidf_strict"),
		},
	}
	if len(list) != len(want) {
		t.Fatalf("%d messages queued, want %d", len(list), len(want))
	}
	for _, m := range list {
		e := m.Envelope
		unfolded := strings.ReplaceAll(e.Prepend, "\r\n\t", " ")
		fields := strings.Split(strings.TrimSuffix(unfolded, "\r\n"), "\r\n")
		w := want[e.Listener]
		if len(fields) < len(w)+1 {
			t.Errorf("%s: prepend %q", e.Listener, e.Prepend)
			continue
		}
		for i, f := range w {
			if fields[i] != f {
				t.Errorf("%s: field %d\n got %s\nwant %s", e.Listener, i, fields[i], f)
			}
		}
		if !strings.HasPrefix(fields[len(w)], "Received: from ") {
			t.Errorf("%s: Received: is not after the Received-SPF: fields:\n%s", e.Listener, e.Prepend)
		}
		if e.Verdicts["spf.mailfrom"] != "Pass" {
			t.Errorf("%s: verdicts %v", e.Listener, e.Verdicts)
		}
	}
	logs := string(readLog(dir, "mail_logs"))
	for _, l := range []string{
		"SPF: helo identity postmaster@helo.fail.test Fail",
		"SPF: mailfrom identity a@fail.test Fail",
		"SPF: pra identity x@sidf.test Fail",
		"SPF: mailfrom identity a@softfail.test SoftFail",
		"SPF: helo identity postmaster@unknown.test None",
		"SPF: pra identity a@pass.test Pass",
	} {
		if !strings.Contains(logs, l) {
			t.Errorf("mail_logs lacks %q:\n%s", l, logs)
		}
	}
}
