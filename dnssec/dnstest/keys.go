package dnstest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"sync"

	"github.com/miekg/dns"
)

// KeyPool caches generated DNSSEC keys so that a test suite pays for RSA
// key generation once. Each Hierarchy takes the pool's keys in order, so
// two hierarchies built the same way get the same keys (and key tags); keys
// are never shared between zones of one hierarchy. Safe for concurrent use.
type KeyPool struct {
	mu   sync.Mutex
	keys map[keyGen][]pooledKey
}

type pooledKey struct {
	pub  string // DNSKEY public key field (base64)
	priv crypto.Signer
}

// NewKeyPool returns an empty pool.
func NewKeyPool() *KeyPool { return &KeyPool{keys: map[keyGen][]pooledKey{}} }

func (p *KeyPool) get(g keyGen, i int) (pooledKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.keys[g]) <= i {
		k, err := generate(g)
		if err != nil {
			return pooledKey{}, err
		}
		p.keys[g] = append(p.keys[g], k)
	}
	return p.keys[g][i], nil
}

func generate(g keyGen) (pooledKey, error) {
	bits := g.bits
	switch g.alg {
	case dns.ECDSAP256SHA256, dns.ED25519:
		bits = 256
	case dns.ECDSAP384SHA384:
		bits = 384
	}
	if g.huge {
		return generateHugeExponent(bits)
	}
	k := &dns.DNSKEY{Algorithm: g.alg}
	priv, err := k.Generate(bits)
	if err != nil {
		return pooledKey{}, err
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return pooledKey{}, errors.New("dnstest: key is not a crypto.Signer")
	}
	return pooledKey{pub: k.PublicKey, priv: s}, nil
}

// newKey builds a zone key: derived from (owner, role) for deterministic
// Ed25519, else from the pool when there is one, else freshly generated.
func (h *Hierarchy) newKey(owner string, kc KeyConfig, flags uint16, huge bool, role string) (*zoneKey, error) {
	g := keyGen{alg: kc.Algorithm, bits: kc.Bits, huge: huge && isRSA(kc.Algorithm)}
	var pk pooledKey
	var err error
	if h.opts.Deterministic && kc.Algorithm == dns.ED25519 {
		seed := sha256.Sum256([]byte("dnstest dnskey " + owner + " " + role))
		priv := ed25519.NewKeyFromSeed(seed[:])
		pk = pooledKey{pub: base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)), priv: priv}
	} else if h.opts.Keys != nil {
		i := h.keyN[g]
		h.keyN[g]++
		pk, err = h.opts.Keys.get(g, i)
	} else {
		pk, err = generate(g)
	}
	if err != nil {
		return nil, err
	}
	return &zoneKey{
		dnskey: &dns.DNSKEY{
			Hdr:       dns.RR_Header{Name: owner, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags:     flags,
			Protocol:  3,
			Algorithm: kc.Algorithm,
			PublicKey: pk.pub,
		},
		priv: pk.priv,
	}, nil
}

func isRSA(alg uint8) bool {
	return alg == dns.RSASHA256 || alg == dns.RSASHA512 || alg == dns.RSASHA1 || alg == dns.RSASHA1NSEC3SHA1
}

// hugeE is 2^32+15, the smallest prime above 2^32: five exponent bytes,
// beyond what miekg/dns publicKeyRSA accepts (it returns nil above
// 2^31-1), which is the .lv situation DANE.md §1.8 describes.
var hugeE = new(big.Int).SetUint64(1<<32 + 15)

// generateHugeExponent builds an RSA key with exponent hugeE by hand,
// because crypto/rsa only generates e=65537.
func generateHugeExponent(bits int) (pooledKey, error) {
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			return pooledKey{}, err
		}
		q, err := rand.Prime(rand.Reader, bits-bits/2)
		if err != nil {
			return pooledKey{}, err
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(hugeE, phi)
		if d == nil {
			continue
		}
		// RFC 3110 §2: exponent length byte, exponent, modulus.
		e := hugeE.Bytes()
		buf := append([]byte{byte(len(e))}, e...)
		buf = append(buf, n.Bytes()...)
		return pooledKey{pub: base64.StdEncoding.EncodeToString(buf), priv: &hugeRSA{n: n, d: d}}, nil
	}
}

// hugeRSA signs PKCS #1 v1.5 (RFC 8017 §8.2.1) with a raw private
// exponent, which crypto/rsa refuses for such public exponents.
type hugeRSA struct{ n, d *big.Int }

func (k *hugeRSA) Public() crypto.PublicKey {
	return &rsa.PublicKey{N: k.n, E: int(hugeE.Int64())}
}

var digestInfo = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

func (k *hugeRSA) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	prefix, ok := digestInfo[opts.HashFunc()]
	if !ok {
		return nil, errors.New("dnstest: unsupported hash for huge-exponent RSA")
	}
	size := (k.n.BitLen() + 7) / 8
	t := append(append([]byte{}, prefix...), digest...)
	if size < len(t)+11 {
		return nil, errors.New("dnstest: modulus too short")
	}
	em := make([]byte, size)
	em[1] = 1
	for i := 2; i < size-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[size-len(t):], t)
	s := new(big.Int).Exp(new(big.Int).SetBytes(em), k.d, k.n)
	return s.FillBytes(make([]byte, size)), nil
}
