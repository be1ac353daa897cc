package domainkeys

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The IMPORT/EXPORT files of domainkeysconfig. No appliance export file was
// found (ESA-CLI §2.8), so the format is the emulation it suggests: plain
// text, one block per object separated by blank lines, "key=value" lines;
// a key block ends with its PEM private key. Lines starting with '#' are
// comments. An import replaces the whole list (issue 16: "IMPORT/EXPORT all
// keys as one file that replaces all on import").

// MaxFile bounds an import file: a thousand 2048-bit keys fit well below it.
const MaxFile = 4 << 20

// FormatKeys writes the keys file.
func FormatKeys(keys []Key) string {
	var b strings.Builder
	b.WriteString("# domainkeysconfig signing keys\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "\nname=%s\n%s", k.Name, strings.TrimRight(string(k.Key), "\n")+"\n")
	}
	return b.String()
}

// FormatProfiles writes the signing profiles file.
func FormatProfiles(ps []SigningProfile) string {
	var b strings.Builder
	b.WriteString("# domainkeysconfig signing profiles\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "\nname=%s\ntype=%s\ndomain=%s\nselector=%s\nkey_name=%s\nheader_canonicalization=%s\n", p.Name, p.Type, p.Domain, p.Selector, p.KeyName, p.HeaderCanon)
		if p.Type == TypeDKIM {
			var tags []string
			if p.TagQ {
				tags = append(tags, "q")
			}
			if p.TagT {
				tags = append(tags, "t")
			}
			if p.TagZ {
				tags = append(tags, "z")
			}
			if p.SecondKey != "" {
				fmt.Fprintf(&b, "second_key=%s\nsecond_selector=%s\n", p.SecondKey, p.SecondSelector)
			}
			fmt.Fprintf(&b, "body_canonicalization=%s\nheaders=%s\nextra_headers=%s\nbody_length=%s\nbody_length_bytes=%d\nidentity=%s\ntags=%s\nexpiration=%d\n",
				p.BodyCanon, p.Headers, strings.Join(p.ExtraHeaders, ","), p.BodyLength, p.BodyLengthBytes, p.Identity, strings.Join(tags, ","), p.Expiration)
		}
		fmt.Fprintf(&b, "users=%s\n", strings.Join(p.Users, ","))
	}
	return b.String()
}

// blocks splits a file into blocks of lines; PEM lines stay in their block.
func blocks(text string) ([][]string, error) {
	var out [][]string
	var cur []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out, nil
}

// ParseKeys reads a keys file. Every key must parse; names must be valid
// and distinct. The result replaces the table's keys.
func ParseKeys(text string) ([]Key, error) {
	bs, err := blocks(text)
	if err != nil {
		return nil, err
	}
	var keys []Key
	t := Table{}
	for i, b := range bs {
		name, ok := strings.CutPrefix(b[0], "name=")
		if !ok {
			return nil, fmt.Errorf("block %d: Expecting name=", i+1)
		}
		k := Key{Name: name, Key: PrivateKey(strings.Join(b[1:], "\n") + "\n")}
		if err := ValidName(name); err != nil {
			return nil, fmt.Errorf("key %d: %v", i+1, err)
		}
		if t.FindKey(name) >= 0 {
			return nil, fmt.Errorf("key %q is listed twice", name)
		}
		if _, err := k.Parse(); err != nil {
			return nil, fmt.Errorf("key %q: %v", name, err)
		}
		keys = append(keys, k)
		t.Keys = keys
	}
	return keys, nil
}

