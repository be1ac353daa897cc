package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esa/dnssec"
	"esa/dnssec/dnstest"
	"esa/store"
	"esa/store/logs"
)

func openStore(t *testing.T) (*store.Store, *logs.Manager) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lm := logs.NewManager(filepath.Join(dir, "logs"), time.Now)
	t.Cleanup(func() { lm.Close(); st.Close() })
	return st, lm
}

// TestResolverFromFlags: --resolver and --trust-anchor give a validating
// resolver that proves the test bed's signed data secure.
func TestResolverFromFlags(t *testing.T) {
	t.Parallel()
	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	anchor := filepath.Join(t.TempDir(), "anchor")
	if err := os.WriteFile(anchor, []byte(s.H.AnchorsText()), 0o644); err != nil {
		t.Fatal(err)
	}
	st, lm := openStore(t)
	get, err := buildResolver(st, lm, time.Now, s.DNS.Addr, anchor)
	if err != nil {
		t.Fatal(err)
	}
	r, err := get()
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Lookup(context.Background(), dnstest.DomainGood, dns.TypeMX)
	if err != nil {
		t.Fatal(err)
	}
	if a.Security != dnssec.Secure || len(a.Records) == 0 {
		t.Errorf("MX %s: %v %q, %d records; want SECURE data", dnstest.DomainGood, a.Security, a.Reason, len(a.Records))
	}
	if again, _ := get(); again != r {
		t.Errorf("the resolver was rebuilt although the DNS table did not change")
	}
}

// TestResolverFromTable: without flags the committed DNS table decides; with
// no resolver configured the door says so.
func TestResolverFromTable(t *testing.T) {
	t.Parallel()
	s := dnstest.NewScenario(t, dnstest.ScenarioOptions{})
	st, lm := openStore(t)
	get, err := buildResolver(st, lm, time.Now, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(); err == nil || !strings.Contains(err.Error(), "No DNS resolvers are configured") {
		t.Errorf("no resolvers: err = %v", err)
	}
	ss := st.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.DNS.Resolvers = []store.DNSResolver{{Address: s.DNS.Addr}}
		c.DNS.TrustAnchor = s.H.AnchorsText()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("lab dns", false); err != nil {
		t.Fatal(err)
	}
	r, err := get()
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Lookup(context.Background(), "mx."+dnstest.DomainGood, dns.TypeA)
	if err != nil || a.Security != dnssec.Secure {
		t.Errorf("A mx.%s: %+v, %v; want SECURE", dnstest.DomainGood, a, err)
	}
}

func TestResolverAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"127.0.0.1": "127.0.0.1:53", "127.0.0.1:5353": "127.0.0.1:5353", "::1": "[::1]:53",
		"[::1]:54": "[::1]:54", "localhost": "localhost:53", "": "", "1.2.3.4:0": "", "h:x": "",
	} {
		got, err := resolverAddr(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("resolverAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// withLogs commits n log subscriptions and one resolver, the size issue 12
// measured the door at.
func withLogs(t testing.TB, st *store.Store, n int) {
	t.Helper()
	ss := st.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error {
		c.DNS.Resolvers = []store.DNSResolver{{Address: "127.0.0.1:53"}}
		for i := len(c.Logs.Subscriptions); i < n; i++ {
			c.Logs.Subscriptions = append(c.Logs.Subscriptions, store.LogSubscription{
				Name: fmt.Sprintf("log_%04d", i), Type: store.LogTypeMail, Level: store.LevelInfo,
				Retrieval: store.RetrievalManual, Filename: "mail.log", MaxSize: 10485760, MaxFiles: 10,
			})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("", false); err != nil {
		t.Fatal(err)
	}
}

// TestResolverDoorCopiesNothing: once built, the door hands out the same
// resolver without copying the configuration (one call per message), and
// rebuilds it only when a commit changes the DNS table.
func TestResolverDoorCopiesNothing(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process's allocations.
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lm := logs.NewManager(filepath.Join(dir, "logs"), time.Now)
	t.Cleanup(func() { lm.Close(); st.Close() })
	withLogs(t, st, 1000)
	get, err := buildResolver(st, lm, time.Now, "", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { get() }); n != 0 {
		t.Fatalf("each call allocates %v times", n)
	}
	// A commit of another table keeps the resolver (and its cache).
	ss := st.NewSession("admin")
	if err := ss.Update(func(c *store.Config) error { c.System.Hostname = "other.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("", false); err != nil {
		t.Fatal(err)
	}
	if again, _ := get(); again != r {
		t.Fatal("resolver rebuilt after a commit that left the DNS table alone")
	}
	if err := ss.Update(func(c *store.Config) error { c.DNS.Timeout = 9; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Commit("", false); err != nil {
		t.Fatal(err)
	}
	if again, _ := get(); again == r {
		t.Fatal("resolver kept after the DNS table changed")
	}
}

// BenchmarkResolverDoor is the per-message cost of Env.Resolver with 1,000
// log subscriptions committed (0.84 ms and 230 KB per call when it copied
// and compared the whole configuration).
func BenchmarkResolverDoor(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	lm := logs.NewManager(filepath.Join(dir, "logs"), time.Now)
	b.Cleanup(func() { lm.Close(); st.Close() })
	withLogs(b, st, 1000)
	get, err := buildResolver(st, lm, time.Now, "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := get(); err != nil {
			b.Fatal(err)
		}
	}
}
