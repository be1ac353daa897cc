package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

const testPass = "hunter2-a-passphrase-to-find"

func withPassphrase(t *testing.T, ss *Session) {
	t.Helper()
	if err := ss.Update(func(c *Config) error {
		c.Logs.Subscriptions = append(c.Logs.Subscriptions, LogSubscription{
			Name: "ftp_push", Type: LogTypeSystem, Level: LevelInfo, Retrieval: RetrievalFTP,
			Filename: "system.log", MaxSize: 10485760, MaxFiles: 10, Host: "ftp.example.com", User: "logs",
			Passphrase: testPass, Directory: "/logs", MaxWait: 3600,
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsNotPlainInDB (issue 12 item 4): a passphrase is in config.db,
// its tables and its rollback points only sealed; the key is in a 0600 file
// beside it, not in config.db.
func TestSecretsNotPlainInDB(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ss := s.NewSession("admin")
	withPassphrase(t, ss)
	if _, err := ss.Commit("with a passphrase", true); err != nil {
		t.Fatal(err)
	}
	// A second commit keeps the first rollback point holding the secret.
	ss2 := s.NewSession("admin")
	if err := ss2.Update(func(c *Config) error { c.System.Hostname = "m2.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ss2.Commit("second", true); err != nil {
		t.Fatal(err)
	}
	key := append([]byte(nil), s.key...)
	s.Close()

	db, err := os.ReadFile(filepath.Join(dir, "config.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(testPass)) {
		t.Error("config.db holds the passphrase in plain text")
	}
	if bytes.Contains(db, key) || bytes.Contains(db, []byte(hex.EncodeToString(key))) {
		t.Error("config.db holds the secret key")
	}
	st, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}

	s = openDir(t, dir)
	if got := findSub(s.Committed(), "ftp_push").Passphrase; got != testPass {
		t.Errorf("passphrase after reopen = %q", got)
	}
	vs, err := s.Versions()
	if err != nil || len(vs) < 2 {
		t.Fatalf("versions %v %v", vs, err)
	}
	old, err := s.versionConfig(vs[1].ID)
	if err != nil || findSub(old, "ftp_push").Passphrase != testPass {
		t.Fatalf("rollback point: %v %+v", err, findSub(old, "ftp_push"))
	}
	s.Close()

	// Another key file: config.db cannot be read, and the message says which
	// file to restore.
	if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot be decrypted with "+filepath.Join(dir, KeyFileName)) {
		t.Fatalf("open with a foreign key: %v", err)
	}
	if strings.Contains(err.Error(), testPass) {
		t.Fatal("error quotes the passphrase")
	}
	// config.db restored without its key file: the same clear refusal.
	os.Remove(filepath.Join(dir, KeyFileName))
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "restore the secret.key that was backed up with config.db") {
		t.Fatalf("open without the key file: %v", err)
	}
}

func findSub(c Config, name string) LogSubscription {
	for _, s := range c.Logs.Subscriptions {
		if s.Name == name {
			return s
		}
	}
	return LogSubscription{}
}

// TestLegacyKeyMoves: a store written before the key file (key in the meta
// bucket, passphrases in plain text) is converted on open: the same key in
// the file, none in config.db, every table and rollback point sealed.
func TestLegacyKeyMoves(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ss := s.NewSession("admin")
	withPassphrase(t, ss)
	if _, err := ss.Commit("plain", true); err != nil {
		t.Fatal(err)
	}
	key := append([]byte(nil), s.key...)
	s.Close()

	// Rewind to the old layout by hand.
	db, err := bolt.Open(filepath.Join(dir, "config.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	plainLogs := func() string {
		e := &encoder{secret: func(x Secret) (string, error) { return string(x), nil }}
		c := s.Committed()
		e.element(0, "logs", tables[tableIndex("logs")].value(&c))
		return e.buf.String()
	}()
	if err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		meta.Delete(keySealedMark)
		meta.Put(keySecret, key)
		tx.Bucket(bucketTables).Put([]byte("logs"), []byte(plainLogs))
		hc := tx.Bucket(bucketHistCfg)
		return hc.ForEach(func(k, v []byte) error {
			var m map[string]string
			json.Unmarshal(v, &m)
			m["logs"] = plainLogs
			nv, _ := json.Marshal(m)
			return hc.Put(k, nv)
		})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Remove(filepath.Join(dir, KeyFileName))

	s = openDir(t, dir)
	if !bytes.Equal(s.key, key) {
		t.Fatal("the legacy key was not kept")
	}
	k, err := readKeyFile(filepath.Join(dir, KeyFileName))
	if err != nil || !bytes.Equal(k, key) {
		t.Fatalf("key file %x %v", k, err)
	}
	if got := findSub(s.Committed(), "ftp_push").Passphrase; got != testPass {
		t.Fatalf("passphrase %q", got)
	}
	s.Close()
	db, err = bolt.Open(filepath.Join(dir, "config.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keySecret) != nil {
			t.Error("key still in config.db")
		}
		if bytes.Contains(tx.Bucket(bucketTables).Get([]byte("logs")), []byte(testPass)) {
			t.Error("logs table still plain")
		}
		tx.Bucket(bucketHistCfg).ForEach(func(k, v []byte) error {
			if bytes.Contains(v, []byte(testPass)) {
				t.Errorf("rollback point %x still plain", k)
			}
			return nil
		})
		return nil
	})
}

// TestEncryptedFileOnAnotherAppliance: a file saved with encrypted
// passphrases loads on a new appliance whose data directory got the old
// appliance's key file before its first start (the documented restore),
// and an appliance with its own key refuses it with a clear reason.
func TestEncryptedFileOnAnotherAppliance(t *testing.T) {
	a := openTest(t)
	c := richConfig()
	c.Logs.Subscriptions[4].Retrieval = RetrievalFTP
	c.Logs.Subscriptions[4].Port, c.Logs.Subscriptions[4].Protocol, c.Logs.Subscriptions[4].HostKeyCheck = 0, "", false
	data, err := a.MarshalConfig(c, EncryptSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("p&amp;ss")) {
		t.Fatal("encrypted file holds the passphrase")
	}

	newDir := t.TempDir()
	keyText, err := os.ReadFile(a.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newDir, KeyFileName), keyText, 0o600); err != nil {
		t.Fatal(err)
	}
	b := openDir(t, newDir)
	got, err := b.UnmarshalConfig(data)
	if err != nil {
		t.Fatalf("new appliance with the copied key: %v", err)
	}
	if got.Logs.Subscriptions[4].Passphrase != c.Logs.Subscriptions[4].Passphrase {
		t.Fatal("passphrase differs")
	}

	other := openTest(t)
	_, err = other.UnmarshalConfig(data)
	want := "cannot be decrypted with this appliance's key: the file was saved on another appliance; copy that appliance's secret.key"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("appliance with its own key: %v", err)
	}
}
