package dmarc

import (
	"encoding/xml"
	"strings"
)

// NamespaceDMARCbis is the XML namespace of DMARCbis aggregate reports
// (draft-ietf-dmarc-aggregate-reporting, RFC 9990).
const NamespaceDMARCbis = "urn:ietf:params:xml:ns:dmarc-2.0"

// The DMARCbis document differs from Appendix C in small ways: a namespace,
// np/testing/discovery_method in policy_published, no pct, a required DKIM
// selector, at most one SPF result (MAIL FROM only), one error element, the
// "pass" disposition and the policy_test_mode reason.
type xmlBisFeedback struct {
	XMLName  xml.Name             `xml:"feedback"`
	Xmlns    string               `xml:"xmlns,attr"`
	Version  string               `xml:"version"`
	Metadata xmlBisReportMetadata `xml:"report_metadata"`
	Policy   xmlBisPolicy         `xml:"policy_published"`
	Records  []xmlBisRecord       `xml:"record"`
}

type xmlBisReportMetadata struct {
	OrgName          string       `xml:"org_name"`
	Email            string       `xml:"email"`
	ExtraContactInfo string       `xml:"extra_contact_info,omitempty"`
	ReportID         string       `xml:"report_id"`
	DateRange        xmlDateRange `xml:"date_range"`
	Error            string       `xml:"error,omitempty"`
}

type xmlBisPolicy struct {
	Domain          string `xml:"domain"`
	P               string `xml:"p"`
	SP              string `xml:"sp"`
	NP              string `xml:"np,omitempty"`
	ADKIM           string `xml:"adkim"`
	ASPF            string `xml:"aspf"`
	DiscoveryMethod string `xml:"discovery_method,omitempty"`
	FO              string `xml:"fo,omitempty"`
	Testing         string `xml:"testing"`
}

type xmlBisRecord struct {
	Row         xmlRow            `xml:"row"`
	Identifiers xmlBisIdentifiers `xml:"identifiers"`
	AuthResults xmlBisAuthResults `xml:"auth_results"`
}

type xmlBisIdentifiers struct {
	EnvelopeTo   string `xml:"envelope_to,omitempty"`
	EnvelopeFrom string `xml:"envelope_from,omitempty"`
	HeaderFrom   string `xml:"header_from"`
}

type xmlBisAuthResults struct {
	DKIM []xmlDKIM  `xml:"dkim"`
	SPF  *xmlBisSPF `xml:"spf"`
}

type xmlBisSPF struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope,omitempty"`
	Result string `xml:"result"`
}

// XMLDMARCbis renders the report in the DMARCbis aggregate format, for a
// receiver evaluating under DMARCbis rules.
func (r *Report) XMLDMARCbis() ([]byte, error) {
	if len(r.Rows) == 0 {
		return nil, ErrEmptyReport
	}
	pol := r.Policy
	doc := xmlBisFeedback{
		Xmlns:   NamespaceDMARCbis,
		Version: "1.0",
		Metadata: xmlBisReportMetadata{
			OrgName: r.OrgName, Email: r.Email, ExtraContactInfo: r.ExtraContactInfo, ReportID: r.ReportID,
			DateRange: xmlDateRange{Begin: r.Begin.Unix(), End: r.End.Unix()},
			Error:     strings.Join(r.Errors, "; "),
		},
		Policy: xmlBisPolicy{Domain: pol.Domain, P: policyOrNone(pol.P), SP: policyOrNone(pol.SP), NP: pol.NP.String(),
			ADKIM: pol.ADKIM.String(), ASPF: pol.ASPF.String(), DiscoveryMethod: pol.Discovery, Testing: "n"},
	}
	if pol.Testing {
		doc.Policy.Testing = "y"
	}
	if pol.FO != "" && pol.FO != "0" {
		doc.Policy.FO = pol.FO
	}
	if d := doc.Policy.DiscoveryMethod; d != "psl" && d != "treewalk" {
		doc.Policy.DiscoveryMethod = ""
	}
	for _, row := range r.Rows {
		disp := policyOrNone(row.Disposition)
		if (row.DKIM || row.SPF) && disp == "none" && pol.P != PolicyNone && pol.P != PolicyUnset {
			// "pass": no action, the message passed under an enforcing
			// policy (the draft's ActionDispositionType).
			disp = "pass"
		}
		x := xmlBisRecord{
			Row: xmlRow{SourceIP: reportIP(row.SourceIP), Count: row.Count, Evaluated: xmlPolicyEvaluted{
				Disposition: disp, DKIM: passFail(row.DKIM), SPF: passFail(row.SPF)}},
			Identifiers: xmlBisIdentifiers{EnvelopeTo: row.EnvelopeTo, EnvelopeFrom: row.EnvelopeFrom, HeaderFrom: row.HeaderFrom},
		}
		for _, reason := range row.Reasons {
			x.Row.Evaluated.Reasons = append(x.Row.Evaluated.Reasons, bisReason(reason))
		}
		for _, d := range row.DKIMResults {
			x.AuthResults.DKIM = append(x.AuthResults.DKIM, xmlDKIM{Domain: d.Domain, Selector: d.Selector, Result: dkimReportResult(d.Result)})
		}
		for _, s := range row.SPFResults {
			// DMARCbis uses the MAIL FROM identity only; a HELO result is
			// reported without a scope.
			spf := &xmlBisSPF{Domain: s.Domain, Result: spfReportResult(s.Result)}
			if s.Scope != ScopeHelo {
				spf.Scope = string(ScopeMailFrom)
			}
			x.AuthResults.SPF = spf
			break
		}
		doc.Records = append(doc.Records, x)
	}
	return encodeDocument(doc)
}

// bisReason keeps a reason inside the DMARCbis PolicyOverrideType, which
// dropped forwarded and sampled_out.
func bisReason(r Reason) xmlReason {
	switch r.Type {
	case OverrideLocalPolicy, OverrideMailingList, OverrideOther, OverridePolicyTestMode, OverrideTrustedForwarder:
		return xmlReason{Type: string(r.Type), Comment: r.Comment}
	}
	c := string(r.Type)
	if r.Comment != "" {
		c += ": " + r.Comment
	}
	return xmlReason{Type: string(OverrideOther), Comment: c}
}
