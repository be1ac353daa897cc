package dkim

import "strings"

// Profile users (seed 004 step 13): a signing profile applies to the
// e-mail addresses, domains and subdomains listed as its users, and when
// several profiles match an address the most specific one is used
// ("joe@example.com" over "example.com").

// UserMatch scores how specifically a profile user entry matches an
// address; 0 means no match. An address entry ("joe@example.com") beats a
// domain entry ("example.com" or "@example.com"), which beats a subdomain
// entry (".example.com", any domain below it); longer entries beat shorter
// ones of the same kind. Comparison ignores case.
func UserMatch(user, addr string) int {
	user = strings.ToLower(strings.TrimSpace(user))
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || user == "" {
		return 0
	}
	domain := addr[at+1:]
	switch {
	case strings.HasPrefix(user, "@"):
		if user[1:] == domain {
			return 2000 + len(user)
		}
	case strings.Contains(user, "@"):
		if user == addr {
			return 3000 + len(user)
		}
	case strings.HasPrefix(user, "."):
		if strings.HasSuffix(domain, user) {
			return 1000 + len(user)
		}
	case user == domain:
		return 2000 + len(user)
	}
	return 0
}

// BestProfile returns the index of the profile whose users match addr most
// specifically, given each profile's user list and domain; a profile with
// no users signs for all users of its own domain (ESA-CLI §2.4 question 12:
// "press Enter to sign for all users of the domain"). Ties go to the
// earlier profile.
func BestProfile(addr string, domains []string, users [][]string) (int, bool) {
	best, bestScore := -1, 0
	for i := range domains {
		list := users[i]
		if len(list) == 0 {
			list = []string{domains[i]}
		}
		for _, u := range list {
			if s := UserMatch(u, addr); s > bestScore {
				best, bestScore = i, s
			}
		}
	}
	return best, best >= 0
}
