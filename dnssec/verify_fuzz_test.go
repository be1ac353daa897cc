package dnssec

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The fuzz targets feed validator functions with records unpacked from
// arbitrary DNS messages: whatever a hostile upstream sends must never make
// them panic or exceed their budget.

// split sorts a message's records into the validator's inputs.
func split(m *dns.Msg) (data []dns.RR, sigs []*dns.RRSIG, keys []*dns.DNSKEY, ds []*dns.DS, nsec []*dns.NSEC, nsec3 []*dns.NSEC3) {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, r := range sec {
			switch x := r.(type) {
			case *dns.RRSIG:
				sigs = append(sigs, x)
			case *dns.DNSKEY:
				keys = append(keys, x)
			case *dns.DS:
				ds = append(ds, x)
			case *dns.NSEC:
				nsec = append(nsec, x)
			case *dns.NSEC3:
				nsec3 = append(nsec3, x)
			case *dns.OPT:
			default:
				data = append(data, r)
			}
		}
	}
	return
}

// seedMsg packs a signed RRset, its key and DS, as a validator receives them.
func seedMsg(t testing.TB, alg uint8, wildcard bool) []byte {
	zone := "example.com."
	ksk := newKey(t, zone, alg, 257, 0)
	a := rrs(t, "www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2")
	sig := sign(t, ksk, a, 0, 0)
	if wildcard {
		w := rrs(t, "*.example.com. 300 IN TXT \"x\"")
		a, sig = rename(w, sign(t, ksk, w, 0, 0), "q.example.com.")
	}
	m := new(dns.Msg)
	m.Answer = append(append([]dns.RR{}, a...), sig)
	m.Ns = []dns.RR{ksk.key, sign(t, ksk, []dns.RR{ksk.key}, 0, 0), ksk.key.ToDS(dns.SHA256)}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seedDenial(t testing.TB, nsec3 bool, optOut bool) []byte {
	z := exampleZone()
	m := new(dns.Msg)
	if nsec3 {
		ch := z.nsec3(n3params{iter: 1, salt: "aabb", optOut: optOut})
		for _, r := range ch {
			m.Ns = append(m.Ns, r)
		}
	} else {
		for _, r := range z.nsec() {
			m.Ns = append(m.Ns, r)
		}
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzVerify(f *testing.F) {
	f.Add(seedMsg(f, dns.ECDSAP256SHA256, false), testNow.Unix())
	f.Add(seedMsg(f, dns.ED25519, true), testNow.Unix())
	f.Add(seedMsg(f, dns.RSASHA256, false), testNow.Unix()+1<<32)
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, msg []byte, unix int64) {
		m := new(dns.Msg)
		if m.Unpack(msg) != nil {
			return
		}
		data, sigs, keys, ds, _, _ := split(m)
		now := time.Unix(unix%(1<<40), 0)
		l := Limits{MaxKeyCandidates: 2, MaxSigsPerRRset: 3, MaxVerifiesPerQuery: 8, MaxNSEC3Iterations: 10, MaxNSEC3Hashes: 8}
		b := NewBudget(l)
		zone := "example.com."
		if len(keys) > 0 {
			zone = keys[0].Hdr.Name
		}
		check := func(v Verdict) {
			if v.Security == Secure && (v.Expires.IsZero() || v.Reason != "") {
				t.Fatalf("secure verdict with reason %q expires %v", v.Reason, v.Expires)
			}
			if v.Security != Secure && v.Reason == "" {
				t.Fatalf("%v verdict without a reason", v.Security)
			}
			if v.Wildcard != "" && !strings.HasPrefix(v.Wildcard, "*") {
				t.Fatalf("wildcard %q", v.Wildcard)
			}
		}
		if len(data) > 0 {
			var set []dns.RR
			for _, r := range data {
				if r.Header().Name == data[0].Header().Name && r.Header().Rrtype == data[0].Header().Rrtype {
					set = append(set, r)
				}
			}
			check(VerifyRRset(set, sigs, keys, zone, now, b))
		}
		got, v := VerifyKeys(keys, sigs, ds, zone, now, b)
		check(v)
		if v.Security != Secure && got != nil {
			t.Fatal("keys returned with a non-secure verdict")
		}
		_, v = VerifyKeysWithAnchorKeys(keys, sigs, keys, zone, now, b)
		check(v)
		if b.Verifies() > l.MaxVerifiesPerQuery {
			t.Fatalf("%d verifies over the cap", b.Verifies())
		}
	})
}

func FuzzDenial(f *testing.F) {
	f.Add(seedDenial(f, false, false), "nx.example.", uint16(dns.TypeA))
	f.Add(seedDenial(f, true, false), "q.w.example.", uint16(dns.TypeMX))
	f.Add(seedDenial(f, true, true), "ins.example.", uint16(dns.TypeDS))
	f.Add([]byte{}, "a.example.", uint16(0))
	f.Fuzz(func(t *testing.T, msg []byte, qname string, qtype uint16) {
		m := new(dns.Msg)
		if m.Unpack(msg) != nil {
			return
		}
		_, _, _, _, nsec, nsec3 := split(m)
		l := Limits{MaxNSEC3Iterations: 20, MaxNSEC3Hashes: 16}
		b := NewBudget(l)
		const zone = "example."
		for _, err := range []error{
			ProveNXDomain(qname, zone, nsec, nsec3, b),
			ProveNoData(qname, qtype, zone, nsec, nsec3, b),
			ProveNoDS(qname, zone, nsec, nsec3, b),
			ProveWildcard(qname, "*.example.", zone, nsec, nsec3, b),
			ProveWildcard(qname, qname, zone, nsec, nsec3, b),
		} {
			if DenialSecurity(err) == Bogus && !strings.HasPrefix(err.Error(), "bad denial proof: ") {
				t.Fatalf("bogus error without the prefix: %v", err)
			}
		}
		if b.Hashes() > l.MaxNSEC3Hashes {
			t.Fatalf("%d hashes over the cap", b.Hashes())
		}
		// A name can never be both proved absent and proved present with
		// data of a type: NXDOMAIN and NODATA exclude each other.
		if nsec3 == nil && ProveNXDomain(qname, zone, nsec, nil, nil) == nil && ProveNoData(qname, qtype, zone, nsec, nil, nil) == nil {
			for _, r := range nsec {
				if dns.CanonicalName(r.Hdr.Name) == dns.CanonicalName(qname) {
					t.Fatalf("NXDOMAIN proved for %s which owns an NSEC", qname)
				}
			}
		}
	})
}

// FuzzParseDS parses DS and TLSA text, as it comes from anchors files or
// the CLI, and feeds the result to the validator.
func FuzzParseDS(f *testing.F) {
	k := newKey(f, "example.com.", dns.ECDSAP256SHA256, 257, 0)
	set := []dns.RR{k.key}
	sig := sign(f, k, set, 0, 0)
	f.Add(k.key.ToDS(dns.SHA256).String())
	f.Add(k.key.ToDS(dns.SHA384).String())
	f.Add("example.com. 3600 IN DS 4242 16 2 " + strings.Repeat("ab", 32))
	f.Add("example.com. IN DS 1 8 99 00")
	f.Add("_25._tcp.mail.example.com. 300 IN TLSA 3 1 1 " + strings.Repeat("0f", 32))
	f.Fuzz(func(t *testing.T, text string) {
		r, err := dns.NewRR(text)
		if err != nil || r == nil {
			return
		}
		b := NewBudget(DefaultLimits())
		switch x := r.(type) {
		case *dns.DS:
			got, v := VerifyKeys([]*dns.DNSKEY{k.key}, []*dns.RRSIG{sig}, []*dns.DS{x}, "example.com.", testNow, b)
			want := k.key.ToDS(x.DigestType)
			matches := want != nil && strings.EqualFold(want.Digest, x.Digest) && x.KeyTag == want.KeyTag &&
				x.Algorithm == want.Algorithm && dns.CanonicalName(x.Hdr.Name) == "example.com."
			if (v.Security == Secure) != matches || (v.Security == Secure) != (len(got) == 1) {
				t.Fatalf("DS %s: %v %q, digest matches %v", x, v.Security, v.Reason, matches)
			}
		default:
			v := VerifyRRset([]dns.RR{r}, []*dns.RRSIG{sig}, []*dns.DNSKEY{k.key}, "example.com.", testNow, b)
			if v.Security == Secure && r.Header().Rrtype != dns.TypeDNSKEY {
				t.Fatalf("%s validated with a DNSKEY signature", r)
			}
		}
	})
}
