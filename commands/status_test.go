package commands

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"esa/shell"
)

// TestStatusDetailAligned (issue 12 item 14): in every section of `status
// detail`, the n-th value of every row ends in the same column, whatever the
// length of the row's label.
func TestStatusDetailAligned(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	withQueue(t, env)
	var out strings.Builder
	shell.Run(context.Background(), shell.Config{
		Editor: shell.NewPlainEditor(strings.NewReader("status detail\n"), &out), Out: &out,
		Prompt: Prompt(env), Commands: Table(env),
	})
	num := regexp.MustCompile(`\s(\d[\d,]*)(?:\s|$)`)
	var ends map[int]int // value index -> end column, per section
	section := ""
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "Counters:") || strings.HasPrefix(line, "Rates") || strings.HasPrefix(line, "Gauges:") {
			section, ends = line, map[int]int{}
			// Each value ends two columns before the end of its head,
			// as the appliance's Counters table has it.
			heads := regexp.MustCompile(`\S+`).FindAllStringIndex(line[31:], -1)
			for i, h := range heads {
				ends[i] = 31 + h[1] - 2
			}
			if strings.HasPrefix(line, "Gauges:") {
				ends = map[int]int{0: 34} // the appliance's "Current" column
			}
			continue
		}
		if !strings.HasPrefix(line, "    ") || section == "" {
			continue
		}
		locs := num.FindAllStringSubmatchIndex(line, -1)
		if len(locs) == 0 {
			continue
		}
		// Rows with one value in the Uptime column (Current IDs) are
		// compared with the second column.
		first := 0
		if len(locs) == 1 && strings.Contains(line, "ID (") {
			first = 1
		}
		for i, l := range locs {
			col, end := first+i, l[3]
			if want, ok := ends[col]; ok && want != end {
				t.Errorf("%s: %q: value %d ends at column %d, others at %d", section, line, col+1, end, want)
			}
			ends[col] = end
		}
		rows++
	}
	if rows < 30 {
		t.Fatalf("only %d value rows parsed:\n%s", rows, out.String())
	}
}
