// Package filter is the AsyncOS message filter language: Parse reads a
// script of named filters, (*Filter).String prints one back in canonical
// form, and Run applies filters to a message's authentication verdicts,
// envelope and header, returning what should happen to it.
//
// It is a leaf: it imports nothing of ours. The message arrives as plain
// values (Message), content dictionaries through Env.
//
// # Syntax
//
// A script holds filters, each
//
//	name:
//	if (condition) {
//	    actions and nested ifs
//	} else if (condition) {
//	    ...
//	} else {
//	    ...
//	}
//
// or just actions (`name: drop();`). "name!" instead of "name:" is an
// inactive filter (the appliance's DETAIL and EXPORT write inactive
// filters so and NEW and IMPORT read them so). The condition after if
// needs no parentheses of its own (the appliance's guide writes
// "if true{skip-filters();}"); String always writes them. Names are
// [A-Za-z0-9_-]+, not a reserved word (if, else, and, or, not, true,
// false). `#` starts a
// comment to the end of the line; comments on lines of their own inside a
// block and before a filter's name are kept (String prints them), others
// are dropped. (The appliance drops them all; keeping the ones that explain
// a block costs nothing and the seed's examples carry such comments.) A line holding only "." (the CLI's end of input) is ignored.
// Strings are "double" or 'single' quoted; \\, \" and \' are escapes and
// any other backslash stays as it is, so a regular expression such as
// "example\.com" needs no doubling (as on the appliance, where "\\." works
// too: it means the same).
//
// Conditions combine rules with not, and, or (in that order of precedence)
// and parentheses; true and false are constants. The rules:
//
//	spf-status == "Pass"                    best identity (see below)
//	spf-status("pra"|"mailfrom"|"helo") != "PermError, TempError"
//	spf-passed                              only Pass is true
//	dkim-authentication == "pass, neutral"  pass neutral temperror permerror hardfail none
//	dmarc == "fail"                         pass fail none temperror permerror (alias dmarc-status)
//	forged-email-detection("Executives", 90)
//	sendergroup == "TRUSTED"                whole group name, regular expression
//	remote-ip == "192.0.2.0/24, 2001:db8::1"
//	mail-from == "regex"   rcpt-to == "regex" (any recipient)   subject == "regex"
//	header("X-Name") == "regex"   header("X-Name") (present)
//	body-size > 10k                         also >= < <= == !=; k, M, G are powers of 1024
//
// A right-hand side with commas is a set: the rule is true when the result
// is any of them (==) or none of them (!=). Results compare without regard
// to case. A verdict that was not computed ("" or a missing identity)
// counts as None/none: there was not enough information, which is what
// None means (RFC 7208 §2.6.1).
//
// spf-status without an identity looks at every identity checked and is
// true when one of the verdicts matches the rule, as the AsyncOS 10.0 user
// guide says of it ("SPF-Status Rule"). spf-passed, a boolean the guide
// says nothing more of, uses the most specific identity checked: PRA, else
// MAIL FROM, else HELO. It does not take "any identity passed", which an
// attacker meets through the HELO name of his own host, and which would
// defeat the seed's quarantine-spf-unauthorized-mail; under SPF-only
// conformance, where PRA is never checked, MAIL FROM decides.
//
// Regular expressions are Go's RE2 (the appliance uses Python's): no
// backreferences or lookaround, and matching is guaranteed linear in the
// input. They match anywhere in the value (Python's re.search) except
// sendergroup, which must match the whole group name, so "TRUSTED" never
// selects a group called "UNTRUSTED". Matching is case-sensitive unless the
// expression says (?i).
//
// # Actions
//
//	quarantine("Policy")  drop()  bounce()  deliver()  skip-filters()
//	insert-header("Name", "value")  strip-header("Name")  log-entry("text")
//	fed("from", "")       replace From: with the envelope sender
//	skip-spamcheck()  skip-viruscheck()  skip-ampcheck()
//	skip-outbreakcheck()  skip-marketingcheck()   (no-ops: no such engines)
//
// forged-email-detection scores the display name of the first From:
// mailbox (RFC 2047 encoded words decoded) against every term of the
// dictionary with Similarity and is true when the best score reaches the
// threshold; the match goes into Result.Forged. Case is always ignored and
// the dictionary's IgnoreCase and WholeWords do not apply: the seed says
// to configure no advanced matching for these dictionaries, and a forged
// name is caught by looking alike, not by matching words. A caller that
// keeps dictionaries across messages passes them Prepared.
//
// insert-header and log-entry expand $Subject, $EnvelopeFrom, $RemoteIP and
// $FilterName (any case) from the original message.
//
// # Semantics
//
// Filters run in order. drop, bounce and deliver are final: they end the
// filter and no later filter runs; skip-filters ends filtering the same
// way, and the message goes on. quarantine is not final: later filters
// still run and the message ends in the quarantine; when several filters
// quarantine a message, the first quarantine wins (the appliance would put
// a copy in each; we keep one copy). A final drop or bounce wins over a
// quarantine: the message is gone. Header edits accumulate; strip-header
// also removes fields an earlier insert-header added. Conditions always
// see the original message.
//
// # Bounds
//
// Scripts come from imports and SSH sessions: a script is at most
// MaxScriptBytes, nesting at most MaxDepth levels, a string MaxStringBytes,
// and a regular expression may not expand past MaxRegexCost instructions.
package filter
