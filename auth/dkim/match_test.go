package dkim

import "testing"

func TestUserMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user, addr string
		match      bool
	}{
		{"joe@example.com", "joe@example.com", true},
		{"Joe@Example.COM", "joe@example.com", true},
		{"joe@example.com", "adam@example.com", false},
		{"example.com", "adam@example.com", true},
		{"@example.com", "adam@example.com", true},
		{"example.com", "adam@mail.example.com", false},
		{".example.com", "adam@mail.example.com", true},
		{".example.com", "adam@example.com", false},
		{"example.com", "not-an-address", false},
		{"", "adam@example.com", false},
	} {
		if got := UserMatch(tc.user, tc.addr) > 0; got != tc.match {
			t.Errorf("UserMatch(%q, %q) = %v, want %v", tc.user, tc.addr, got, tc.match)
		}
	}
}

// Seed 004 step 13: with profiles for example.com and joe@example.com, mail
// from joe uses the second, mail from adam the first.
func TestBestProfile(t *testing.T) {
	t.Parallel()
	domains := []string{"example.com", "example.com", "example.com", "example.org"}
	users := [][]string{{"example.com"}, {"joe@example.com"}, {".example.com"}, nil}
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"joe@example.com", 1},
		{"adam@example.com", 0},
		{"adam@sales.example.com", 2},
		{"ann@example.org", 3}, // no users: all users of its domain
		{"x@example.net", -1},
	} {
		got, ok := BestProfile(tc.addr, domains, users)
		if got != tc.want || ok != (tc.want >= 0) {
			t.Errorf("BestProfile(%q) = %d, %v; want %d", tc.addr, got, ok, tc.want)
		}
	}
}
