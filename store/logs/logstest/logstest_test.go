package logstest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMail: the layout Fill documents, which the grep and tail transcripts
// rely on.
func TestMail(t *testing.T) {
	m, c := Mail(t, 2, 3)
	fs, err := m.Files("mail_logs")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, filepath.Base(f))
	}
	want := "mail.log.@20190204T200847.s mail.log.@20190204T200851.s mail.log.@20190204T200855.c"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("files %s, want %s", got, want)
	}
	b, err := os.ReadFile(fs[1])
	if err != nil {
		t.Fatal(err)
	}
	wantText := `Mon Feb  4 20:08:51 2019 Info: Begin Logfile
Mon Feb  4 20:08:51 2019 Info: Time offset from UTC: 0 seconds
Mon Feb  4 20:08:52 2019 Info: ` + Line(1, 0) + `
Mon Feb  4 20:08:53 2019 Info: ` + Line(1, 1) + `
Mon Feb  4 20:08:54 2019 Info: ` + Line(1, 2) + `
Mon Feb  4 20:08:55 2019 Info: Logfile rolled over
Mon Feb  4 20:08:55 2019 Info: End Logfile
`
	if string(b) != wantText {
		t.Fatalf("file 1:\n%s\nwant:\n%s", b, wantText)
	}
	if got := c.Now().Format("15:04:05"); got != "20:08:58" {
		t.Fatalf("clock at %s", got)
	}
}
