package dmarc

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxReportSize is the largest aggregate report payload the appliance sends
// to anyone: 10 MB, the limit the appliance documents and the "commonly
// observed receiver limit" of RFC 7489 §7.2.1.1.
const MaxReportSize = 10 << 20

// Reason is a policy_evaluated reason: why the applied disposition differs
// from the requested policy (RFC 7489 Appendix C PolicyOverrideReason).
type Reason struct {
	Type    OverrideReason
	Comment string
}

// OverrideLocalPolicy and the other Appendix C types, for the caller's own
// overrides (the appliance's profile actions).
const (
	OverrideForwarded        OverrideReason = "forwarded"
	OverrideTrustedForwarder OverrideReason = "trusted_forwarder"
	OverrideMailingList      OverrideReason = "mailing_list"
	OverrideLocalPolicy      OverrideReason = "local_policy"
	OverrideOther            OverrideReason = "other"
)

// Row is one <record> of an aggregate report: messages from one source IP
// that share every evaluated and raw result (RFC 7489 §7.2, Appendix C).
type Row struct {
	SourceIP netip.Addr
	Count    int
	// Disposition is the disposition applied; DKIM and SPF are the
	// policy_evaluated results: true when that mechanism gave an aligned
	// pass.
	Disposition Policy
	DKIM, SPF   bool
	Reasons     []Reason
	// Identifiers. EnvelopeTo is optional.
	EnvelopeTo, EnvelopeFrom, HeaderFrom string
	// The raw results, uninterpreted with respect to DMARC.
	DKIMResults []DKIMResult
	SPFResults  []SPFResult
}

// NewRow is the row for one evaluated message. It reports false when the
// result carries no policy record (none, temperror, permerror): there is no
// Domain Owner to report to. Disposition is the one DMARC asked for; a
// caller whose local policy did something else uses Row.Applied.
func NewRow(ip netip.Addr, envelopeTo, envelopeFrom string, in Input, res Result) (Row, bool) {
	if res.Record == nil || (res.Verdict != VerdictPass && res.Verdict != VerdictFail) {
		return Row{}, false
	}
	row := Row{
		SourceIP:     ip.Unmap(),
		Count:        1,
		Disposition:  res.Disposition,
		DKIM:         res.DKIMAligned,
		SPF:          res.SPFAligned,
		EnvelopeTo:   strings.ToLower(envelopeTo),
		EnvelopeFrom: strings.ToLower(envelopeFrom),
		HeaderFrom:   res.FromDomain,
	}
	if res.Override != "" {
		row.Reasons = append(row.Reasons, Reason{Type: res.Override})
	}
	for _, d := range in.DKIM {
		row.DKIMResults = append(row.DKIMResults, DKIMResult{
			Domain: strings.ToLower(strings.TrimSuffix(d.Domain, ".")), Selector: d.Selector, Result: d.Result})
	}
	spf := in.SPF
	spf.Domain = strings.ToLower(strings.TrimSuffix(spf.Domain, "."))
	if spf.Scope == "" {
		spf.Scope = ScopeMailFrom
	}
	if spf.Result == "" {
		// Appendix C wants at least one SPF result; a message SPF was not
		// run on has "none" for its envelope domain.
		spf.Result = ResultNone
		if spf.Domain == "" {
			spf.Domain = row.EnvelopeFrom
		}
	}
	row.SPFResults = []SPFResult{spf}
	return row, true
}

// Applied records that the receiver applied another disposition than the
// DMARC one (a profile's "no action" for p=reject, say), with the reason the
// report gives.
func (r *Row) Applied(d Policy, why OverrideReason, comment string) {
	if d == r.Disposition {
		return
	}
	r.Disposition = d
	r.Reasons = append(r.Reasons, Reason{Type: why, Comment: comment})
}

// key is everything but Count: rows with the same key merge.
func (r *Row) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%t|%t|%s|%s|%s", r.SourceIP, r.Disposition, r.DKIM, r.SPF, r.EnvelopeTo, r.EnvelopeFrom, r.HeaderFrom)
	for _, x := range r.Reasons {
		fmt.Fprintf(&b, "|r:%s:%q", x.Type, x.Comment)
	}
	for _, x := range r.DKIMResults {
		fmt.Fprintf(&b, "|d:%s:%q:%s", x.Domain, x.Selector, x.Result)
	}
	for _, x := range r.SPFResults {
		fmt.Fprintf(&b, "|s:%s:%s:%s", x.Domain, x.Scope, x.Result)
	}
	return b.String()
}

