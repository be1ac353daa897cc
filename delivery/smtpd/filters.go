package smtpd

import (
	"strings"

	"esa/auth/filter"
	"esa/delivery/queue"
)

// Message filters (issue 17 item 6): after the authentication verdicts,
// the committed filters run in order on the message's envelope, header and
// verdicts, before the queue commit, so that what they decide (drop,
// bounce, quarantine, header edits) is part of what the 250 acknowledges.

// filterOutcome is what the filters decided, applied by Data.
type filterOutcome struct {
	res filter.Result
	ran bool
}

// runFilters runs the committed message filters on the message about to
// be committed with envelope env and client header header.
func (ss *session) runFilters(header []byte, env *queue.Envelope) filterOutcome {
	if ss.s.opt.Filters == nil {
		return filterOutcome{}
	}
	filters, fenv := ss.s.opt.Filters()
	if len(filters) == 0 {
		return filterOutcome{}
	}
	m := filterMessage(header, env)
	return filterOutcome{res: filter.Run(filters, m, fenv), ran: true}
}

// filterMessage is what the filters see of a message: its envelope, its
// header as the client sent it, and the verdicts stored in the envelope.
func filterMessage(header []byte, env *queue.Envelope) *filter.Message {
	m := &filter.Message{
		SPF:         map[string]string{},
		DKIM:        env.Verdicts["dkim"],
		DMARC:       env.Verdicts["dmarc"],
		SenderGroup: env.SenderGroup,
		RemoteIP:    env.RemoteIP,
		MailFrom:    env.From,
		Rcpts:       env.Recipients,
		Size:        env.Size,
	}
	for k, v := range env.Verdicts {
		if id, ok := strings.CutPrefix(k, "spf."); ok {
			m.SPF[id] = v
		}
	}
	for _, f := range headerFields(header) {
		m.Header = append(m.Header, filter.Field{Name: f.Name, Value: strings.TrimLeft(f.Value, " \t")})
	}
	return m
}

// applyFilters logs what the filters did and applies their header edits
// and quarantine to env. It reports the disposition for Data to act on.
func (ss *session) applyFilters(fo filterOutcome, env *queue.Envelope) filter.Disposition {
	if !fo.ran {
		return filter.Deliver
	}
	log, r := ss.s.opt.Log, fo.res
	for _, name := range r.Matched {
		log.Info("MID %d matched message filter '%s'", ss.mid, pyQuoteFree(name))
	}
	for _, text := range r.Log {
		log.Info("MID %d Custom Log Entry: %s", ss.mid, pyQuoteFree(text))
	}
	for _, m := range r.Forged {
		log.Info("MID %d Forged Email Detection: From: matches %s in dictionary %s (score %d)", ss.mid,
			pyQuote(m.Term), pyQuote(m.Dictionary), m.Score)
	}
	if len(r.Forged) > 0 && ss.s.opt.Forged != nil {
		ss.s.opt.Forged(r.Forged)
	}
	if r.Disposition != filter.Deliver {
		return r.Disposition
	}
	env.Strip = append(env.Strip, r.Strip...)
	var b strings.Builder
	for _, f := range r.Insert {
		// A header field is one line whatever a variable expanded to: a
		// CR or LF from the message must not start a field of its own.
		b.WriteString(oneLine(f.Name) + ": " + oneLine(f.Value) + "\r\n")
	}
	env.Prepend += b.String()
	if r.Quarantine != "" && env.Quarantine == "" {
		env.Quarantine, env.QuarantineReason = r.Quarantine, "message filter "+strings.Join(r.Matched, ", ")
		log.Info("MID %d quarantined to %s by message filter", ss.mid, pyQuote(r.Quarantine))
	}
	return filter.Deliver
}

// oneLine replaces line breaks and other control characters with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// filterBounce returns the just-committed message mid to its sender (a
// filter's bounce()), once Data has acknowledged it.
func (ss *session) filterBounce(mid uint64) {
	if ss.trace != nil {
		ss.s.opt.Log.Info("MID %d bounced by message filter", mid)
		return
	}
	if ss.s.opt.Bounce == nil {
		ss.s.opt.Log.Warning("MID %d cannot be bounced by the message filter: no delivery engine", mid)
		return
	}
	ss.s.opt.Log.Info("MID %d bounced by message filter", mid)
	ss.s.opt.Bounce(mid, "Message bounced by a message filter")
}
