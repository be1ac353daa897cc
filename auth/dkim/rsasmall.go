package dkim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"io"
	"math/big"
)

// Go's crypto/rsa refuses keys below 1024 bits (unless GODEBUG
// rsa1024min=0 is set for the whole binary). The appliance still offers 512-
// and 768-bit signing keys, and DomainKeys (RFC 4870, which predates RFC
// 8301) was deployed with 512-bit keys, so the few operations needed on
// such keys are done here with math/big. DKIM verification never gets here:
// RFC 8301 §3.2 forbids accepting those keys and the verifier refuses them
// before any cryptography.

// Prefixes of the DER DigestInfo for PKCS#1 v1.5 (RFC 8017 §9.2 note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
}

// emsaPKCS1v15 builds the encoded message 00 01 FF.. 00 DigestInfo.
func emsaPKCS1v15(k int, h crypto.Hash, digest []byte) ([]byte, error) {
	prefix, ok := digestInfoPrefix[h]
	if !ok || len(digest) != h.Size() {
		return nil, errors.New("unsupported hash")
	}
	tLen := len(prefix) + len(digest)
	if k < tLen+11 {
		return nil, errors.New("key too short for this hash")
	}
	em := make([]byte, k)
	em[1] = 1
	for i := 2; i < k-tLen-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-tLen:], prefix)
	copy(em[k-len(digest):], digest)
	return em, nil
}

func rsaSign(key *rsa.PrivateKey, h crypto.Hash, digest []byte) ([]byte, error) {
	if key.N.BitLen() >= 1024 {
		return rsa.SignPKCS1v15(nil, key, h, digest)
	}
	k := (key.N.BitLen() + 7) / 8
	em, err := emsaPKCS1v15(k, h, digest)
	if err != nil {
		return nil, err
	}
	m := new(big.Int).SetBytes(em)
	s := new(big.Int).Exp(m, key.D, key.N)
	// Check the result, as crypto/rsa does, so a corrupt key cannot leak
	// through a faulty signature.
	if new(big.Int).Exp(s, big.NewInt(int64(key.E)), key.N).Cmp(m) != 0 {
		return nil, errors.New("rsa: internal error")
	}
	return s.FillBytes(make([]byte, k)), nil
}

func rsaVerify(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) error {
	if pub.N.BitLen() >= 1024 {
		return rsa.VerifyPKCS1v15(pub, h, digest, sig)
	}
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return rsa.ErrVerification
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return rsa.ErrVerification
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	em, err := emsaPKCS1v15(k, h, digest)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(m.FillBytes(make([]byte, k)), em) != 1 {
		return rsa.ErrVerification
	}
	return nil
}

// generateSmallRSA makes a 512- or 768-bit key the way crypto/rsa did before
// it refused them: two primes of half the size, e = 65537.
func generateSmallRSA(random io.Reader, bits int) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(random, bits/2)
		if err != nil {
			return nil, err
		}
		q, err := rand.Prime(random, bits-bits/2)
		if err != nil {
			return nil, err
		}
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		key := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: n, E: 65537},
			D:         d,
			Primes:    []*big.Int{p, q},
		}
		key.Precompute()
		return key, nil
	}
}
