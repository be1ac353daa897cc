package outbound

import (
	"crypto/x509"
	"crypto/x509/pkix"
)

func certWith(cn string, sans ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	for _, s := range sans {
		if s != "" {
			c.DNSNames = append(c.DNSNames, s)
		}
	}
	return c
}