// PublishedPolicy is the policy_published element: the record as the
// receiver applied it.
type PublishedPolicy struct {
	Domain      string
	ADKIM, ASPF Alignment
	P, SP       Policy
	Pct         int
	FO          string
	// DMARCbis fields, kept for a later DMARCbis-format report.
	NP        Policy
	Testing   bool
	Discovery string
}

// Published is the policy_published for a record found at domain.
func Published(domain string, rec *Record, discovery string) PublishedPolicy {
	sp := rec.SP
	if sp == PolicyUnset {
		sp = rec.P // what subdomains actually get
	}
	return PublishedPolicy{Domain: domain, ADKIM: rec.ADKIM, ASPF: rec.ASPF, P: rec.P, SP: sp,
		Pct: rec.Pct, FO: rec.FO, NP: rec.NP, Testing: rec.Testing, Discovery: discovery}
}

// Report is one aggregate report: one policy domain, one period.
type Report struct {
	OrgName          string // the reporting entity
	Email            string
	ExtraContactInfo string
	ReportID         string
	Begin, End       time.Time
	Errors           []string
	Policy           PublishedPolicy
	// RUA is where the report goes (not part of the XML).
	RUA  []ReportURI
	Rows []Row
	// Format picks the document Build renders: RFC 7489 Appendix C (the
	// zero value) or the DMARCbis aggregate format.
	Format Mode

	index map[string]int
}

// Add merges row into the report: a row equal in everything but the count
// adds its count to the existing one.
func (r *Report) Add(row Row) {
	if row.Count <= 0 {
		row.Count = 1
	}
	if r.index == nil {
		r.index = make(map[string]int, len(r.Rows))
		for i := range r.Rows {
			r.index[r.Rows[i].key()] = i
		}
	}
	k := row.key()
	if i, ok := r.index[k]; ok {
		r.Rows[i].Count += row.Count
		return
	}
	r.index[k] = len(r.Rows)
	r.Rows = append(r.Rows, row)
}

// Collector gathers one reporting period's rows into one Report per policy
// domain. It is a plain value the caller owns and locks; the store keeps
// its Reports between runs.
type Collector struct {
	Begin, End time.Time
	Reports    map[string]*Report
}

// Add files the row of one evaluated message under its policy domain; the
// newest record seen sets policy_published and rua (RFC 7489 §7.2 lets a
// report mix the policies of one period). It reports false when the result
// has no policy record or its domain asked for no aggregate reports.
func (c *Collector) Add(res Result, row Row) bool {
	if res.Record == nil || len(res.Record.RUA) == 0 {
		return false
	}
	if c.Reports == nil {
		c.Reports = map[string]*Report{}
	}
	rep := c.Reports[res.PolicyDomain]
	if rep == nil {
		rep = &Report{Begin: c.Begin, End: c.End}
		c.Reports[res.PolicyDomain] = rep
	}
	rep.Policy = Published(res.PolicyDomain, res.Record, res.Discovery)
	rep.RUA = res.Record.RUA
	if res.Discovery == "treewalk" {
		rep.Format = DMARCbis
	}
	rep.Add(row)
	return true
}

