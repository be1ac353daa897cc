package dmarc

import (
	"context"
	"strings"
)

// ReportDestinations returns the rua (or ruf) URIs of a policy record found
// at policyDomain that may be sent reports, after the external destination
// check of RFC 7489 §7.1, in the Domain Owner's order. Only mailto URIs are
// considered (the appliance reports by mail).
//
// A URI whose host has the policy domain's Organizational Domain is kept as
// is. Any other needs a DMARC record at
// <policy-domain>._report._dmarc.<host>; that record's own rua, when it has
// one, replaces the URI (step 8), but only with URIs on the same host:
// a record naming another host authorizes nothing (the paragraph after step
// 8). A temporary DNS failure is returned as an error so the caller can try
// again later (step 4); the URIs checked so far are returned with it.
func (e *Evaluator) ReportDestinations(ctx context.Context, policyDomain string, uris []ReportURI) ([]ReportURI, error) {
	l := &lookup{ctx: ctx, r: e.r, mode: e.opts.Mode}
	pd, ok := normalizeDomain(policyDomain)
	if !ok {
		return nil, nil
	}
	var out []ReportURI
	for _, u := range uris {
		box := u.Mailbox()
		at := strings.LastIndexByte(box, '@')
		if at < 0 {
			continue
		}
		host, ok := normalizeDomain(box[at+1:])
		if !ok {
			continue
		}
		same, err := e.sameOrganization(l, pd, host)
		if err != nil {
			return out, err
		}
		if same {
			out = append(out, u)
			continue
		}
		name := pd + "._report._dmarc." + host
		txts, err := e.r.LookupTXT(ctx, name)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return out, &dnsError{name: name, err: err}
		}
		authorized := false
		var override []ReportURI
		overrideOK := true
		for _, t := range txts {
			if !IsDMARC(t) {
				continue // step 5: v=DMARC1 must come first
			}
			authorized = true
			rec, _ := Parse(t, e.opts.Mode) // p is not needed here
			if rec == nil {
				continue
			}
			for _, o := range rec.RUA {
				ob := o.Mailbox()
				oat := strings.LastIndexByte(ob, '@')
				oh, ok := "", false
				if oat >= 0 {
					oh, ok = normalizeDomain(ob[oat+1:])
				}
				if !ok || oh != host {
					overrideOK = false
					continue
				}
				override = append(override, o)
			}
		}
		switch {
		case !authorized || !overrideOK:
		case len(override) > 0:
			out = append(out, override...)
		default:
			out = append(out, u)
		}
	}
	return out, nil
}

// sameOrganization compares Organizational Domains under the evaluator's
// rules (PSL, or the DMARCbis tree walk).
func (e *Evaluator) sameOrganization(l *lookup, a, b string) (bool, error) {
	if a == b {
		return true, nil
	}
	if e.opts.Mode != DMARCbis {
		return orgOrSelf(e.opts.PublicSuffixes, a) == orgOrSelf(e.opts.PublicSuffixes, b), nil
	}
	oa, err := l.orgBis(a)
	if err != nil {
		return false, err
	}
	ob, err := l.orgBis(b)
	if err != nil {
		return false, err
	}
	return oa == ob, nil
}
