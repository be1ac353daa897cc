package commands

import (
	"regexp"
	"testing"
)

// TestHelpCitesNoInternalDocuments (issue 12 item 14): help texts and
// summaries are read by administrators who have the appliance, not this
// repository's design notes: no "SPEC.md §2", "ESA-CLI §5" and the like.
func TestHelpCitesNoInternalDocuments(t *testing.T) {
	t.Parallel()
	internal := regexp.MustCompile(`(?i)\.md\b|§|ESA-CLI|\bSPEC\b|ARCHITECTURE|STYLE|issue \d+`)
	for _, c := range Table(&Env{}) {
		for what, text := range map[string]string{"summary": c.Summary, "help": c.Help} {
			if m := internal.FindString(text); m != "" {
				t.Errorf("%s %s cites %q:\n%s", c.Name, what, m, text)
			}
		}
	}
}
