// Package destinations holds the destination controls table that destconfig
// edits (ESA-CLI.md §1, SPEC.md §3, seed 003): the global settings (SETUP),
// the default destination and the per-domain entries, with their
// validators, the IMPORT/EXPORT text form (ESA-CLI.md §1.8) and Lookup, the
// pure function the delivery engine asks which settings apply to a
// recipient domain.
//
// The types are plain data so the store keeps them as a table like any
// other. The package imports nothing of ours.
package destinations
