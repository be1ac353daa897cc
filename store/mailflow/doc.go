// Package mailflow holds the listeners' configuration types — listeners, the
// host access table (HAT: sender groups and mail-flow policies) and the
// recipient access table (RAT) — with their validators, their text form
// (listenerconfig PRINT, EXPORT and IMPORT, ESA-CLI.md §3.3) and the pure
// decisions the SMTP listeners take from them (which sender group and
// policy a connecting host gets, whether a recipient is accepted).
//
// The types are plain data so the store can keep them as a table like any
// other. The package imports nothing of ours.
package mailflow
