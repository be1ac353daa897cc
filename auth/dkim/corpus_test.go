package dkim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadFakeDNS reads Mail::DKIM's t/FAKE_DNS.dat: "name value",
// "name NXDOMAIN", "name ~~error text~~".
func loadFakeDNS(t testing.TB, path string) *mapResolver {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := newMapResolver()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, _ := strings.Cut(line, " ")
		val = strings.TrimSpace(val)
		key := strings.ToLower(name)
		switch {
		case val == "NXDOMAIN":
		case strings.HasPrefix(val, "~~"):
			if strings.Contains(val, "timed out") {
				m.errs[key] = errTimeout
			} else {
				m.errs[key] = errors.New(strings.Trim(val, "~"))
			}
		case val == `""`:
			m.add(name, "")
		default:
			m.add(name, val)
		}
	}
	return m
}

// corpusExpect is what an RFC 8301 verifier must say about each message of
// the Mail::DKIM verifier corpus: status, a substring of the reason, and,
// when the verdict differs from Mail::DKIM's older expectation
// (expected.tsv, from its t/verifier.t; pass = pass, fail = hardfail,
// invalid = permerror), why.
var corpusExpect = map[string]struct {
	status Status
	reason string
	why    string
}{
	"good_ietf00_1.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"good_ietf00_2.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"good_ietf00_3.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"good_ietf00_4.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"good_ietf00_5.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"mine_ietf01_1.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"mine_ietf01_2.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"mine_ietf01_3.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"mine_ietf01_4.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"good_ietf01_1.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"good_ietf01_2.txt":   {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"multiple_1.txt":      {PermError, "missing required tag v=", "Mail::DKIM pass; a pre-RFC 4871 draft signature (no v=), which RFC 6376 §3.5 makes invalid"},
	"mine_ietf05_1.txt":   {PermError, "version v=0.5", "Mail::DKIM pass; draft-05 signature with v=0.5, not v=1 (RFC 6376 §3.5)"},
	"good_rfc4871_3.txt":  {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"good_rfc4871_4.txt":  {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"good_1878523.txt":    {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"good_83176.txt":      {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"multiple_2.txt":      {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"good_qp_1.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"good_qp_2.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"good_qp_3.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"goodkey_1.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"goodkey_2.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"goodkey_3.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"goodkey_4.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM pass; rsa-sha1, never valid under RFC 8301 §3.1 (the keys are 512-bit too)"},
	"no_body_1.txt":       {PermError, "version v=0.5", "Mail::DKIM pass; v=0.5 draft signature"},
	"no_body_2.txt":       {PermError, "version v=0.5", "Mail::DKIM pass; v=0.5 draft signature"},
	"no_body_3.txt":       {PermError, "version v=0.5", "Mail::DKIM pass; v=0.5 draft signature"},
	"bad_ietf01_1.txt":    {PermError, "missing required tag v=", "Mail::DKIM fail; refused earlier here: draft signature without v="},
	"bad_ietf01_2.txt":    {PermError, "missing required tag v=", "Mail::DKIM fail; refused earlier here: draft signature without v="},
	"bad_ietf01_3.txt":    {PermError, "missing required tag v=", "Mail::DKIM fail; refused earlier here: draft signature without v="},
	"bad_1.txt":           {PermError, "missing required tag v=", "Mail::DKIM fail; refused earlier here: draft signature without v="},
	"bad_1878954.txt":     {PermError, "rsa-sha1 is not accepted", "Mail::DKIM fail; refused earlier here: rsa-sha1"},
	"ignore_1.txt":        {PermError, "version v=5", ""},
	"ignore_2.txt":        {PermError, "version v=0.5", "same verdict, found earlier: v=0.5 before the a=/c= problem"},
	"ignore_3.txt":        {PermError, "version v=0.5", "same verdict, found earlier: v=0.5 before the a=/c= problem"},
	"ignore_4.txt":        {PermError, "version v=0.5", "same verdict, found earlier: v=0.5 before the a=/c= problem"},
	"ignore_5.txt":        {PermError, "rsa-sha1 is not accepted", "same verdict, found earlier: rsa-sha1 before the q=/x=/i= problem"},
	"ignore_6.txt":        {PermError, "rsa-sha1 is not accepted", "same verdict, found earlier: rsa-sha1 before the q=/x=/i= problem"},
	"ignore_7.txt":        {PermError, "rsa-sha1 is not accepted", "same verdict, found earlier: rsa-sha1 before the q=/x=/i= problem"},
	"ignore_8.txt":        {PermError, "rsa-sha1 is not accepted", "same verdict, found earlier: rsa-sha1 before the q=/x=/i= problem"},
	"badkey_1.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_2.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_3.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_4.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_5.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_6.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_7.txt":        {PermError, "version v=0.5", "same verdict, found before the key is fetched (v=0.5); the key records themselves are checked by TestMailDKIMKeyRecords"},
	"badkey_8.txt":        {PermError, "rsa-sha1 is not accepted", "same verdict, found before the key is fetched (rsa-sha1); see TestMailDKIMKeyRecords"},
	"badkey_9.txt":        {PermError, "rsa-sha1 is not accepted", "same verdict, found before the key is fetched (rsa-sha1); see TestMailDKIMKeyRecords"},
	"badkey_10.txt":       {PermError, "rsa-sha1 is not accepted", "same verdict, found before the key is fetched (rsa-sha1); see TestMailDKIMKeyRecords"},
	"badkey_12.txt":       {PermError, "rsa-sha1 is not accepted", "same verdict, found before the key is fetched (rsa-sha1); see TestMailDKIMKeyRecords"},
	"badkey_13.txt":       {PermError, "rsa-sha1 is not accepted", "same verdict, found before the key is fetched (rsa-sha1); see TestMailDKIMKeyRecords"},
	"badkey_14.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM invalid (DNS timeout); rsa-sha1 is refused before the lookup, else it would be temperror"},
	"badkey_15.txt":       {PermError, "rsa-sha1 is not accepted", "Mail::DKIM invalid (SERVFAIL); rsa-sha1 is refused before the lookup, else it would be temperror"},
	"badkey_11.txt":       {Neutral, "testing mode", "Mail::DKIM invalid (key h=sha1 for an rsa-sha256 signature); the key has t=y, and the appliance skips verification of t=y keys entirely (seed 004), so neutral"},
	"goodkey_ed25519.txt": {Pass, "", ""},
	"badkey1_ed25519.txt": {PermError, "ed25519 key has 44 bytes", ""},
	"badkey2_ed25519.txt": {HardFail, "signature did not verify", ""},
	"badkey3_ed25519.txt": {HardFail, "body hash did not verify", ""},
	"badkey4_ed25519.txt": {PermError, "no key for signature", ""},
	"badkey5_ed25519.txt": {PermError, "key syntax error", ""},
	"good_dk_gmail.txt":   {Pass, "", ""},
	"good_dk_yahoo.txt":   {Pass, "", ""},
	"good_dk_1.txt":       {Pass, "", ""},
	"good_dk_2.txt":       {Pass, "", ""},
	"good_dk_3.txt":       {Pass, "", ""},
	"good_dk_4.txt":       {Pass, "", ""},
	"good_dk_5.txt":       {Pass, "", ""},
	"good_dk_6.txt":       {Pass, "", ""},
	"good_dk_7.txt":       {Pass, "", ""},
	"dk_headers_1.txt":    {Pass, "", ""},
	"dk_headers_2.txt":    {Pass, "", ""},
	"dk_multiple_1.txt":   {Pass, "", ""},
	"bad_dk_1.txt":        {PermError, "does not match sender domain", ""},
	"bad_dk_2.txt":        {PermError, "does not match sender domain", ""},
	"bad_dk_3.txt":        {Pass, "", "Mail::DKIM expects invalid for a missing q= but skips the test because it passes the message itself; RFC 4870 §3.3 gives q= the default dns and real Yahoo mail (good_dk_2) has no q=, so the signature is valid"},
	"bad_dk_4.txt":        {PermError, "unsupported query method q=", ""},
	"bad_dk_5.txt":        {PermError, "unsupported query method q=bogus", ""},
}

func TestMailDKIMCorpus(t *testing.T) {
	dir := testdataDir(t, "mail-dkim")
	res := loadFakeDNS(t, filepath.Join(dir, "FAKE_DNS.dat"))
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Signatures in the corpus date from 2005-2023; x= of the expiry test
	// is what the clock must be after.
	v := &Verifier{Resolver: res, Now: fixedClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), Profile: DefaultVerifyProfile()}
	sc := bufio.NewScanner(f)
	seen := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		cols := strings.Split(line, "\t")
		name, kinds := cols[0], cols[1]
		want, ok := corpusExpect[name]
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		seen++
		msg := readFile(t, filepath.Join(dir, "corpus", name))
		var results []Result
		if kinds == "DK" {
			results, err = v.VerifyDomainKeys(context.Background(), bytes.NewReader(msg))
		} else {
			results, err = v.Verify(context.Background(), bytes.NewReader(msg))
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := Verdict(results)
		if kinds == "DK" && name == "dk_multiple_1.txt" {
			// Mail::DKIM passes when any signature passes.
			got = results[0]
			for _, r := range results {
				if r.Status == Pass {
					got = r
				}
			}
		}
		old := map[string]Status{"pass": Pass, "fail": HardFail, "invalid": PermError}[cols[3]]
		if old != want.status && want.why == "" {
			t.Errorf("%s: verdict %v differs from Mail::DKIM's %s without a documented reason", name, want.status, cols[3])
		}
		if got.Status != want.status || !strings.Contains(got.Reason, want.reason) {
			t.Errorf("%s: got %v, want %v (%q)  all=%v", name, got, want.status, want.reason, results)
		}
	}
	if seen != len(corpusExpect) {
		t.Errorf("expected.tsv lists %d messages, table has %d", seen, len(corpusExpect))
	}
}
