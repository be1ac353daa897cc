package dmarcconf

import (
	"fmt"
	"testing"
)

// BenchmarkBypassSender: the per-message bypass check over a list of 100
// entries, for a sender that matches none (the common case, every entry
// compared).
func BenchmarkBypassSender(b *testing.B) {
	s := Settings{}
	for i := 0; i < 100; i++ {
		s.BypassAddresses = append(s.BypassAddresses, fmt.Sprintf("@lists%d.example.net", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.BypassSender("someone@example.com") {
			b.Fatal("matched")
		}
	}
}

// BenchmarkParse: reading an export file of 1,000 profiles.
func BenchmarkParse(b *testing.B) {
	ps := []Profile{NewProfile(DefaultProfile)}
	for i := 0; i < 999; i++ {
		ps = append(ps, NewProfile(fmt.Sprintf("P%d", i)))
	}
	text := Format(ps)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
