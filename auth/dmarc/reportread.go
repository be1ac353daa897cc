package dmarc

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxReadSize bounds what ReadReport decompresses, so a small zip or gzip
// bomb cannot exhaust memory.
const MaxReadSize = 64 << 20

// Feedback is an aggregate report as read from someone else. Real reports are
// not schema-clean (float timestamps, missing envelope_from, namespaces,
// "Pass" in capitals, DMARCbis elements), so values stay close to the text:
// lower-cased words, strings where a number may be malformed.
type Feedback struct {
	Version          string
	OrgName          string
	Email            string
	ExtraContactInfo string
	ReportID         string
	Begin, End       time.Time
	Errors           []string
	Policy           FeedbackPolicy
	Records          []FeedbackRecord
}

// FeedbackPolicy is policy_published as read.
type FeedbackPolicy struct {
	Domain, ADKIM, ASPF, P, SP, NP, Pct, FO, Testing, DiscoveryMethod string
}

// FeedbackRecord is one record as read.
type FeedbackRecord struct {
	SourceIP                             string
	Count                                int
	Disposition, DKIM, SPF               string
	Reasons                              []Reason
	EnvelopeTo, EnvelopeFrom, HeaderFrom string
	DKIMResults                          []DKIMResult
	SPFResults                           []SPFResult
}

// ReadReport reads an aggregate report in any of the forms mailboxes receive:
// plain XML, gzip, zip, or a whole mail message carrying one of those as an
// attachment. Element names match without their namespace, so RFC 7489 and
// DMARCbis (urn:ietf:params:xml:ns:dmarc-2.0) reports read alike.
func ReadReport(data []byte) (*Feedback, error) {
	return readAny(data, 0)
}

var errNoReport = errors.New("no aggregate report found")

func readAny(data []byte, depth int) (*Feedback, error) {
	if depth > 4 {
		return nil, errors.New("aggregate report nested too deeply")
	}
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		plain, err := readLimited(zr)
		if errors.Is(err, io.ErrUnexpectedEOF) && len(plain) > 0 {
			// Some senders (Mimecast) cut the gzip trailer off; the XML
			// parser judges whether what came out is whole.
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readAny(plain, depth+1)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return readZip(data, depth)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if bytes.HasPrefix(trimmed, []byte("<")) {
		return decodeFeedback(trimmed)
	}
	return readMail(data, depth)
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxReadSize+1))
	if err != nil {
		return b, err
	}
	if len(b) > MaxReadSize {
		return nil, fmt.Errorf("report larger than %d bytes", MaxReadSize)
	}
	return b, nil
}

func readZip(data []byte, depth int) (*Feedback, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	var firstErr error
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		b, err := readLimited(rc)
		rc.Close()
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		fb, err := readAny(b, depth+1)
		if err == nil {
			return fb, nil
		}
		firstErr = cmpErr(firstErr, err)
	}
	if firstErr == nil {
		firstErr = errNoReport
	}
	return nil, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// readMail looks through a message's MIME parts for the report.
func readMail(data []byte, depth int) (*Feedback, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("neither XML, gzip, zip nor a mail message: %w", err)
	}
	return readPart(msg.Header, msg.Body, depth)
}

// header is what mail.Header and a MIME part's header share.
type header interface{ Get(string) string }

func readPart(h header, body io.Reader, depth int) (*Feedback, error) {
	if depth > 8 {
		return nil, errors.New("MIME nested too deeply")
	}
	ctype, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ctype = "text/plain"
	}
	if strings.HasPrefix(ctype, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var firstErr error
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				firstErr = cmpErr(firstErr, err)
				break
			}
			fb, err := readPart(p.Header, p, depth+1)
			if err == nil {
				return fb, nil
			}
			if !errors.Is(err, errNoReport) {
				firstErr = cmpErr(firstErr, err)
			}
		}
		if firstErr == nil {
			firstErr = errNoReport
		}
		return nil, firstErr
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	b, err := readLimited(body)
	if err != nil {
		return nil, err
	}
	// Content types are unreliable (application/octet-stream gzip parts
	// are common): decide on the bytes, but leave human-readable text alone.
	if strings.HasPrefix(ctype, "text/") && ctype != "text/xml" {
		if t := bytes.TrimSpace(b); !bytes.HasPrefix(t, []byte("<?xml")) && !bytes.HasPrefix(t, []byte("<feedback")) {
			return nil, errNoReport
		}
	}
	return readAny(b, depth+1)
}

