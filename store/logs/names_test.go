package logs

import (
	"testing"
)

func TestFileNames(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefix string
		key    fileKey
		cur    bool
	}{
		{"mail.log.@20190204T200847.c", "mail.log", fileKey{"20190204T200847", 0}, true},
		{"mail.log.@20190204T200847_12.s", "mail.log", fileKey{"20190204T200847", 12}, false},
		{"a.@b.@20190204T200847.s", "a.@b", fileKey{"20190204T200847", 0}, false},
	} {
		p, k, cur, ok := parseFileName(c.name)
		if !ok || p != c.prefix || k != c.key || cur != c.cur {
			t.Errorf("parse %q = %q %v %v %v", c.name, p, k, cur, ok)
		}
		if got := fileName(p, k, cur); got != c.name {
			t.Errorf("fileName = %q, want %q", got, c.name)
		}
	}
	for _, bad := range []string{"", "mail.log", "mail.log.@20190204T200847", "mail.log.@20190204T200847.x",
		".@20190204T200847.c", "mail.log.@20191304T200847.c", "mail.log.@20190204T200847_0.c",
		"mail.log.@20190204T200847_01.c", "mail.log.@20190204T200847_.c", "mail.log.@20190204T200847x.c",
		"mail.log.@2019020T4200847.c", "mail.log.@20190204T200847_1234567890.c"} {
		if _, _, _, ok := parseFileName(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseFileName: names found in a log directory are untrusted (anyone
// with shell access to DATA/logs can drop files there). Whatever parses must
// be exactly the name fileName makes, so that listing, pruning and the
// .c-to-.s fallback never address another file.
func FuzzParseFileName(f *testing.F) {
	f.Add("mail.log.@20190204T200847.c")
	f.Add("mail.log.@20190204T200847_3.s")
	f.Add("x.@99991231T235959_999999999.s")
	f.Add("mail.log.@20190204T200847_01.c")
	f.Fuzz(func(t *testing.T, name string) {
		p, k, cur, ok := parseFileName(name)
		if !ok {
			return
		}
		if got := fileName(p, k, cur); got != name {
			t.Fatalf("parse(%q) -> fileName %q", name, got)
		}
		if p == "" || !validStamp(k.stamp) || k.seq < 0 {
			t.Fatalf("parse(%q) = %q %v", name, p, k)
		}
	})
}
