// Package routes holds the SMTP routes smtproutes edits (ESA-CLI.md §10.1):
// for a domain, a partial domain (.example.com: its subdomains) or ALL (the
// default route), the hosts its mail goes to instead of the domain's MX
// hosts, with their ports and priorities, or USEDNS (the MX hosts after
// all) or /dev/null (accept and discard). It has the table's validator,
// the export file format EXPORT writes and IMPORT reads back, and the
// lookup the delivery engine does for each recipient domain: exact domain
// before partial domain (the longest) before ALL.
//
// The types are plain data so the store can keep them as a table like any
// other. The package imports nothing of ours.
package routes
