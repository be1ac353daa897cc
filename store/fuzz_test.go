package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzUnmarshalConfig: the parser never panics, fails only with *ParseError,
// and whatever it accepts writes out and reads back to the same value and
// the same bytes.
func FuzzUnmarshalConfig(f *testing.F) {
	s := openTest(f)
	for _, c := range []Config{Defaults(), richConfig()} {
		for _, m := range []SecretMode{PlainSecrets, EncryptSecrets, MaskSecrets} {
			b, err := s.MarshalConfig(c, m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	bad, _ := filepath.Glob("testdata/badconfig/*.xml")
	for _, p := range bad {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("<config><logs><headers><header>X</header></headers></logs></config>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := s.UnmarshalConfig(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error %v (%T) is not a *ParseError with a line", err, err)
			}
			return
		}
		for _, m := range []SecretMode{PlainSecrets, EncryptSecrets} {
			out, err := s.MarshalConfig(c, m)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := s.UnmarshalConfig(out)
			if err != nil {
				t.Fatalf("mode %d: accepted config does not re-parse: %v\n%s", m, err, out)
			}
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("mode %d: re-parsed config differs:\n%+v\n%+v", m, c, c2)
			}
			out2, _ := s.MarshalConfig(c2, m)
			if !bytes.Equal(out, out2) {
				t.Fatalf("mode %d: second write differs:\n%s\n%s", m, out, out2)
			}
		}
	})
}
