package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// KeyFileName is the appliance's secret key file in the data directory. The
// key encrypts every passphrase kept in config.db and its rollback points,
// and the passphrases of saveconfig files written with "Encrypt passphrases".
// It lives outside config.db (issue 12 item 4): a copy of config.db alone
// discloses no passphrase, and a backup needs both files to be restorable.
const KeyFileName = "secret.key"

// keySealedMark in the meta bucket records that every stored table and
// rollback point has its secrets sealed (stores written before the key file
// kept them in plain text).
var keySealedMark = []byte("secrets_sealed")

// KeyFile is the path of the secret key file.
func (s *Store) KeyFile() string { return filepath.Join(s.dir, KeyFileName) }

// loadKey reads the key file, creating it (mode 0600) on a fresh data
// directory. A key that older stores kept inside config.db moves to the
// file and is deleted from the database.
func (s *Store) loadKey(meta *bolt.Bucket) error {
	path := s.KeyFile()
	k, err := readKeyFile(path)
	switch {
	case err == nil:
		s.key = k
	case errors.Is(err, os.ErrNotExist):
		if old := meta.Get(keySecret); len(old) == 32 {
			s.key = bytes.Clone(old)
		} else {
			s.key = make([]byte, 32)
			if _, err := rand.Read(s.key); err != nil {
				return err
			}
		}
		if err := writeKeyFile(path, s.key); err != nil {
			return err
		}
	default:
		return err
	}
	if meta.Get(keySecret) != nil {
		return meta.Delete(keySecret)
	}
	return nil
}

// readKeyFile reads a key file: 64 hexadecimal digits and a newline. A key
// file others may read is tightened to 0600 rather than refused: the
// appliance must still start, and the mode is what protects the key.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("store: secret key file %s: %w", path, err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		// Never quote the file: it is a key.
		return nil, fmt.Errorf("store: secret key file %s is not 64 hexadecimal digits; restore it from the backup made with config.db", path)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("store: secret key file %s: %w", path, err)
		}
	}
	return k, nil
}

func writeKeyFile(path string, key []byte) error {
	return WriteFileAtomic(path, []byte(hex.EncodeToString(key)+"\n"), false)
}

// sealStored rewrites, once per store, the tables and rollback points that
// an older version kept with plain-text secrets, so that config.db holds
// passphrases only sealed. (bbolt may still hold the old bytes in free pages
// until they are reused; the file's free pages are not scrubbed.)
func (s *Store) sealStored(tx *bolt.Tx, enc [][]byte) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keySealedMark) != nil {
		return nil
	}
	tb := tx.Bucket(bucketTables)
	for i, t := range tables {
		if old := tb.Get([]byte(t.name)); old != nil && !bytes.Equal(old, enc[i]) {
			if err := tb.Put([]byte(t.name), enc[i]); err != nil {
				return err
			}
		}
	}
	hc := tx.Bucket(bucketHistCfg)
	type rewrite struct{ k, v []byte }
	var todo []rewrite
	err := hc.ForEach(func(k, v []byte) error {
		var m map[string]string
		if err := json.Unmarshal(v, &m); err != nil {
			return nil // a damaged rollback point is reported when it is used
		}
		changed := false
		for _, t := range tables {
			text, ok := m[t.name]
			if !ok {
				continue
			}
			c := Defaults()
			if err := s.decodeTable(t, []byte(text), &c); err != nil {
				return nil
			}
			if enc := string(s.encodeTable(t, &c)); enc != text {
				m[t.name], changed = enc, true
			}
		}
		if changed {
			nv, err := json.Marshal(m)
			if err != nil {
				return err
			}
			todo = append(todo, rewrite{bytes.Clone(k), nv})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range todo {
		if err := hc.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return meta.Put(keySealedMark, []byte("1"))
}