// base64Cleaner drops the line breaks and stray spaces that some senders
// leave inside base64 bodies, which encoding/base64 would refuse.
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		j := 0
		for _, b := range p[:n] {
			if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// The lenient reading structs: strings everywhere a sender may write
// something unexpected.
type rFeedback struct {
	Version  string `xml:"version"`
	Metadata struct {
		OrgName          string   `xml:"org_name"`
		Email            string   `xml:"email"`
		ExtraContactInfo string   `xml:"extra_contact_info"`
		ReportID         string   `xml:"report_id"`
		Begin            string   `xml:"date_range>begin"`
		End              string   `xml:"date_range>end"`
		Errors           []string `xml:"error"`
	} `xml:"report_metadata"`
	Policy struct {
		Domain          string `xml:"domain"`
		DiscoveryMethod string `xml:"discovery_method"`
		ADKIM           string `xml:"adkim"`
		ASPF            string `xml:"aspf"`
		P               string `xml:"p"`
		SP              string `xml:"sp"`
		NP              string `xml:"np"`
		Pct             string `xml:"pct"`
		FO              string `xml:"fo"`
		Testing         string `xml:"testing"`
	} `xml:"policy_published"`
	Records []struct {
		Row struct {
			SourceIP  string `xml:"source_ip"`
			Count     string `xml:"count"`
			Evaluated struct {
				Disposition string `xml:"disposition"`
				DKIM        string `xml:"dkim"`
				SPF         string `xml:"spf"`
				Reasons     []struct {
					Type    string `xml:"type"`
					Comment string `xml:"comment"`
				} `xml:"reason"`
			} `xml:"policy_evaluated"`
		} `xml:"row"`
		Identifiers struct {
			EnvelopeTo   string `xml:"envelope_to"`
			EnvelopeFrom string `xml:"envelope_from"`
			HeaderFrom   string `xml:"header_from"`
		} `xml:"identifiers"`
		AuthResults struct {
			DKIM []struct {
				Domain   string `xml:"domain"`
				Selector string `xml:"selector"`
				Result   string `xml:"result"`
			} `xml:"dkim"`
			SPF []struct {
				Domain string `xml:"domain"`
				Scope  string `xml:"scope"`
				Result string `xml:"result"`
			} `xml:"spf"`
		} `xml:"auth_results"`
	} `xml:"record"`
}

func decodeFeedback(data []byte) (*Feedback, error) {
	if !utf8.Valid(data) {
		// Reports with stray Latin-1 bytes exist; keep what is readable.
		data = []byte(strings.ToValidUTF8(string(data), "\uFFFD"))
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		// The bytes are valid UTF-8 by now; a declared legacy charset is
		// read as UTF-8 rather than refused.
		return in, nil
	}
	// The report is the first <feedback> element, wherever it is: some
	// senders wrap it in a stray <xs:schema> element.
	var r rFeedback
	var start xml.StartElement
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, errors.New("XML: no <feedback> element")
		}
		if err != nil {
			return nil, fmt.Errorf("XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "feedback" {
			start = se
			break
		}
	}
	if err := dec.DecodeElement(&r, &start); err != nil {
		return nil, fmt.Errorf("XML: %w", err)
	}
	fb := &Feedback{
		Version:          strings.TrimSpace(r.Version),
		OrgName:          strings.TrimSpace(r.Metadata.OrgName),
		Email:            strings.TrimSpace(r.Metadata.Email),
		ExtraContactInfo: strings.TrimSpace(r.Metadata.ExtraContactInfo),
		ReportID:         strings.TrimSpace(r.Metadata.ReportID),
		Errors:           r.Metadata.Errors,
		Policy: FeedbackPolicy{
			Domain: word(r.Policy.Domain), ADKIM: word(r.Policy.ADKIM), ASPF: word(r.Policy.ASPF),
			P: word(r.Policy.P), SP: word(r.Policy.SP), NP: word(r.Policy.NP), Pct: word(r.Policy.Pct),
			FO: word(r.Policy.FO), Testing: word(r.Policy.Testing), DiscoveryMethod: word(r.Policy.DiscoveryMethod),
		},
	}
	var err error
	if fb.Begin, err = epoch(r.Metadata.Begin); err != nil {
		return nil, fmt.Errorf("date_range begin: %w", err)
	}
	if fb.End, err = epoch(r.Metadata.End); err != nil {
		return nil, fmt.Errorf("date_range end: %w", err)
	}
	for _, x := range r.Records {
		rec := FeedbackRecord{
			SourceIP:     strings.TrimSpace(x.Row.SourceIP),
			Disposition:  word(x.Row.Evaluated.Disposition),
			DKIM:         word(x.Row.Evaluated.DKIM),
			SPF:          word(x.Row.Evaluated.SPF),
			EnvelopeTo:   word(x.Identifiers.EnvelopeTo),
			EnvelopeFrom: word(x.Identifiers.EnvelopeFrom),
			HeaderFrom:   word(x.Identifiers.HeaderFrom),
		}
		if c := strings.TrimSpace(x.Row.Count); c != "" {
			n, err := strconv.Atoi(c)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("record count %q", c)
			}
			rec.Count = n
		}
		for _, reason := range x.Row.Evaluated.Reasons {
			rec.Reasons = append(rec.Reasons, Reason{Type: OverrideReason(word(reason.Type)), Comment: strings.TrimSpace(reason.Comment)})
		}
		for _, d := range x.AuthResults.DKIM {
			rec.DKIMResults = append(rec.DKIMResults, DKIMResult{Domain: word(d.Domain), Selector: strings.TrimSpace(d.Selector), Result: AuthResult(word(d.Result))})
		}
		for _, s := range x.AuthResults.SPF {
			rec.SPFResults = append(rec.SPFResults, SPFResult{Domain: word(s.Domain), Scope: SPFScope(word(s.Scope)), Result: AuthResult(word(s.Result))})
		}
		fb.Records = append(fb.Records, rec)
	}
	return fb, nil
}

func word(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// epoch reads seconds since 1970, also as the "1337270400.0" some senders
// write; an empty value is the zero time.
func epoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e12 {
		return time.Time{}, fmt.Errorf("not a timestamp: %q", s)
	}
	return time.Unix(int64(f), 0).UTC(), nil
}