// ParseProfiles reads a signing profiles file. Fields are checked by the
// table's validator when the profiles are stored (the keys they name must
// exist then); here the syntax and the numbers.
func ParseProfiles(text string) ([]SigningProfile, error) {
	bs, err := blocks(text)
	if err != nil {
		return nil, err
	}
	var ps []SigningProfile
	for i, b := range bs {
		var p SigningProfile
		seen := map[string]bool{}
		for _, line := range b {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("profile %d: Expecting key=value, got %q", i+1, line)
			}
			if seen[k] {
				return nil, fmt.Errorf("profile %d: %s given twice", i+1, k)
			}
			seen[k] = true
			list := func() []string {
				if v == "" {
					return nil
				}
				return strings.Split(v, ",")
			}
			switch k {
			case "name":
				p.Name = v
			case "type":
				p.Type = v
			case "domain":
				p.Domain = v
			case "selector":
				p.Selector = v
			case "key_name":
				p.KeyName = v
			case "second_key":
				p.SecondKey = v
			case "second_selector":
				p.SecondSelector = v
			case "header_canonicalization":
				p.HeaderCanon = v
			case "body_canonicalization":
				p.BodyCanon = v
			case "headers":
				p.Headers = v
			case "extra_headers":
				p.ExtraHeaders = list()
			case "body_length":
				p.BodyLength = v
			case "body_length_bytes", "expiration":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("profile %d: %s: Expecting a number, got %q", i+1, k, v)
				}
				if k == "expiration" {
					p.Expiration = n
				} else {
					p.BodyLengthBytes = n
				}
			case "identity":
				p.Identity = v
			case "tags":
				for _, tg := range list() {
					switch tg {
					case "q":
						p.TagQ = true
					case "t":
						p.TagT = true
					case "z":
						p.TagZ = true
					default:
						return nil, fmt.Errorf("profile %d: unknown tag %q", i+1, tg)
					}
				}
			case "users":
				p.Users = list()
			default:
				return nil, fmt.Errorf("profile %d: unknown field %q", i+1, k)
			}
		}
		if p.Name == "" {
			return nil, fmt.Errorf("profile %d: Expecting name=", i+1)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil, errors.New("Expecting at least one profile")
	}
	return ps, nil
}

// FormatVerification writes the verification profiles file.
func FormatVerification(vs []VerificationProfile) string {
	var b strings.Builder
	b.WriteString("# domainkeysconfig verification profiles\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "\nname=%s\nmin_key_bits=%d\nmax_key_bits=%d\nmax_signatures=%d\nkey_query_timeout=%d\nclock_skew=%d\nhonor_body_length=%t\ntempfail_reject=%t\ntempfail_code=%d\ntempfail_text=%s\npermfail_reject=%t\npermfail_code=%d\npermfail_text=%s\n",
			v.Name, v.MinKeyBits, v.MaxKeyBits, v.MaxSignatures, v.KeyQueryTimeout, v.ClockSkew, v.HonorBodyLength,
			v.TempFailReject, v.TempFailCode, v.TempFailText, v.PermFailReject, v.PermFailCode, v.PermFailText)
	}
	return b.String()
}

// ParseVerification reads a verification profiles file; each profile
// starts from the DEFAULT values, so a file may give only what differs.
func ParseVerification(text string) ([]VerificationProfile, error) {
	bs, err := blocks(text)
	if err != nil {
		return nil, err
	}
	var vs []VerificationProfile
	for i, b := range bs {
		v := DefaultVerification()
		v.Name = ""
		seen := map[string]bool{}
		for _, line := range b {
			k, val, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("profile %d: Expecting key=value, got %q", i+1, line)
			}
			if seen[k] {
				return nil, fmt.Errorf("profile %d: %s given twice", i+1, k)
			}
			seen[k] = true
			num := func(dst *int) error {
				n, err := strconv.Atoi(val)
				if err != nil {
					return fmt.Errorf("profile %d: %s: Expecting a number, got %q", i+1, k, val)
				}
				*dst = n
				return nil
			}
			flag := func(dst *bool) error {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return fmt.Errorf("profile %d: %s: Expecting true or false, got %q", i+1, k, val)
				}
				*dst = b
				return nil
			}
			switch k {
			case "name":
				v.Name = val
			case "min_key_bits":
				err = num(&v.MinKeyBits)
			case "max_key_bits":
				err = num(&v.MaxKeyBits)
			case "max_signatures":
				err = num(&v.MaxSignatures)
			case "key_query_timeout":
				err = num(&v.KeyQueryTimeout)
			case "clock_skew":
				err = num(&v.ClockSkew)
			case "honor_body_length":
				err = flag(&v.HonorBodyLength)
			case "tempfail_reject":
				err = flag(&v.TempFailReject)
			case "tempfail_code":
				err = num(&v.TempFailCode)
			case "tempfail_text":
				v.TempFailText = val
			case "permfail_reject":
				err = flag(&v.PermFailReject)
			case "permfail_code":
				err = num(&v.PermFailCode)
			case "permfail_text":
				v.PermFailText = val
			default:
				err = fmt.Errorf("profile %d: unknown field %q", i+1, k)
			}
			if err != nil {
				return nil, err
			}
		}
		if v.Name == "" {
			return nil, fmt.Errorf("profile %d: Expecting name=", i+1)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, errors.New("Expecting at least one profile")
	}
	return vs, nil
}
