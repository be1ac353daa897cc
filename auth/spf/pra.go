package spf

import (
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// addrParser reads mailboxes whatever the charset of an encoded-word in
// the display name (ISO-2022-JP is common): only the address matters
// here, and an unknown charset must not make a From: "malformed".
var addrParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// HeaderField is one header field of a message, in message order, with its
// value unfolded or not (both are accepted).
type HeaderField struct {
	Name, Value string
}

// Errors of PRA extraction: RFC 4407 §2 step 6, "impossible to determine a
// Purported Responsible Address", for its two causes.
var (
	ErrNoPRA        = errors.New("spf: no header names a purported responsible address")
	ErrMalformedPRA = errors.New("spf: purported responsible address header is malformed")
)

// ResponsibleAddress is the Purported Responsible Address of a message and the header it
// came from.
type ResponsibleAddress struct {
	Address string // local@domain
	Header  string // the header field name, in its canonical spelling
}

func nonEmpty(f HeaderField) bool { return strings.TrimSpace(f.Value) != "" }

// ExtractPRA finds the PRA by the algorithm of RFC 4407 §2. The error is
// ErrNoPRA or ErrMalformedPRA (wrapped with detail).
func ExtractPRA(h []HeaderField) (ResponsibleAddress, error) {
	first := func(name string) int {
		for i, f := range h {
			if strings.EqualFold(f.Name, name) && nonEmpty(f) {
				return i
			}
		}
		return -1
	}
	// Step 1: the first non-empty Resent-Sender, unless a non-empty
	// Resent-From precedes it with a Received or Return-Path in between
	// (the Resent-Sender then belongs to an older resending).
	if rs := first("Resent-Sender"); rs >= 0 {
		rf := first("Resent-From")
		older := false
		if rf >= 0 && rf < rs {
			for _, f := range h[rf+1 : rs] {
				if strings.EqualFold(f.Name, "Received") || strings.EqualFold(f.Name, "Return-Path") {
					older = true
					break
				}
			}
		}
		if !older {
			return praFrom(h[rs], "Resent-Sender")
		}
	}
	// Step 2: the first non-empty Resent-From.
	if rf := first("Resent-From"); rf >= 0 {
		return praFrom(h[rf], "Resent-From")
	}
	// Step 3: the non-empty Sender headers; exactly one is required.
	if s := all(h, "Sender"); len(s) == 1 {
		return praFrom(s[0], "Sender")
	} else if len(s) > 1 {
		return ResponsibleAddress{}, errors.Join(ErrMalformedPRA, errors.New("more than one Sender header"))
	}
	// Step 4: exactly one non-empty From.
	switch f := all(h, "From"); len(f) {
	case 1:
		return praFrom(f[0], "From")
	case 0:
		return ResponsibleAddress{}, ErrNoPRA
	default:
		return ResponsibleAddress{}, errors.Join(ErrMalformedPRA, errors.New("more than one From header"))
	}
}

func all(h []HeaderField, name string) []HeaderField {
	var out []HeaderField
	for _, f := range h {
		if strings.EqualFold(f.Name, name) && nonEmpty(f) {
			out = append(out, f)
		}
	}
	return out
}

// praFrom is step 5: the selected header must hold exactly one mailbox
// with a domain.
func praFrom(f HeaderField, name string) (ResponsibleAddress, error) {
	v := strings.NewReplacer("\r\n", "", "\n", "").Replace(f.Value)
	list, err := addrParser.ParseList(v)
	if err != nil {
		return ResponsibleAddress{}, errors.Join(ErrMalformedPRA, errors.New(name+": "+err.Error()))
	}
	if len(list) != 1 {
		return ResponsibleAddress{}, errors.Join(ErrMalformedPRA, errors.New(name+" does not hold exactly one mailbox"))
	}
	addr := list[0].Address
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return ResponsibleAddress{}, errors.Join(ErrMalformedPRA, errors.New(name+": mailbox without a domain"))
	}
	return ResponsibleAddress{Address: addr, Header: name}, nil
}
