package names

import "testing"

func TestProfile(t *testing.T) {
	for name, ok := range map[string]bool{"DEFAULT": true, "a.b-c_d": true, "": false, "a b": false, "é": false,
		"0123456789012345678901234567890123456789012345678901234567890123":  true,
		"01234567890123456789012345678901234567890123456789012345678901234": false} {
		if err := Profile(name); (err == nil) != ok {
			t.Errorf("Profile(%q) = %v", name, err)
		}
	}
}

func TestHostname(t *testing.T) {
	for h, ok := range map[string]bool{"mail.example.com": true, "a": true, "-a.example": false, "a-.example": false,
		"a..b": false, "": false, "under_score.example": false} {
		if Hostname(h) != ok {
			t.Errorf("Hostname(%q) = %v", h, !ok)
		}
	}
}

func TestQuoted(t *testing.T) {
	for name, ok := range map[string]bool{"Policy": true, "Exec list": true, "a.b_c-d": true, "": false,
		" lead": false, "trail ": false, `q"uote`: false, `back\slash`: false, "0123456789a": false} {
		if err := Quoted(name, 10); (err == nil) != ok {
			t.Errorf("Quoted(%q) = %v", name, err)
		}
	}
}
