package shell

import (
	"math"
	"strings"
	"testing"
)

func TestValidators(t *testing.T) {
	t.Parallel()
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		name   string
		v      Validator
		in     string
		want   string // normalized answer when accepted
		reason string // error text when refused
	}{
		{"nonempty ok", NonEmpty, " x y ", "x y", ""},
		{"nonempty blank", NonEmpty, "  ", "", "You must enter a value."},

		{"int ok", IntRange(1, 10), "7", "7", ""},
		{"int plus sign", IntRange(1, 10), "+7", "7", ""},
		{"int low", IntRange(1, 10), "0", "", "Value must be an integer from 1 to 10."},
		{"int high", IntRange(1, 10), "11", "", "Value must be an integer from 1 to 10."},
		{"int word", IntRange(1, 10), "ten", "", "Value must be an integer from 1 to 10."},
		{"int open top", IntRange(0, math.MaxInt), "-1", "", "Value must be an integer of at least 0."},
		{"int open bottom", IntRange(math.MinInt, 5), "6", "", "Value must be an integer of at most 5."},
		{"int open", IntRange(math.MinInt, math.MaxInt), "1.5", "", "Value must be an integer."},

		{"host ok", Hostname, "Mail.Example.COM.", "mail.example.com", ""},
		{"host single label", Hostname, "localhost", "localhost", ""},
		{"host 63", Hostname, long63 + ".com", long63 + ".com", ""},
		{"host 64", Hostname, long63 + "a.com", "", "A hostname must not have a label longer than 63 characters."},
		{"host too long", Hostname, strings.Repeat(long63+".", 4) + "com", "", "A hostname must be at most 253 characters long."},
		{"host underscore", Hostname, "a_b.com", "", `Invalid hostname format "a_b.com": labels may only contain letters, digits and hyphens.`},
		{"host hyphen", Hostname, "a.-b.com", "", "A hostname must not have a label that starts or ends with a hyphen."},
		{"host hyphen end", Hostname, "a-.com", "", "A hostname must not have a label that starts or ends with a hyphen."},
		{"host empty label", Hostname, ".com", "", `Invalid hostname format ".com": it has an empty label (two dots in a row or a leading dot).`},
		{"host space", Hostname, "a b", "", `Invalid hostname format "a b": labels may only contain letters, digits and hyphens.`},
		{"host dot only", Hostname, ".", "", "You must enter a value."},

		{"domain underscore", Domain, "Sel._DomainKey.Example.com", "sel._domainkey.example.com", ""},
		{"domain slash", Domain, "example.com/x", "", `Invalid domain format "example.com/x": labels may only contain letters, digits, hyphens and underscores.`},

		{"ip4", IPAddr, " 192.0.2.1 ", "192.0.2.1", ""},
		{"ip6 canonical", IPAddr, "2001:DB8:0:0::1", "2001:db8::1", ""},
		{"ip bad octet", IPAddr, "192.0.2.256", "", `Invalid IP or IP range "192.0.2.256": enter an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1.`},
		{"ip zone", IPAddr, "fe80::1%eth0", "", `Invalid IP or IP range "fe80::1%eth0": enter an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1.`},
		{"ip host name", IPAddr, "example.com", "", `Invalid IP or IP range "example.com": enter an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1.`},

		{"cidr4", CIDR, "192.0.2.7/24", "192.0.2.0/24", ""},
		{"cidr6", CIDR, "2001:DB8::/32", "2001:db8::/32", ""},
		{"cidr no length", CIDR, "192.0.2.0", "", "A CIDR address is an IP address, a slash and a prefix length, such as 192.0.2.0/24 or 2001:db8::/32."},
		{"cidr too long", CIDR, "192.0.2.0/33", "", "A CIDR address is an IP address, a slash and a prefix length, such as 192.0.2.0/24 or 2001:db8::/32."},

		{"email ok", Email, "Admin.Team+x@Example.COM", "Admin.Team+x@example.com", ""},
		{"email no at", Email, "admin", "", `An email address is a localname, an "@" and a domain, such as admin@example.com.`},
		{"email no local", Email, "@example.com", "", `An email address is a localname, an "@" and a domain, such as admin@example.com.`},
		{"email no domain", Email, "admin@", "", `An email address is a localname, an "@" and a domain, such as admin@example.com.`},
		{"email double dot", Email, "a..b@example.com", "", `An email address is a localname, an "@" and a domain; the localname "a..b" is not valid.`},
		{"email space", Email, "a b@example.com", "", `An email address is a localname, an "@" and a domain; the localname "a b" is not valid.`},
		{"email local too long", Email, strings.Repeat("a", 65) + "@example.com", "", `An email address is a localname, an "@" and a domain; the localname "` + strings.Repeat("a", 65) + `" is not valid.`},
		{"email bad domain", Email, "a@exa mple.com", "", `The email domain must be a valid hostname: "exa mple.com" is not.`},
		{"email two ats", Email, "a@b@example.com", "", `An email address is a localname, an "@" and a domain; the localname "a@b" is not valid.`},

		{"file ok", Filename, "config-2024_01.xml", "config-2024_01.xml", ""},
		{"file slash", Filename, "a/b", "", fileReason},
		{"file dotdot", Filename, "..", "", fileReason},
		{"file hidden", Filename, ".profile", "", fileReason},
		{"file space", Filename, "my file", "", fileReason},
		{"file long", Filename, strings.Repeat("f", 256), "", fileReason},
	}
	for _, tt := range tests {
		got, err := tt.v(tt.in)
		if tt.reason != "" {
			if err == nil || err.Error() != tt.reason {
				t.Errorf("%s: %q gave (%q, %v), want reason %q", tt.name, tt.in, got, err, tt.reason)
			}
			if strings.Contains(tt.reason, "\n") {
				t.Errorf("%s: reason must be one line", tt.name)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q gave (%q, %v), want %q", tt.name, tt.in, got, err, tt.want)
		}
	}
}

const fileReason = `Valid characters are letters, digits, ".", "-" and "_"; the name must not start with "." and is at most 255 characters long.`