// Domains lists the collected policy domains in order.
func (c *Collector) Domains() []string {
	out := make([]string, 0, len(c.Reports))
	for d := range c.Reports {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// The Appendix C document. Element order follows the schema's sequences and
// the appliance's example report.
type xmlFeedback struct {
	XMLName  xml.Name          `xml:"feedback"`
	Version  string            `xml:"version"`
	Metadata xmlReportMetadata `xml:"report_metadata"`
	Policy   xmlPolicy         `xml:"policy_published"`
	Records  []xmlRecord       `xml:"record"`
}

type xmlReportMetadata struct {
	OrgName          string       `xml:"org_name"`
	Email            string       `xml:"email"`
	ExtraContactInfo string       `xml:"extra_contact_info,omitempty"`
	ReportID         string       `xml:"report_id"`
	DateRange        xmlDateRange `xml:"date_range"`
	Errors           []string     `xml:"error,omitempty"`
}

type xmlDateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

type xmlPolicy struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim"`
	ASPF   string `xml:"aspf"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    int    `xml:"pct"`
	FO     string `xml:"fo,omitempty"`
}

type xmlRecord struct {
	Row         xmlRow         `xml:"row"`
	Identifiers xmlIdentifiers `xml:"identifiers"`
	AuthResults xmlAuthResults `xml:"auth_results"`
}

type xmlRow struct {
	SourceIP  string            `xml:"source_ip"`
	Count     int               `xml:"count"`
	Evaluated xmlPolicyEvaluted `xml:"policy_evaluated"`
}

type xmlPolicyEvaluted struct {
	Disposition string      `xml:"disposition"`
	DKIM        string      `xml:"dkim"`
	SPF         string      `xml:"spf"`
	Reasons     []xmlReason `xml:"reason"`
}

type xmlReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

type xmlIdentifiers struct {
	EnvelopeTo   string `xml:"envelope_to,omitempty"`
	EnvelopeFrom string `xml:"envelope_from"`
	HeaderFrom   string `xml:"header_from"`
}

type xmlAuthResults struct {
	DKIM []xmlDKIM `xml:"dkim"`
	SPF  []xmlSPF  `xml:"spf"`
}

type xmlDKIM struct {
	Domain   string `xml:"domain"`
	Selector string `xml:"selector"`
	Result   string `xml:"result"`
}

type xmlSPF struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope"`
	Result string `xml:"result"`
}

// ErrEmptyReport: a report without rows is not sent (the schema needs at
// least one record).
var ErrEmptyReport = errors.New("aggregate report has no records")

// XML renders the report in the RFC 7489 Appendix C format, as the appliance's
// example shows it.
func (r *Report) XML() ([]byte, error) {
	if len(r.Rows) == 0 {
		return nil, ErrEmptyReport
	}
	pol := r.Policy
	doc := xmlFeedback{
		Version: "1.0",
		Metadata: xmlReportMetadata{
			OrgName: r.OrgName, Email: r.Email, ExtraContactInfo: r.ExtraContactInfo, ReportID: r.ReportID,
			DateRange: xmlDateRange{Begin: r.Begin.Unix(), End: r.End.Unix()},
			Errors:    r.Errors,
		},
		Policy: xmlPolicy{Domain: pol.Domain, ADKIM: pol.ADKIM.String(), ASPF: pol.ASPF.String(),
			P: policyOrNone(pol.P), SP: policyOrNone(pol.SP), Pct: pol.Pct},
	}
	if pol.FO != "" && pol.FO != "0" {
		// Only a non-default fo is shown, as in the appliance's example.
		doc.Policy.FO = pol.FO
	}
	for _, row := range r.Rows {
		x := xmlRecord{
			Row: xmlRow{SourceIP: reportIP(row.SourceIP), Count: row.Count, Evaluated: xmlPolicyEvaluted{
				Disposition: policyOrNone(row.Disposition), DKIM: passFail(row.DKIM), SPF: passFail(row.SPF)}},
			Identifiers: xmlIdentifiers{EnvelopeTo: row.EnvelopeTo, EnvelopeFrom: row.EnvelopeFrom, HeaderFrom: row.HeaderFrom},
		}
		for _, reason := range row.Reasons {
			x.Row.Evaluated.Reasons = append(x.Row.Evaluated.Reasons, rfc7489Reason(reason))
		}
		for _, d := range row.DKIMResults {
			x.AuthResults.DKIM = append(x.AuthResults.DKIM, xmlDKIM{Domain: d.Domain, Selector: d.Selector, Result: dkimReportResult(d.Result)})
		}
		for _, s := range row.SPFResults {
			scope := s.Scope
			if scope != ScopeHelo {
				scope = ScopeMailFrom
			}
			x.AuthResults.SPF = append(x.AuthResults.SPF, xmlSPF{Domain: s.Domain, Scope: string(scope), Result: spfReportResult(s.Result)})
		}
		doc.Records = append(doc.Records, x)
	}
	return encodeDocument(doc)
}

// encodeDocument writes an aggregate report document, RFC 7489 or
// DMARCbis, with its XML declaration, indented as the seed's example.
func encodeDocument(doc any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8" ?>` + "\n")
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func policyOrNone(p Policy) string {
	if p == PolicyUnset {
		return "none"
	}
	return p.String()
}

func passFail(b bool) string {
	if b {
		return "pass"
	}
	return "fail"
}

// rfc7489Reason maps DMARCbis's policy_test_mode, which the Appendix C
// enumeration lacks, to "other" with the name as comment.
func rfc7489Reason(r Reason) xmlReason {
	switch r.Type {
	case OverrideForwarded, OverrideSampledOut, OverrideTrustedForwarder, OverrideMailingList, OverrideLocalPolicy, OverrideOther:
		return xmlReason{Type: string(r.Type), Comment: r.Comment}
	}
	c := string(r.Type)
	if r.Comment != "" {
		c += ": " + r.Comment
	}
	return xmlReason{Type: string(OverrideOther), Comment: c}
}

// dkimReportResult keeps a result inside the schema's DKIMResultType (RFC
// 7001 §2.6.1 names; the appliance's "hardfail" is "fail").
func dkimReportResult(r AuthResult) string {
	switch v := AuthResult(strings.ToLower(string(r))); v {
	case ResultNone, ResultPass, ResultFail, ResultPolicy, ResultNeutral, ResultTempError, ResultPermError:
		return string(v)
	case "hardfail":
		return "fail"
	case "":
		return "none"
	}
	return string(ResultPermError)
}

// spfReportResult keeps a result inside SPFResultType; "unknown" and
// "error" are the old names of temperror and permerror the schema notes.
func spfReportResult(r AuthResult) string {
	switch v := AuthResult(strings.ToLower(string(r))); v {
	case ResultNone, ResultNeutral, ResultPass, ResultFail, ResultSoftFail, ResultTempError, ResultPermError:
		return string(v)
	case "unknown":
		return string(ResultTempError)
	case "error":
		return string(ResultPermError)
	case "":
		return "none"
	}
	return string(ResultPermError)
}

// reportIP writes IPv6 addresses uncompressed: the Appendix C IPAddress
// pattern (even in the fixed schema) has no "::" form, and the full form is
// equally valid RFC 4291 §2.2 text.
func reportIP(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return "0.0.0.0"
	}
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	parts := make([]string, 8)
	for i := range parts {
		parts[i] = strconv.FormatUint(uint64(b[2*i])<<8|uint64(b[2*i+1]), 16)
	}
	return strings.Join(parts, ":")
}

// FileName is the RFC 7489 §7.2.1.1 name of the gzipped report:
// receiver!policy-domain!begin!end!unique-id.xml.gz, the unique id being the
// letters and digits of the report ID (omitted when there are none).
func (r *Report) FileName(receiver string) string {
	name := fmt.Sprintf("%s!%s!%d!%d", receiver, r.Policy.Domain, r.Begin.Unix(), r.End.Unix())
	var id strings.Builder
	for _, c := range r.ReportID {
		if c < 0x80 && (isAlpha(byte(c)) || c >= '0' && c <= '9') {
			id.WriteRune(c)
		}
	}
	if id.Len() > 0 {
		name += "!" + id.String()
	}
	return name + ".xml.gz"
}

// Subject is the RFC 7489 §7.2.1.1 Subject of the report mail.
func (r *Report) Subject(receiver string) string {
	return fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", r.Policy.Domain, receiver, r.ReportID)
}

// Payload is a rendered, gzipped report ready for mailing.
type Payload struct {
	FileName string
	Gzip     []byte
	XMLSize  int
}

// Build renders (in r.Format), compresses and names the report.
func (r *Report) Build(receiver string) (Payload, error) {
	render := r.XML
	if r.Format == DMARCbis {
		render = r.XMLDMARCbis
	}
	doc, err := render()
	if err != nil {
		return Payload{}, err
	}
	if err := r.readsBack(doc); err != nil {
		return Payload{}, fmt.Errorf("aggregate report for %s does not read back: %w", r.Policy.Domain, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = strings.TrimSuffix(r.FileName(receiver), ".gz")
	zw.ModTime = r.End
	if _, err := zw.Write(doc); err != nil {
		return Payload{}, err
	}
	if err := zw.Close(); err != nil {
		return Payload{}, err
	}
	return Payload{FileName: r.FileName(receiver), Gzip: buf.Bytes(), XMLSize: len(doc)}, nil
}

// readsBack is the report's check before it is sent: the document is read
// back as a receiver reads it, and every element the schema requires must
// carry what was written (metadata, date range, policy domain, each
// record's source, count, disposition, identifiers and results). It stands
// for a schema validation at run time (the tests validate with xmllint
// against the schema itself): a rendering bug cannot send a report the
// Domain Owner's parser would drop.
func (r *Report) readsBack(doc []byte) error {
	fb, err := ReadReport(doc)
	if err != nil {
		return err
	}
	switch {
	case fb.OrgName != r.OrgName || fb.OrgName == "":
		return fmt.Errorf("org_name %q", fb.OrgName)
	case fb.Email != r.Email || fb.Email == "":
		return fmt.Errorf("email %q", fb.Email)
	case fb.ReportID != r.ReportID || fb.ReportID == "":
		return fmt.Errorf("report_id %q", fb.ReportID)
	case !fb.Begin.Equal(r.Begin.Truncate(time.Second)) || !fb.End.Equal(r.End.Truncate(time.Second)):
		return fmt.Errorf("date_range %v to %v", fb.Begin, fb.End)
	case fb.Policy.Domain == "" || !strings.EqualFold(fb.Policy.Domain, r.Policy.Domain) || fb.Policy.P == "":
		return fmt.Errorf("policy_published domain %q p %q", fb.Policy.Domain, fb.Policy.P)
	case len(fb.Records) != len(r.Rows):
		return fmt.Errorf("%d records, %d written", len(fb.Records), len(r.Rows))
	}
	for i, rec := range fb.Records {
		row := r.Rows[i]
		switch {
		case !sameIP(rec.SourceIP, row.SourceIP):
			return fmt.Errorf("record %d: source_ip %q", i+1, rec.SourceIP)
		case rec.Count != row.Count || rec.Count < 1:
			return fmt.Errorf("record %d: count %d", i+1, rec.Count)
		case rec.Disposition == "" || rec.DKIM == "" || rec.SPF == "":
			return fmt.Errorf("record %d: policy_evaluated incomplete", i+1)
		case rec.HeaderFrom == "" || rec.HeaderFrom != row.HeaderFrom:
			return fmt.Errorf("record %d: header_from %q", i+1, rec.HeaderFrom)
		case len(rec.SPFResults) == 0 || len(rec.SPFResults) != len(row.SPFResults) || len(rec.DKIMResults) != len(row.DKIMResults):
			return fmt.Errorf("record %d: auth_results incomplete", i+1)
		}
	}
	return nil
}

func sameIP(s string, a netip.Addr) bool {
	b, err := netip.ParseAddr(s)
	return err == nil && b == a.Unmap()
}

// EncodedSize is the size the payload has in the mail: base64 in lines of
// 76 characters and CRLF (RFC 2045 §6.8). RFC 7489 §7.2.1 compares size
// limits against the report "after compression and after any encoding
// required by the particular transport mechanism".
func (p Payload) EncodedSize() uint64 {
	n := uint64(len(p.Gzip))
	b64 := (n + 2) / 3 * 4
	lines := (b64 + 75) / 76
	return b64 + 2*lines
}

// Plan is where one payload goes (RFC 7489 §7.2.1, §7.2.2).
type Plan struct {
	// Send: the mailto URIs, in the Domain Owner's order, whose size limit
	// (and the appliance's own, MaxReportSize) the payload fits.
	Send []ReportURI
	// TooLarge: the mailto URIs whose limit the payload exceeds.
	TooLarge []ReportURI
	// ErrorReport: when no URI can take the report, every mailto URI gets
	// an error report instead (§7.2.2). Empty otherwise.
	ErrorReport []ReportURI
	// Size is the encoded size compared.
	Size uint64
}

// PlanDelivery decides which rua URIs get the payload. Only mailto URIs are
// used: the appliance sends reports by mail.
func (p Payload) PlanDelivery(rua []ReportURI, maxSize uint64) Plan {
	plan := Plan{Size: p.EncodedSize()}
	if maxSize == 0 {
		maxSize = MaxReportSize
	}
	var mailto []ReportURI
	for _, u := range rua {
		if u.Mailbox() == "" {
			continue
		}
		mailto = append(mailto, u)
		if plan.Size > maxSize || (u.MaxSize > 0 && plan.Size > u.MaxSize) {
			plan.TooLarge = append(plan.TooLarge, u)
		} else {
			plan.Send = append(plan.Send, u)
		}
	}
	if len(plan.Send) == 0 && len(plan.TooLarge) > 0 {
		plan.ErrorReport = mailto
	}
	return plan
}

// ErrorReportText is the text/plain part of an RFC 7489 §7.2.2 error report
// for a report that could not be sent to uris.
func (r *Report) ErrorReportText(receiver string, size uint64, uris []ReportURI, at time.Time) string {
	var list []string
	for _, u := range uris {
		list = append(list, u.URI)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Report-Date: %s\r\n", at.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Report-Domain: %s\r\n", r.Policy.Domain)
	fmt.Fprintf(&b, "Report-ID: %s\r\n", r.ReportID)
	fmt.Fprintf(&b, "Report-Size: %d\r\n", size)
	fmt.Fprintf(&b, "Submitter: %s\r\n", receiver)
	fmt.Fprintf(&b, "Submitting-URI: %s\r\n", strings.Join(list, ", "))
	return b.String()
}
